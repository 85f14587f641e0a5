import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine } from '@oxvcs/engine';
import { type FakeNotifiers, fakeNotifiers } from '@oxvcs/oxen-testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLI, createWorld, json, type World, watched } from './helpers.js';

/** Preload that sets a CLI process's wall clock back or ahead (see clock-step.mjs). */
const CLOCK_STEP = fileURLToPath(new URL('./clock-step.mjs', import.meta.url));

let world: World;
let notifiers: FakeNotifiers;
beforeAll(async () => {
  world = await createWorld();
  notifiers = fakeNotifiers();
});
afterAll(async () => {
  await world.close();
  rmSync(notifiers.dir, { recursive: true, force: true });
});

/** Starts the built CLI as `user` with the fake notifiers first on PATH; collects its output. */
function start(args: string[], cwd: string, user: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: {
      ...world.envFor(user),
      PATH: `${notifiers.dir}:${world.envFor(user).PATH ?? ''}`,
      // Look at the line often: the test is about order, not about the default 5 s.
      OXENVCS_LOCK_WAIT_POLL_SECONDS: '0.2',
      // The fake notifiers stand in for the desktop's (helpers.ts turns notifications off).
      OXENVCS_UI_NOTIFICATIONS: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watched(child);
}

describe('lock acquire --wait: two homes, real processes, the testkit server (issue 22 §1)', () => {
  it('Bob waits behind Ada (everyone sees it); Ada releases; Bob gets the lock, is told, and gets a desktop notification; Carol’s Ctrl-C leaves the line', async () => {
    const dir = await world.project('wait-line');
    expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'ada' })).code).toBe(0);
    const sent = notifiers.calls('notify-send').length;

    const bob = start(['lock', 'acquire', '--wait'], dir, 'bob');
    await vi.waitFor(
      () =>
        expect(bob.out.stderr).toMatch(
          /Waiting behind ada \(held since (?:\d{4}-\d\d-\d\d )?\d\d:\d\d\); you are 1st in line/,
        ),
      {
        interval: 50,
      },
    );
    const carol = start(['lock', 'acquire', '--wait'], dir, 'carol');
    await vi.waitFor(() => expect(carol.out.stderr).toMatch(/you are 2nd in line/), {
      interval: 50,
    });

    // The holder, and anyone else, sees the line in `lock status`, first first.
    const status = await world.run(['lock', 'status'], { cwd: dir, user: 'ada' });
    expect(status.stdout).toMatch(
      /bob is waiting since (?:\d{4}-\d\d-\d\d )?\d\d:\d\d \(1st in line\)\n.*carol is waiting since (?:\d{4}-\d\d-\d\d )?\d\d:\d\d \(2nd in line\)/,
    );
    const asJson = json(await world.run(['lock', 'status', '--json'], { cwd: dir, user: 'dan' }));
    expect(asJson.lock.waiters.map((w: { holder: string }) => w.holder)).toEqual(['bob@e2e', 'carol@e2e']);

    // A plain acquire while Ada holds it: held (exit 3), as before.
    expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'dan' })).code).toBe(3);

    // Carol gives up: Ctrl-C leaves the line (exit 130 by the signal).
    carol.child.kill('SIGINT');
    expect(await carol.exited).toBe(130);
    expect(carol.out.stderr).toMatch(/Interrupted: you left the line; the lock was not taken\./);
    // That line is the ending: no failure is reported after it.
    expect(carol.out.stderr).not.toMatch(/\[x\]|failed/);
    expect(
      json(await world.run(['lock', 'status', '--json'], { cwd: dir, user: 'ada' })).lock.waiters.map(
        (w: { holder: string }) => w.holder,
      ),
    ).toEqual(['bob@e2e']);

    expect((await world.run(['lock', 'release'], { cwd: dir, user: 'ada' })).code).toBe(0);
    expect(await bob.exited).toBe(0);
    expect(bob.out.stdout).toMatch(/Your turn: lock acquired after waiting \d+(s|m)/);
    expect(bob.out.stdout).toMatch(/Holder: bob@e2e/);
    await vi.waitFor(() => expect(notifiers.calls('notify-send')).toHaveLength(sent + 1), {
      interval: 50,
    });
    expect(notifiers.calls('notify-send')[sent]?.slice(2)).toEqual([
      'Your turn: lock acquired',
      `wait-line is yours now (${/after waiting \d+(s|m)/.exec(bob.out.stdout)?.[0]}).`,
    ]);
    // Bob holds it; the line is empty.
    const after = json(await world.run(['lock', 'status', '--json'], { cwd: dir, user: 'ada' }));
    expect(after.lock).toMatchObject({ state: 'held-by-other', lease: { holder: 'bob@e2e' } });
    expect(after.lock.waiters).toBeUndefined();
  });

  it('--max-wait gives up and leaves the line (exit 1); with notifications off nothing is sent', async () => {
    const dir = await world.project('wait-max');
    expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'ada' })).code).toBe(0);
    const before = notifiers.calls('notify-send').length;
    const bob = start(['lock', 'acquire', '--max-wait', '1s', '--json'], dir, 'bob', {
      OXENVCS_UI_NOTIFICATIONS: 'false',
    });
    expect(await bob.exited).toBe(1);
    expect(JSON.parse(bob.out.stdout)).toMatchObject({ ok: false, error: { code: 'WAIT_ENDED' } });
    expect(
      json(await world.run(['lock', 'status', '--json'], { cwd: dir, user: 'ada' })).lock.waiters,
    ).toBeUndefined();
    expect(
      (await world.run(['lock', 'acquire', '--max-wait', 'soon'], { cwd: dir, user: 'bob' })).stderr,
    ).toMatch(/--max-wait must be a duration/);
    expect(notifiers.calls('notify-send')).toHaveLength(before);
  });

  it('--max-wait counts the time waited, not the wall clock: a clock set back a week mid-wait still gives up', async () => {
    const dir = await world.project('wait-max-clock');
    expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'ada' })).code).toBe(0);
    const step = join(world.home('bob'), 'clock-set-back');
    const bob = start(['lock', 'acquire', '--wait', '--max-wait', '2s', '--json'], dir, 'bob', {
      NODE_OPTIONS: `--import=${CLOCK_STEP}`,
      CLOCK_STEP_FILE: step,
      CLOCK_STEP_MS: String(-7 * 24 * 3_600_000),
    });
    await vi.waitFor(() => expect(bob.out.stderr).toMatch(/you are 1st in line/), { interval: 50 });
    writeFileSync(step, '');
    expect(await bob.exited).toBe(1);
    expect(JSON.parse(bob.out.stdout)).toMatchObject({ ok: false, error: { code: 'WAIT_ENDED' } });
    expect(
      json(await world.run(['lock', 'status', '--json'], { cwd: dir, user: 'ada' })).lock.waiters,
    ).toBeUndefined();
  });
});

