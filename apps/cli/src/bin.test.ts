import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestWorld, type FakeOxenEnv, type FakeOxenServer, type TestWorld } from '@oxvcs/oxen-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/oxenvcs.js', import.meta.url));
const trace = fileURLToPath(new URL('./test-support/trace-imports.mjs', import.meta.url));
let server: FakeOxenServer;
let env: FakeOxenEnv;
let world: TestWorld;
let dir: string;
let home: string;

const run = async (args: string[], holder = 'ada@laptop', extra: string[] = [], homeDir = home) => {
  try {
    const { stdout, stderr } = await exec(process.execPath, [...extra, bin, ...args], {
      cwd: dir,
      env: {
        ...env.env,
        OXENVCS_HOME: homeDir,
        OXENVCS_HOLDER: holder,
        OXENVCS_CONNECTIVITY_TIMEOUT_MS: '120000',
        OXENVCS_CONNECTIVITY_REQUEST_TIMEOUT_MS: '600000',
      },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

beforeAll(async () => {
  world = await createTestWorld();
  ({ server, env } = world);
  await server.createRepo('ns', 'song');
  dir = await env.cloneProject('song', server.repoUrl('ns', 'song'));
  home = world.folder('binhome');
});
afterAll(async () => {
  await world.close();
  rmSync(home, { recursive: true, force: true });
});

describe('the built oxenvcs binary against the testkit server', () => {
  it('offline acquire → 75 and queued; server back → the next lock command auto-syncs, then acts', async () => {
    await server.faults.offline();
    const queued = await run(['lock', 'acquire', '--timeout', '1']);
    expect(queued.code).toBe(75);
    expect(queued.stdout).toContain('Queued: Acquire lock');
    await server.faults.online();
    const status = await run(['lock', 'status']);
    expect(status.code).toBe(0);
    expect(status.stderr).toContain('[Auto-syncing 1 pending operation(s)...]');
    expect(status.stderr).toContain('[ok] Completed: Acquire lock for song');
    expect(status.stdout).toContain('locked by you');
  });

  it('another holder → exit 3 naming them', async () => {
    const bobHome = world.folder('bob');
    try {
      const r = await run(['lock', 'acquire'], 'bob@studio', [], bobHome);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('held by ada@laptop');
    } finally {
      rmSync(bobHome, { recursive: true, force: true });
    }
  });

  it('--version loads neither the engine nor the HTTP stack; queue status loads the engine core only', async () => {
    const version = await run(['--version'], 'ada@laptop', ['--import', trace]);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(version.stdout.trim()).toBe(pkg.version);
    expect(version.stderr).toContain('TRACE []');
    const status = await run(['queue', 'status'], 'ada@laptop', ['--import', trace]);
    expect(status.code).toBe(0);
    const loaded = JSON.parse(/TRACE (.*)/.exec(status.stderr)![1]!) as string[];
    expect(loaded).not.toContain('undici');
    expect(loaded).not.toContain('ink');
    expect(loaded).not.toContain('react');
    // The engine's session (clients, policies, run-or-queue), the lock manager and the HTTP client.
    expect(loaded).not.toContain('session');
    expect(loaded).not.toContain('manager');
    expect(loaded).not.toContain('hub');
    expect(loaded).toContain('engine');
  });

  it('a reader that stops early (`| head -1`) ends the output quietly: no EPIPE trace, exit 0', async () => {
    const pipeHome = world.folder('pipe');
    try {
      const { createEngine } = await import('@oxvcs/engine');
      const queue = createEngine({ cwd: dir, env: { ...env.env, OXENVCS_HOME: pipeHome } }).queue;
      // ~60 KB of status output: more than a pipe holds once `head` has gone.
      for (let i = 0; i < 300; i++) {
        await queue.enqueue({
          operation: { kind: 'pull', projectDir: dir, remote: server.repoUrl('ns', 'song'), branch: `b${i}` },
          idempotencyKey: `pipe:${i}`,
        });
      }
      const { stdout, stderr } = await exec(
        'bash',
        ['-c', `set -o pipefail; "${process.execPath}" "${bin}" queue status | head -1`],
        { cwd: dir, env: { ...env.env, OXENVCS_HOME: pipeHome } },
      );
      expect(stdout).toBe('Offline Operation Queue\n');
      expect(stderr).toBe('');
    } finally {
      rmSync(pipeHome, { recursive: true, force: true });
    }
  });
});
