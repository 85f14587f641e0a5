import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, json, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

/**
 * The timeouts these tests wait for are theirs to set. Whether a limit fired is read from what the
 * command says and what the server saw, never from how long the run took: a busy machine adds
 * seconds to every run (starting node, the server answering), and a limit that did not apply leaves
 * the command hanging on a blackhole, which the wait for its exit tells.
 */
const quickCheck = { OXENVCS_CONNECTIVITY_TIMEOUT_MS: '1000' };
/** The requests the server saw on `route` (a blackholed one has status 0). */
const seen = (route: string) => world.server.requests.filter((r) => r.path.includes(route));

describe('7. a hung server', () => {
  it('no health check is waited on first: the command’s own requests, under its deadline, find the hang and it queues', async () => {
    const dir = await world.project('hung');
    world.server.clearRequests();
    await world.server.faults.add({ kind: 'blackhole' });
    const r = await world.run(['lock', 'acquire', '--json'], {
      cwd: dir,
      env: { ...quickCheck, OXENVCS_CONNECTIVITY_REQUEST_TIMEOUT_MS: '2000' },
    });
    await world.server.faults.clear();
    expect(r.code).toBe(75);
    expect(json(r).reason).toMatch(
      /^Gave up for now: .*(did not answer within 2000 ms|did not finish within 2 s)/,
    );
    // A timeout is not "offline" (a busy machine times out too): no health probe, before or after.
    expect(world.server.requests.filter((q) => q.path === '/api/health')).toEqual([]);
    expect(world.server.requests.every((q) => q.fault === 'blackhole')).toBe(true);
    expect(r.ms).toBeGreaterThanOrEqual(2000);
  });

  it('a server that answers health but hangs on lock requests: requests time out, retries run out, the command queues', async () => {
    const dir = await world.project('hung2');
    world.server.clearRequests();
    await world.server.faults.add({ kind: 'blackhole', route: '/branches' });
    // The health check answers (its bound is the world's): the request deadline is the subject.
    const r = await world.run(['lock', 'acquire', '--json'], {
      cwd: dir,
      env: { OXENVCS_CONNECTIVITY_REQUEST_TIMEOUT_MS: '2000' },
    });
    await world.server.faults.clear();
    expect(r.code).toBe(75);
    expect(json(r).reason).toMatch(
      /^Gave up for now: .*(did not answer within 2000 ms|did not finish within 2 s)/,
    );
    // One overall deadline (2 s) for the command, not one per attempt: the retries (5 by default,
    // 20 ms apart) are never sent. At most the first request and one retry the deadline cut short.
    const hung = seen('/branches');
    expect(hung.length).toBeGreaterThanOrEqual(1);
    expect(hung.length).toBeLessThanOrEqual(2);
    expect(hung.every((q) => q.fault === 'blackhole')).toBe(true);
  });

  it('push through a hung oxen is killed by its timeout and queued', async () => {
    const dir = await world.project('hung3');
    writeFileSync(join(dir, 'Bass.wav'), 'bass');
    await world.env.oxen(['add', 'Bass.wav'], dir);
    await world.env.oxen(['commit', '-m', 'bass'], dir);
    await world.server.faults.add({ kind: 'blackhole', route: '/commits/missing' });
    const r = await world.run(['push', '--json'], {
      cwd: dir,
      env: { OXENVCS_RETRY_MAX_RETRIES: '0', OXENVCS_CONNECTIVITY_TRANSFER_TIMEOUT_SECONDS: '1' },
    });
    await world.server.faults.clear();
    expect(r.code).toBe(75);
    expect(r.stdout).toContain('"status":"queued"');
    // Stopped by its own 1 s (the default is 600 s), as the message says.
    expect(r.stdout).toContain('did not finish within 1 s');
    expect(r.ms).toBeGreaterThanOrEqual(1000);
  });
});