describe('a keep-alive that loses the lock notifies (issue 22)', () => {
  it('broken by Bob with a reason: `lock heartbeat` ends (exit 1) and a desktop notification says so, with why', async () => {
    const dir = await world.project('keepalive-notify');
    expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'ada' })).code).toBe(0);
    const before = notifiers.calls('notify-send').length;
    const keeper = start(['lock', 'heartbeat'], dir, 'ada', {
      OXENVCS_LOCK_HEARTBEAT_INTERVAL_SECONDS: '0.3',
    });
    await vi.waitFor(() => expect(keeper.out.stderr).toMatch(/Keeping the lock on .* alive/), {
      interval: 50,
    });
    expect(
      (await world.run(['lock', 'break', '--force', '--reason', 'deadline'], { cwd: dir, user: 'bob' })).code,
    ).toBe(0);
    expect(await keeper.exited).toBe(1);
    await vi.waitFor(() => expect(notifiers.calls('notify-send')).toHaveLength(before + 1), {
      interval: 50,
    });
    const [title, body] = notifiers.calls('notify-send')[before]?.slice(2) ?? [];
    expect(title).toBe('Lock lost: stop editing');
    expect(body).toMatch(/^keepalive-notify is no longer yours: .*broken by bob@e2e: deadline/);
  });
});

describe('a queued acquire waits its turn in line (issue 22 §1)', () => {
  it('typed offline while Ada holds the lock: the sync leaves it queued and in line; after Ada’s release the next sync grants it, says so, and notifies', async () => {
    const dir = await world.project('queued-line');
    expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'ada' })).code).toBe(0);
    await world.server.faults.offline();
    expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'bob' })).code).toBe(75);
    await world.server.faults.online();
    const notify = {
      PATH: `${notifiers.dir}:${world.envFor('bob').PATH ?? ''}`,
      OXENVCS_UI_NOTIFICATIONS: 'true',
    };
    const first = await world.run(['queue', 'sync'], { cwd: dir, user: 'bob', env: notify });
    expect(first.code).toBe(75);
    expect(first.stderr).toMatch(
      /Still queued: Acquire lock for queued-line — waiting in line for the lock \(others are ahead\), next look /,
    );
    expect(
      json(await world.run(['lock', 'status', '--json'], { cwd: dir, user: 'ada' })).lock.waiters,
    ).toMatchObject([{ holder: 'bob@e2e', position: 1 }]);
    expect((await world.run(['lock', 'release'], { cwd: dir, user: 'ada' })).code).toBe(0);
    // The entry's look-again time (90 s) passes: made due at once, through the queue's own API.
    await createEngine({ cwd: dir, env: world.envFor('bob') }).queue.transact((entries) => {
      for (const e of entries) delete e.notBefore;
    });
    const sent = notifiers.calls('notify-send').length;
    const second = await world.run(['queue', 'sync'], { cwd: dir, user: 'bob', env: notify });
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(
      /Completed: Acquire lock for queued-line \(it waited in line; your turn came, the lock is yours\)/,
    );
    await vi.waitFor(() => expect(notifiers.calls('notify-send')).toHaveLength(sent + 1), {
      interval: 50,
    });
    expect(notifiers.calls('notify-send')[sent]?.slice(2)).toEqual([
      'Your turn: lock acquired',
      'Acquire lock for queued-line: done after waiting in line; the lock is yours.',
    ]);
    expect(json(await world.run(['lock', 'status', '--json'], { cwd: dir, user: 'bob' })).lock.state).toBe(
      'held-by-you',
    );
  });
});
