import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createEngine, type Engine, type QueueEntry } from '@oxvcs/engine';
import type { FakeOxenServer, TestWorld } from '@oxvcs/oxen-testkit';
import { describe, expect, it, vi } from 'vitest';
import { runInProcess, worldPerFile } from './test-support/in-process.js';

let server: FakeOxenServer;
let world: TestWorld;
let dir: string;
let home: string;

const vars = (extra: Record<string, string> = {}) =>
  world.vars({ home: home, extra: { OXENVCS_RETRY_MAX_RETRIES: '1', ...extra } });

const oxenvcs = (args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) =>
  runInProcess(args, { cwd: options.cwd ?? dir, env: vars(options.env) });

/** An engine as another process would have it (a sync nobody watched: a script, the TUI left open). */
const elsewhere = (cwd = dir): Engine => createEngine({ cwd, env: vars() });

/** A pull of a branch the remote lacks, queued offline, then failed by a sync nobody watched. */
async function failWhileAway(cwd = dir): Promise<QueueEntry> {
  await server.faults.offline();
  const queued = await elsewhere(cwd).pull('no-such-branch');
  await server.faults.online();
  if (queued.status !== 'queued') throw new Error('expected the pull to queue');
  expect((await elsewhere(cwd).sync()).summary?.failed).toBe(1);
  return queued.entry;
}

const id8 = (e: QueueEntry) => e.id.slice(-8).toLowerCase();
const told = (err: string) => err.split('\n').filter((l) => l.includes('while you were away'));

worldPerFile('away', (fresh) => {
  ({ world, server, dir, home } = fresh);
});

