import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createFakeOxenEnv,
  type FakeOxenEnv,
  type FakeOxenServer,
  startFakeOxenServer,
} from '@oxvcs/oxen-testkit';
import { classify } from '@oxvcs/retry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOxenCli } from './cli.js';
import { OxenError } from './errors.js';

let server: FakeOxenServer;
let env: FakeOxenEnv;
let n = 0;
const project = async () => {
  const name = `c${++n}`;
  await server.createRepo('ns', name);
  const dir = await env.cloneProject(name, server.repoUrl('ns', name));
  return { dir, name, cli: createOxenCli({ cwd: dir, env: env.env, networkTimeoutMs: 2000 }) };
};
const failure = async (p: Promise<unknown>) => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OxenError);
  return error as OxenError;
};

beforeAll(async () => {
  server = await startFakeOxenServer();
  env = createFakeOxenEnv();
});
afterAll(async () => {
  await server.stop();
  env.cleanup();
});
afterEach(() => server.faults.clear());

describe('createOxenCli with the fake oxen on PATH', () => {
  it('status, add, commit, log, branches and push parse the real output', async () => {
    const { dir, cli } = await project();
    writeFileSync(join(dir, 'Song.logicx'), 'v1');
    const before = await cli.status();
    expect(before).toMatchObject({ branch: 'main', clean: false, untracked: ['Song.logicx'] });
    await cli.add(['Song.logicx']);
    const id = await cli.commit('take 1');
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect((await cli.status()).clean).toBe(true);
    expect((await cli.log(1))[0]).toMatchObject({ id, message: 'take 1' });
    expect(await cli.branches()).toEqual({ current: 'main', names: ['main'] });
    expect(await cli.currentBranch()).toBe('main');
    expect(await cli.push()).toEqual({ upToDate: false, commit: id });
    expect((await cli.push()).upToDate).toBe(true);
  });

  it('maps Error: lines to typed errors', async () => {
    const { dir, cli, name } = await project();
    expect((await failure(cli.commit('nothing'))).code).toBe('NOTHING_TO_COMMIT');
    const other = await env.cloneProject(`${name}-b`, server.repoUrl('ns', name));
    writeFileSync(join(other, 'x'), 'x');
    await env.oxen(['add', 'x'], other);
    await env.oxen(['commit', '-m', 'x'], other);
    await env.oxen(['push'], other);
    writeFileSync(join(dir, 'y'), 'y');
    await cli.add(['y']);
    await cli.commit('y');
    const nff = await failure(cli.push());
    expect(nff.code).toBe('NON_FAST_FORWARD');
    expect(classify(nff).kind).toBe('conflict');
    expect((await failure(cli.pull('origin', 'nope'))).code).toBe('BRANCH_NOT_FOUND');
    expect((await failure(cli.push('upstream'))).code).toBe('NO_REMOTE');
  });

  it('an unknown checkout revision (stdout, exit 0) is still a failure', async () => {
    const { cli } = await project();
    expect((await failure(cli.checkout('ghost'))).code).toBe('REVISION_NOT_FOUND');
  });

  it('offline → NETWORK, transient', async () => {
    const { cli } = await project();
    await server.faults.offline();
    const error = await failure(cli.push());
    expect(error.code).toBe('NETWORK');
    expect(classify(error).kind).toBe('transient');
  });

  it('a hung server: the wrapper kills oxen after its timeout (oxen never times out itself)', async () => {
    const { cli } = await project();
    await server.faults.add({ kind: 'blackhole' });
    const started = Date.now();
    const error = await failure(cli.pull());
    expect(error.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(8000);
  });

  it('not a repository and a missing binary', async () => {
    const cli = createOxenCli({ cwd: env.root, env: env.env });
    expect((await failure(cli.status())).code).toBe('NOT_A_REPOSITORY');
    const missing = createOxenCli({ cwd: env.root, bin: 'oxen-does-not-exist', env: env.env });
    expect((await failure(missing.status())).code).toBe('CLI_NOT_FOUND');
  });
});
