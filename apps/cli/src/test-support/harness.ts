// Runs the built `oxenvcs` executable against the testkit server, as a user would: one server,
// one project and a throwaway state folder per user, all removed by `stop()`.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createEngine, type Engine } from '@oxvcs/engine';
import {
  createFakeOxenEnv,
  type FakeOxenEnv,
  type FakeOxenServer,
  type FakeOxenServerOptions,
  startFakeOxenServer,
} from '@oxvcs/oxen-testkit';

/** The built executable. */
export const bin = fileURLToPath(new URL('../../bin/oxenvcs.js', import.meta.url));

/** What a run printed, and its exit code. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of one run. */
export interface RunOptions {
  /** The user's state folder (`OXENVCS_HOME`). @default ada's */
  readonly home?: string;
  /** `OXENVCS_HOLDER`. @default 'ada@laptop' */
  readonly holder?: string;
  /** More environment variables. */
  readonly env?: Record<string, string>;
  /** Where to run. @default the harness's project */
  readonly cwd?: string;
}

/** The testkit server, a project on it, and a way to run the built CLI there. */
export interface Harness {
  readonly server: FakeOxenServer;
  readonly env: FakeOxenEnv;
  /** The project folder (a clone of `ns/<name>`). */
  readonly dir: string;
  /** Ada's state folder. */
  readonly home: string;
  /** A new, empty state folder (another user or machine), removed by `stop()`. */
  newHome(): string;
  /** A new repository `ns/<name>` on the server and a project folder cloned from it. */
  newProject(name: string): Promise<string>;
  /** An engine on the project for seeding state (e.g. the queue), as `home`'s user. */
  engine(home?: string): Engine;
  run(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  stop(): Promise<void>;
}

/** Starts a {@link Harness} with a fresh repository `ns/<name>`; `server`: the testkit server's options. */
export async function startHarness(name = 'song', server_: FakeOxenServerOptions = {}): Promise<Harness> {
  const server = await startFakeOxenServer(server_);
  const env = createFakeOxenEnv();
  await server.createRepo('ns', name);
  const dir = await env.cloneProject(name, server.repoUrl('ns', name));
  const homes: string[] = [];
  const newHome = () => {
    const home = mkdtempSync(join(tmpdir(), 'oxvcs-user-'));
    homes.push(home);
    return home;
  };
  const home = newHome();
  const vars = (options: RunOptions = {}) => ({
    ...env.env,
    OXENVCS_HOME: options.home ?? home,
    OXENVCS_HOLDER: options.holder ?? 'ada@laptop',
    // Loopback: a slow answer only means a busy machine (see e2e/helpers.ts); the largest bounds.
    OXENVCS_CONNECTIVITY_TIMEOUT_MS: '120000',
    OXENVCS_CONNECTIVITY_REQUEST_TIMEOUT_MS: '600000',
    OXENVCS_CONNECTIVITY_CACHE_SECONDS: '0',
    OXENVCS_RETRY_INITIAL_BACKOFF_MS: '10',
    OXENVCS_RETRY_MAX_BACKOFF_MS: '20',
    // No real desktop notification from a test run.
    OXENVCS_UI_NOTIFICATIONS: 'false',
    ...options.env,
  });
  return {
    server,
    env,
    dir,
    home,
    newHome,
    newProject: (n) => server.createRepo('ns', n).then(() => env.cloneProject(n, server.repoUrl('ns', n))),
    engine: (h = home) => createEngine({ cwd: dir, env: vars({ home: h }) }),
    // Asynchronous on purpose: the server answers from this process.
    async run(args, options) {
      try {
        const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
          cwd: options?.cwd ?? dir,
          env: vars(options),
        });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    },
    async stop() {
      await server.stop();
      env.cleanup();
      for (const h of homes) rmSync(h, { recursive: true, force: true });
    },
  };
}