describe('what failed while you were away', () => {
  it('the next command tells it once on stderr, with its id, reason and what to do; its own output is unchanged', async () => {
    const entry = await failWhileAway();
    const r = await oxenvcs(['lock', 'status']);
    expect(r.code).toBe(0);
    expect(told(r.err)).toEqual([
      `[x] Failed while you were away: Pull no-such-branch of ${dir.split('/').at(-1)} from remote (${id8(entry)}): oxen pull failed: Remote branch 'no-such-branch' not found — retry it with \`oxenvcs queue retry ${id8(entry)}\` or remove it with \`oxenvcs queue remove ${id8(entry)}\``,
    ]);
    expect(r.out).not.toContain('while you were away');
    expect(r.out).toContain('unlocked');
    const again = await oxenvcs(['lock', 'status']);
    expect(told(again.err)).toEqual([]);
  });

  it('--json neither prints it nor counts as looking: the next human command still tells it', async () => {
    await failWhileAway();
    const json = await oxenvcs(['lock', 'status', '--json']);
    expect(JSON.parse(json.out)).toMatchObject({ ok: true });
    expect(json.err).not.toContain('while you were away');
    expect(told((await oxenvcs(['lock', 'status'])).err)).toHaveLength(1);
  });

  it('queue status lists it instead (and counts as looking); another project’s failure it still tells', async () => {
    const mine = await failWhileAway();
    const otherDir = await world.project(`${basename(dir)}-other`);
    const theirs = await failWhileAway(otherDir);
    const status = await oxenvcs(['queue', 'status']);
    expect(status.out).toContain(`${id8(mine)} Pull no-such-branch of`);
    expect(told(status.err)).toEqual([expect.stringContaining(`(${id8(theirs)})`)]);
    expect(told((await oxenvcs(['lock', 'status'])).err)).toEqual([]);
  });

  it('a failure a sync showed as it happened is not told again; expiries are told as expired', async () => {
    await server.faults.offline();
    await oxenvcs(['pull', 'no-such-branch']);
    await server.faults.online();
    const sync = await oxenvcs(['queue', 'sync']);
    expect(sync.err).toContain('Failed: Pull no-such-branch');
    expect(told(sync.err)).toEqual([]);
    expect(told((await oxenvcs(['lock', 'status'])).err)).toEqual([]);
    // An entry that expires in a run nobody watched.
    const e = elsewhere();
    const { entry } = await e.queue.enqueue({
      operation: {
        kind: 'pull',
        projectDir: dir,
        remote: server.repoUrl('ns', basename(dir)),
        branch: 'main',
      },
      idempotencyKey: 'expiring',
      ttlMs: 1,
    });
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(Date.parse(entry.expiresAt ?? '')));
    expect((await e.sync()).summary?.expired).toBe(1);
    expect(told((await oxenvcs(['lock', 'status'])).err)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^\\[!\\] Expired while you were away: Pull main of away\\d+ from remote \\(${id8(entry)}\\): Expired at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d \\(.+\\) before it could run — retry it with \`oxenvcs queue retry ${id8(entry)}\``,
        ),
      ),
    ]);
  });

  it('text from the record is terminal-safe; more than five are counted, not listed', async () => {
    const e = elsewhere();
    const hostile = 'held by bob\u001b]0;pwned\u0007\u001b[2J\r\n[ok] forged';
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const { entry } = await e.queue.enqueue({
        operation: { kind: 'pull', projectDir: dir, remote: 'http://127.0.0.1:1/ns/x', branch: `b${i}` },
        idempotencyKey: `hostile${i}`,
      });
      ids.push(entry.id);
    }
    await e.queue.transact((entries) => {
      for (const entry of entries)
        Object.assign(entry, {
          status: 'failed',
          reason: { code: 'failed', facts: { kind: 'permanent', reason: hostile } },
          completedAt: new Date().toISOString(),
          lastError: { message: hostile, kind: 'permanent', chain: [] },
        });
    });
    const r = await oxenvcs(['lock', 'status', '--no-auto-sync']);
    const lines = told(r.err);
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/held by bob +\[ok\] forged — retry it/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is matched
    expect(r.err).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(r.err).not.toMatch(/^\[ok\] forged/m);
    expect(lines[5]).toBe(
      '[i] …and 2 more failed or expired while you were away; `oxenvcs queue status --all-projects` lists them.',
    );
  });

  it('a background keep-alive (OXENVCS_BACKGROUND) tells nothing, and leaves it for the user', async () => {
    await failWhileAway();
    const background = await oxenvcs(['lock', 'status'], { env: { OXENVCS_BACKGROUND: '1' } });
    expect(told(background.err)).toEqual([]);
    expect(told((await oxenvcs(['lock', 'status'])).err)).toHaveLength(1);
  });
});
describe('what failed while you were away: review findings', () => {
  it('a marker that cannot be read or written still tells (a folder in its place)', async () => {
    const entry = await failWhileAway();
    mkdirSync(join(home, 'away.json'));
    const r = await oxenvcs(['lock', 'status']);
    expect(r.code).toBe(0);
    expect(told(r.err).join('\n')).toContain(`(${id8(entry)})`);
  });

  it('queue remove of the failed entry does not first tell it as missed', async () => {
    const entry = await failWhileAway();
    const r = await oxenvcs(['queue', 'remove', id8(entry)]);
    expect(r.code).toBe(0);
    expect(told(r.err)).toEqual([]);
    expect(r.out).toContain(`Removed ${id8(entry)}`);
  });

  it('what to do is decided by the codes, not by text another user wrote in a lock comment', async () => {
    // A renewal queued offline, and meanwhile Bob breaks the lock and takes it with a comment that
    // reads like advice (a queued acquisition would wait in line instead of failing).
    expect((await elsewhere().lockAcquire({ ttlHours: 1 })).status).toBe('done');
    await server.faults.offline();
    const queued = await elsewhere().lockRenew({ ttlHours: 1 });
    await server.faults.online();
    const bobHome = world.folder('bob');
    try {
      const bob = createEngine({
        cwd: dir,
        env: { ...vars(), OXENVCS_HOME: bobHome, OXENVCS_HOLDER: 'bob@studio' },
      });
      await bob.lockBreak({ force: true, reason: 'Please run `oxenvcs lock break --force` now' });
      await bob.lockAcquire({ ttlHours: 1, comment: 'Please run `oxenvcs lock break --force` now' });
      expect((await elsewhere().sync()).summary?.failed).toBe(1);
      const r = await oxenvcs(['lock', 'list']);
      const line = told(r.err).join('\n');
      if (queued.status !== 'queued') throw new Error('expected the renewal to queue');
      expect(line).toContain(`retry it with \`oxenvcs queue retry ${id8(queued.entry)}\``);
    } finally {
      rmSync(bobHome, { recursive: true, force: true });
    }
  });

  it('a renewal refused offline because the lease is over is said by that command, not again as missed', async () => {
    const engine = elsewhere();
    const ended = new Date(Date.now() - 3_600_000).toISOString();
    writeFileSync(
      join(home, 'grants.json'),
      JSON.stringify({
        [`${engine.project().remote.url}#.`]: {
          fencingToken: 1,
          expiresAt: ended,
          holder: 'ada@laptop',
          ttlMs: 3_600_000,
          updatedAt: ended,
        },
      }),
    );
    await server.faults.offline();
    const renew = await oxenvcs(['lock', 'renew']);
    expect(renew.code).toBe(1);
    expect(renew.err).toContain('Not renewed: your lease ended');
    await server.faults.online();
    expect(told((await oxenvcs(['lock', 'status'])).err)).toEqual([]);
  });
});
