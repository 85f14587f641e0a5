import { execFile, execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createEngine, loadTake, type QueueEntry } from '@oxvcs/engine';
import {
  createTestWorld,
  type FakeOxenEnv,
  type FakeOxenServer,
  fakeNotifiers,
  type TestWorld,
} from '@oxvcs/oxen-testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

const bin = fileURLToPath(new URL('../bin/oxenvcs-tui.js', import.meta.url));
const cli = fileURLToPath(new URL('../../cli/bin/oxenvcs.js', import.meta.url));
let server: FakeOxenServer;
let env: FakeOxenEnv;
let world: TestWorld;
let n = 0;
const sessions: string[] = [];
const homes: string[] = [];
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const screen = (session: string) => tmux('capture-pane', '-p', '-t', session);

/** A fresh project and state folder, and the environment the TUI and CLI run with there. */
async function project() {
  const name = `tmux${++n}`;
  const dir = await world.project(name);
  const home = world.folder('tmux');
  homes.push(home);
  const vars = {
    ...env.env,
    OXENVCS_HOME: home,
    OXENVCS_HOLDER: 'ada@laptop',
    OXENVCS_CONNECTIVITY_CACHE_SECONDS: '0',
    OXENVCS_CONNECTIVITY_TIMEOUT_MS: '120000',
    OXENVCS_CONNECTIVITY_REQUEST_TIMEOUT_MS: '600000',
    OXENVCS_RETRY_INITIAL_BACKOFF_MS: '10',
  };
  return { dir, home, vars };
}

