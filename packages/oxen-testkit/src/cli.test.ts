import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFakeOxenEnv, type FakeOxenEnv } from './env.js';
import { type FakeOxenServer, startFakeOxenServer } from './server.js';
import { createTestWorld, type TestWorld } from './world.js';

let server: FakeOxenServer;
let env: FakeOxenEnv;
let world: TestWorld;
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

/** Runs the fake `oxen` with extra environment variables (never rejects on a non-zero exit). */
const runWith = (args: string[], cwd: string, extra: NodeJS.ProcessEnv) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'oxen',
      args,
      { cwd, env: { ...env.env, ...extra }, encoding: 'utf8' },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });

/** A server in front of nothing: answers every request with `answer` (a proxy, a gateway, Hub). */
const gateway = async (answer: (req: IncomingMessage, res: ServerResponse) => void) => {
  const http = createServer(answer);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((resolve) => http.close(() => resolve())) };
};
const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
/** What an oxen-server answers on the version routes, so a CLI gets past its version checks. */
const versionRoutes = (req: IncomingMessage, res: ServerResponse) => {
  const envelope = { status: 'success', status_message: 'resource_found', oxen_version: '0.54.0' };
  if (req.url === '/api/min_version') json(res, 200, { ...envelope, version: '0.36.0' });
  else if (req.url === '/api/version') json(res, 200, envelope);
  else return false;
  return true;
};

/** Creates branch `name` on the server at `commit` (the atomic create, as the lock manager does). */
const createBranch = async (repo: string, name: string, commit: string) => {
  const res = await fetch(`${server.url}/api/repos/ns/${repo}/branches`, {
    method: 'POST',
    body: JSON.stringify({ new_name: name, commit_id: commit }),
  });
  expect(res.status).toBe(200);
};
/** A project whose remote also has `feature` (one more file) and a lock ticket and scratch branch on it. */
const projectWithBranches = async () => {
  const p = await project();
  const other = await env.cloneProject(`${p.name}-other`, p.url);
  await run(['checkout', '-b', 'feature'], other);
  writeFileSync(join(other, 'feature.txt'), 'feature');
  await run(['add', 'feature.txt'], other);
  await run(['commit', '-m', 'feature'], other);
  expect((await run(['push', 'origin', 'feature'], other)).code).toBe(0);
  const featureHead = server.repo('ns', p.name)!.branches.feature!;
  await createBranch(p.name, 'oxvcs-lock/song/0001', featureHead);
  await createBranch(p.name, 'oxvcs-scratch/m1', featureHead);
  return { ...p, featureHead };
};
const localBranches = async (dir: string) =>
  (await run(['branch'], dir)).stdout
    .split('\n')
    .map((l) => l.slice(2))
    .filter(Boolean);

/** What indicatif writes before each frame, and to clear the bar: carriage return, erase line. */
const CLEAR_LINE = '\r\u001b[2K';
/** util-linux `script` gives the fake a terminal on stderr (what a user's shell gives the real CLI). */
const hasScript =
  process.platform === 'linux' &&
  (spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout ?? '').includes('util-linux');
