import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createQueue } from '@oxvcs/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, json, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

describe('1. offline: acquire, push and renew queued; back online; sync', () => {
  it('runs everything in order, holds the lock, and does not replay the renew after its lease window', async () => {
    const dir = await world.project('offline');
    // A lease we hold now, whose renewal will be queued and then outlive its window.
    expect((await world.run(['lock', 'acquire', '--timeout', '1'], { cwd: dir })).code).toBe(0);
    await world.server.faults.offline();
    const renew = await world.run(['lock', 'renew', '--json'], { cwd: dir });
    expect(renew.code).toBe(75);
    const acquire = await world.run(['lock', 'acquire', '--timeout', '2', '--json'], { cwd: dir });
    expect(acquire.code).toBe(75);
    expect(json(acquire)).toMatchObject({ ok: true, status: 'queued' });
    writeFileSync(join(dir, 'Vocals.wav'), 'take 3');
    await world.env.oxen(['add', 'Vocals.wav'], dir);
    await world.env.oxen(['commit', '-m', 'vocals take 3'], dir);
    expect((await world.run(['push'], { cwd: dir })).code).toBe(75);
    // Time passes beyond the lease the queued renew would extend (moved on the entry itself, so
    // the test waits for no clock).
    const queue = createQueue({ file: join(world.home('ada'), 'queue.json') });
    await queue.transact((entries) => {
      for (const e of entries) {
        if (e.operation.kind === 'renew-lock')
          Object.assign(e, { expiresAt: new Date(Date.now() - 1000).toISOString() });
      }
    });
    await world.server.faults.online();
    world.server.clearRequests();

    const sync = await world.run(['queue', 'sync', '--json'], { cwd: dir });
    expect(sync.code).toBe(0);
    expect(json(sync).summary).toMatchObject({ done: 2, expired: 1, failed: 0, remaining: 0 });
    const entries = json(await world.run(['queue', 'status', '--json'], { cwd: dir })).entries as Array<{
      kind: string;
      status: string;
    }>;
    expect(Object.fromEntries(entries.map((e) => [e.kind, e.status]))).toEqual({
      'acquire-lock': 'done',
      push: 'done',
      'renew-lock': 'expired',
    });
    // Right order on the server: the lock was claimed before the push moved main.
    const log = world.server.requests;
    const claim = log.findIndex((r) => r.route === 'POST /api/repos/:ns/:repo/branches' && r.status === 200);
    const push = log.findIndex((r) => r.method === 'PUT' && r.path.endsWith('/branches/main'));
    expect(claim).toBeGreaterThanOrEqual(0);
    expect(push).toBeGreaterThan(claim);
    const status = json(await world.run(['lock', 'status', '--json'], { cwd: dir }));
    expect(status.lock).toMatchObject({ state: 'held-by-you' });
    const [head] = (await world.env.oxen(['log', '-n', '1'], dir)).stdout.match(/[0-9a-f]{32}/) ?? [];
    expect(world.server.repo('e2e', 'offline')!.branches.main).toBe(head);
  }, 60_000);
});
