import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, json, type World } from './helpers.js';

// A command typed online never overtakes what its project queued before it: when the auto-sync
// cannot finish the lane (a take uploading longer than its bound, an entry waiting out a backoff),
// the command is queued behind it (exit 75), and `queue sync` runs both in the order typed.

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

async function takeQueuedOffline(dir: string, name: string) {
  expect((await world.run(['lock', 'acquire', '--timeout', '1'], { cwd: dir })).code).toBe(0);
  writeFileSync(join(dir, `${name}.wav`), `take ${name}`);
  await world.env.oxen(['add', `${name}.wav`], dir);
  await world.env.oxen(['commit', '-m', name], dir);
  await world.server.faults.offline();
  expect((await world.run(['push'], { cwd: dir })).code).toBe(75);
  await world.server.faults.online();
}

const mainMoves = (repo: string) =>
  world.server.requests.filter(
    (r) => r.method === 'PUT' && r.path.endsWith(`/e2e/${repo}/branches/main`) && r.status === 200,
  ).length;

describe('an online lock command behind a queued push', () => {
  it('a take still uploading when the auto-sync gives up: the release is queued behind it, and the sync pushes, then releases', async () => {
    const dir = await world.project('overtake-slow');
    await takeQueuedOffline(dir, 'slow');
    // The upload does not finish within the auto-sync's bound (the fake oxen waits at its upload).
    const pause = join(world.home('ada'), '..', 'overtake-pause');
    mkdirSync(join(pause, '..'), { recursive: true });
    const release = await world.run(['lock', 'release', '--json'], {
      cwd: dir,
      env: {
        OXEN_FAKE_PAUSE_AT: 'push-upload',
        OXEN_FAKE_PAUSE_FILE: pause,
        OXENVCS_CONNECTIVITY_REQUEST_TIMEOUT_MS: '1500',
      },
    });
    expect(release.code).toBe(75);
    expect(json(release)).toMatchObject({ status: 'queued', behind: [{ kind: 'push' }] });
    // Still ours, and nothing pushed yet.
    // (Looked at without the auto-sync, which would replay the queue itself.)
    const look = await world.run(['lock', 'status', '--json'], {
      cwd: dir,
      env: { OXENVCS_QUEUE_AUTO_SYNC: 'false' },
    });
    expect(json(look).lock.state).toBe('held-by-you');
    expect(mainMoves('overtake-slow')).toBe(0);
    const sync = await world.run(['queue', 'sync', '--json'], { cwd: dir });
    expect(sync.code).toBe(0);
    expect(json(sync).summary).toMatchObject({ done: 2, failed: 0, remaining: 0 });
    expect(mainMoves('overtake-slow')).toBe(1);
    expect(json(await world.run(['lock', 'status', '--json'], { cwd: dir })).lock.state).toBe('unlocked');
  });

  it('a push waiting out a backoff after a 503: the release is queued behind it, not run at once', async () => {
    const dir = await world.project('overtake-backoff');
    await takeQueuedOffline(dir, 'backoff');
    // The auto-sync's one attempt at the push meets a 503 and leaves it waiting (backoff).
    await world.server.faults.add({
      kind: 'error',
      status: 503,
      route: '/overtake-backoff',
      method: 'GET',
      count: 1,
    });
    const release = await world.run(['lock', 'release', '--json'], {
      cwd: dir,
      env: { OXENVCS_RETRY_INITIAL_BACKOFF_MS: '2000', OXENVCS_RETRY_MAX_BACKOFF_MS: '2000' },
    });
    expect(release.code, release.stderr).toBe(75);
    expect(json(release).behind).toEqual([expect.objectContaining({ kind: 'push' })]);
    // (Looked at without the auto-sync, which would replay the queue itself.)
    const look = await world.run(['lock', 'status', '--json'], {
      cwd: dir,
      env: { OXENVCS_QUEUE_AUTO_SYNC: 'false' },
    });
    expect(json(look).lock.state).toBe('held-by-you');
    // The sync waits the push's backoff out, then pushes and releases.
    const sync = await world.run(['queue', 'sync', '--json'], { cwd: dir });
    expect(sync.code, sync.stdout + sync.stderr).toBe(0);
    expect(mainMoves('overtake-backoff')).toBe(1);
    expect(json(await world.run(['lock', 'status', '--json'], { cwd: dir })).lock.state).toBe('unlocked');
  });
});
