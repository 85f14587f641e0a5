import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

/** The requests one command made, as `METHOD route` lines (the server logs them in order). */
async function requestsOf(args: string[], cwd: string, user = 'ada') {
  world.server.clearRequests();
  const r = await world.run(args, { cwd, user });
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return world.server.requests.map((q) => q.route);
}

describe('requests per lock command, health probe included (issue 19 §9), with the built CLI', () => {
  it('acquire, renew, release, status and list make no health probe; a reader 20 tables behind pays a bounded read', async () => {
    const dir = await world.project('counts');
    // A machine's first change forks its scratch branch, and ticket 1 is confirmed by a listing:
    // not counted.
    expect((await world.run(['lock', 'acquire'], { cwd: dir })).code).toBe(0);
    expect((await world.run(['lock', 'release'], { cwd: dir })).code).toBe(0);
    const acquire = await requestsOf(['lock', 'acquire'], dir);
    const renew = await requestsOf(['lock', 'renew'], dir);
    const status = await requestsOf(['lock', 'status'], dir);
    const list = await requestsOf(['lock', 'list'], dir);
    const release = await requestsOf(['lock', 'release'], dir);
    for (const routes of [acquire, renew, status, list, release])
      expect(routes.filter((r) => r.includes('/api/health'))).toEqual([]);
    const counts = {
      acquire: acquire.length,
      renew: renew.length,
      release: release.length,
      status: status.length,
      list: list.length,
    };
    // On the cached table, with no read first (the claim is the compare-and-swap): acquire prepares,
    // claims and confirms (a new grant always reads the ticket below back); renew and release
    // prove themselves fresh and only prepare and claim. Status and list: one read.
    expect(counts).toEqual({ acquire: 3, renew: 2, release: 2, status: 1, list: 1 });

    // Bob writes 20 tables while Ada looks away; her next status reads what she has not verified.
    const behind = await world.project('behind');
    expect((await world.run(['lock', 'acquire'], { cwd: behind })).code).toBe(0);
    expect((await world.run(['lock', 'release'], { cwd: behind })).code).toBe(0);
    for (let i = 0; i < 10; i++) {
      expect((await world.run(['lock', 'acquire'], { cwd: behind, user: 'bob' })).code).toBe(0);
      expect((await world.run(['lock', 'release'], { cwd: behind, user: 'bob' })).code).toBe(0);
    }
    const caughtUp = await requestsOf(['lock', 'status'], behind);
    expect(caughtUp.filter((r) => r.includes('/api/health'))).toEqual([]);
    // Each unseen ticket's commit (its message is the table), and its branch: one after another up
    // to 8 (and the 404 past the top), then one listing names the rest. N + 10 at most.
    expect(caughtUp.filter((r) => r.includes('/commits/'))).toHaveLength(20);
    expect(caughtUp.length).toBeLessThanOrEqual(20 + 10);
    console.log(
      `requests per command: ${JSON.stringify(counts)}; status 20 tables behind: ${caughtUp.length}`,
    );
  });
});