/** Runs `oxen <args>` (plain words only) under a pseudo-terminal; resolves to everything it wrote. */
const runInTerminal = (args: string[], cwd: string, extra: NodeJS.ProcessEnv) =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn('script', ['-q', '-e', '-c', `exec oxen ${args.join(' ')}`, '/dev/null'], {
      cwd,
      env: { ...env.env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    child.on('close', (code) => resolve({ code, output }));
  });

beforeAll(async () => {
  world = await createTestWorld();
  ({ server, env } = world);
});
afterAll(async () => {
  await world.close();
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
    // `println!("On branch {} -> {}\n", …)` (`oxen-cli/src/cmd/status.rs`): a blank line follows.
    expect((await run(['status'], dir)).stdout).toMatch(
      /^On branch main -> [0-9a-f]{32}\n\nnothing to commit, working tree clean\n$/,
    );
  });

  it('status as oxen 0.54 prints it: lists cut at ten unless --print_all, a new folder on one line (staged_data.rs)', async () => {
    const { dir } = await project();
    for (let i = 0; i < 12; i++) writeFileSync(join(dir, `take-${String(i).padStart(2, '0')}.wav`), `t${i}`);
    mkdirSync(join(dir, 'Song.logicx', 'Media'), { recursive: true });
    writeFileSync(join(dir, 'Song.logicx', 'Media', 'a.wav'), 'a');
    writeFileSync(join(dir, 'Song.logicx', 'ProjectData'), 'doc');
    const cut = (await run(['status'], dir)).stdout;
    expect(cut).toContain(
      'Untracked Directories\n  (use "oxen add <dir>..." to update what will be committed)\n  Song.logicx (2 items)\n',
    );
    expect(cut).toContain('  take-09.wav\n  ... and 2 others\n');
    expect(cut).not.toContain('take-10.wav');
    const all = (await run(['status', '--print_all'], dir)).stdout;
    expect(all).toContain('  take-11.wav\n');
    expect(all).not.toContain('others');
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
      /^🐂 oxen push origin main -> [0-9a-f]{32}\n🐂 push complete 🎉 took (\d+(ms|s|m) ?)+\n$/,
    );
    // Over a pipe stderr is not a terminal, so indicatif draws no progress at all.
    expect(push.stderr).toBe('');
    const other = await env.cloneProject(`${name}-b`, url);
    expect((await run(['log', '-n', '1'], other)).stdout).toMatch(
      /^commit [0-9a-f]{32}\nAuthor: Ada <ada@example.com>\nDate: {3}.+\n\n {4}mix\n/,
    );
    expect((await run(['branch', '-r', 'origin'], other)).stdout).toBe('origin\tmain\n');
  });

  it('push and pull read `--` as clap does: after it nothing is an option; an unknown option before it is exit 2', async () => {
    const p = await project();
    const deleted = await run(['push', '--', 'origin', '--delete'], p.dir);
    expect(deleted.code).toBe(1);
    expect(deleted.stderr).toContain("Local branch '--delete' not found");
    expect(server.repo('ns', p.name)!.branches.main).toBeDefined();
    const unknown = await run(['pull', '--bogus', 'origin', 'main'], p.dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unexpected argument '--bogus' found");
    expect((await run(['pull', '--', 'origin', 'main'], p.dir)).code).toBe(0);
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
      /^Error: Branch main is behind remote commit [0-9a-f]{32}\.\nRun `oxen pull` to update your local branch, or use `oxen push --force` to force push\.\n$/,
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
      expect((await run(['fetch'], dir)).stdout).toMatch(
        /^Fetch remote branch: g\/main\n🐂 oxen downloaded 4 B \(1 files\) in \S+\n$/,
      );
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

describe('fake oxen CLI: audit rows (oxen-0.54-audit.md)', () => {
  it('audit row: CLI fetch — without -b every remote branch is fetched one at a time, lock tickets and scratch branches included, each created locally with its content', async () => {
    const { dir, name } = await projectWithBranches();
    const r = await run(['fetch'], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const b of ['main', 'feature', 'oxvcs-lock/song/0001', 'oxvcs-scratch/m1'])
      expect(r.stdout).toContain(`Fetch remote branch: ${name}/${b}\n`);
    expect(r.stdout).toMatch(/🐂 oxen downloaded 7 B \(1 files\) in \S+\n/);
    expect(await localBranches(dir)).toEqual(['feature', 'main', 'oxvcs-lock/song/0001', 'oxvcs-scratch/m1']);
    // The content came too: checking out the fetched branch needs no network.
    await server.faults.offline();
    try {
      expect((await run(['checkout', 'feature'], dir)).code).toBe(0);
      expect(readFileSync(join(dir, 'feature.txt'), 'utf8')).toBe('feature');
    } finally {
      await server.faults.online();
    }
  });

  it("audit row: CLI fetch — a branch deleted between the list and its fetch fails with Remote branch 'X' not found (exit 1), after the others", async () => {
    const { dir, name } = await projectWithBranches();
    const gate = join(env.root, `${name}.gate`);
    const fetching = runWith(['fetch'], dir, {
      OXEN_FAKE_PAUSE_AT: 'fetch-listed',
      OXEN_FAKE_PAUSE_FILE: gate,
    });
    await vi.waitFor(() => expect(existsSync(`${gate}.waiting`)).toBe(true), { interval: 20 });
    // Another client's lock cleanup deletes an old ticket while this fetch runs.
    const del = await fetch(`${server.url}/api/repos/ns/${name}/branches/oxvcs-lock/song/0001`, {
      method: 'DELETE',
    });
    expect(del.status).toBe(200);
    writeFileSync(gate, '');
    const r = await fetching;
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("Error: Remote branch 'oxvcs-lock/song/0001' not found\n");
    expect(r.stdout).toContain(`Fetch remote branch: ${name}/oxvcs-lock/song/0001\n`);
    expect(await localBranches(dir)).toEqual(['feature', 'main', 'oxvcs-scratch/m1']);
  });

  it('audit row: CLI fetch -b BRANCH fetches only that branch and moves the local branch to the remote head', async () => {
    const { dir, name, featureHead } = await projectWithBranches();
    await run(['branch', 'feature'], dir);
    const r = await run(['fetch', '-b', 'feature'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^Fetch remote branch: ${name}/feature\\n🐂 oxen downloaded 7 B \\(1 files\\) in \\S+\\n$`),
    );
    expect(await localBranches(dir)).toEqual(['feature', 'main']);
    expect((await run(['log', '-n', '1', '--revision', 'feature'], dir)).stdout).toContain(
      `commit ${featureHead}\n`,
    );
    expect((await run(['fetch', '-b', 'gone'], dir)).stderr).toBe("Error: Remote branch 'gone' not found\n");
  });

  it('audit row: CLI version mismatch — push and pull warn on stderr before any Error: line; fetch does not check', async () => {
    const { dir, url, name } = await project();
    const older = { OXEN_FAKE_CLI_VERSION: '0.53.2' };
    expect((await runWith(['--version'], dir, older)).stdout).toBe('oxen 0.53.2\n');
    const warning =
      'Warning: 🐂 Oxen remote version mismatch.\n\nCLI Version: 0.53.2\nServer Version: 0.54.0\n\nPlease visit https://docs.oxen.ai/getting-started/install for installation instructions.\n\n';
    const noop = await runWith(['push', 'origin', 'main'], dir, older);
    expect(noop).toMatchObject({ code: 0, stderr: warning });
    expect((await runWith(['pull', 'origin', 'main'], dir, older)).stderr).toBe(warning);
    expect((await runWith(['fetch'], dir, older)).stderr).toBe('');
    const other = await env.cloneProject(`${name}-b`, url);
    writeFileSync(join(other, 'b.txt'), 'b');
    await run(['add', 'b.txt'], other);
    await run(['commit', '-m', 'b'], other);
    await run(['push'], other);
    writeFileSync(join(dir, 'a.txt'), 'a');
    await run(['add', 'a.txt'], dir);
    await run(['commit', '-m', 'a'], dir);
    const behind = await runWith(['push', 'origin', 'main'], dir, older);
    expect(behind.code).toBe(1);
    expect(behind.stderr.startsWith(`${warning}Error: Branch main is behind remote commit `)).toBe(true);
    // The same versions: no warning.
    expect((await run(['pull', 'origin', 'main'], other)).stderr).toBe('');
  });

  it('audit row: CLI no-op push prints the -> line first, then Everything is up to date', async () => {
    const { dir } = await project();
    const head = /-> ([0-9a-f]{32})/.exec((await run(['status'], dir)).stdout)?.[1];
    const r = await run(['push', 'origin', 'main'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^🐂 oxen push origin main -> ${head}\\nEverything is up to date\\n🐂 push complete 🎉 took \\S+( \\S+)*\\n$`,
      ),
    );
  });

  it('audit row: CLI body-read network failure — a connection cut mid-answer gives the other reqwest texts', async () => {
    const { dir, url, name } = await project();
    const other = await env.cloneProject(`${name}-b`, url);
    writeFileSync(join(other, 'b.txt'), 'b');
    await run(['add', 'b.txt'], other);
    await run(['commit', '-m', 'b'], other);
    await run(['push'], other);
    await server.faults.add({ kind: 'reset', route: '/download/', count: 1 });
    const pull = await run(['pull', 'origin', 'main'], dir);
    expect(pull.code).toBe(1);
    expect(pull.stderr).toBe(
      'Error: Network error: error decoding response body\n  hint: Check your internet connection and try again.\n',
    );
    await server.faults.add({ kind: 'reset', method: 'GET', route: '/branches/', count: 1 });
    const push = await run(['push', 'origin', 'main'], dir);
    expect(push.code).toBe(1);
    expect(push.stderr).toBe(
      'Error: Network error: request or response body error\n  hint: Check your internet connection and try again.\n',
    );
    await server.faults.clear();
  });

  it('audit row: CLI non-JSON 5xx (a proxy page) — Could not deserialize response from [URL] and the real status line', async () => {
    const { dir } = await project();
    const proxy = await gateway((_req, res) =>
      res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>'),
    );
    try {
      await run(['config', '--set-remote', 'origin', `${proxy.url}/ns/p`], dir);
      const r = await run(['push', 'origin', 'main'], dir);
      expect(r).toMatchObject({
        code: 1,
        stderr: `Error: Could not deserialize response from [${proxy.url}/api/min_version]\n502 Bad Gateway\n`,
      });
    } finally {
      await proxy.close();
    }
  });

  it("audit row: CLI 401 — JSON 401/403 that is not Hub's unauthenticated body gives Err status [401 Unauthorized]", async () => {
    const { dir, name } = await project();
    let description = 'Token has expired';
    let status = 401;
    const hub = await gateway((req, res) => {
      if (versionRoutes(req, res)) return;
      json(res, status, { status: 'error', status_message: 'unauthorized', status_description: description });
    });
    // A config dir of its own: whether an auth file exists changes what a 403 says.
    const config = { OXEN_CONFIG_DIR: join(env.root, `${name}-config`) };
    try {
      await run(['config', '--set-remote', 'origin', `${hub.url}/ns/p`], dir);
      const expired = await runWith(['push', 'origin', 'main'], dir, config);
      expect(expired.code).toBe(1);
      expect(expired.stderr).toBe(
        `Error: Err status [401 Unauthorized] from url ${hub.url}/api/repos/ns/p [unauthorized]\n`,
      );
      description = 'unauthenticated';
      expect((await runWith(['push', 'origin', 'main'], dir, config)).stderr).toMatch(
        /^Error: Authentication failed: You are unauthenticated\.\n/,
      );
      description = 'Forbidden';
      status = 403;
      // A 403 with no auth file at all is Oxen's "Must supply valid API key"; with one, Err status.
      expect((await runWith(['push', 'origin', 'main'], dir, config)).stderr).toMatch(
        /^Error: Must supply valid API key\./,
      );
      await runWith(['config', '--auth', new URL(hub.url).host, 'stale-token'], dir, config);
      expect((await runWith(['push', 'origin', 'main'], dir, config)).stderr).toBe(
        `Error: Err status [403 Forbidden] from url ${hub.url}/api/repos/ns/p [unauthorized]\n`,
      );
    } finally {
      await hub.close();
    }
  });

  it('audit row: CLI older than min_version — Oxen CLI out of date (OxenUpdateRequired, its own Error: prefix)', async () => {
    const { dir } = await project();
    for (const args of [['push', 'origin', 'main'], ['pull', 'origin', 'main'], ['fetch']]) {
      const r = await runWith(args, dir, { OXEN_FAKE_CLI_VERSION: '0.30.1' });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        /^Error: Error: Oxen CLI out of date\. Pushing to OxenHub requires version >= 0\.36\.0, found version 0\.30\.1\.\n\nVisit https:\/\/docs\.oxen\.ai\/getting-started\/intro for update instructions\.\n/,
      );
    }
  });

  it('audit row: CLI migration required — the warning names the command, then Error: Error: Migration required', async () => {
    const { dir } = await project();
    mkdirSync(join(dir, '.oxen', 'workspaces'));
    const r = await run(['push', 'origin', 'main'], dir);
    expect(r).toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        '\nWarning: 🐂 This repo requires a migration to the latest Oxen version. \n\nPlease run the following to update:\n\n  oxen migrate up add_workspace_name_index .\n\nError: Error: Migration required\n',
    });
    expect((await run(['migrate', 'up', 'add_workspace_name_index', '.'], dir)).code).toBe(0);
    expect((await run(['push', 'origin', 'main'], dir)).code).toBe(0);
  });

  it.skipIf(!hasScript)(
    'audit row: CLI progress — indicatif bars on a terminal only (push and pull), cleared when done',
    async () => {
      const { dir, url, name } = await project();
      for (const [file, content] of [
        ['a.wav', 'aaaa'],
        ['b.wav', 'bbbbbbbb'],
        ['c.wav', 'c'.repeat(2000)],
      ] as const)
        writeFileSync(join(dir, file), content);
      await run(['add', '.'], dir);
      await run(['commit', '-m', 'takes'], dir);
      const slow = { OXEN_FAKE_TRANSFER_DELAY_MS: '60' };
      // Oxen moves the bar once per batch or large file: a 4-byte segment sends each file alone.
      const push = await runInTerminal(['push', 'origin', 'main'], dir, {
        ...slow,
        OXEN_FAKE_SEGMENT_BYTES: '4',
      });
      expect(push.code).toBe(0);
      const frames = push.output.split(CLEAR_LINE).slice(1);
      expect(frames.length).toBeGreaterThanOrEqual(3);
      expect(frames[0]).toMatch(
        /^⠁ 🐂 push \(1\/3 files\) \[\d\d:\d\d:\d\d\] \[[🌾🐂➖]+\] [\d.]+ (B|KiB)\/1\.96 KiB$/u,
      );
      expect(frames).toContainEqual(
        expect.stringMatching(/^. 🐂 push \(3\/3 files\) .* 1\.96 KiB\/1\.96 KiB$/),
      );
      // The bar is cleared before the closing line.
      expect(push.output).toContain(`${CLEAR_LINE}🐂 push complete 🎉`);
      const other = join(env.root, `${name}-tty`);
      mkdirSync(other);
      await run(['init'], other);
      await run(['config', '--set-remote', 'origin', url], other);
      const pull = await runInTerminal(['pull', 'origin', 'main'], other, slow);
      expect(pull.code).toBe(0);
      expect(pull.output.split(CLEAR_LINE).slice(1)).toContainEqual(
        expect.stringMatching(
          /^. 🐂 pull \(\d\/4 files\) \[\d\d:\d\d:\d\d\] \[[🌾🐂➖]+\] [\d.]+ (B|KiB)\/1\.97 KiB$/u,
        ),
      );
      // Without a terminal the same pull draws nothing.
      const quiet = await runWith(['pull', 'origin', 'main'], dir, slow);
      expect(quiet.stderr).toBe('');
    },
  );
});
