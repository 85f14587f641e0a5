import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestWorld, type TestWorld } from '@oxvcs/oxen-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../engine.js';

let world: TestWorld;
beforeAll(async () => {
  world = await createTestWorld();
});
afterAll(() => world.close());

describe('push: oxen only after the lock read answered', () => {
  it('refused while someone else holds the project: the remote sees lock reads only, never oxen', async () => {
    const dir = await world.project('held-push');
    const homes = [world.folder('ada'), world.folder('bob')];
    const engineOf = (holder: string, home: string) =>
      createEngine({
        cwd: dir,
        env: world.vars({ home, holder, extra: { OXENVCS_RETRY_MAX_RETRIES: '0' } }),
      });
    try {
      expect((await engineOf('bob@studio', homes[1]!).lockAcquire({ ttlHours: 1 })).status).toBe('done');
      writeFileSync(join(dir, 'Mix.wav'), 'mix');
      await world.env.oxen(['add', 'Mix.wav'], dir);
      await world.env.oxen(['commit', '-m', 'mix'], dir);
      world.server.clearRequests();
      // Twice: a cold lock-table cache (the list of branches, then tickets) and a warm one.
      for (let i = 0; i < 2; i++)
        await expect(engineOf('ada@laptop', homes[0]!).push()).rejects.toMatchObject({
          code: 'HELD',
          holder: 'bob@studio',
        });
      const routes = world.server.requests.map((q) => `${q.method} ${q.path}`);
      expect(routes.length).toBeGreaterThan(0);
      // Reads of the lock table (its branches and the tickets' commits) only: oxen's first request
      // would be GET /api/min_version, its upload POST …/versions.
      expect(
        routes.filter((r) => !/^GET \/api\/repos\/ns\/held-push\/(branches$|branches\/|commits\/)/.test(r)),
      ).toEqual([]);
      expect(world.server.repo(world.namespace, 'held-push')?.branches.main).not.toBe(
        (await world.env.oxen(['log', '-n', '1'], dir)).stdout.match(/commit ([0-9a-f]+)/)?.[1],
      );
    } finally {
      for (const home of homes) rmSync(home, { recursive: true, force: true });
    }
  });
});
