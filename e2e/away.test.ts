import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, json, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

/** The lines a command printed about what failed or expired while the user was away. */
const told = (stderr: string) => stderr.split('\n').filter((l) => l.includes('while you were away'));

/**
 * Ada holds the lock and queues a renewal on the train; Bob breaks the lock and takes it meanwhile;
 * a scheduled `queue sync --json` (its output goes to a log) replays Ada's queue while she is away,
 * and fails. (A queued acquisition would not fail: it waits its turn in line, issue 22.)
 */
async function failWhileAway(name: string) {
  const dir = await world.project(name);
  expect((await world.run(['lock', 'acquire'], { cwd: dir })).code).toBe(0);
  await world.server.faults.offline();
  const queued = await world.run(['lock', 'renew', '--json'], { cwd: dir });
  expect(queued.code).toBe(75);
  await world.server.faults.online();
  const bob = await world.env.cloneProject(`${name}-bob`, world.server.repoUrl('e2e', name));
  expect((await world.run(['lock', 'break', '--force'], { cwd: bob, user: 'bob' })).code).toBe(0);
  expect((await world.run(['lock', 'acquire'], { cwd: bob, user: 'bob' })).code).toBe(0);
  const sync = await world.run(['queue', 'sync', '--json'], { cwd: dir });
  expect(json(sync).summary).toMatchObject({ failed: 1 });
  return { dir, id: json(queued).entry.shortId as string };
}

describe('16. what happened while you were away', () => {
  it('the next command says, once, what failed, why and what to do; the advice works', async () => {
    const { dir, id } = await failWhileAway('away');
    const next = await world.run(['lock', 'status'], { cwd: dir });
    expect(next.code).toBe(0);
    expect(next.stdout).toContain('locked by bob@e2e');
    expect(next.stdout).not.toContain('while you were away');
    const lines = told(next.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^\\[x\\] Failed while you were away: Renew lock for away \\(${id}\\): .*bob@e2e.* — retry it with \`oxenvcs queue retry ${id}\` or remove it with \`oxenvcs queue remove ${id}\`$`,
      ),
    );
    // Once: the command after that says nothing more of it.
    expect(told((await world.run(['queue', 'sync', '--dry-run'], { cwd: dir })).stderr)).toEqual([]);
    expect((await world.run(['queue', 'remove', id], { cwd: dir })).code).toBe(0);
  });

  it('queue status is looking: it lists the failure with its reason, and nothing is told after it', async () => {
    const { dir, id } = await failWhileAway('away-status');
    const status = await world.run(['queue', 'status'], { cwd: dir });
    expect(status.stdout).toMatch(new RegExp(`${id} Renew lock for away-status: .*bob@e2e`));
    expect(told(status.stderr)).toEqual([]);
    expect(told((await world.run(['lock', 'status'], { cwd: dir })).stderr)).toEqual([]);
  });
});
