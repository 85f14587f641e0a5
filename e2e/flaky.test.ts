import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Operation, RULES } from '@oxvcs/engine';
import { createQueue } from '@oxvcs/queue';
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
    const queue = createQueue({ file: join(world.home('ada'), 'queue.json'), rules: RULES });
    const holder = 'ada@e2e';
    // 40 locks taken beforehand, to be released by queued operations: taken by one `queue sync` on
    // a quiet network (one process rather than 40), then cleared from the queue.
    for (let i = 0; i < 40; i++) {
      mkdirSync(join(dir, `rel-${i}`));
      await queue.enqueue({
        operation: {
          kind: 'acquire-lock',
          projectDir: dir,
          remote,
          key: `rel-${i}`,
          ttlMs: 3_600_000,
          holder,
        },
      });
    }
    const taken = await world.run(['queue', 'sync', '--json'], { cwd: dir });
    expect(taken.code, taken.stderr).toBe(0);
    expect(json(taken).summary).toMatchObject({ done: 40, failed: 0, remaining: 0 });
    expect(await queue.clearDone()).toBe(40);
    // Pulls between the acquisitions: two identical pulls queued one after the other collapse
    // into one, which is not what this test is about.
    const ops: Operation[] = [
      ...Array.from({ length: 120 }, (_, i): Operation[] => [
        { kind: 'acquire-lock', projectDir: dir, remote, key: `new-${i}`, ttlMs: 3_600_000, holder },
        ...(i % 3 === 0 ? [{ kind: 'pull', projectDir: dir, remote, branch: 'main' } as Operation] : []),
      ]).flat(),
      ...Array.from(
        { length: 40 },
        (_, i): Operation => ({ kind: 'release-lock', projectDir: dir, remote, key: `rel-${i}`, holder }),
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

    // Exactly once: every queued operation wrote exactly one ticket of the lock chain (found by
    // its nonce, the entry's idempotency key), and the table ends with the 120 new locks held and
    // the 40 released ones free.
    const repo = world.server.repo('e2e', 'flaky')!;
    const records = Object.entries(repo.branches)
      .filter(([b]) => b.startsWith('oxvcs-locks/'))
      .map(([, commit]) => JSON.parse(repo.commits[commit]!.message) as { nonce: string; ticket: number });
    expect(records).toHaveLength(200);
    const nonces = new Map<string, number>();
    for (const r of records) nonces.set(r.nonce, (nonces.get(r.nonce) ?? 0) + 1);
    for (const e of (await queue.list()).filter((x) => x.operation.kind !== 'pull')) {
      expect(nonces.get(e.idempotencyKey)).toBe(1);
    }
    const top = records.reduce((a, b) => (a.ticket > b.ticket ? a : b)) as unknown as {
      leases: Record<string, unknown>;
    };
    expect(Object.keys(top.leases).sort()).toEqual(Array.from({ length: 120 }, (_, i) => `new-${i}`).sort());
    const faults = world.server.requests.filter((r) => r.fault && r.fault !== 'latency').length;
    expect(faults).toBeGreaterThan(50);
    console.log(
      `flaky: ${world.server.requests.length} requests, ${faults} faulted, ${runs + 1} sync run(s)`,
    );
  });
});
