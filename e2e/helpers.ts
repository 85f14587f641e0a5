import { execFile, spawn, spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestWorld, type FakeOxenEnv, type FakeOxenServer } from '@oxvcs/oxen-testkit';

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
  /** A project cloned from a fresh repository (with `files`, a README by default). */
  project(name: string, files?: Record<string, string>): Promise<string>;
  /** Runs the built CLI as `user` in `cwd`. */
  run(args: string[], options: { cwd: string; user?: string; env?: Record<string, string> }): Promise<Result>;
  /** Spawns the built CLI (for kill tests). */
  spawn(args: string[], options: { cwd: string; user?: string }): ReturnType<typeof spawn>;
  home(user: string): string;
  envFor(user: string): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function createWorld(options: { seed?: number } = {}): Promise<World> {
  const world = await createTestWorld({ seed: options.seed ?? 1, namespace: 'e2e' });
  const { server, env } = world;
  const root = world.folder('e2e');
  // Patient bounds (see TestWorld.vars); a test whose subject is a hang sets its own (hung.test.ts,
  // adapter.test.ts); wait-in-line.test.ts turns notifications on, with fakes.
  const envFor = (user: string): NodeJS.ProcessEnv =>
    world.vars({ home: join(root, user), holder: `${user}@e2e` });
  return {
    server,
    env,
    project: (name, files) => world.project(name, files),
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
    close: () => world.close(),
  };
}

/** Parses `--json` output. */
/**
 * Collects a spawned CLI's output as it comes, and how it ends: its exit code, or 128 + the
 * signal's number when a signal ended it (130 for SIGINT), as a shell reports it.
 */
export function watched(child: ReturnType<typeof spawn>) {
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (c) => {
    out.stdout += c;
  });
  child.stderr?.on('data', (c) => {
    out.stderr += c;
  });
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0))),
  );
  return { child, out, exited };
}

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
