import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

/** A project whose remote also holds `branches` unrelated branches, with one commit pushed. */
async function pushedProject(name: string, branches: number) {
  const dir = await world.project(name);
  const repo = world.server.repo('e2e', name)!;
  for (let i = 0; i < branches; i++) repo.branches[`feature/take-${i}`] = repo.branches.main!;
  writeFileSync(join(dir, 'Vocals.wav'), 'vocals');
  expect((await world.env.oxen(['add', 'Vocals.wav'], dir)).code).toBe(0);
  expect((await world.env.oxen(['commit', '-m', 'vocals'], dir)).code).toBe(0);
  // The machine's first read of the lock table lists the branches once (its cache is cold).
  const first = await world.run(['push'], { cwd: dir });
  expect(first.code, first.stderr).toBe(0);
  return dir;
}

/** The requests one run made, as `METHOD route` lines, in order. */
async function routesOf(run: () => Promise<{ code: number; stderr: string }>) {
  world.server.clearRequests();
  const r = await run();
  expect(r.code, r.stderr).toBe(0);
  return world.server.requests.map((q) => `${q.method} ${q.path}`);
}

describe('21. a thin wrapper: oxenvcs push of an up-to-date branch, with the built CLI', () => {
  it("asks what a bare `oxen push` asks, plus one lock-table read by name; nothing grows with the repository's branches", async () => {
    const counts: number[] = [];
    for (const [name, branches] of [
      ['few', 10],
      ['many', 2000],
    ] as const) {
      const dir = await pushedProject(name, branches);
      const bare = await routesOf(() => world.env.oxen(['push', 'origin', 'main'], dir));
      const ours = await routesOf(() => world.run(['push'], { cwd: dir }));
      // No list of every branch (`GET …/branches`), and no commits/missing when nothing is unpushed.
      expect(ours.filter((r) => /\/branches$/.test(r))).toEqual([]);
      expect(ours.filter((r) => r.includes('/commits/missing'))).toEqual([]);
      // oxen's own requests, in its order; before them the one read of the lock table: the ticket
      // after the last one seen (a branch by name: 404 while the table is unchanged).
      expect(ours.slice(1)).toEqual(bare);
      expect(ours[0]).toMatch(new RegExp(`^GET /api/repos/e2e/${name}/branches/oxvcs-locks/\\d+$`));
      counts.push(ours.length);
    }
    expect(counts[1]).toBe(counts[0]);
  });
});

describe('21. a thin wrapper: the processes oxenvcs push starts, with the built CLI', () => {
  it('an up-to-date push starts one oxen process, the push itself: no `oxen branch`, and no `oxen log` once a take is on the remote', async () => {
    // An `oxen` first on PATH that notes its arguments, then runs the fake.
    const fake = fileURLToPath(new URL('../packages/oxen-testkit/bin/oxen', import.meta.url));
    const bin = mkdtempSync(join(tmpdir(), 'oxvcs-oxen-log-'));
    const log = join(bin, 'calls.log');
    writeFileSync(join(bin, 'oxen'), `#!/bin/sh\necho "$*" >> "${log}"\nexec "${fake}" "$@"\n`);
    chmodSync(join(bin, 'oxen'), 0o755);
    const env = { PATH: `${bin}${delimiter}${world.envFor('ada').PATH}` };
    const calls = async (args: string[], cwd: string) => {
      writeFileSync(log, '');
      const r = await world.run(args, { cwd, env });
      expect(r.code, r.stderr).toBe(0);
      return readFileSync(log, 'utf8').trim().split('\n');
    };
    try {
      const dir = await pushedProject('processes', 0);
      expect(await calls(['push'], dir)).toEqual(['push -- origin main']);
      // A take recorded as parts: its push looks its head up once; pushed, it is not looked up again.
      writeFileSync(join(dir, 'Take.wav'), 'take');
      expect((await world.run(['commit', '-m', 'take'], { cwd: dir })).code).toBe(0);
      expect(await calls(['push'], dir)).toEqual(['log -n 1 --revision main', 'push -- origin main']);
      expect(await calls(['push'], dir)).toEqual(['push -- origin main']);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
