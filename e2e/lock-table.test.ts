import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOxenHub } from '@oxvcs/oxen';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createWorld, type World } from './helpers.js';

/** Preload that sets a CLI process's wall clock back or ahead (see clock-step.mjs). */
const CLOCK_STEP = fileURLToPath(new URL('./clock-step.mjs', import.meta.url));

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());
afterEach(() => world.server.configure({ dateOffsetMs: 0 }));

/** Ticket `n` made by a collaborator with write access: a pushed commit holding `message`. */
async function forge(name: string, n: number, message: string) {
  const id = world.server.pushCommit('e2e', name, { message, author: 'mallory' });
  await createOxenHub({ remoteUrl: world.server.repoUrl('e2e', name) }).createBranchFromCommit(
    `oxvcs-locks/${String(n).padStart(10, '0')}`,
    id,
  );
}

describe('one lock table every reader agrees on (issue 19), with the built CLI', () => {
  it('a ticket far above the top is never jumped to: a new machine sees the holder and is refused', async () => {
    const dir = await world.project('gap');
    expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'ada' })).code).toBe(0);
    await forge(
      'gap',
      9_999_999_999,
      JSON.stringify({
        schema: 3,
        ticket: 9_999_999_999,
        writer: { holder: 'mallory@x', machineId: 'm' },
        op: 'break',
        key: '.',
        nonce: 'gap',
        leases: {},
        breaks: {},
        last: {},
      }),
    );
    const bob = await world.run(['lock', 'acquire'], { cwd: dir, user: 'bob' });
    expect(bob.code).toBe(3);
    expect(bob.stderr).toContain('held by ada@e2e');
    expect((await world.run(['lock', 'status'], { cwd: dir, user: 'ada' })).stdout).toMatch(/locked by you/);
  });

  it('`lock break` without --force never breaks a live lease when the `Date` header runs 2 h ahead', async () => {
    const dir = await world.project('ahead');
    expect((await world.run(['lock', 'acquire', '--timeout', '1'], { cwd: dir, user: 'ada' })).code).toBe(0);
    world.server.configure({ dateOffsetMs: 2 * 3_600_000 });
    const bob = await world.run(['lock', 'break', '--reason', 'looks stale'], { cwd: dir, user: 'bob' });
    expect(bob.code).toBe(3);
    expect(bob.stderr).toMatch(/held by ada@e2e.*--force/);
    world.server.configure({ dateOffsetMs: 0 });
    expect((await world.run(['lock', 'status'], { cwd: dir, user: 'ada' })).stdout).toMatch(/locked by you/);
  });

  it('a machine whose clock runs a week off is told lock times on the server’s clock, as `lock status` tells them', async () => {
    const dir = await world.project('week-off');
    const week = 7 * 24 * 3_600_000;
    const clock = (ms: number) => ({ NODE_OPTIONS: `--import=${CLOCK_STEP}`, CLOCK_SKEW_MS: String(ms) });
    // Ada's clock runs a week behind: her hour-long lease is not said to run for a week.
    const ada = await world.run(['lock', 'acquire', '--timeout', '1'], {
      cwd: dir,
      user: 'ada',
      env: clock(-week),
    });
    expect(ada.code).toBe(0);
    expect(ada.stdout).toMatch(/Expires: .* \((in 1h 0m|in 59m)\)/);
    const renew = await world.run(['lock', 'renew'], { cwd: dir, user: 'ada', env: clock(-week) });
    expect(renew.code).toBe(0);
    expect(renew.stdout).toMatch(/Lock extended until .* \((in 1h 0m|in 59m)\)/);
    expect(`${ada.stdout}${renew.stdout}`).not.toMatch(/7d|6d/);
    // Bob's runs a week ahead: refused, and not told that the live lease ended days ago.
    for (const verb of ['acquire', 'break']) {
      const bob = await world.run(['lock', verb], { cwd: dir, user: 'bob', env: clock(week) });
      expect(bob.code, verb).toBe(3);
      expect(bob.stderr, verb).toMatch(/until .* \((in 1h 0m|in 59m)\)/);
      expect(bob.stderr, verb).not.toMatch(/\dd \d+h/);
    }
    // Ada's keep-alive, on her clock a week behind, logs its renewals on the server's clock too.
    const env = { ...clock(-week), OXENVCS_LOCK_HEARTBEAT_INTERVAL_SECONDS: '0.5' };
    expect((await world.run(['lock', 'acquire', '--keep-alive'], { cwd: dir, user: 'ada', env })).code).toBe(
      0,
    );
    const logs = join(world.home('ada'), 'heartbeats');
    const log = () =>
      readdirSync(logs)
        .filter((f) => f.endsWith('.log'))
        .map((f) => readFileSync(join(logs, f), 'utf8'))
        .join('');
    await vi.waitFor(() => expect(log()).toContain('Lock renewed until'), { interval: 100 });
    expect((await world.run(['lock', 'heartbeat', '--stop'], { cwd: dir, user: 'ada', env })).code).toBe(0);
    expect(log()).toMatch(/Lock renewed until .* \(in (4h 0m|3h 59m)\)/);
    expect(log()).not.toMatch(/7d|6d/);
  });
});

