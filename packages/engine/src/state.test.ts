import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { identify } from '@oxvcs/durable';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { localEnd, noteEndsMs, STATE_LOCK_STALE_MS, stateLockVerdict, updateState } from './state.js';

const hooks = fileURLToPath(new URL('../../../source-hooks.mjs', import.meta.url));
const stateModule = fileURLToPath(new URL('./state.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'oxvcs-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('updateState: a shared cache changed by several processes', () => {
  it('four processes noting 150 entries each at once keep all 600 (none overwrites another)', async () => {
    const file = join(dir, 'grants.json');
    const writer = (tag: string) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(
          process.execPath,
          [
            '--import',
            hooks,
            '--input-type=module',
            '-e',
            `const { updateState } = await import(${JSON.stringify(stateModule)});
             for (let i = 0; i < 150; i++) updateState(${JSON.stringify(file)}, {}, (all) => ({ ...all, ['${tag}' + i]: i }));`,
          ],
          { stdio: ['ignore', 'ignore', 'inherit'] },
        );
        child.on('close', resolve);
      });
    const codes = await Promise.all(['a', 'b', 'c', 'd'].map(writer));
    expect(codes).toEqual([0, 0, 0, 0]);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')))).toHaveLength(600);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('a lock left by a process that is gone is taken over at once', () => {
    const file = join(dir, 'breaker.json');
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(`${file}.lock`, JSON.stringify({ pid: gone, host: hostname(), start: '1' }));
    updateState<Record<string, number>>(file, {}, (all) => ({ ...all, origin: 1 }));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ origin: 1 });
    expect(existsSync(`${file}.lock`)).toBe(false);
  });
});

describe('stateLockVerdict (pure)', () => {
  const live = identify();
  const facts = { host: hostname(), processOf: () => 'running' as const };
  it('waits for a live holder on this host until the lock is stale, then takes it over', () => {
    expect(stateLockVerdict({ ...facts, holder: live, ageMs: 50 })).toBe('wait');
    expect(stateLockVerdict({ ...facts, holder: live, ageMs: STATE_LOCK_STALE_MS + 1 })).toBe('take-over');
  });
  it('takes over at once from a holder on this host whose process is gone (a reused pid included)', () => {
    expect(stateLockVerdict({ ...facts, holder: live, ageMs: 5, processOf: () => 'gone' })).toBe('take-over');
  });
  it('judges a holder on another machine, or a lock naming none, by its age alone', () => {
    const elsewhere = { ...live, host: 'elsewhere' };
    expect(stateLockVerdict({ ...facts, holder: elsewhere, ageMs: 5, processOf: () => 'gone' })).toBe('wait');
    expect(stateLockVerdict({ ...facts, ageMs: 5 })).toBe('wait');
    expect(stateLockVerdict({ ...facts, ageMs: STATE_LOCK_STALE_MS + 1 })).toBe('take-over');
  });
});

describe('localEnd: when a noted lease ends on this machine’s clock', () => {
  const H = 3_600_000;
  const lease = (renewedMs: number, ttlMs: number) => ({
    lastHeartbeat: new Date(renewedMs).toISOString(),
    expiresAt: new Date(renewedMs + ttlMs).toISOString(),
  });
  it('never later than the remote’s end; a fresh grant on a clock behind ends its ttl from now, one ahead at the remote’s end', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }),
        fc.integer({ min: 60_000, max: 24 * H }),
        fc.integer({ min: -30 * 24 * H, max: 30 * 24 * H }),
        fc.integer({ min: 0, max: 2 * H }),
        (serverNow, ttl, skew, age) => {
          // Noted `age` ms after its renewal, on a clock `skew` ms off the remote's.
          const granted = lease(serverNow - age, ttl);
          const end = Date.parse(localEnd(granted, serverNow + skew));
          expect(end).toBeLessThanOrEqual(Date.parse(granted.expiresAt));
          // Never more left than the lease had when it was renewed.
          expect(end - (serverNow + skew)).toBeLessThanOrEqual(ttl);
          if (age === 0) expect(end).toBe(skew <= 0 ? serverNow + skew + ttl : serverNow + ttl);
        },
      ),
    );
  });
  it('noteEndsMs prefers the local end; an older note without one uses the remote’s end', () => {
    expect(
      noteEndsMs({ expiresAt: '2026-12-07T12:00:00.000Z', localEndsAt: '2026-11-30T12:00:00.000Z' }),
    ).toBe(Date.parse('2026-11-30T12:00:00.000Z'));
    expect(noteEndsMs({ expiresAt: '2026-12-07T12:00:00.000Z' })).toBe(
      Date.parse('2026-12-07T12:00:00.000Z'),
    );
  });
});
