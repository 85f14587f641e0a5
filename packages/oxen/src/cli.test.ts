import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { isRunning } from '@oxvcs/durable';
import {
  createTestWorld,
  type FakeOxenEnv,
  type FakeOxenServer,
  fakeOxenBinDir,
  type TestWorld,
} from '@oxvcs/oxen-testkit';
import { classify } from '@oxvcs/retry';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cliErrorFrom, createOxenCli, parseProgressLine, type TransferProgress } from './cli.js';
import { failure } from './test-support/failure.js';
import { TRANSFER_LOCK_FILE, type TransferRecord } from './transfer-lock.js';

const isProcessAlive = (pid: number) => isRunning({ pid });

let server: FakeOxenServer;
let env: FakeOxenEnv;
let world: TestWorld;
let n = 0;
const project = async () => {
  const name = `c${++n}`;
  const dir = await world.project(name);
  // The wrapper's own network timeout (600 s): a loaded machine never reads as a hung server here.
  return { dir, name, cli: createOxenCli({ cwd: dir, env: env.env }) };
};

/** A project with one local commit not yet pushed (so a push has something to upload). */
const projectWithCommit = async (extraEnv: NodeJS.ProcessEnv = {}) => {
  const p = await project();
  writeFileSync(join(p.dir, 'take.wav'), `take of ${p.name}`);
  await p.cli.add(['take.wav']);
  const commit = await p.cli.commit('take');
  return { ...p, commit, cli: createOxenCli({ cwd: p.dir, env: { ...env.env, ...extraEnv } }) };
};
/** Another clone pushes a commit, so `dir`'s next push is not a fast-forward. */
const moveRemote = async (name: string) => {
  const other = await env.cloneProject(`${name}-mover`, server.repoUrl('ns', name));
  writeFileSync(join(other, 'theirs.txt'), 'theirs');
  await env.oxen(['add', 'theirs.txt'], other);
  await env.oxen(['commit', '-m', 'theirs'], other);
  expect((await env.oxen(['push'], other)).code).toBe(0);
};
/** Environment that makes the fake oxen stop at `point` until `gate` exists. */
const pausing = (point: string) => {
  const gate = join(env.root, `gate-${++n}`);
  return {
    gate,
    env: { OXEN_FAKE_PAUSE_AT: point, OXEN_FAKE_PAUSE_FILE: gate },
    waiting: () => vi.waitFor(() => expect(existsSync(`${gate}.waiting`)).toBe(true), { interval: 20 }),
    open: () => writeFileSync(gate, ''),
  };
};
const lockFile = (dir: string) => join(dir, '.oxen', TRANSFER_LOCK_FILE);
const readLock = (dir: string) => JSON.parse(readFileSync(lockFile(dir), 'utf8')) as TransferRecord;

/** A server in front of nothing (a proxy, a gateway, Hub): `answer` handles every request. */
const gateway = async (answer: (req: IncomingMessage, res: ServerResponse) => void) => {
  const http = createServer(answer);
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((done) => http.close(() => done())) };
};
const sendJson = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
/** Answers the version routes like oxen-server, so the CLI gets to the request under test. */
const versionRoutes = (req: IncomingMessage, res: ServerResponse) => {
  const envelope = { status: 'success', status_message: 'resource_found', oxen_version: '0.54.0' };
  if (req.url === '/api/min_version') sendJson(res, 200, { ...envelope, version: '0.36.0' });
  else if (req.url === '/api/version') sendJson(res, 200, envelope);
  else return false;
  return true;
};

/**
 * A separate Node process that runs the wrapper from source (type stripping, `.js` → `.ts`,
 * `@oxvcs/*` → `packages/<name>/src`) and pushes; it prints `ready`, then `done` or `failed CODE`.
 * With `own-sigint`, it handles SIGINT itself (prints `handled`) and exits 0 once the push settles;
 * with `progress`, it asks for progress (so oxen runs under `script`) as if on `platform`.
 */
