import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { fakeOxenBinDir } from './paths.js';

/** A throwaway home for the fake `oxen` CLI: config dir, PATH, and helpers to make projects. */
const run = promisify(execFile);

export interface FakeOxenEnv {
  /** Temp root; removed by `cleanup()`. */
  readonly root: string;
  /** `$OXEN_CONFIG_DIR` for this env. */
  readonly configDir: string;
  /** Environment for child processes: PATH with the fake `oxen` first, HOME, OXEN_CONFIG_DIR, NO_COLOR. */
  readonly env: NodeJS.ProcessEnv;
  /** Runs the fake `oxen` in `cwd`; resolves to its result (never rejects on a non-zero exit). */
  oxen(args: readonly string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /**
   * Makes a local project folder `name` tracking `remoteUrl` (which must already exist on the
   * server with a `main` branch) and pulls it. User name/email are configured.
   */
  cloneProject(name: string, remoteUrl: string): Promise<string>;
  cleanup(): void;
}

/** Creates a {@link FakeOxenEnv} under the OS temp dir. */
export function createFakeOxenEnv(options: { user?: string; email?: string } = {}): FakeOxenEnv {
  const root = mkdtempSync(join(tmpdir(), 'oxvcs-env-'));
  const configDir = join(root, 'oxen-config');
  const home = join(root, 'home');
  mkdirSync(configDir, { recursive: true });
  mkdirSync(home, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${fakeOxenBinDir()}${delimiter}${process.env.PATH ?? ''}`,
    HOME: home,
    OXEN_CONFIG_DIR: configDir,
    NO_COLOR: '1',
  };
  // Async on purpose: a test's fake server lives in the same process and must keep answering.
  const oxen = async (args: readonly string[], cwd: string) => {
    try {
      const { stdout, stderr } = await run('oxen', [...args], { cwd, env, encoding: 'utf8' });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return {
        code: typeof e.code === 'number' ? e.code : 1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      };
    }
  };
  execFileSync(
    'oxen',
    ['config', '--name', options.user ?? 'Ada', '--email', options.email ?? 'ada@example.com'],
    {
      cwd: root,
      env,
      stdio: 'ignore',
    },
  );
  return {
    root,
    configDir,
    env,
    oxen,
    async cloneProject(name, remoteUrl) {
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      for (const args of [
        ['init'],
        ['config', '--set-remote', 'origin', remoteUrl],
        ['pull', 'origin', 'main'],
      ]) {
        const r = await oxen(args, dir);
        if (r.code !== 0) throw new Error(`oxen ${args.join(' ')} failed in ${dir}: ${r.stderr.trim()}`);
      }
      return dir;
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
