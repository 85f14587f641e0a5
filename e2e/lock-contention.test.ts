import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, json, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

const USERS = 30;

describe('contention (issue 19 §3): users locking different folders at once all get them', () => {
  it(`${USERS} CLI processes started together on ${USERS} folders: every one granted (exit 0), each folder held by its user`, async () => {
    const files = Object.fromEntries(Array.from({ length: USERS }, (_, i) => [`take${i}/a.txt`, `${i}`]));
    const dir = await world.project('contended', files);
    // The config's own request timeout (10 s), not the world's patient one: a command's deadline
    // is what is under test. Races lost to other people's changes move it on (the team is getting
    // through); before, 8 s of lost races ended in "table busy" (23 of 30 granted).
    const runs = await Promise.all(
      Array.from({ length: USERS }, (_, i) =>
        world.run(['lock', 'acquire', '--project', `take${i}`, '--json'], {
          cwd: dir,
          user: `user${i}`,
          env: { OXENVCS_CONNECTIVITY_REQUEST_TIMEOUT_MS: '10000' },
        }),
      ),
    );
    const failed = runs.flatMap((r, i) =>
      r.code === 0 ? [] : [`user${i}: exit ${r.code} ${r.stderr.trim()}`],
    );
    expect(failed).toEqual([]);
    const list = json(await world.run(['lock', 'list', '--json'], { cwd: dir, user: 'user0' }));
    const holders = Object.fromEntries(
      (list.locks as { lease?: { key: string; holder: string } }[]).map((l) => [
        l.lease?.key,
        l.lease?.holder,
      ]),
    );
    for (let i = 0; i < USERS; i++) expect(holders[`take${i}`]).toBe(`user${i}@e2e`);
  });
});