const HOST = String.raw`
import { registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';
const [root, cwd, mode, platform] = process.argv.slice(2);
registerHooks({
  resolve(specifier, context, next) {
    if (specifier.startsWith('@oxvcs/'))
      return next(pathToFileURL(root + '/packages/' + specifier.slice(7) + '/src/index.ts').href, context);
    try {
      return next(specifier, context);
    } catch (error) {
      if (specifier.startsWith('.') && specifier.endsWith('.js')) return next(specifier.slice(0, -3) + '.ts', context);
      throw error;
    }
  },
});
const { createOxenCli } = await import(pathToFileURL(root + '/packages/oxen/src/cli.ts').href);
if (mode === 'own-sigint') process.on('SIGINT', () => process.stdout.write('handled\n'));
const cli = createOxenCli({ cwd, env: process.env, ...(platform ? { platform } : {}) });
const pushing = cli.push('origin', 'main', mode === 'progress' ? { onProgress: () => undefined } : {});
process.stdout.write('ready\n');
await pushing.then(
  () => process.stdout.write('done\n'),
  (error) => process.stdout.write('failed ' + (error.code ?? error.name) + '\n'),
);
process.exit(0);
`;
let hostDir: string;
const ROOT = resolve(import.meta.dirname, '../../..');
/** Starts the host script pushing `dir` with `extraEnv`; resolves once the oxen child is paused at the gate. */
const startHost = async (dir: string, extraEnv: NodeJS.ProcessEnv, mode = '', platform = '') => {
  const host = spawn(process.execPath, [join(hostDir, 'host.mjs'), ROOT, dir, mode, platform], {
    env: { ...env.env, ...extraEnv, NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  host.stdout.on('data', (c: Buffer) => {
    output += c.toString('utf8');
  });
  host.stderr.on('data', (c: Buffer) => {
    output += c.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    host.on('exit', (code, signal) => done({ code, signal })),
  );
  return { host, exited, output: () => output };
};
const orphans: number[] = [];
const childOf = async (dir: string, gate: ReturnType<typeof pausing>) => {
  await gate.waiting();
  await vi.waitFor(() => expect(readLock(dir).pid).toBeGreaterThan(0), { interval: 20 });
  const pid = readLock(dir).pid!;
  orphans.push(pid);
  // The recorded pid is the paused oxen itself.
  expect(JSON.parse(readFileSync(`${gate.gate}.waiting`, 'utf8')).pid).toBe(pid);
  return pid;
};
// A child that was not killed stays paused at its gate for good: waiting for it to go tells the two apart.
const gone = (pid: number) => vi.waitFor(() => expect(isProcessAlive(pid)).toBe(false), { interval: 10 });

/** util-linux `script`, which gives oxen a real terminal here (Linux). */
const utilLinuxScript =
  process.platform === 'linux' &&
  (spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout ?? '').includes('util-linux')
    ? spawnSync('sh', ['-c', 'command -v script'], { encoding: 'utf8' }).stdout.trim()
    : undefined;
/**
 * A stand-in for macOS's BSD `script [-adkpqr] [-F pipe] [-t time] [file [command ...]]`: it
 * refuses `-c`, `-e` and long options as BSD getopt does, prints the start banner without `-q`,
 * runs the command words under a real terminal (util-linux `script` underneath) and exits with the
 * command's status (a signal's number when one killed it). Each run is logged to
 * `$OXVCS_FAKE_SCRIPT_LOG`: its arguments and what its stdin was.
 */
const BSD_SCRIPT = (real: string) => String.raw`#!/usr/bin/env node
const { spawnSync } = require('node:child_process');
const { appendFileSync, fstatSync } = require('node:fs');
const { constants } = require('node:os');
const argv = process.argv.slice(2);
const open = (fd) => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};
const usage = () => {
  process.stderr.write('usage: script [-adkpqr] [-F pipe] [-t time] [file [command ...]]\n');
  process.exit(1);
};
let i = 0;
let quiet = false;
for (; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--') { i++; break; }
  if (!a.startsWith('-') || a === '-') break;
  for (let j = 1; j < a.length; j++) {
    if (a[j] === 'q') quiet = true;
    else if ('adkpr'.includes(a[j])) continue;
    else if (a[j] === 'F' || a[j] === 't') { if (j === a.length - 1) i++; break; }
    else { process.stderr.write('script: illegal option -- ' + a[j] + '\n'); usage(); }
  }
}
const [file, ...command] = argv.slice(i);
appendFileSync(process.env.OXVCS_FAKE_SCRIPT_LOG, JSON.stringify({ argv, stdin: fstatSync(0).isFIFO() || fstatSync(0).isSocket() ? 'pipe' : 'other' }) + '\n');
if (file === undefined || command.length === 0) usage();
if (!quiet) process.stdout.write('Script started, output file is ' + file + '\n');
const quote = (w) => "'" + w.replaceAll("'", "'\\''") + "'";
const run = spawnSync(${JSON.stringify(real)}, ['-q', '-e', '-c', command.map(quote).join(' '), file], {
  // Like BSD script (fork and exec), it leaves open descriptors beyond the terminal to the command.
  stdio: ['inherit', 'inherit', 'inherit', ...(open(3) ? [3] : [])],
  env: { ...process.env, SHELL: '/bin/sh' },
});
process.exit(run.signal ? constants.signals[run.signal] : (run.status ?? 1));
`;
let bsdDir: string;
/** Environment with the BSD-like `script` first on PATH; its log is `log`. */
const bsdEnv = (extra: NodeJS.ProcessEnv = {}) => {
  const log = join(bsdDir, `log-${++n}.jsonl`);
  writeFileSync(log, '');
  return {
    log,
    runs: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { argv: string[]; stdin: string }),
    env: {
      ...env.env,
      ...extra,
      PATH: `${bsdDir}${delimiter}${env.env.PATH ?? ''}`,
      OXVCS_FAKE_SCRIPT_LOG: log,
    },
  };
};
/** A project with three takes committed, not yet pushed. */
const projectWithTakes = async () => {
  const p = await project();
  const files = { 'a.wav': 'aaaa', 'b.wav': 'bbbbbbbb', 'c.wav': 'c'.repeat(2000) };
  for (const [file, content] of Object.entries(files)) writeFileSync(join(p.dir, file), content);
  await p.cli.add(Object.keys(files));
  return { ...p, files, commit: await p.cli.commit('takes') };
};
/**
 * What a push of {@link projectWithTakes} reports, as Oxen draws it: every frame a push of all
 * three files (2,012 bytes); the commit's nodes then grow the total and count past it.
 */
const expectPushBar = (events: readonly TransferProgress[]) => {
  expect(events.length).toBeGreaterThanOrEqual(3);
  expect(events.every((e) => e.phase === 'push' && e.filesTotal === 3)).toBe(true);
  expect(events.map((e) => e.filesDone)).toEqual([...events.map((e) => e.filesDone!)].sort());
  expect(Math.abs(events[0]!.bytesTotal! - 2012) / 2012).toBeLessThan(0.01);
  const last = events.at(-1)!;
  expect(last.filesDone).toBe(3);
  // Sizes are read from HumanBytes (two decimals of KiB): within 1 %.
  expect(last.bytesDone).toBeGreaterThanOrEqual(2012 * 0.99);
  expect(last.bytesTotal).toBeGreaterThanOrEqual(2012 * 0.99);
};

beforeAll(async () => {
  world = await createTestWorld();
  ({ server, env } = world);
  hostDir = world.folder('host');
  writeFileSync(join(hostDir, 'host.mjs'), HOST);
  bsdDir = world.folder('bsd-script');
  if (utilLinuxScript) {
    writeFileSync(join(bsdDir, 'script'), BSD_SCRIPT(utilLinuxScript));
    chmodSync(join(bsdDir, 'script'), 0o755);
  }
});
afterAll(async () => {
  for (const pid of orphans) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  }
  await world.close();
  rmSync(hostDir, { recursive: true, force: true });
  rmSync(bsdDir, { recursive: true, force: true });
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

  it('status reads oxen 0.54 as printed (staged_data.rs): every list with --print_all, folders, hints, labels only where printed', async () => {
    const { dir } = await project();
    // Oxen 0.54's own lines for this state, verbatim (colours off), from an `oxen` that prints them.
    const printed = [
      'On branch main -> 0123456789abcdef0123456789abcdef',
      '',
      'Files to be committed:',
      '  (use "oxen restore --staged <file> ..." to unstage)',
      '  new file: Bass.wav',
      '  removed: Old.wav',
      '',
      'Modified files:    (use "oxen add <file>..." to update what will be committed)',
      '  modified: Mix.wav',
      '',
      'Untracked Directories',
      '  (use "oxen add <dir>..." to update what will be committed)',
      // `"  {path} {padding}"` then `"({n} items)"`: padded to the longest path.
      '  Song.logicx (300 items)',
      '  Stems       (1 item)',
      '',
      'Untracked Files',
      '  (use "oxen add <file>..." to update what will be committed)',
      '  modified: a take.wav',
      '   lead.wav',
      '',
      'Removed Files',
      '  (use "oxen add/rm <file>..." to update what will be committed)',
      '  removed: Gone.wav',
      '',
    ].join('\n');
    const bin = join(dir, 'oxen-0.54');
    writeFileSync(
      bin,
      `#!/bin/sh\n[ "$1 $2" = "status --print_all" ] || { echo "unexpected: $*" >&2; exit 2; }\ncat <<'EOF'\n${printed}\nEOF\n`,
      { mode: 0o755 },
    );
    const status = await createOxenCli({ cwd: dir, env: env.env, bin }).status();
    expect(status).toEqual({
      branch: 'main',
      commit: '0123456789abcdef0123456789abcdef',
      clean: false,
      staged: ['Bass.wav', 'Old.wav'],
      modified: ['Mix.wav'],
      untracked: ['Song.logicx', 'Stems', 'modified: a take.wav', ' lead.wav'],
      removed: ['Gone.wav'],
    });
  });

  it('the current branch is read from .oxen/HEAD without a process; a detached HEAD (a commit id) asks oxen', async () => {
    const { dir } = await project();
    // An oxen that is not there: any process started would fail with CLI_NOT_FOUND.
    const absent = createOxenCli({ cwd: dir, env: env.env, bin: join(dir, 'no-such-oxen') });
    writeFileSync(join(dir, '.oxen', 'HEAD'), 'take-2');
    expect(await absent.currentBranch()).toBe('take-2');
    writeFileSync(join(dir, '.oxen', 'HEAD'), 'a'.repeat(32));
    expect((await failure(absent.currentBranch())).code).toBe('CLI_NOT_FOUND');
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
    const { dir } = await project();
    const cli = createOxenCli({ cwd: dir, env: env.env, networkTimeoutMs: 2000 });
    await server.faults.add({ kind: 'blackhole' });
    const started = Date.now();
    const error = await failure(cli.pull());
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toMatch(/^oxen pull did not finish within 2 s and was stopped/);
    // Stopped by its own 2 s, not before; a machine however busy ends it far sooner than the
    // default (600 s) a timeout that did not apply would leave it hanging for.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('a timed-out oxen that wrote megabytes of escapes and carriage returns: its stderr is kept bounded and clean', async () => {
    const { dir } = await project();
    const bin = join(env.root, `chatty-oxen-${++n}.mjs`);
    writeFileSync(
      bin,
      `#!${process.execPath}\nprocess.stderr.write('\\u001b]0;pwned\\u0007\\u001b[2J progress\\r'.repeat(50000));\nsetTimeout(() => {}, 600000);\n`,
    );
    chmodSync(bin, 0o755);
    const cli = createOxenCli({ cwd: dir, env: env.env, bin, networkTimeoutMs: 1500 });
    const error = await failure(cli.pull());
    expect(error.code).toBe('TIMEOUT');
    expect(error.stderr).toContain('progress');
    expect(error.stderr!.length).toBeLessThanOrEqual(4000);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is checked
    expect(error.stderr).not.toMatch(/[\u001b\u0007\r]/);
  });

  it('not a repository and a missing binary', async () => {
    const cli = createOxenCli({ cwd: env.root, env: env.env });
    expect((await failure(cli.status())).code).toBe('NOT_A_REPOSITORY');
    const missing = createOxenCli({ cwd: env.root, bin: 'oxen-does-not-exist', env: env.env });
    expect((await failure(missing.status())).code).toBe('CLI_NOT_FOUND');
  });
});

describe('what the real oxen 0.54 prints (oxen-0.54-audit.md #3, #4)', () => {
  it('the message is the Error: line, not the version warning printed before it', async () => {
    const { name, cli } = await projectWithCommit({ OXEN_FAKE_CLI_VERSION: '0.53.2' });
    await moveRemote(name);
    const error = await failure(cli.push('origin', 'main'));
    expect(error.stderr).toMatch(/^Warning: 🐂 Oxen remote version mismatch\./);
    expect(error.code).toBe('NON_FAST_FORWARD');
    expect(error.message).toMatch(/^oxen push failed: Branch main is behind remote commit [0-9a-f]{32}\.$/);
  });

  it('a proxy page (non-JSON) 5xx is SERVER_ERROR, transient; a non-JSON 401/403 is AUTH', async () => {
    const { dir, cli } = await project();
    let status = 502;
    const proxy = await gateway((_req, res) =>
      res.writeHead(status, { 'content-type': 'text/html' }).end(`<html><h1>${status}</h1></html>`),
    );
    try {
      await env.oxen(['config', '--set-remote', 'origin', `${proxy.url}/ns/x`], dir);
      const bad = await failure(cli.push('origin', 'main'));
      expect(bad).toMatchObject({ code: 'SERVER_ERROR', status: 502 });
      expect(bad.message).toBe(
        `oxen push failed: Could not deserialize response from [${proxy.url}/api/min_version]: 502 Bad Gateway`,
      );
      expect(classify(bad).kind).toBe('transient');
      status = 403;
      expect((await failure(cli.pull('origin', 'main'))).code).toBe('AUTH');
    } finally {
      await proxy.close();
    }
  });

  it('a JSON 401/403 (Err status [401 Unauthorized]) is AUTH', async () => {
    const { dir, cli } = await project();
    let status = 401;
    const hub = await gateway((req, res) => {
      if (versionRoutes(req, res)) return;
      sendJson(res, status, {
        status: 'error',
        status_message: 'unauthorized',
        status_description: 'expired',
      });
    });
    try {
      await env.oxen(['config', '--set-remote', 'origin', `${hub.url}/ns/x`], dir);
      const error = await failure(cli.push('origin', 'main'));
      expect(error.stderr).toContain('Err status [401 Unauthorized]');
      expect(error.code).toBe('AUTH');
      expect(classify(error).kind).toBe('auth');
      status = 403;
      expect((await failure(cli.fetch({ branch: 'main' }))).stderr).toMatch(
        /Must supply valid API key|Err status \[403 Forbidden\]/,
      );
    } finally {
      await hub.close();
    }
  });

  it('any Network error: (a connection cut while reading the answer) is NETWORK, transient', async () => {
    const { name, cli } = await project();
    await moveRemote(name);
    await server.faults.add({ kind: 'reset', route: '/download/', count: 1 });
    const error = await failure(cli.pull('origin', 'main'));
    expect(error.stderr).toContain('Network error: error decoding response body');
    expect(error.code).toBe('NETWORK');
    expect(classify(error).kind).toBe('transient');
  });

  it('Oxen CLI out of date is CLI_OUT_OF_DATE and says to upgrade the oxen CLI', async () => {
    const { cli } = await projectWithCommit({ OXEN_FAKE_CLI_VERSION: '0.30.1' });
    const error = await failure(cli.push('origin', 'main'));
    expect(error.code).toBe('CLI_OUT_OF_DATE');
    expect(error.message).toBe(
      'oxen push failed: this oxen CLI (0.30.1) is older than the server accepts (0.36.0 or newer); upgrade the oxen CLI (https://docs.oxen.ai/getting-started/intro), then try again.',
    );
    expect(error.requiredVersion).toBe('0.36.0');
  });

  it('Migration required is MIGRATION_REQUIRED and names the command to run', async () => {
    const { dir, cli } = await project();
    mkdirSync(join(dir, '.oxen', 'workspaces'));
    const error = await failure(cli.pull('origin', 'main'));
    expect(error.code).toBe('MIGRATION_REQUIRED');
    expect(error.message).toBe(
      'oxen pull failed: this repository must be migrated before this oxen CLI can use it; run `oxen migrate up add_workspace_name_index .` in the project folder, then try again.',
    );
    expect((await env.oxen(['migrate', 'up', 'add_workspace_name_index', '.'], dir)).code).toBe(0);
    await cli.pull('origin', 'main');
  });
});

describe('arguments from the user', () => {
  it('push and pull hand the remote and the branch to oxen after `--`: neither is read as an option', async () => {
    const dir = world.folder('args');
    try {
      mkdirSync(join(dir, '.oxen'));
      const log = join(dir, 'argv');
      const bin = join(dir, 'oxen');
      // An oxen that records its arguments, one a line.
      writeFileSync(bin, `#!/bin/sh\nprintf '%s\\n' "$@" >> "${log}"\n`, { mode: 0o755 });
      const cli = createOxenCli({ cwd: dir, env: { PATH: process.env.PATH ?? '' }, bin });
      await cli.push('origin', '--delete');
      await cli.pull('-r', 'main');
      expect(readFileSync(log, 'utf8').split('\n')).toEqual([
        'push',
        '--',
        'origin',
        '--delete',
        'pull',
        '--',
        '-r',
        'main',
        '',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('fetch', () => {
  /** The remote also has `feature`, a lock ticket and a scratch branch. */
  const withBranches = async () => {
    const p = await project();
    const commit = server.repo('ns', p.name)!.branches.main!;
    for (const name of ['feature', 'oxvcs-lock/song/0001', 'oxvcs-scratch/m1']) {
      const res = await fetch(`${server.url}/api/repos/ns/${p.name}/branches`, {
        method: 'POST',
        body: JSON.stringify({ new_name: name, commit_id: commit }),
      });
      expect(res.status).toBe(200);
    }
    return p;
  };

  it('fetch({ branch }) runs fetch -b BRANCH: only that branch, no lock tickets', async () => {
    const { cli } = await withBranches();
    await cli.fetch({ branch: 'feature' });
    expect((await cli.branches()).names).toEqual(['feature', 'main']);
    await cli.fetch();
    expect((await cli.branches()).names).toEqual([
      'feature',
      'main',
      'oxvcs-lock/song/0001',
      'oxvcs-scratch/m1',
    ]);
  });

  it("Remote branch 'oxvcs-…' not found from fetch (deleted mid-fetch) is transient; a missing branch on pull stays BRANCH_NOT_FOUND", async () => {
    const { dir, name } = await withBranches();
    const gate = pausing('fetch-listed');
    const cli = createOxenCli({ cwd: dir, env: { ...env.env, ...gate.env } });
    const fetching = failure(cli.fetch());
    await gate.waiting();
    const del = await fetch(`${server.url}/api/repos/ns/${name}/branches/oxvcs-lock/song/0001`, {
      method: 'DELETE',
    });
    expect(del.status).toBe(200);
    gate.open();
    const error = await fetching;
    expect(error.stderr).toContain("Error: Remote branch 'oxvcs-lock/song/0001' not found");
    expect(error.code).toBe('NETWORK');
    expect(classify(error).kind).toBe('transient');
    expect(error.message).toBe(
      'oxen fetch failed: the remote branch oxvcs-lock/song/0001 was deleted while fetching; try again.',
    );
    const plain = createOxenCli({ cwd: dir, env: env.env });
    expect((await failure(plain.fetch({ branch: 'oxvcs-lock/song/0001' }))).code).toBe('NETWORK');
    expect((await failure(plain.fetch({ branch: 'nope' }))).code).toBe('BRANCH_NOT_FOUND');
    expect((await failure(plain.pull('origin', 'nope'))).code).toBe('BRANCH_NOT_FOUND');
  });
});

describe('no oxen child outlives the command that started it', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'the host gets %s: the oxen child is killed and the host still dies of the signal',
    async (signal) => {
      const { dir } = await projectWithCommit();
      const gate = pausing('push-upload');
      const { host, exited } = await startHost(dir, gate.env);
      const pid = await childOf(dir, gate);
      expect(isProcessAlive(pid)).toBe(true);
      host.kill(signal);
      expect(await exited).toEqual({ code: null, signal });
      await gone(pid);
      expect(existsSync(lockFile(dir))).toBe(false);
    },
  );

  it.skipIf(!utilLinuxScript).each([
    ['linux', 'SIGTERM'],
    ['darwin', 'SIGINT'],
    ['darwin', 'SIGTERM'],
  ] as const)(
    'under a terminal (%s script) the host gets %s: script and the oxen in its terminal are killed',
    async (platform, signal) => {
      const { dir } = await projectWithCommit();
      const gate = pausing('push-upload');
      const bsd = bsdEnv(gate.env);
      const { host, exited } = await startHost(
        dir,
        platform === 'darwin' ? bsd.env : gate.env,
        'progress',
        platform,
      );
      await gate.waiting();
      // oxen runs in a session of its own under script's terminal: the claim names script.
      const oxen = JSON.parse(readFileSync(`${gate.gate}.waiting`, 'utf8')).pid as number;
      orphans.push(oxen);
      await vi.waitFor(() => expect(readLock(dir).pid).toBeGreaterThan(0), { interval: 20 });
      const script = readLock(dir).pid!;
      expect(script).not.toBe(oxen);
      expect(bsd.runs()).toHaveLength(platform === 'darwin' ? 1 : 0);
      host.kill(signal);
      expect(await exited).toEqual({ code: null, signal });
      await gone(script);
      await gone(oxen);
      expect(existsSync(lockFile(dir))).toBe(false);
    },
  );

  it('a host with its own SIGINT handler keeps it; the child is killed all the same', async () => {
    const { dir } = await projectWithCommit();
    const gate = pausing('push-upload');
    const { host, exited, output } = await startHost(dir, gate.env, 'own-sigint');
    const pid = await childOf(dir, gate);
    host.kill('SIGINT');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(output()).toMatch(/ready\n(handled\nfailed AbortError|failed AbortError\nhandled)\n/);
    await gone(pid);
  });

  it('killAll() stops this wrapper’s children', async () => {
    const { dir } = await projectWithCommit();
    const gate = pausing('push-upload');
    const cli = createOxenCli({ cwd: dir, env: { ...env.env, ...gate.env } });
    const pushing = cli.push('origin', 'main').then(
      () => undefined,
      (error: unknown) => error,
    );
    const pid = await childOf(dir, gate);
    cli.killAll();
    await gone(pid);
    expect(await pushing).toMatchObject({ name: 'AbortError', message: 'oxen push was cancelled.' });
    expect(existsSync(lockFile(dir))).toBe(false);
  });
});

describe('one transfer per working copy', () => {
  it('a transfer orphaned by a SIGKILLed caller blocks the next one (TRANSFER_IN_PROGRESS) until it ends', async () => {
    const { dir, commit } = await projectWithCommit();
    const gate = pausing('push-upload');
    const { host, exited } = await startHost(dir, gate.env);
    const pid = await childOf(dir, gate);
    host.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');
    // The orphan runs on (its caller had no chance to stop it).
    expect(isProcessAlive(pid)).toBe(true);
    const cli = createOxenCli({ cwd: dir, env: env.env });
    const blocked = await failure(cli.push('origin', 'main'));
    expect(blocked.code).toBe('TRANSFER_IN_PROGRESS');
    expect(blocked.message).toContain(`oxen push (pid ${pid},`);
    expect(classify(blocked).kind).toBe('transient');
    expect((await failure(cli.pull('origin', 'main'))).code).toBe('TRANSFER_IN_PROGRESS');
    gate.open();
    await gone(pid);
    // The orphan finished the push; its claim is stale now and replaced.
    expect(await cli.push('origin', 'main')).toEqual({ upToDate: true, commit });
    expect(existsSync(lockFile(dir))).toBe(false);
  });

  it('two transfers started together in one process: the second is refused while the first runs', async () => {
    const { dir } = await projectWithCommit();
    const gate = pausing('push-upload');
    const cli = createOxenCli({ cwd: dir, env: { ...env.env, ...gate.env } });
    const first = cli.push('origin', 'main');
    const second = await failure(cli.push('origin', 'main'));
    expect(second.code).toBe('TRANSFER_IN_PROGRESS');
    await gate.waiting();
    expect((await failure(cli.fetch())).code).toBe('TRANSFER_IN_PROGRESS');
    gate.open();
    expect((await first).upToDate).toBe(false);
  });

  it('a stale claim (its process is gone) is ignored and replaced', async () => {
    const { dir, cli, commit } = await projectWithCommit();
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((done) => dead.on('exit', done));
    const pid = dead.pid!;
    expect(isProcessAlive(pid)).toBe(false);
    writeFileSync(
      lockFile(dir),
      JSON.stringify({
        id: 'old',
        command: 'push',
        host: hostname(),
        ownerPid: pid,
        pid,
        startedAt: new Date().toISOString(),
      } satisfies TransferRecord),
    );
    expect(await cli.push('origin', 'main')).toEqual({ upToDate: false, commit });
    expect(existsSync(lockFile(dir))).toBe(false);
  });
});

describe('progress', () => {
  it('parses both kinds of frame oxen draws, with the terminal codes left in or not', () => {
    expect(parseProgressLine('⠁ 🐂 push (2/5 files) [00:00:01] [🌾🌾🐂➖➖] 1.20 MiB/4.00 MiB')).toEqual({
      phase: 'push',
      filesDone: 2,
      filesTotal: 5,
      bytesDone: 1258291,
      bytesTotal: 4194304,
    });
    expect(parseProgressLine('⠂ 🐂 pull (3 files 1.2 MB)')).toEqual({
      phase: 'pull',
      filesDone: 3,
      bytesDone: 1_200_000,
    });
    expect(parseProgressLine('⠂ 🐂 pull (0/1 files) [00:00:00] [🐂➖] 0 B/512 B')).toMatchObject({
      bytesDone: 0,
      bytesTotal: 512,
    });
    // A frame cut off mid-write does not parse (its last size has no unit yet).
    expect(parseProgressLine('⠁ 🐂 push (2/5 files) [00:00:01] [🌾] 1.20 MiB/4.00 Mi')).toBeUndefined();
    expect(parseProgressLine('🐂 oxen push origin main -> abc')).toBeUndefined();
  });

  it.skipIf(!utilLinuxScript)(
    'onProgress gets the push bar as it streams (oxen draws it only on a terminal, so it runs under one)',
    async () => {
      const { dir, name, files, commit, cli: plain } = await projectWithTakes();
      // Oxen moves its bar once per batch or large file: a 4-byte segment sends each take alone.
      const cli = createOxenCli({
        cwd: dir,
        env: { ...env.env, OXEN_FAKE_TRANSFER_DELAY_MS: '60', OXEN_FAKE_SEGMENT_BYTES: '4' },
      });
      const events: TransferProgress[] = [];
      expect(await cli.push('origin', 'main', { onProgress: (p) => events.push(p) })).toEqual({
        upToDate: false,
        commit,
      });
      expectPushBar(events);
      // Errors still come out clean under the terminal.
      await moveRemote(name);
      writeFileSync(join(dir, 'd.wav'), 'd');
      await plain.add(['d.wav']);
      await plain.commit('d');
      const error = await failure(cli.push('origin', 'main', { onProgress: () => undefined }));
      expect(error.code).toBe('NON_FAST_FORWARD');
      expect(error.message).toMatch(/^oxen push failed: Branch main is behind remote commit [0-9a-f]{32}\.$/);
      // And a pull reports the download bar.
      const fresh = join(env.root, `${name}-progress`);
      mkdirSync(fresh);
      await env.oxen(['init'], fresh);
      await env.oxen(['config', '--set-remote', 'origin', server.repoUrl('ns', name)], fresh);
      const pulled: TransferProgress[] = [];
      await createOxenCli({ cwd: fresh, env: { ...env.env, OXEN_FAKE_TRANSFER_DELAY_MS: '60' } }).pull(
        'origin',
        'main',
        { onProgress: (p) => pulled.push(p) },
      );
      expect(pulled.length).toBeGreaterThanOrEqual(2);
      expect(pulled.every((e) => e.phase === 'pull')).toBe(true);
      expect(pulled.at(-1)!.filesDone).toBe(pulled.at(-1)!.filesTotal);
      expect(readFileSync(join(fresh, 'c.wav'), 'utf8')).toBe(files['c.wav']);
    },
  );

  it.skipIf(!utilLinuxScript)(
    'on macOS it runs BSD script -q /dev/null /bin/sh -c LINE (no -c, no -e, stdin held open) and parses the bar the same',
    async () => {
      const { dir, name, commit, cli: plain } = await projectWithTakes();
      const bsd = bsdEnv({ OXEN_FAKE_TRANSFER_DELAY_MS: '60', OXEN_FAKE_SEGMENT_BYTES: '4' });
      const cli = createOxenCli({ cwd: dir, env: bsd.env, platform: 'darwin' });
      const events: TransferProgress[] = [];
      expect(await cli.push('origin', 'main', { onProgress: (p) => events.push(p) })).toEqual({
        upToDate: false,
        commit,
      });
      expectPushBar(events);
      // The caller's arguments travel in the environment, never in the shell line.
      expect(bsd.runs()).toEqual([
        {
          argv: [
            '-q',
            '/dev/null',
            '/bin/sh',
            '-c',
            'exec "$OXVCS_OXEN_BIN" "$OXVCS_OXEN_ARG_0" "$OXVCS_OXEN_ARG_1" "$OXVCS_OXEN_ARG_2" "$OXVCS_OXEN_ARG_3" 1>&3',
          ],
          // At end of input BSD script types ^D into the terminal, which echoes it before oxen's output.
          stdin: 'pipe',
        },
      ]);
      // oxen's exit status comes through, and its Error: line from the terminal is clean.
      await moveRemote(name);
      writeFileSync(join(dir, 'd.wav'), 'd');
      await plain.add(['d.wav']);
      await plain.commit('d');
      const error = await failure(cli.push('origin', 'main', { onProgress: () => undefined }));
      expect(error.code).toBe('NON_FAST_FORWARD');
      expect(error.message).toMatch(/^oxen push failed: Branch main is behind remote commit [0-9a-f]{32}\.$/);
      const missing = createOxenCli({
        cwd: dir,
        bin: 'oxen-does-not-exist',
        env: bsd.env,
        platform: 'darwin',
      });
      expect((await failure(missing.pull('origin', 'main', { onProgress: () => undefined }))).code).toBe(
        'CLI_NOT_FOUND',
      );
      expect(bsd.runs()).toHaveLength(3);
    },
  );

  it.each(['linux', 'darwin'] as const)(
    'without a script on PATH (%s), a transfer asked for progress runs as usual and reports none',
    async (platform) => {
      const { dir, commit } = await projectWithTakes();
      // PATH holds just what the fake oxen needs: itself, node and dirname.
      const tools = join(bsdDir, `tools-${++n}`);
      mkdirSync(tools);
      symlinkSync(
        spawnSync('sh', ['-c', 'command -v dirname'], { encoding: 'utf8' }).stdout.trim(),
        join(tools, 'dirname'),
      );
      const bare = {
        ...env.env,
        PATH: [fakeOxenBinDir(), tools, dirname(process.execPath)].join(delimiter),
      };
      expect(spawnSync('script', ['--version'], { env: bare }).error).toMatchObject({ code: 'ENOENT' });
      const cli = createOxenCli({ cwd: dir, env: bare, platform });
      const events: TransferProgress[] = [];
      expect(await cli.push('origin', 'main', { onProgress: (p) => events.push(p) })).toEqual({
        upToDate: false,
        commit,
      });
      expect(events).toEqual([]);
    },
  );
});

describe('cliErrorFrom keeps what the CLI echoes terminal-safe', () => {
  it('a branch name with a carriage return and escapes cannot forge a line', () => {
    const stderr = "Error: Remote branch 'mainx\r[ok] Lock acquired\u001b]0;pwned\u0007' not found\n";
    const error = cliErrorFrom(['pull', 'origin', 'mainx'], { stdout: '', stderr, exitCode: 1 });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(error.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(error.stderr).not.toMatch(/[\r\u001b\u0007]/);
  });

  it('a URL with user:password in what oxen printed (its proxy, a remote) is kept with them hidden', () => {
    const stderr =
      'Error: error sending request for url (http://127.0.0.1:3000/api/x): proxy http://puser:pw-sekrit@proxy.corp:3128 refused\n' +
      'caused by: connect to https://ada:tok-sekrit@hub.example/ns/r failed\n';
    for (const exitCode of [1, 0]) {
      const error = cliErrorFrom(['push', 'origin', 'main'], { stdout: '', stderr, exitCode });
      const kept = JSON.stringify({ message: error.message, stderr: error.stderr });
      expect(kept).not.toMatch(/pw-sekrit|tok-sekrit|puser|ada:/);
      expect(error.message).toContain('proxy http://***@proxy.corp:3128 refused');
    }
  });
});
