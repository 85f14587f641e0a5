import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createOxenCli, createOxenHub } from '@oxvcs/oxen';
import { createTestWorld, type FakeOxenEnv, type FakeOxenServer, type TestWorld } from '@oxvcs/oxen-testkit';
import type { ExecutionContext } from '@oxvcs/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executorsFor, type SyncCommentsOp } from './index.js';

let server: FakeOxenServer;
let env: FakeOxenEnv;
let world: TestWorld;
let n = 0;

beforeAll(async () => {
  world = await createTestWorld();
  ({ server, env } = world);
});
afterAll(async () => {
  await world.close();
});

const executors = () =>
  executorsFor({
    hubFor: (remoteUrl) => createOxenHub({ remoteUrl }),
    locksFor: () => {
      throw new Error('sync-comments takes no lock');
    },
    cliFor: (projectDir) => createOxenCli({ cwd: projectDir, env: env.env }),
    grant: () => undefined,
    noteGrant: () => undefined,
  });
const context: ExecutionContext = {
  idempotencyKey: 'sync-comments:test',
  verifyFirst: false,
  attempt: 1,
  signal: new AbortController().signal,
};

/** A project whose remote has `comments` (one more commit) and a lock ticket and scratch branch. */
const project = async () => {
  const name = `x${++n}`;
  await server.createRepo('ns', name);
  const remote = server.repoUrl('ns', name);
  const dir = await env.cloneProject(name, remote);
  const other = await env.cloneProject(`${name}-other`, remote);
  await env.oxen(['checkout', '-b', 'comments'], other);
  writeFileSync(join(other, 'comments.json'), '[]');
  await env.oxen(['add', 'comments.json'], other);
  await env.oxen(['commit', '-m', 'comments'], other);
  expect((await env.oxen(['push', 'origin', 'comments'], other)).code).toBe(0);
  const hub = createOxenHub({ remoteUrl: remote });
  const head = (await hub.findBranch('comments'))!.commit_id;
  await hub.createBranchFromCommit('oxvcs-lock/song/0001', head);
  await hub.createBranchFromCommit('oxvcs-scratch/m1', head);
  const op: SyncCommentsOp = { kind: 'sync-comments', projectDir: dir, remote };
  return { dir, other, name, remote, op, head, cli: createOxenCli({ cwd: dir, env: env.env }) };
};

describe("executor 'sync-comments'", () => {
  it("fetches only the operation's branch (fetch -b), never the lock tickets", async () => {
    const { op, cli, head } = await project();
    const result = await executors()['sync-comments']!({ ...op, branch: 'comments' }, context);
    expect(result).toEqual({ fetched: true, branch: 'comments' });
    expect((await cli.branches()).names).toEqual(['comments', 'main']);
    expect((await cli.log(1, 'comments'))[0]?.id).toBe(head);
  });

  it('on the checked-out branch: nothing to fetch when it matches the remote, and no lock branches', async () => {
    const { op, cli } = await project();
    expect(await executors()['sync-comments']!(op, context)).toEqual({
      fetched: true,
      branch: 'main',
      upToDate: true,
    });
    expect((await cli.branches()).names).toEqual(['main']);
  });

  it('never moves the checked-out branch under the working files when the remote moved', async () => {
    const { op, cli, other } = await project();
    await env.oxen(['checkout', 'main'], other);
    writeFileSync(join(other, 'theirs.txt'), 'theirs');
    await env.oxen(['add', 'theirs.txt'], other);
    await env.oxen(['commit', '-m', 'theirs'], other);
    expect((await env.oxen(['push', 'origin', 'main'], other)).code).toBe(0);
    const before = (await cli.log(1, 'main'))[0]?.id;
    expect(await executors()['sync-comments']!(op, context)).toMatchObject({
      fetched: false,
      branch: 'main',
    });
    expect((await cli.log(1, 'main'))[0]?.id).toBe(before);
    expect((await cli.status()).clean).toBe(true);
  });
});