/** Starts `oxenvcs-tui args` in a new tmux session (80×24 unless `size`); the shell prints `TUI-EXIT <code>` after. */
function startTui(
  at: { dir: string; home: string; vars: NodeJS.ProcessEnv },
  args: string[] = [],
  size: { columns: number; rows: number } = { columns: 80, rows: 24 },
) {
  const session = `oxvcs-tui-${process.pid}-${sessions.length}`;
  sessions.push(session);
  const script = join(at.home, `run-${session}.sh`);
  const exports = Object.entries(at.vars)
    .filter(([k]) => /^(PATH|HOME|OXEN_CONFIG_DIR|OXENVCS_\w+|OXEN_FAKE_\w+|NO_COLOR)$/.test(k))
    .map(([k, v]) => `export ${k}='${String(v).replace(/'/g, `'\\''`)}'`)
    .join('\n');
  const argv = args.map((a) => `'${a}'`).join(' ');
  writeFileSync(
    script,
    `${exports}\ncd '${at.dir}'\n'${process.execPath}' '${bin}' ${argv}\necho "TUI-EXIT $?"\nsleep 60\n`,
  );
  tmux(
    'new-session',
    '-d',
    '-s',
    session,
    '-x',
    String(size.columns),
    '-y',
    String(size.rows),
    `bash ${script}`,
  );
  return session;
}

/** Runs the built CLI; resolves to its exit code (75, queued, is an expected outcome here). */
const oxenvcs = (at: { dir: string; vars: NodeJS.ProcessEnv }, args: string[]) =>
  promisify(execFile)(process.execPath, [cli, ...args], { cwd: at.dir, env: at.vars }).then(
    () => 0,
    (e: { code?: number }) => e.code,
  );

beforeAll(async () => {
  world = await createTestWorld();
  ({ server, env } = world);
});
afterEach(async () => {
  for (const s of sessions.splice(0)) {
    try {
      tmux('kill-session', '-t', s);
    } catch {}
  }
  await server.faults.clear();
});
afterAll(async () => {
  await world.close();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

describe('oxenvcs-tui in a real terminal (tmux)', () => {
  it('starts full-screen at 80×24, follows the CLI’s changes, syncs on s, restores the screen on q', async () => {
    const at = await project();
    // Auto-sync off: this test is about `s`.
    const session = startTui(at, ['--no-auto-sync']);
    await vi.waitFor(() => expect(screen(session)).toContain('oxenvcs-tui'));
    await vi.waitFor(() => expect(screen(session)).toContain('The queue is empty.'));
    // The footer fits 80 columns: the last hint, q quit, is on screen.
    expect(screen(session)).toMatch(/\? help · q quit\s*$/m);
    // Another process queues work while the TUI is open: the screen follows (the TUI checks the queue
    // file every 500 ms; nothing else reloads it, so a TUI that did not follow would never show it).
    await server.faults.offline();
    expect(await oxenvcs(at, ['lock', 'acquire'])).toBe(75);
    await server.faults.online();
    await vi.waitFor(() => expect(screen(session)).toMatch(/Acquire lock for tmux\d/));
    tmux('send-keys', '-t', session, 's');
    await vi.waitFor(() => expect(screen(session)).toContain('Sync: 1 done, 0 failed, 0 still queued'));
    await vi.waitFor(() => expect(screen(session)).toMatch(/Lock: YOURS/));
    tmux('send-keys', '-t', session, 'q');
    await vi.waitFor(() => expect(screen(session)).toContain('TUI-EXIT 0'));
    expect(screen(session)).not.toContain('oxenvcs-tui ·');
  });

  it('syncs by itself when the network returns, and the "Offline" line goes away', async () => {
    const at = await project();
    await server.faults.offline();
    expect(await oxenvcs(at, ['lock', 'acquire'])).toBe(75);
    const session = startTui(at);
    await vi.waitFor(() => expect(screen(session)).toMatch(/· offline/));
    tmux('send-keys', '-t', session, 's');
    await vi.waitFor(() => expect(screen(session)).toContain('Offline:'));
    await server.faults.online();
    // No key pressed: the TUI notices the network (it checks every 3 s while offline) and syncs.
    await vi.waitFor(() => expect(screen(session)).toContain('Sync: 1 done, 0 failed, 0 still queued'));
    expect(screen(session)).not.toContain('Offline:');
    await vi.waitFor(() => expect(screen(session)).toMatch(/Lock: YOURS/));
  });

  it('shows hostile text from the queue file without letting it retitle, clear or forge lines', async () => {
    const at = await project();
    const hostile = 'x\u001b]0;pwned\u0007\u001b[2J\r[ok] Lock acquired successfully\u009b31m\n[ok] forged';
    const queue = createEngine({ cwd: at.dir, env: at.vars }).queue;
    await queue.enqueue({
      operation: {
        kind: 'pull',
        projectDir: at.dir,
        remote: 'http://127.0.0.1:1/ns/x',
        branch: `b${hostile}`,
      },
      idempotencyKey: 'hostile',
    });
    await queue.transact((entries) => {
      Object.assign(entries[0] as QueueEntry, {
        status: 'failed',
        reason: { code: 'failed', facts: { kind: 'permanent', reason: hostile } },
        lastError: { message: hostile, kind: 'permanent', chain: [{ name: 'OxenError', message: hostile }] },
      });
    });
    const session = startTui(at, ['--no-auto-sync']);
    await vi.waitFor(() => expect(screen(session)).toContain('error OxenError: x [ok] Lock acquired'));
    expect(tmux('display', '-p', '-t', session, '#{pane_title}').trim()).not.toBe('pwned');
    expect(screen(session)).toContain(' oxenvcs-tui · ');
    expect(screen(session)).not.toMatch(/^\[ok\]/m);
  });

  it('opens with what failed while you were away, once; Esc hides it', async () => {
    const at = await project();
    await server.faults.offline();
    expect(await oxenvcs(at, ['pull', 'no-such-branch'])).toBe(75);
    await server.faults.online();
    // A scheduled sync nobody watched (JSON to a log) fails it.
    expect(await oxenvcs(at, ['queue', 'sync', '--json'])).toBe(1);
    const session = startTui(at, ['--no-auto-sync']);
    await vi.waitFor(() =>
      expect(screen(session)).toContain('While you were away, 1 queued operation failed or expired:'),
    );
    expect(screen(session)).toMatch(/✗ Failed: Pull no-such-branch of tmux\d+ from remote \([0-9a-z]{8}\)/);
    tmux('send-keys', '-t', session, 'Escape');
    await vi.waitFor(() => expect(screen(session)).not.toContain('While you were away'));
    tmux('send-keys', '-t', session, 'q');
    await vi.waitFor(() => expect(screen(session)).toContain('TUI-EXIT 0'));
    const again = startTui(at, ['--no-auto-sync']);
    await vi.waitFor(() => expect(screen(again)).toMatch(/failed +pull/));
    expect(screen(again)).not.toContain('While you were away');
  });

  it('shows a progress line while a sync replays a push', async () => {
    const at = await project();
    for (let i = 0; i < 8; i++) writeFileSync(join(at.dir, `Take ${i}.wav`), Buffer.alloc(128 * 1024, i));
    await env.oxen(['add', '.'], at.dir);
    await env.oxen(['commit', '-m', 'eight takes'], at.dir);
    await server.faults.offline();
    expect(await oxenvcs(at, ['push'])).toBe(75);
    await server.faults.online();
    // Each file takes 300 ms to go up, two to a batch (a 256 KiB segment stands in for oxen's
    // 10 MiB batches, so the bar moves in steps), and the push holds once half of them are (until
    // `gate` exists): the line stays on screen until the test has seen it, however slow the machine.
    const gate = join(at.home, 'halfway');
    const vars = {
      ...at.vars,
      OXEN_FAKE_TRANSFER_DELAY_MS: '300',
      OXEN_FAKE_SEGMENT_BYTES: String(256 * 1024),
      OXEN_FAKE_PAUSE_AT: 'push-halfway',
      OXEN_FAKE_PAUSE_FILE: gate,
    };
    const session = startTui({ ...at, vars }, ['--no-auto-sync']);
    await vi.waitFor(() => expect(screen(session)).toMatch(/Push main of tmux\d+/));
    tmux('send-keys', '-t', session, 's');
    await vi.waitFor(() => expect(existsSync(`${gate}.waiting`)).toBe(true));
    await vi.waitFor(() =>
      expect(screen(session)).toMatch(
        /\[#*-*\] Pushing: \d+% [\d.]+\/1\.0 MiB [1-7]\/8 files at [\d.]+ MiB\/s, \d+ s left/,
      ),
    );
    writeFileSync(gate, '');
    await vi.waitFor(() => expect(screen(session)).toContain('Sync: 1 done, 0 failed, 0 still queued'));
    expect(screen(session)).not.toContain('Pushing:');
  });

  it('a queued push of a take cut partway shows how much is on the remote; s resumes it, saying so above its progress, and the lines go (issue 21)', async () => {
    const at = await project();
    // A Logic project of 8 × 480 KB recorded in parts of 1 MB: four parts, the document in the last.
    const media = join(at.dir, 'Song.logicx', 'Media');
    mkdirSync(media, { recursive: true });
    mkdirSync(join(at.dir, 'Song.logicx', 'Alternatives', '000'), { recursive: true });
    for (let i = 0; i < 8; i++) writeFileSync(join(media, `Take ${i}.wav`), Buffer.alloc(480_000, i + 1));
    writeFileSync(join(at.dir, 'Song.logicx', 'Alternatives', '000', 'ProjectData'), 'the arrangement');
    expect(await oxenvcs(at, ['commit', '-m', 'vocal comp', '--part-size', '1MB'])).toBe(0);
    const take = loadTake(at.dir);
    expect(take?.parts).toHaveLength(4);
    // A 100 KB stream segment for Oxen's 10 MiB (every file goes in chunks); the link drops after
    // 80 % of the take's bytes, inside its last part: the push is queued, to resume.
    const vars = { ...at.vars, OXEN_FAKE_SEGMENT_BYTES: '100000', OXEN_FAKE_RETRY_WAIT_MS: '0' };
    await server.faults.add({ kind: 'cut', route: '/versions', bytes: 3_072_000 });
    expect(await oxenvcs({ ...at, vars }, ['push'])).toBe(75);
    // Still offline (the cut keeps the remote away): what the screen shows is what the cut left.
    // The resumed push holds once half of what it sends is up (until `gate` exists), so the test
    // sees the screen while it runs, however fast or slow the machine.
    const gate = join(at.home, 'resuming');
    const session = startTui(
      {
        ...at,
        vars: { ...vars, OXEN_FAKE_PAUSE_AT: 'push-halfway', OXEN_FAKE_PAUSE_FILE: gate },
      },
      ['--no-auto-sync'],
    );
    await vi.waitFor(() => expect(screen(session)).toMatch(/Push main of tmux\d+/));
    // The details of the selected entry, as `queue status` words it: the parts the cut push saw
    // whole (a lower bound: a part counts once a file of the next one is done), of the whole take.
    await vi.waitFor(() =>
      expect(screen(session)).toMatch(/push: [1-3] of 4 parts on the remote \(at least\), [\d.]+ of 3\.8 MB/),
    );
    // A cut push that saw less whole (its count is a lower bound): the resumed push's answer from
    // the remote must replace it on screen although the queue does not change meanwhile.
    const cutSaw = loadTake(at.dir);
    if (!cutSaw?.onRemote) throw new Error('the cut push noted nothing in the take');
    const first = cutSaw.parts[0]?.bytes ?? 0;
    writeFileSync(
      join(at.dir, '.oxen', 'oxvcs-take.json'),
      JSON.stringify({ ...cutSaw, onRemote: { ...cutSaw.onRemote, parts: 1, bytes: first } }),
    );
    await vi.waitFor(() => expect(screen(session)).toMatch(/push: 1 of 4 parts on the remote \(at least\)/));
    await server.faults.online();
    tmux('send-keys', '-t', session, 's');
    await vi.waitFor(() => expect(existsSync(`${gate}.waiting`)).toBe(true));
    // While it runs, the line the CLI prints (wrapped at 80 columns) stays above the progress line:
    // the remote has the three parts the cut push finished, the last one goes again.
    const words = (text: string) => text.replace(/\s+/g, ' ');
    await vi.waitFor(() => expect(screen(session)).toMatch(/\[#*-*\] Pushing: \d+% /));
    expect(words(screen(session))).toContain(
      'ℹ Resuming the push: 3 of 4 parts already on the remote, 2.9 of 3.8 MB; the rest goes one part at a time.',
    );
    const lines = screen(session).split('\n');
    const progress = lines.findIndex((l) => l.includes('Pushing:'));
    expect(lines[progress - 2]).toMatch(/^ℹ Resuming the push: /);
    // The details follow the take's record, which the push updated from the remote's answer
    // (the queue itself did not change).
    await vi.waitFor(() =>
      expect(screen(session)).toMatch(/push: 3 of 4 parts on the remote \(at least\), 2\.9 of 3\.8 MB/),
    );
    writeFileSync(gate, '');
    await vi.waitFor(() => expect(screen(session)).toContain('Sync: 1 done, 0 failed, 0 still queued'));
    // The push finished: the remote branch is the take's last part, and the lines are gone.
    expect(server.repo(world.namespace, basename(at.dir))?.branches.main).toBe(take?.parts.at(-1)?.commit);
    await vi.waitFor(() => expect(screen(session)).not.toContain('parts on the remote'));
    expect(screen(session)).not.toContain('Resuming the push');
    expect(screen(session)).not.toContain('Pushing:');
  });

  it('the lock panel shows the keep-alive: a background one, then this window’s, in jeopardy and back', async () => {
    const base = await project();
    // Renewals every second, so a failed one shows at once.
    const at = { ...base, vars: { ...base.vars, OXENVCS_LOCK_HEARTBEAT_INTERVAL_SECONDS: '1' } };
    expect(await oxenvcs(at, ['lock', 'acquire', '--keep-alive'])).toBe(0);
    try {
      const session = startTui(at, ['--no-auto-sync']);
      await vi.waitFor(() => expect(screen(session)).toContain('A background keep-alive renews the lock'));
      tmux('send-keys', '-t', session, 'l');
      await vi.waitFor(() =>
        expect(screen(session)).toMatch(
          /Keep-alive: running in the background \(pid \d+\), next renewal (?:\d{4}-\d\d-\d\d )?\d\d:\d\d/,
        ),
      );
      expect(screen(session)).toMatch(
        /last confirmed (?:\d{4}-\d\d-\d\d )?\d\d:\d\d \(.+\); the lease ends (?:\d{4}-\d\d-\d\d )?\d\d:\d\d \(in [34]h\d\dm\)/,
      );
      tmux('send-keys', '-t', session, 'Escape');
      await vi.waitFor(() => expect(screen(session)).not.toContain('Keep-alive:'));
      tmux('send-keys', '-t', session, 'q');
      await vi.waitFor(() => expect(screen(session)).toContain('TUI-EXIT 0'));
    } finally {
      expect(await oxenvcs(at, ['lock', 'heartbeat', '--stop'])).toBe(0);
    }
    // Without a background one, the TUI keeps the lock alive itself (config lock.auto_renew).
    const session = startTui(at, ['--no-auto-sync']);
    await vi.waitFor(() => expect(screen(session)).toMatch(/Lock: YOURS/));
    tmux('send-keys', '-t', session, 'l');
    await vi.waitFor(() => expect(screen(session)).toContain('Keep-alive: running in this window'));
    await server.faults.offline();
    await vi.waitFor(() =>
      expect(screen(session)).toMatch(/Keep-alive: IN JEOPARDY in this window \(\d+ renewals? failed\)/),
    );
    expect(screen(session)).toMatch(
      /the lease ends (?:\d{4}-\d\d-\d\d )?\d\d:\d\d \(in [34]h\d\dm\) unless a renewal gets through/,
    );
    await server.faults.online();
    await vi.waitFor(() => expect(screen(session)).toContain('Keep-alive: running in this window'));
  });

  it('its own keep-alive loses the lock (broken by Bob): a red banner at once, one desktop notification, the files read-only (issue 22)', async () => {
    const base = await project();
    const notifiers = fakeNotifiers();
    homes.push(notifiers.dir);
    const at = {
      ...base,
      vars: {
        ...base.vars,
        PATH: `${notifiers.dir}:${(base.vars as NodeJS.ProcessEnv).PATH ?? ''}`,
        OXENVCS_UI_NOTIFICATIONS: 'true',
        OXENVCS_LOCK_HEARTBEAT_INTERVAL_SECONDS: '0.5',
        OXENVCS_LOCK_READ_ONLY_GUARD: 'true',
      },
    };
    writeFileSync(join(at.dir, 'Take.wav'), 'take');
    expect(await oxenvcs(at, ['lock', 'acquire'])).toBe(0);
    const session = startTui(at, ['--no-auto-sync']);
    await vi.waitFor(() => expect(screen(session)).toMatch(/Lock: YOURS.*heartbeat healthy/));
    const bob = {
      ...at,
      vars: { ...at.vars, OXENVCS_HOLDER: 'bob@studio', OXENVCS_HOME: join(at.home, 'bob') },
    };
    expect(await oxenvcs(bob, ['lock', 'break', '--force', '--reason', 'mixdown due'])).toBe(0);
    await vi.waitFor(() =>
      expect(screen(session)).toMatch(
        /✗ LOCK LOST at \d\d:\d\d: The lock on this project is no longer yours/,
      ),
    );
    expect(screen(session)).toContain('Stop editing: saves now are not under your lock');
    await vi.waitFor(() => expect(notifiers.calls('notify-send')).toHaveLength(1));
    const [call] = notifiers.calls('notify-send');
    expect(call).toContain('Lock lost: stop editing');
    expect(call?.at(-1)).toMatch(/^The lock on this project is no longer yours: .*bob@studio/);
    // The guard made the project's files read-only when the keep-alive reported the loss.
    await vi.waitFor(() => expect(lstatSync(join(at.dir, 'Take.wav')).mode & 0o222).toBe(0));
    // Once: later looks at the lock (the panel reads it again) send nothing more.
    tmux('send-keys', '-t', session, 'l');
    await vi.waitFor(() => expect(screen(session)).toContain('Keep-alive: STOPPED, the lock was lost'));
    tmux('send-keys', '-t', session, 'Escape');
    await vi.waitFor(() => expect(screen(session)).not.toContain('Keep-alive:'));
    expect(notifiers.calls('notify-send')).toHaveLength(1);
    // Esc hides the banner.
    tmux('send-keys', '-t', session, 'Escape');
    await vi.waitFor(() => expect(screen(session)).not.toContain('LOCK LOST'));
    tmux('send-keys', '-t', session, 'q');
    await vi.waitFor(() => expect(screen(session)).toContain('TUI-EXIT 0'));
    expect(notifiers.calls('notify-send')).toHaveLength(1);
  });

  it('an Enter in the same input chunk as text ends the filter: the next q quits (issue 22)', async () => {
    const at = await project();
    const session = startTui(at, ['--no-auto-sync']);
    await vi.waitFor(() => expect(screen(session)).toContain('The queue is empty.'));
    tmux('send-keys', '-t', session, '/');
    await vi.waitFor(() => expect(screen(session)).toMatch(/^\/_/m));
    // One write to the terminal, as a paste or fast typing makes: "do" and Enter together.
    tmux('send-keys', '-t', session, '-l', 'do\r');
    await vi.waitFor(() => expect(screen(session)).toContain('[all "do"] 0 shown'));
    tmux('send-keys', '-t', session, 'q');
    await vi.waitFor(() => expect(screen(session)).toContain('TUI-EXIT 0'));
  });

  it('a done entry’s details show its short id and no old error; times are local (issue 22)', async () => {
    const at = await project();
    const queue = createEngine({ cwd: at.dir, env: at.vars }).queue;
    const { entry } = await queue.enqueue({
      operation: { kind: 'pull', projectDir: at.dir, remote: server.repoUrl('ns', 'x'), branch: 'main' },
      idempotencyKey: 'done-after-held',
    });
    const held = 'The lock on this project is held by bob@studio; ask them to release it.';
    await queue.transact((entries) => {
      Object.assign(entries[0] as QueueEntry, {
        status: 'done',
        attempts: 2,
        lastError: {
          message: held,
          kind: 'permanent',
          code: 'HELD',
          chain: [{ name: 'LockError', code: 'HELD', message: held }],
        },
        history: [{ at: new Date().toISOString(), outcome: 'done' }],
      });
    });
    const session = startTui(at, ['--no-auto-sync']);
    const short = entry.id.slice(-8).toLowerCase();
    await vi.waitFor(() => expect(screen(session)).toContain(`${short} · done`));
    expect(screen(session)).not.toContain(entry.id);
    expect(screen(session)).not.toContain('HELD');
    expect(screen(session)).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
    expect(screen(session)).toMatch(/^ {2}\d\d:\d\d done$/m);
  });

  it('at 200×50 the lock panel is as tall as what it says, not the whole screen (issue 22)', async () => {
    const at = await project();
    const session = startTui(at, ['--no-auto-sync'], { columns: 200, rows: 50 });
    await vi.waitFor(() => expect(screen(session)).toContain('The queue is empty.'));
    tmux('send-keys', '-t', session, 'l');
    await vi.waitFor(() => expect(screen(session)).toContain('Esc to go back'));
    const lines = screen(session).split('\n');
    const top = lines.findIndex((l) => l.startsWith('╭'));
    const bottom = lines.findIndex((l) => l.startsWith('╰'));
    expect(top).toBeGreaterThan(0);
    // Title, lock line, blank, keys, "Esc to go back" (and the keep-alive when there is one).
    expect(bottom - top).toBeLessThan(12);
    // The footer stays at the bottom of the screen.
    expect(lines.slice(0, 50).at(-1)).toMatch(/q quit\s*$/);
  });

  it('q quits from the lock panel too, as the footer and the help say', async () => {
    const at = await project();
    const session = startTui(at, ['--no-auto-sync']);
    await vi.waitFor(() => expect(screen(session)).toContain('The queue is empty.'));
    tmux('send-keys', '-t', session, 'l');
    await vi.waitFor(() => expect(screen(session)).toContain('Esc to go back'));
    expect(screen(session)).toMatch(/q quit\s*$/m);
    tmux('send-keys', '-t', session, 'q');
    await vi.waitFor(() => expect(screen(session)).toContain('TUI-EXIT 0'));
  });

  it('--help prints the usage and exits 0, in a terminal and without one', async () => {
    const at = await project();
    const session = startTui(at, ['--help']);
    await vi.waitFor(() => expect(screen(session)).toContain('TUI-EXIT 0'));
    expect(screen(session)).toContain('Usage: oxenvcs-tui [--project DIR]');
    const plain = execFileSync(process.execPath, [bin, '--help'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
    expect(plain).toMatch(/^Usage: oxenvcs-tui \[--project DIR\] \[--remote URL\] \[--no-auto-sync\]/);
    expect(plain).toContain('--no-auto-sync');
  });

  it('without a TTY (and not asked for help): one line pointing to the CLI, exit 2', () => {
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
