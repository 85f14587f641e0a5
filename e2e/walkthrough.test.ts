import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { CLI } from './helpers.js';

// The root README's hand-run walkthrough ("By hand: a walkthrough"), run as written: its shell block,
// extracted from the README, in bash from the checkout's root, as a newcomer with a fresh HOME and
// nothing of oxvcs's set. It must keep all its state in its own temp folder, take the lock under the
// name given to `oxen config`, and go on through status, offline, push, sync and release.

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('### By hand: a walkthrough'));
const block = /```sh\n([\s\S]*?)\n```/.exec(section)?.[1] ?? '';

const sandbox = mkdtempSync(join(tmpdir(), 'oxvcs-walkthrough-'));
afterAll(() => rmSync(sandbox, { recursive: true, force: true }));

it('the README walkthrough runs as written, isolated in its own temp folder', async () => {
  expect(block).toContain('OXENVCS_HOME');
  const home = join(sandbox, 'home');
  const temp = join(sandbox, 'tmp');
  execFileSync('mkdir', ['-p', home, temp]);
  // A newcomer's shell: nothing of oxvcs or Oxen set; Node >= 22.12 first on PATH.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(OXENVCS_|OXEN_|XDG_)/.test(key)),
  ) as NodeJS.ProcessEnv;
  Object.assign(env, {
    HOME: home,
    TMPDIR: temp,
    NO_COLOR: '1',
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
  });
  const transcript = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      'bash',
      ['-c', block],
      { cwd: root, env, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
  expect(transcript.code, transcript.out).toBe(0);

  // The lock was Ada's (the name given to `oxen config`), not user@host.
  expect(transcript.out).toContain('Ada');
  expect(transcript.out).not.toContain(`${userInfo().username}@${hostname().split('.')[0]}`);

  // Nothing landed in the real state or config folders: all of it is in the trial's temp folder.
  expect(existsSync(join(home, '.local', 'share', 'oxenvcs'))).toBe(false);
  expect(existsSync(join(home, '.config', 'oxenvcs'))).toBe(false);
  expect(existsSync(join(home, '.config', 'oxen'))).toBe(false);
  const [trial, ...others] = readdirSync(temp).filter((name) => name.startsWith('tmp.'));
  expect(others).toEqual([]);
  const trialDir = join(temp, trial ?? 'missing');
  expect(readdirSync(trialDir).sort()).toEqual(['oxen-config', 'oxenvcs', 'server.log', 'song']);

  // The push typed offline was queued and replayed; the lock was given back (its key is gone).
  const queue = JSON.parse(
    execFileSync(process.execPath, [CLI, 'queue', 'status', '--all', '--json', '--no-auto-sync'], {
      cwd: join(trialDir, 'song'),
      env: { ...env, OXENVCS_HOME: join(trialDir, 'oxenvcs') },
      encoding: 'utf8',
    }),
  ) as { entries: Array<{ kind: string; status: string }> };
  expect(queue.entries.map((e) => [e.kind, e.status])).toEqual([['push', 'done']]);
  const keys = join(trialDir, 'oxenvcs', 'lock-keys');
  expect(existsSync(keys) ? readdirSync(keys) : []).toEqual([]);
});
