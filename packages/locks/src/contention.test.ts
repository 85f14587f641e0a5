import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, HOUR, lockWorld } from './test-support/world.js';

let world: Awaited<ReturnType<typeof lockWorld>>;
beforeAll(async () => {
  world = await lockWorld();
});
afterAll(() => world.stop());

describe('contention (issue 19 §3)', () => {
  it('30 users acquiring 30 different keys at once: 30 of 30 granted, each with its own token', async () => {
    await world.freshRepo();
    const users = Array.from({ length: 30 }, (_, i) => ({
      holder: `user${i}@e2e`,
      machineId: `machine-${i}`,
    }));
    const grants = await Promise.all(
      // A deadline far beyond any busy machine: the test is about grants, not time.
      users.map((u, i) =>
        world.managerFor(u, { claimDeadlineMs: 600_000 }).acquire(`Folder${i}`, { ttlMs: HOUR }),
      ),
    );
    expect(grants.map((g) => g.holder)).toEqual(users.map((u) => u.holder));
    expect(new Set(grants.map((g) => g.fencingToken)).size).toBe(30);
    const listed = await world.coldManager().list();
    expect(listed.filter((s) => s.state === 'held-by-other')).toHaveLength(30);
  }, 900_000);

  it('30 users at once with a 2 s deadline on a virtual clock: races lost to unrelated keys keep each going, 30 of 30 granted', async () => {
    await world.freshRepo();
    // Each user's deadline runs on its own virtual clock, moved only by its backoff sleeps: how
    // slow this machine is never decides the outcome, only how many races each user lost.
    const users = Array.from({ length: 30 }, (_, i) => {
      let clock = 0;
      return world.managerFor(
        { holder: `user${i}@e2e`, machineId: `machine-v${i}` },
        {
          claimDeadlineMs: 2_000,
          claimPatienceMs: 3_600_000,
          now: () => clock,
          sleep: async (ms) => {
            clock += ms;
            await new Promise((resolve) => setImmediate(resolve));
          },
        },
      );
    });
    const grants = await Promise.all(users.map((m, i) => m.acquire(`Take${i}`, { ttlMs: HOUR })));
    expect(grants.map((g) => g.holder)).toEqual(users.map((_, i) => `user${i}@e2e`));
    expect(new Set(grants.map((g) => g.fencingToken)).size).toBe(30);
  });

  it('a change that keeps losing races backs off exponentially with full jitter, then fails BUSY (not HELD) at its deadline', async () => {
    await world.freshRepo();
    // Every claim meets the real server's answer to a taken name (another writer was first).
    const racing: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      const body = request.method === 'POST' ? await request.clone().text() : '';
      if (body.includes('oxvcs-locks/')) {
        const name = (JSON.parse(body) as { new_name: string }).new_name;
        return Response.json(
          {
            error: { type: 'internal_server_error', title: `Branch already exists: ${name}` },
            status: 'error',
            status_message: 'internal_server_error',
          },
          { status: 500 },
        );
      }
      return fetch(request);
    };
    let clock = 0;
    const waits: number[] = [];
    const busy = world.managerFor(undefined, {
      fetch: racing,
      now: () => clock,
      random: () => 0.5,
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
      claimDeadlineMs: 3_200,
    });
    const error = await failure(busy.acquire('Song.logicx', { ttlMs: HOUR }));
    expect(error.code).toBe('BUSY');
    expect(error.message).toMatch(/busy.*nobody holds it/);
    expect(waits.slice(0, 6)).toEqual([25, 50, 100, 200, 400, 800]);
    expect(waits.reduce((a, b) => a + b, 0)).toBe(3_200);
    expect(await world.chain()).toEqual([]);
  }, 120_000);
});
