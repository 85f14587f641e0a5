import { join } from 'node:path';
import { createQueue, type Operation } from '@oxvcs/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, json, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld({ seed: 20261124 });
});
afterAll(() => world.close());

describe('2. flaky network while 200 mixed operations sync', () => {
  it('applies each operation exactly once on the server and loses none', async () => {
    const dir = await world.project('flaky');
    const remote = world.server.repoUrl('e2e', 'flaky');
    // 40 locks taken beforehand, to be released by queued operations.
    for (let i = 0; i < 40; i++) {
      const r = await world.run(['lock', 'acquire', '--project', `rel-${i}`], { cwd: dir });
      expect(r.code).toBe(0);
    }
    const queue = createQueue({ file: join(world.home('ada'), 'queue.json') });
    const holder = 'ada@e2e';
    const ops: Operation[] = [
      ...Array.from(
        { length: 120 },
        (_, i): Operation => ({
          kind: 'acquire-lock',
          projectDir: dir,
          remote,
          key: `new-${i}`,
          ttlMs: 3_600_000,
          holder,
        }),
      ),
      ...Array.from(
        { length: 40 },
        (_, i): Operation => ({ kind: 'release-lock', projectDir: dir, remote, key: `rel-${i}`, holder }),
      ),
      ...Array.from(
        { length: 40 },
        (): Operation => ({ kind: 'pull', projectDir: dir, remote, branch: 'main' }),
      ),
    ];
    for (const operation of ops) await queue.enqueue({ operation });
    expect((await queue.stats()).pending).toBe(200);

    world.server.clearRequests();
    await world.server.faults.add({ kind: 'reset', probability: 0.08 });
    await world.server.faults.add({ kind: 'error', status: 503, probability: 0.08 });
    await world.server.faults.add({ kind: 'latency', ms: 30, probability: 0.1 });
    await world.server.faults.add({
      kind: 'drop-response',
      method: 'POST',
      route: '/branches',
      probability: 0.05,
    });
    let runs = 0;
    for (; runs < 15; runs++) {
      const r = await world.run(['queue', 'sync', '--json'], {
        cwd: dir,
        env: { OXENVCS_RETRY_MAX_RETRIES: '6' },
      });
      const summary = json(r).summary;
      if (summary && summary.remaining === 0) break;
    }
    await world.server.faults.clear();
    const stats = await queue.stats();
    expect(stats).toMatchObject({ done: 200, failed: 0, pending: 0, running: 0 });

    // Exactly once: each new lock has one ticket, each released lock exactly acquire + release.
    const branches = Object.keys(world.server.repo('e2e', 'flaky')!.branches).filter((b) =>
      b.startsWith('oxvcs-lock/'),
    );
    for (let i = 0; i < 120; i++)
      expect(branches.filter((b) => b.startsWith(`oxvcs-lock/new-${i}/`))).toEqual([
        `oxvcs-lock/new-${i}/0000000001`,
      ]);
    for (let i = 0; i < 40; i++) {
      expect(branches.filter((b) => b.startsWith(`oxvcs-lock/rel-${i}/`)).sort()).toEqual([
        `oxvcs-lock/rel-${i}/0000000001`,
        `oxvcs-lock/rel-${i}/0000000002`,
      ]);
    }
    // The request log proves it: ticket creations that took effect = 160 (answered 200, or applied then dropped).
    const applied = world.server.requests.filter(
      (r) =>
        r.route === 'POST /api/repos/:ns/:repo/branches' && (r.status === 200 || r.fault === 'drop-response'),
    );
    expect(applied).toHaveLength(160);
    const faults = world.server.requests.filter((r) => r.fault && r.fault !== 'latency').length;
    expect(faults).toBeGreaterThan(50);
    console.log(
      `flaky: ${world.server.requests.length} requests, ${faults} faulted, ${runs + 1} sync run(s)`,
    );
  }, 300_000);
});
