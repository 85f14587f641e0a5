import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createFakeOxenEnv,
  type FakeOxenEnv,
  type FakeOxenServer,
  startFakeOxenServer,
} from '@oxvcs/oxen-testkit';

/** The built `oxenvcs` binary (e2e runs against the build, as a user would). */
export const CLI = fileURLToPath(new URL('../apps/cli/bin/oxenvcs.js', import.meta.url));

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A world: one fake server, one fake-oxen environment, users with their own state dirs. */
export interface World {
  server: FakeOxenServer;
  env: FakeOxenEnv;
  /** A project cloned from a fresh repository. */
  project(name: string): Promise<string>;
  /** Runs the built CLI as `user` in `cwd`. */
  run(args: string[], options: { cwd: string; user?: string; env?: Record<string, string> }): Promise<Result>;
  /** Spawns the built CLI (for kill tests). */
  spawn(args: string[], options: { cwd: string; user?: string }): ReturnType<typeof spawn>;
  home(user: string): string;
  envFor(user: string): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function createWorld(options: { seed?: number } = {}): Promise<World> {
  const server = await startFakeOxenServer({ seed: options.seed ?? 1 });
  const env = createFakeOxenEnv();
  const root = mkdtempSync(join(tmpdir(), 'oxvcs-e2e-'));
  const envFor = (user: string): NodeJS.ProcessEnv => ({
    ...env.env,
    OXENVCS_HOME: join(root, user),
    OXENVCS_HOLDER: `${user}@e2e`,
    // The server is in this process on loopback: offline is a closed listener (refused at once), so
    // a health check or request that takes long only means the machine is busy. The largest bounds
    // the config takes, so a busy machine never reads as offline or hung; a test whose subject is a
    // hang sets its own (hung.test.ts, adapter.test.ts).
    OXENVCS_CONNECTIVITY_TIMEOUT_MS: '120000',
    OXENVCS_CONNECTIVITY_REQUEST_TIMEOUT_MS: '600000',
    OXENVCS_CONNECTIVITY_CACHE_SECONDS: '0',
    OXENVCS_RETRY_INITIAL_BACKOFF_MS: '20',
    OXENVCS_RETRY_MAX_BACKOFF_MS: '200',
    // No real desktop notification from a test run (wait-in-line.test.ts turns them on, with fakes).
    OXENVCS_UI_NOTIFICATIONS: 'false',
  });
  return {
    server,
    env,
    async project(name) {
      await server.createRepo('e2e', name);
      return env.cloneProject(name, server.repoUrl('e2e', name));
    },
    run(args, o) {
      const started = Date.now();
      return new Promise((resolve) => {
        execFile(
          process.execPath,
          [CLI, ...args],
          { cwd: o.cwd, env: { ...envFor(o.user ?? 'ada'), ...o.env } },
          (error, stdout, stderr) => {
            const code = error
              ? typeof (error as { code?: unknown }).code === 'number'
                ? (error as { code: number }).code
                : 1
              : 0;
            resolve({ code, stdout, stderr, ms: Date.now() - started });
          },
        );
      });
    },
    spawn(args, o) {
      return spawn(process.execPath, [CLI, ...args], {
        cwd: o.cwd,
        env: envFor(o.user ?? 'ada'),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    },
    home: (user) => join(root, user),
    envFor,
    async close() {
      await server.stop();
      env.cleanup();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Parses `--json` output. */
export const json = (r: Result) => JSON.parse(r.stdout) as Record<string, any>;

/**
 * True where a test may make private mount and pid namespaces (`unshare`): Linux, as root (CI runs
 * as root). Tests that need a real small file system or real pid reuse are skipped elsewhere, and
 * say so in their names.
 */
export const canUnshare =
  process.platform === 'linux' &&
  process.getuid?.() === 0 &&
  spawnSync('unshare', ['-m', '-p', '-f', '--mount-proc', '--propagation', 'private', 'true']).status === 0;

/**
 * Runs the sh `script` as pid 1 of fresh private mount and pid namespaces (mounts made there, and
 * pids, are its own), with `env` plus `CLI` (the built oxenvcs) and `NODE`; the loopback network is
 * shared, so the world's server answers. Resolves with its exit status and stderr.
 */
export function inNamespaces(
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      'unshare',
      ['-m', '-p', '-f', '--mount-proc', '--propagation', 'private', 'sh', '-c', script],
      { env: { ...env, CLI, NODE: process.execPath }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (status) => resolve({ status, stderr }));
  });
}