describe('offline, a lease ends on this machine’s clock however far off it runs', () => {
  it('a clock a week behind: two hours after an hour-long grant, offline, the lease is over (renew has nothing to extend)', async () => {
    const dir = await world.project('week-behind-offline');
    const week = 7 * 24 * 3_600_000;
    const step = join(world.home('ada'), 'two-hours-later');
    const env = {
      NODE_OPTIONS: `--import=${CLOCK_STEP}`,
      CLOCK_SKEW_MS: String(-week),
      CLOCK_STEP_MS: String(2 * 3_600_000),
      CLOCK_STEP_FILE: step,
    };
    expect(
      (await world.run(['lock', 'acquire', '--timeout', '1'], { cwd: dir, user: 'ada', env })).code,
    ).toBe(0);
    await world.server.faults.offline();
    try {
      // Still within the hour: a renewal is queued for when the remote is back.
      const early = await world.run(['lock', 'renew', '--json'], { cwd: dir, user: 'ada', env });
      expect(early.code, early.stderr).toBe(75);
      expect((await world.run(['queue', 'clear', '--all'], { cwd: dir, user: 'ada', env })).code).toBe(0);
      // Two hours on (her clock still a week behind the server's): the lease she noted is over. By
      // the remote's own expiry, read against her clock, it would last another week.
      writeFileSync(step, '');
      const late = await world.run(['lock', 'renew', '--json'], { cwd: dir, user: 'ada', env });
      expect(late.code, late.stdout).toBe(1);
      expect(JSON.parse(late.stdout)).toMatchObject({ status: 'expired' });
    } finally {
      await world.server.faults.online();
    }
  });
});

describe('a lost lease key (issue 19 §10), with the built CLI', () => {
  it('the holder hears that this machine lost the key and how to take the lock over, never "held by" themselves', async () => {
    const dir = await world.project('lost-key');
    expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'ada' })).code).toBe(0);
    rmSync(join(world.home('ada'), 'lock-keys'), { recursive: true, force: true });
    for (const args of [
      ['lock', 'acquire'],
      ['lock', 'renew'],
      ['lock', 'release'],
    ]) {
      const r = await world.run(args, { cwd: dir, user: 'ada' });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/Your lock on this project \(fencing token 1\) is still in the lock table/);
      expect(r.stderr).toContain('run `oxenvcs lock break --force` to take it over');
      expect(r.stderr).not.toContain('held by ada@e2e');
    }
    const json = await world.run(['lock', 'acquire', '--json'], { cwd: dir, user: 'ada' });
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      error: { code: 'KEY_LOST', holder: 'ada@e2e' },
    });
    expect(
      (await world.run(['lock', 'break', '--force', '--reason', 'lost my key'], { cwd: dir, user: 'ada' }))
        .code,
    ).toBe(0);
    expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'ada' })).code).toBe(0);
  });
});
