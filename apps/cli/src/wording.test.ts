import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './test-support/harness.js';

/** A raw ISO 8601 time, which text output never shows (only `--json` does). */
const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

let h: Harness;
let n = 0;
/** A fresh project and state folder, so each test starts unlocked with an empty queue. */
const fresh = async () => {
  const cwd = await h.newProject(`w${++n}`);
  return { cwd, home: h.newHome() };
};

beforeAll(async () => {
  h = await startHarness('wording');
});
afterAll(() => h.stop());

describe('what the built oxenvcs says', () => {
  it('retries count up to the last attempt made; a failure that opens the breaker ends retrying at once', async () => {
    const at = await fresh();
    await h.server.faults.add({ kind: 'error', status: 503, route: '/branches' });
    try {
      const r = await h.run(['lock', 'acquire'], at);
      expect(r.code).toBe(75);
      const failed = r.stderr.match(/Attempt \d+ of \d+ failed/g);
      const retrying = r.stderr.match(/Retrying in [\d.]+s \(attempt \d+ of \d+\)/g) ?? [];
      // The engine's breaker opens after 5 consecutive failures: attempt 6 of 6 is never sent.
      expect(failed).toEqual([1, 2, 3, 4, 5].map((i) => `Attempt ${i} of 6 failed`));
      expect(retrying.map((l) => l.replace(/[\d.]+s/, 'Ns'))).toEqual(
        [2, 3, 4, 5].map((i) => `Retrying in Ns (attempt ${i} of 6)`),
      );
      expect(r.stderr).not.toMatch(/remaining|not sent|Attempt 6/);
      expect(r.stderr).toMatch(/Gave up for now: .*503.* - operation queued/);
    } finally {
      await h.server.faults.clear();
    }
  });

  it('a --timeout under a minute is refused (exit 2) and leaves a held lease alone', async () => {
    const at = await fresh();
    const held = await h.run(['lock', 'acquire', '--timeout', '2', '--json'], at);
    const { expiresAt } = JSON.parse(held.stdout).lock as { expiresAt: string };
    for (const args of [
      ['lock', 'acquire', '--timeout', '0.001'],
      ['lock', 'renew', '--timeout', '0.01'],
      ['lock', 'heartbeat', '--timeout', '0.0001'],
    ]) {
      const r = await h.run(args, at);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--timeout must be at least 0.0167 hours (1 minute)');
      expect(r.stdout).toBe('');
    }
    const status = JSON.parse((await h.run(['lock', 'status', '--json'], at)).stdout);
    expect(status.lock.lease.expiresAt).toBe(expiresAt);
    expect((await h.run(['lock', 'renew', '--timeout', '0.0167'], at)).code).toBe(0);
  });

  it('a renewal or re-acquisition that shortens the lease says so; a longer one says extended', async () => {
    const at = await fresh();
    expect((await h.run(['lock', 'acquire', '--timeout', '2'], at)).code).toBe(0);
    const shorter = await h.run(['lock', 'renew', '--timeout', '0.5'], at);
    expect(shorter.code).toBe(0);
    expect(shorter.stdout).toMatch(
      /^\[ok\] Lock lease shortened to \d{4}-\d\d-\d\d \d\d:\d\d \(in (29|30)m\); it was to end \d{4}-\d\d-\d\d \d\d:\d\d \(in (1h 59m|2h 0m)\)\n/,
    );
    expect(shorter.stdout).not.toContain('extended');
    const longer = await h.run(['lock', 'renew', '--timeout', '3'], at);
    expect(longer.stdout).toMatch(/^\[ok\] Lock extended until .* \(in (2h 59m|3h 0m)\)\n/);
    const again = await h.run(['lock', 'acquire', '--timeout', '1'], at);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      /^\[ok\] Lock lease shortened to .* \(in (59m|1h 0m)\); you already held it, until /,
    );
  });

  it('times read the same everywhere in text output (local, with how far away); --json keeps ISO 8601', async () => {
    const at = await fresh();
    const bob = h.newHome();
    const outputs = [
      await h.run(['lock', 'acquire', '--comment', 'drums'], { ...at, home: bob, holder: 'bob@studio' }),
      await h.run(['lock', 'acquire'], at),
      await h.run(['lock', 'status'], at),
      await h.run(['lock', 'list'], at),
      await h.run(['lock', 'break'], at),
    ];
    expect(outputs[1]?.code).toBe(3);
    expect(outputs[1]?.stderr).toMatch(
      /held by bob@studio since \d{4}-\d\d-\d\d \d\d:\d\d \(\w+( ago)?\) until \d{4}-\d\d-\d\d \d\d:\d\d \(in (3h 59m|4h 0m)\) \("drums"\)/,
    );
    expect(outputs[2]?.stdout).toMatch(/Expires: \d{4}-\d\d-\d\d \d\d:\d\d \(in (3h 59m|4h 0m)\)/);
    await h.run(['lock', 'release'], { ...at, home: bob, holder: 'bob@studio' });
    expect((await h.run(['lock', 'acquire'], at)).code).toBe(0);
    await h.server.faults.offline();
    try {
      outputs.push(await h.run(['lock', 'renew'], at));
      outputs.push(await h.run(['queue', 'status'], at));
      outputs.push(await h.run(['lock', 'status'], at));
    } finally {
      await h.server.faults.online();
    }
    expect(outputs[5]?.stdout).toMatch(/Expires unless synced by: \d{4}-\d\d-\d\d \d\d:\d\d \(in /);
    for (const r of outputs) expect(`${r.stdout}${r.stderr}`).not.toMatch(ISO);
    const json = JSON.parse((await h.run(['lock', 'status', '--json'], at)).stdout);
    expect(json.lock.lease.expiresAt).toMatch(ISO);
  });

  it('queue sync prints its results once', async () => {
    const at = await fresh();
    await h.server.faults.offline();
    await h.run(['lock', 'acquire'], at);
    await h.server.faults.online();
    await h.server.faults.add({ kind: 'error', status: 503, route: '/branches' });
    try {
      const r = await h.run(['queue', 'sync'], { ...at, env: { OXENVCS_RETRY_MAX_RETRIES: '1' } });
      expect(r.code).toBe(75);
      const all = `${r.stdout}${r.stderr}`;
      expect(r.stdout).toMatch(/Succeeded: 0\n {2}Failed: 0\n {2}Still queued: 1\n/);
      expect(all.match(/Succeeded:/g)).toHaveLength(1);
      expect(all.match(/Still queued: \d/g)).toHaveLength(1);
    } finally {
      await h.server.faults.clear();
    }
  });

  it('a queued renewal made stale by taking the lock again says it is not needed, naming "this project"', async () => {
    const at = await fresh();
    expect((await h.run(['lock', 'acquire'], at)).code).toBe(0);
    await h.server.faults.offline();
    expect((await h.run(['lock', 'renew'], at)).code).toBe(75);
    await h.server.faults.online();
    // A command never overtakes the renewal queued before it, so this state comes only from an
    // older version (or another copy of the queue): the renewal is taken out, the lock released
    // and taken again, and the renewal put back as it was, for the earlier grant.
    const { queue } = h.engine(at.home);
    const [renew] = await queue.list({ kind: 'renew-lock' });
    await queue.remove(renew!.id);
    expect((await h.run(['lock', 'release'], at)).code).toBe(0);
    expect((await h.run(['lock', 'acquire'], at)).code).toBe(0);
    await queue.enqueue({ operation: renew!.operation, ttlMs: 3_600_000 });
    const sync = await h.run(['queue', 'sync'], at);
    const status = await h.run(['queue', 'status'], at);
    for (const text of [sync.stderr, status.stdout]) {
      expect(text).toMatch(
        /Renew lock for w\d+ ?\(?[0-9a-z]{0,8}\)?: not needed: it was queued for an earlier grant of the lock on this project, and you hold a newer one; remove it with `oxenvcs queue remove [0-9a-z]{8}`/,
      );
      expect(text).not.toContain('acquire the lock again');
      expect(text).not.toMatch(/ \. /);
    }
    expect((await h.run(['lock', 'status'], at)).stdout).toContain('this project: locked by you');
  });

  it('a failed file operation names the path and what to do, not "Unexpected error"', async () => {
    const at = await fresh();
    const file = join(h.newHome(), 'not-a-folder');
    writeFileSync(file, '');
    const r = await h.run(['lock', 'acquire'], { ...at, home: file });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^\[x\] oxenvcs lock acquire could not \w+ .*not-a-folder\/[\w.-]+: part of that path is a file, not a folder; check the path \(and OXENVCS_HOME\)\.\n$/,
    );
    const json = JSON.parse((await h.run(['lock', 'acquire', '--json'], { ...at, home: file })).stdout);
    expect(json).toMatchObject({ ok: false, exitCode: 1, error: { code: 'ENOTDIR' } });
  });
});

describe('--project refused by the engine, worded by the CLI', () => {
  it('a file, or a folder this copy does not have: exit 2, one line saying what to give, then the usage hint', async () => {
    const at = await fresh();
    writeFileSync(join(at.cwd, 'notes.txt'), 'la');
    const file = await h.run(['lock', 'acquire', '--project', 'notes.txt'], at);
    expect(file.code).toBe(2);
    expect(file.stderr).toBe(
      '[x] --project notes.txt is a file; give the folder to lock (e.g. the .logicx package).\n  Run `oxenvcs lock acquire --help` for usage.\n',
    );
    const missing = await h.run(['lock', 'acquire', '--project', 'Bass.logicx', '--json'], at);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).error).toMatchObject({
      code: 'INVALID_INPUT',
      field: 'project',
      problem: 'no-such-folder',
      message:
        "--project bass.logicx: no such folder here; give an existing folder inside the repository (pull it first if it is someone else's).",
    });
  });
});
