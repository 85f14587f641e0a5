import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  createFakeOxenEnv,
  type FakeOxenEnv,
  type FakeOxenServer,
  startFakeOxenServer,
} from '@oxvcs/oxen-testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const bin = fileURLToPath(new URL('../bin/oxenvcs-tui.js', import.meta.url));
const cli = fileURLToPath(new URL('../../cli/bin/oxenvcs.js', import.meta.url));
const session = `oxvcs-tui-${process.pid}`;
let server: FakeOxenServer;
let env: FakeOxenEnv;
let dir: string;
let home: string;
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', session);

beforeAll(async () => {
  server = await startFakeOxenServer();
  env = createFakeOxenEnv();
  await server.createRepo('ns', 'song');
  dir = await env.cloneProject('song', server.repoUrl('ns', 'song'));
  home = mkdtempSync(join(tmpdir(), 'oxvcs-tmux-'));
});
afterAll(async () => {
  try {
    tmux('kill-session', '-t', session);
  } catch {}
  await server.stop();
  env.cleanup();
  rmSync(home, { recursive: true, force: true });
});

describe('oxenvcs-tui in a real terminal (tmux)', () => {
  it('starts full-screen at 80×24, follows the CLI’s changes, syncs on s, restores the screen on q', async () => {
    const script = join(home, 'run.sh');
    const vars = {
      ...env.env,
      OXENVCS_HOME: home,
      OXENVCS_HOLDER: 'ada@laptop',
      OXENVCS_CONNECTIVITY_CACHE_SECONDS: '0',
    };
    const exports = Object.entries(vars)
      .filter(([k]) => /^(PATH|HOME|OXEN_CONFIG_DIR|OXENVCS_\w+|NO_COLOR)$/.test(k))
      .map(([k, v]) => `export ${k}='${String(v).replace(/'/g, `'\\''`)}'`)
      .join('\n');
    writeFileSync(
      script,
      `${exports}\ncd '${dir}'\n'${process.execPath}' '${bin}'\necho "TUI-EXIT $?"\nsleep 60\n`,
    );
    tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', `bash ${script}`);
    await vi.waitFor(() => expect(screen()).toContain('oxenvcs-tui'), { timeout: 15_000 });
    await vi.waitFor(() => expect(screen()).toContain('The queue is empty.'), { timeout: 10_000 });
    // Another process queues work while the TUI is open: the screen follows within a second.
    await server.faults.offline();
    // Exit 75 (queued) rejects: that is the expected outcome here.
    const queued = await promisify(execFile)(process.execPath, [cli, 'lock', 'acquire'], {
      cwd: dir,
      env: vars,
    }).then(
      () => 0,
      (e: { code?: number }) => e.code,
    );
    expect(queued).toBe(75);
    await server.faults.online();
    await vi.waitFor(() => expect(screen()).toContain('Acquire lock for song'), { timeout: 3000 });
    tmux('send-keys', '-t', session, 's');
    await vi.waitFor(() => expect(screen()).toContain('Sync: 1 done, 0 failed, 0 still queued'), {
      timeout: 15_000,
    });
    await vi.waitFor(() => expect(screen()).toMatch(/Lock: YOURS/), { timeout: 20_000 });
    tmux('send-keys', '-t', session, 'q');
    await vi.waitFor(() => expect(screen()).toContain('TUI-EXIT 0'), { timeout: 10_000 });
    expect(screen()).not.toContain('oxenvcs-tui ·');
  }, 90_000);

  it('without a TTY: one line pointing to the CLI, exit 2', () => {
    let code = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [bin], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    } catch (error) {
      code = (error as { status: number }).status;
      stderr = (error as { stderr: string }).stderr;
    }
    expect(code).toBe(2);
    expect(stderr).toBe(
      'oxenvcs-tui needs an interactive terminal; for scripts and pipes use the oxenvcs CLI (e.g. `oxenvcs queue status --json`).\n',
    );
  });
});
