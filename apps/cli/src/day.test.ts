// Issue 22, items 4–7, as two producers meet them through the built `oxenvcs`: the lease margin in
// words, the last known lock offline, the keep-alive's log, and the first line of a push.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Harness, startHarness } from './test-support/harness.js';

/** The server's clock, moved by hand: leases end exactly when a test says (no race with the machine). */
let serverTime = Math.floor(Date.now() / 1000) * 1000;
let h: Harness;
let n = 0;
const fresh = async () => ({ cwd: await h.newProject(`d${++n}`), home: h.newHome() });
const BOB = { holder: 'bob@studio' };

beforeAll(async () => {
  h = await startHarness('day', { clock: { now: () => serverTime } });
});
afterAll(() => h.stop());

describe('a producer’s day, in words', () => {
  it('just after a lease ends, status says it expired and is treated as held for the margin (server clock)', async () => {
    const ada = await fresh();
    const bob = { ...BOB, cwd: ada.cwd, home: h.newHome() };
    expect((await h.run(['lock', 'acquire', '--timeout', '0.0167'], ada)).code).toBe(0);
    // 0.0167 h is 60.12 s: the lease ended 1.88 s before this.
    serverTime += 62_000;
    const r = await h.run(['lock', 'status'], bob);
    expect(r.stdout).toContain(
      'this project: locked by ada@laptop expired 2 s ago; treated as held for 3 s more so clocks cannot disagree',
    );
    expect(r.stdout).not.toMatch(/locked by .* until/);
    expect(r.stdout).toMatch(/Expired: .* \(ended /);
    const refused = await h.run(['lock', 'break'], bob);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(
      'The lock on this project (held by ada@laptop) expired 2 s ago; it is treated as held for 3 s more so clocks cannot disagree: break it then, or pass --force now.',
    );
    serverTime += 10_000;
    expect((await h.run(['lock', 'status'], bob)).stdout).toContain('this project: expired');
  });

  it('a break reaches the previous holder once, though the breaker took the lock since', async () => {
    const ada = await fresh();
    const bob = { ...BOB, cwd: ada.cwd, home: h.newHome() };
    expect((await h.run(['lock', 'acquire', '--timeout', '0.0167'], ada)).code).toBe(0);
    serverTime += 70_000;
    const broke = await h.run(['lock', 'break', '--force', '--reason', 'Ada is away'], bob);
    expect(broke.code).toBe(0);
    expect((await h.run(['lock', 'acquire'], bob)).code).toBe(0);
    const first = await h.run(['lock', 'status'], ada);
    expect(first.stdout).toMatch(
      /\[x\] Your lock on this project was broken by bob@studio at \d{4}-\d\d-\d\d \d\d:\d\d \((\d+s ago|now)\): Ada is away\n\[!\] this project: locked by bob@studio until /,
    );
    // Told once: then the usual line.
    const again = await h.run(['lock', 'status'], ada);
    expect(again.stdout).not.toContain('broken');
    expect(again.stdout).toContain('this project: locked by bob@studio until');
    // Ada's renew says why she lost it (her keep-alive's log would too).
    const renew = await h.run(['lock', 'renew'], ada);
    expect(renew.code).toBe(3);
    expect(renew.stderr).toMatch(
      /Your lock on this project was broken by bob@studio at \d{4}-\d\d-\d\d \d\d:\d\d \([^)]+\) \(Ada is away\); it is held by bob@studio until /,
    );
    // Bob and others see no such line.
    expect((await h.run(['lock', 'status'], bob)).stdout).not.toContain('broken');
  });

  it('others are told a keep-alive renews the holder’s lease, not to wait until it expires', async () => {
    const ada = await fresh();
    const bob = { ...BOB, cwd: ada.cwd, home: h.newHome() };
    const env = { OXENVCS_LOCK_HEARTBEAT_INTERVAL_SECONDS: '0.5' };
    const started = await h.run(['lock', 'acquire', '--keep-alive', '--json'], { ...ada, env });
    const log = JSON.parse(started.stdout).keepAlive.log as string;
    await vi.waitFor(() => expect(readFileSync(log, 'utf8')).toContain('Lock renewed until'), {
      interval: 100,
    });
    try {
      const refused = await h.run(['lock', 'acquire'], bob);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toMatch(
        /held by ada@laptop since .*; it is kept alive by a keep-alive, last renewed \d{4}-\d\d-\d\d \d\d:\d\d \([^)]+\), so it will not expire while their machine is up: ask them to release it\./,
      );
      expect(refused.stderr).not.toContain('wait until it expires');
      expect((await h.run(['lock', 'status'], bob)).stdout).toMatch(
        /this project: locked by ada@laptop until .*; kept alive by a keep-alive, last renewed /,
      );
    } finally {
      expect((await h.run(['lock', 'release'], { ...ada, env })).code).toBe(0);
    }
    // Without a keep-alive, the usual advice.
    expect((await h.run(['lock', 'acquire'], ada)).code).toBe(0);
    expect((await h.run(['lock', 'acquire'], bob)).stderr).toContain('or wait until it expires');
  });

  it('offline, status shows the lock of anyone as last read, with its age; your own lease reads as yours', async () => {
    const ada = await fresh();
    const bob = { ...BOB, cwd: ada.cwd, home: h.newHome() };
    expect((await h.run(['lock', 'acquire', '--comment', 'vocals'], ada)).code).toBe(0);
    // Bob is told Ada holds it (his acquire fails): that is remembered, as a status read is.
    expect((await h.run(['lock', 'acquire'], bob)).code).toBe(3);
    await h.server.faults.offline();
    try {
      const r = await h.run(['lock', 'status'], bob);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        /Last read from the remote \d+s ago: this project: locked by ada@laptop until \d{4}-\d\d-\d\d \d\d:\d\d \(in \d+h \d+m\) \("vocals"\)/,
      );
      expect(r.stdout).not.toContain('No lock recorded');
      const json = JSON.parse((await h.run(['lock', 'status', '--json'], bob)).stdout);
      expect(json.lastKnown.state).toMatchObject({ state: 'held-by-other', lease: { holder: 'ada@laptop' } });
      const own = await h.run(['lock', 'status'], ada);
      expect(own.stdout).toMatch(/You hold it until .* \(in \d+h \d+m\) by this machine's last note/);
      expect(own.stdout).not.toContain('You held it');
    } finally {
      await h.server.faults.online();
    }
  });

  it('the keep-alive log: local times on every line, the lock named, and why it stopped (a release)', async () => {
    const ada = await fresh();
    const env = { OXENVCS_LOCK_HEARTBEAT_INTERVAL_SECONDS: '0.5' };
    const started = await h.run(['lock', 'acquire', '--keep-alive', '--json'], { ...ada, env });
    expect(started.code).toBe(0);
    const log = JSON.parse(started.stdout).keepAlive.log as string;
    await vi.waitFor(() => expect(readFileSync(log, 'utf8')).toContain('Lock renewed until'), {
      interval: 100,
    });
    const released = await h.run(['lock', 'release'], { ...ada, env });
    expect(released.code).toBe(0);
    expect(released.stderr).toMatch(/Keep-alive stopped \(pid \d+\): nothing renews the lock any more/);
    await vi.waitFor(() => expect(readFileSync(log, 'utf8')).toContain('Keep-alive stopped'), {
      interval: 100,
    });
    const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /);
    expect(lines[0]).toContain(`Keeping the lock on this project (${ada.cwd}) alive in the background`);
    expect(lines.at(-1)).toMatch(
      /Keep-alive stopped: asked by `oxenvcs lock release`; the lock stays yours until it expires\.$/,
    );
    expect(lines.join('\n')).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
    // One log per lock, in the state folder's heartbeats.
    expect(readdirSync(join(ada.home, 'heartbeats')).filter((f) => f.endsWith('.log'))).toHaveLength(1);
  });

  it('a push says at once that it is connecting (stderr, human output only)', async () => {
    const ada = await fresh();
    const r = await h.run(['push'], ada);
    expect(r.code).toBe(0);
    const first = r.stderr.split('\n')[0];
    expect(first).toMatch(/^\[i\] Connecting to http:\/\/127\.0\.0\.1:\d+; preparing the push…$/);
    const json = await h.run(['push', '--json'], ada);
    expect(json.code).toBe(0);
    expect(json.stderr).not.toContain('Connecting');
    expect(JSON.parse(json.stdout).ok).toBe(true);
  });

  it('text output paths of the CLI never make an ISO time (only --json carries them)', () => {
    const src = join(import.meta.dirname, '.');
    const files = (readdirSync(src, { recursive: true }) as string[]).filter(
      (f) => /\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f) && !f.startsWith('test-support'),
    );
    const offenders = files.filter((f) => readFileSync(join(src, f), 'utf8').includes('toISOString'));
    expect(offenders).toEqual([]);
  });
});
