import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeOxenEnv, type FakeOxenEnv } from './env.js';
import { type FakeOxenServer, startFakeOxenServer } from './server.js';

let server: FakeOxenServer;
let env: FakeOxenEnv;
let n = 0;

const run = (args: string[], cwd: string) => env.oxen(args, cwd);
const project = async () => {
  const name = `p${++n}`;
  await server.createRepo('ns', name);
  return {
    url: server.repoUrl('ns', name),
    dir: await env.cloneProject(name, server.repoUrl('ns', name)),
    name,
  };
};

beforeAll(async () => {
  server = await startFakeOxenServer();
  env = createFakeOxenEnv();
});
afterAll(async () => {
  await server.stop();
  env.cleanup();
});

describe('fake oxen CLI (oxen-server-api.md §1)', () => {
  it('add and commit print the documented lines', async () => {
    const { dir } = await project();
    writeFileSync(join(dir, 'song.logicx'), 'bytes');
    expect((await run(['add', 'song.logicx'], dir)).stdout).toMatch(
      /^🐂 oxen added 1 files \(5 B\) in \d+ms\n$/,
    );
    const commit = await run(['commit', '-m', 'first take'], dir);
    expect(commit.code).toBe(0);
    expect(commit.stdout).toMatch(
      /^Committing with message: first take\n🐂 commit [0-9a-f]{32} -> 'first take' in \d+ms\n$/,
    );
    expect((await run(['status'], dir)).stdout).toMatch(
      /^On branch main -> [0-9a-f]{32}\nnothing to commit, working tree clean\n$/,
    );
  });

  it('nothing staged and no user config are errors on stderr with exit 1', async () => {
    const { dir } = await project();
    expect(await run(['commit', '-m', 'x'], dir)).toMatchObject({
      code: 1,
      stderr: 'Error: No changes to commit\n',
    });
    writeFileSync(join(dir, 'a'), '1');
    await run(['add', 'a'], dir);
    const bare = createFakeOxenEnv();
    try {
      const r = await bare.oxen(['--config-dir', join(bare.root, 'empty'), 'commit', '-m', 'x'], dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('oxen not configured, set email and name with:');
    } finally {
      bare.cleanup();
    }
  });

  it('status lists sections', async () => {
    const { dir } = await project();
    writeFileSync(join(dir, 'new.txt'), 'n');
    writeFileSync(join(dir, 'README.md'), 'changed');
    const out = (await run(['status'], dir)).stdout;
    expect(out).toContain('Modified files:');
    expect(out).toContain('Untracked Files');
  });

  it('checkout of an unknown revision prints on stdout and exits 0 (the quirk)', async () => {
    const { dir } = await project();
    const r = await run(['checkout', 'nope'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Revision not found: nope');
    await run(['branch', 'feature'], dir);
    expect((await run(['checkout', 'feature'], dir)).stdout).toBe('Checked out branch: feature\n');
    expect((await run(['branch'], dir)).stdout).toBe('* feature\n  main\n');
    expect((await run(['branch', '--show-current'], dir)).stdout).toBe('feature\n');
  });

  it('push, then a second clone pulls it; log shows blocks', async () => {
    const { dir, url, name } = await project();
    writeFileSync(join(dir, 'mix.wav'), 'audio');
    await run(['add', '.'], dir);
    await run(['commit', '-m', 'mix'], dir);
    const push = await run(['push', 'origin', 'main'], dir);
    expect(push.code).toBe(0);
    expect(push.stdout).toMatch(
      /^🐂 oxen push origin main -> [0-9a-f]{32}\n🐂 push complete 🎉 took \d+ms\n$/,
    );
    expect((await run(['push', 'origin', 'main'], dir)).stdout).toBe('Everything is up to date\n');
    const other = await env.cloneProject(`${name}-b`, url);
    expect((await run(['log', '-n', '1'], other)).stdout).toMatch(
      /^commit [0-9a-f]{32}\nAuthor: Ada <ada@example.com>\nDate: {3}.+\n\n {4}mix\n/,
    );
    expect((await run(['branch', '-r', 'origin'], other)).stdout).toBe('origin\tmain\n');
  });

  it('a push over a moved remote is rejected with the documented text', async () => {
    const { dir, url, name } = await project();
    const other = await env.cloneProject(`${name}-b`, url);
    writeFileSync(join(other, 'b.txt'), 'b');
    await run(['add', 'b.txt'], other);
    await run(['commit', '-m', 'b'], other);
    await run(['push'], other);
    writeFileSync(join(dir, 'a.txt'), 'a');
    await run(['add', 'a.txt'], dir);
    await run(['commit', '-m', 'a'], dir);
    const r = await run(['push', 'origin', 'main'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^Error: Branch main is behind remote commit [0-9a-f]{32}\.\nRun oxen pull to update your local branch, or use oxen push --force to force push\.\n$/,
    );
  });

  it('pull with a conflicting change reports the merge conflict', async () => {
    const { dir, url, name } = await project();
    const other = await env.cloneProject(`${name}-b`, url);
    writeFileSync(join(other, 'README.md'), 'theirs');
    await run(['add', 'README.md'], other);
    await run(['commit', '-m', 't'], other);
    await run(['push'], other);
    writeFileSync(join(dir, 'README.md'), 'ours');
    await run(['add', 'README.md'], dir);
    await run(['commit', '-m', 'o'], dir);
    const r = await run(['pull', 'origin', 'main'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: There was a merge conflict, please resolve it before pulling.\n');
  });

  it('network failures give the real Network error text and hint', async () => {
    const { dir } = await project();
    await server.faults.offline();
    try {
      const r = await run(['push'], dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `Error: Network error: error sending request for url (${server.url}/api/min_version)\n  hint: Check your internet connection and try again.\n`,
      );
    } finally {
      await server.faults.online();
    }
  });

  it('missing repository, missing remote branch, no remote', async () => {
    const { dir } = await project();
    await run(['config', '--set-remote', 'ghost', `${server.url}/ns/ghost`], dir);
    expect((await run(['push', 'ghost', 'main'], dir)).stderr).toBe(
      `Error: Remote repository not found: ${server.url}/ns/ghost\n`,
    );
    expect((await run(['pull', 'origin', 'nope'], dir)).stderr).toContain(
      "Error: Remote branch 'nope' not found",
    );
    expect((await run(['push', 'upstream'], dir)).stderr).toContain(
      "Error: No remote named 'upstream' is set.",
    );
    expect((await run(['remote', '-v'], dir)).stdout).toContain(`ghost\t${server.url}/ns/ghost`);
  });

  it('401 from a server with auth on', async () => {
    const guarded = await startFakeOxenServer({ auth: 'right' });
    try {
      await guarded.createRepo('ns', 'g');
      const { dir } = await project();
      await run(['config', '--set-remote', 'origin', guarded.repoUrl('ns', 'g')], dir);
      const r = await run(['push'], dir);
      expect(r.stderr).toBe(
        `Error: Could not deserialize response from [${guarded.url}/api/min_version]\n401 Unauthorized\n`,
      );
      await run(['config', '--auth', `127.0.0.1:${guarded.port}`, 'right'], dir);
      expect((await run(['fetch'], dir)).stdout).toBe('Repository is up to date.\n');
    } finally {
      await guarded.stop();
    }
  });

  it('not a repository', async () => {
    const r = await run(['status'], env.root);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: No oxen repository found at /);
  });
});
