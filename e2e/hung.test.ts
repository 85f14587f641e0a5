import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, json, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

/** A 1 s connectivity check: the timeouts these tests wait for are theirs to set. */
const quickCheck = { OXENVCS_CONNECTIVITY_TIMEOUT_MS: '1000' };

describe('7. a hung server', () => {
  it('the connectivity check gives up within its timeout and the command queues', async () => {
    const dir = await world.project('hung');
    await world.server.faults.add({ kind: 'blackhole' });
    const r = await world.run(['lock', 'acquire', '--json'], { cwd: dir, env: quickCheck });
    await world.server.faults.clear();
    expect(r.code).toBe(75);
    expect(json(r)).toMatchObject({ status: 'queued', reason: 'Network is offline' });
    expect(r.ms).toBeLessThan(12_000);
  }, 30_000);

  it('a server that answers health but hangs on lock requests: requests time out, retries run out, the command queues', async () => {
    const dir = await world.project('hung2');
    await world.server.faults.add({ kind: 'blackhole', route: '/branches' });
    const r = await world.run(['lock', 'acquire', '--json'], {
      cwd: dir,
      env: { ...quickCheck, OXENVCS_CONNECTIVITY_REQUEST_TIMEOUT_MS: '2000' },
    });
    await world.server.faults.clear();
    expect(r.code).toBe(75);
    // One overall deadline: the connectivity check (1 s here) plus one request timeout (2 s).
    expect(json(r).reason).toMatch(
      /^Gave up for now: .*(did not answer within 2000 ms|did not finish within 2 s)/,
    );
    expect(r.ms).toBeLessThan(8000);
  }, 30_000);

  it('push through a hung oxen is killed by its timeout and queued', async () => {
    const dir = await world.project('hung3');
    writeFileSync(join(dir, 'Bass.wav'), 'bass');
    await world.env.oxen(['add', 'Bass.wav'], dir);
    await world.env.oxen(['commit', '-m', 'bass'], dir);
    await world.server.faults.add({ kind: 'blackhole', route: '/__testkit' });
    const r = await world.run(['push', '--json'], {
      cwd: dir,
      env: { OXENVCS_RETRY_MAX_RETRIES: '0', OXENVCS_CONNECTIVITY_TRANSFER_TIMEOUT_SECONDS: '1' },
    });
    await world.server.faults.clear();
    expect(r.code).toBe(75);
    expect(r.stdout).toContain('"status":"queued"');
    expect(r.stdout).toContain('did not finish within 1 s');
    expect(r.ms).toBeLessThan(20_000);
  }, 60_000);
});
