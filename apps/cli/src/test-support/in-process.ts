// The CLI run in this process against one testkit world per test file: the world's set-up and
// clean-up in one place, and a runner that captures what a command printed.
import { PassThrough } from 'node:stream';
import { createTestWorld, type FakeOxenServer, type TestWorld } from '@oxvcs/oxen-testkit';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { runCli } from '../cli.js';

/** What one test starts with: the world, its server, a fresh project and a fresh state folder. */
export interface Fresh {
  readonly world: TestWorld;
  readonly server: FakeOxenServer;
  /** A new project folder (a clone of `ns/<label><n>`). */
  readonly dir: string;
  /** A new, empty state folder. */
  readonly home: string;
}

/**
 * Starts a test world before the file's tests and closes it after them; before each test, clears
 * the server's faults and hands `each` a fresh project and state folder.
 */
export function worldPerFile(label: string, each: (fresh: Fresh) => void): void {
  let world: TestWorld | undefined;
  let n = 0;
  beforeAll(async () => {
    world = await createTestWorld();
  });
  afterAll(async () => {
    await world?.close();
  });
  beforeEach(async () => {
    if (!world) throw new Error('the test world did not start');
    await world.server.faults.clear();
    const dir = await world.project(`${label}${++n}`);
    each({ world, server: world.server, dir, home: world.folder(`${label}home`) });
  });
}

/** Runs `oxenvcs args` in this process (no colour, `stdin` as its input): exit code and output. */
export async function runInProcess(
  args: string[],
  options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly stdin?: string },
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => {
    out += c;
  });
  stderr.on('data', (c) => {
    err += c;
  });
  stdin.end(options.stdin ?? '');
  const code = await runCli(args, {
    stdin,
    stdout,
    stderr,
    colorDepth: 1,
    cwd: options.cwd,
    env: options.env,
  });
  return { code, out, err };
}
