import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { identify, isRunning } from '@oxvcs/durable';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OxenError } from './errors.js';
import { claimTransfer, TRANSFER_LOCK_FILE, type TransferRecord } from './transfer-lock.js';

let root: string;
let file: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'oxvcs-claim-'));
  mkdirSync(join(root, '.oxen'));
  mkdirSync(join(root, 'sub', 'dir'), { recursive: true });
  file = join(root, '.oxen', TRANSFER_LOCK_FILE);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const record = (over: Partial<TransferRecord>): TransferRecord => ({
  id: 'other',
  command: 'pull',
  host: 'elsewhere',
  ownerPid: 1,
  startedAt: new Date().toISOString(),
  ...over,
});
const refused = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OxenError);
    expect((error as OxenError).code).toBe('TRANSFER_IN_PROGRESS');
    return error as OxenError;
  }
  throw new Error('expected TRANSFER_IN_PROGRESS');
};

describe('claimTransfer', () => {
  it('claims the repository root from a subfolder; a second claim is refused until the first is released', () => {
    const claim = claimTransfer(join(root, 'sub', 'dir'), 'push')!;
    expect(claim.file).toBe(file);
    const held = JSON.parse(readFileSync(file, 'utf8')) as TransferRecord;
    expect(held).toMatchObject({ command: 'push', ownerPid: process.pid });
    expect(refused(() => claimTransfer(root, 'fetch')).message).toContain(`oxen push (pid ${process.pid},`);
    claim.release();
    claim.release();
    claimTransfer(root, 'fetch')!.release();
  });

  it('outside a repository there is nothing to claim', () => {
    expect(claimTransfer(tmpdir(), 'push')).toBeUndefined();
  });

  it('a recorded child keeps the claim while it runs, even after its owner is gone', () => {
    const claim = claimTransfer(root, 'push')!;
    claim.setChild(process.pid);
    const held = JSON.parse(readFileSync(file, 'utf8')) as TransferRecord;
    expect(held.pid).toBe(process.pid);
    // The owner's pid is dead, the child (this process) alive: still held.
    writeFileSync(file, JSON.stringify({ ...held, ownerPid: 2 ** 22 + 7 }));
    refused(() => claimTransfer(root, 'pull'));
  });

  it.skipIf(process.platform !== 'linux')(
    'a live pid with another start time is a reused pid: the claim is stale and replaced',
    () => {
      const start = identify()!.start!;
      const other = start.replace(/\d+$/, (ticks) => `${Number(ticks) + 1}`);
      expect(isRunning({ pid: process.pid, start })).toBe(true);
      expect(isRunning({ pid: process.pid, start: other })).toBe(false);
      writeFileSync(
        file,
        JSON.stringify(
          record({
            host: hostname(),
            ownerPid: process.pid,
            pid: process.pid,
            pidStart: other,
          }),
        ),
      );
      claimTransfer(root, 'push')!.release();
    },
  );

  it("another host's claim is trusted for a day, then replaced", () => {
    writeFileSync(file, JSON.stringify(record({})));
    expect(refused(() => claimTransfer(root, 'push')).message).toContain('on elsewhere');
    writeFileSync(
      file,
      JSON.stringify(record({ startedAt: new Date(Date.now() - 25 * 3_600_000).toISOString() })),
    );
    claimTransfer(root, 'push')!.release();
  });

  it('an unreadable claim is refused while fresh (being written), replaced once old', () => {
    writeFileSync(file, '{"id":');
    refused(() => claimTransfer(root, 'push'));
    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    claimTransfer(root, 'push')!.release();
  });
});
