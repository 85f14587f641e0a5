import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, type Engine, type EngineEvent } from '@oxvcs/engine';
import { createTestWorld, type FakeOxenServer, type TestWorld } from '@oxvcs/oxen-testkit';
import { render } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from './App.js';

let server: FakeOxenServer;
let world: TestWorld;
let dir: string;
let home: string;
let n = 0;
let unmount: (() => void) | undefined;

const makeEngine = (
  listeners: Set<(e: EngineEvent) => void>,
  holder = 'ada@laptop',
  extra: Record<string, string> = {},
): Engine =>
  createEngine({
    cwd: dir,
    env: world.vars({ home: home, holder: holder, extra: { OXENVCS_RETRY_MAX_RETRIES: '1', ...extra } }),
    overrides: { queue: { auto_sync: false } },
    onEvent: (e) => {
      for (const l of listeners) l(e);
    },
  });

function start(
  options: {
    autoSync?: boolean;
    offlinePollMs?: number;
    lockPollMs?: number;
    heartbeat?: boolean;
    env?: Record<string, string>;
    columns?: number;
  } = {},
) {
  const listeners = new Set<(e: EngineEvent) => void>();
  const engine = makeEngine(listeners, 'ada@laptop', options.env);
  const app = render(
    <App
      engine={engine}
      heartbeat={options.heartbeat ?? false}
      autoSync={options.autoSync ?? false}
      offlinePollMs={options.offlinePollMs ?? 5000}
      pollMs={100}
      lockPollMs={options.lockPollMs ?? 60_000}
      size={{ columns: options.columns ?? 80, rows: 24 }}
      subscribe={(l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      }}
    />,
  );
  unmount = app.unmount;
  const frame = () => app.lastFrame() ?? '';
  const press = async (keys: string) => {
    app.stdin.write(keys);
    await new Promise((r) => setTimeout(r, 30));
  };
  /** Whether any frame drawn so far matched: a state that passes does not race the polling. */
  const drew = (pattern: RegExp) => app.frames.some((f) => pattern.test(f));
  /** Tells the App an engine event, as the engine's `onEvent` does. */
  const emit = (event: EngineEvent) => {
    for (const l of listeners) l(event);
  };
  return { engine, frame, press, drew, emit };
}

beforeAll(async () => {
  world = await createTestWorld();
  ({ server } = world);
});
afterAll(async () => {
  await world.close();
});
beforeEach(async () => {
  await server.faults.clear();
  const name = `tui${++n}`;
  dir = await world.project(name);
  home = world.folder('tuihome');
});
afterEach(() => {
  unmount?.();
  rmSync(home, { recursive: true, force: true });
});

const queueOffline = async (count: number) => {
  await server.faults.offline();
  const e = makeEngine(new Set());
  await e.lockAcquire({ ttlHours: 1 });
  for (let i = 0; i < count; i++) await e.pull();
  await server.faults.online();
};

describe('oxenvcs-tui at 80×24', () => {
  it('shows header, the queue in run order and the selected entry’s details; navigates', async () => {
    await queueOffline(3);
    const { frame, press } = start();
    await vi.waitFor(() => expect(frame()).toContain('Acquire lock for tui'));
    await vi.waitFor(() => expect(frame()).toMatch(/Remote: http:\/\/127\.0\.0\.1:\d+\/ns\/tui\d+ · online/));
    const lines = frame().split('\n');
    expect(lines.length).toBeLessThanOrEqual(24);
    expect(lines.findIndex((l) => l.includes('Acquire lock'))).toBeLessThan(
      lines.findIndex((l) => l.includes('Pull main')),
    );
    expect(frame()).toContain('▶ pending    acquire');
    expect(frame()).toMatch(/key acquire-lock:/);
    await press('j');
    await vi.waitFor(() => expect(frame()).toMatch(/▶ pending {4}pull {5}Pull main/));
    expect(frame()).toContain('pull branch=main');
  });

  it('filters by status and by text', async () => {
    await queueOffline(2);
    const { frame, press } = start();
    await vi.waitFor(() => expect(frame()).toContain('3 shown'));
    await press('/');
    for (const ch of 'acquire') await press(ch);
    await press('\r');
    await vi.waitFor(() => expect(frame()).toContain('"acquire"] 1 shown'));
    await press('/');
    await press('\u001b');
    await press('f');
    await press('f');
    await vi.waitFor(() => expect(frame()).toContain('[failed] 0 shown'));
    expect(frame()).toContain('No entries match the filter.');
  });

  it('sync now shows per-entry progress and the result', async () => {
    await queueOffline(1);
    await server.faults.add({ kind: 'latency', ms: 400, route: '/branches', count: 3 });
    const { frame, press, drew } = start();
    await vi.waitFor(() => expect(frame()).toContain('2 shown'));
    expect(drew(/running|Syncing/)).toBe(false);
    await press('s');
    await vi.waitFor(() => expect(frame()).toContain('Sync: 2 done, 0 failed, 0 still queued'));
    // The progress was drawn while the sync ran, however briefly the machine let it show.
    expect(drew(/running|Syncing/)).toBe(true);
    await vi.waitFor(() => expect(frame()).toMatch(/done {7}acquire/));
  });

  it('remove asks first; n keeps the entry, y removes it', async () => {
    await queueOffline(1);
    const { frame, press, engine } = start();
    await vi.waitFor(() => expect(frame()).toContain('2 shown'));
    await press('j');
    await press('d');
    await vi.waitFor(() =>
      expect(frame()).toMatch(/Remove Pull main of tui\d+ from remote \([0-9a-z]{8}\)\? It will not run\./),
    );
    await press('n');
    await vi.waitFor(() => expect(frame()).toContain('2 shown'));
    await press('d');
    await press('y');
    await vi.waitFor(() => expect(frame()).toContain('1 shown'));
    expect((await engine.queueStatus()).entries.map((e) => e.operation.kind)).toEqual(['acquire-lock']);
  });

  it('lock panel: acquire, then break with a reason and confirmation', async () => {
    const { frame, press, engine } = start();
    await vi.waitFor(() => expect(frame()).toContain('Lock: free'));
    await press('l');
    await vi.waitFor(() => expect(frame()).toContain('[a] acquire'));
    await press('a');
    await vi.waitFor(() => expect(frame()).toContain('Lock acquired'));
    await vi.waitFor(() => expect(frame()).toMatch(/Lock: YOURS, \dh\d\dm left \(token 1\)/));
    await press('b');
    for (const ch of 'handover') await press(ch);
    await press('\r');
    await vi.waitFor(() => expect(frame()).toContain('Break the lock ("handover")?'));
    await press('y');
    await vi.waitFor(() => expect(frame()).toContain('Lock broken (recorded with your reason)'));
    expect((await engine.lockStatus()).state).toMatchObject({ state: 'broken', reason: 'handover' });
  });

  it('on a machine whose clock runs a week behind the server’s, an hour’s lease reads an hour, in the header and the lock panel', async () => {
    const week = 7 * 24 * 3_600_000;
    server.advanceClock(week);
    try {
      await makeEngine(new Set()).lockAcquire({ ttlHours: 1 });
      const { frame, press } = start();
      await vi.waitFor(() => expect(frame()).toMatch(/Lock: YOURS, (1h00m|59m) left/));
      await press('l');
      await vi.waitFor(() => expect(frame()).toMatch(/the lease ends \d\d:\d\d \(in (1h00m|59m)\)/));
      expect(frame()).not.toMatch(/\dd\d+h/);
    } finally {
      server.advanceClock(-week);
    }
  });

  it('on a machine whose clock runs a week ahead, a refusal says the live lease ends in an hour, not that it ended days ago', async () => {
    const week = 7 * 24 * 3_600_000;
    // The server's clock a week behind this machine's.
    server.advanceClock(-week);
    try {
      await makeEngine(new Set(), 'bob@studio').lockAcquire({ ttlHours: 1 });
      // Wide enough for the whole refusal on its line.
      const { frame, press } = start({ columns: 200 });
      await vi.waitFor(() => expect(frame()).toMatch(/Lock: held by bob@studio, (1h00m|59m) left/));
      await press('l');
      await press('a');
      await vi.waitFor(() =>
        expect(frame().replace(/\s+/g, ' ')).toMatch(
          /held by bob@studio since \d\d:\d\d \((now|\d+s ago)\) until \d\d:\d\d \(in (1h00m|59m)\)/,
        ),
      );
      expect(frame()).not.toMatch(/\dd\d+h|\d{4}-\d\d-\d\dT/);
    } finally {
      server.advanceClock(week);
    }
  });

  it('a lock read the remote refuses (a proxy’s 407) still ends the header’s "checking…"', async () => {
    await server.faults.add({ kind: 'error', status: 407 });
    const { frame } = start();
    await vi.waitFor(() => expect(frame()).toContain('refused the credentials'));
    await vi.waitFor(() => expect(frame()).not.toContain('checking…'));
    expect(frame()).toMatch(/Remote: .* · (online|offline|unknown) \(checked/);
  });

  it('help lists every key', async () => {
    const { frame, press } = start();
    await press('?');
    await vi.waitFor(() => expect(frame()).toContain('Keys'));
    for (const key of ['sync now', 'retry the selected failed entry', 'lock panel', 'quit'])
      expect(frame()).toContain(key);
  });
});

describe('oxenvcs-tui when the network comes back', () => {
  const queueWhileOffline = async () => {
    await server.faults.offline();
    const e = makeEngine(new Set());
    await e.lockAcquire({ ttlHours: 1 });
    await e.pull();
  };

  it('syncs by itself (config queue.auto_sync) and drops the stale "Offline" line', async () => {
    await queueWhileOffline();
    const { frame, press } = start({ autoSync: true, offlinePollMs: 100 });
    await vi.waitFor(() => expect(frame()).toMatch(/· offline/));
    await press('s');
    await vi.waitFor(() => expect(frame()).toContain('Offline:'));
    await server.faults.online();
    await vi.waitFor(() => expect(frame()).toContain('Sync: 2 done, 0 failed, 0 still queued'));
    expect(frame()).not.toContain('Offline:');
    expect(frame()).toMatch(/· online/);
  });

  it('with auto-sync off, the "Offline" line still clears but nothing runs until s', async () => {
    await queueWhileOffline();
    const { frame, press, engine } = start({ autoSync: false, offlinePollMs: 100 });
    await vi.waitFor(() => expect(frame()).toMatch(/· offline/));
    await press('s');
    await vi.waitFor(() => expect(frame()).toContain('Offline:'));
    await server.faults.online();
    await vi.waitFor(() => expect(frame()).toMatch(/· online/));
    await vi.waitFor(() => expect(frame()).not.toContain('Offline:'));
    expect((await engine.queueStatus()).stats.pending).toBe(2);
  });

  it('a queued push of a take that stopped partway says so in the details', async () => {
    const e = makeEngine(new Set());
    for (const name of ['a', 'b', 'c']) writeFileSync(join(dir, `${name}.wav`), randomBytes(3000));
    const take = await e.commitTake({ message: 'take', partBytes: 3000 });
    expect(take.parts).toHaveLength(3);
    // The link drops inside the third part's batch: the push is queued, to resume.
    await server.faults.add({ kind: 'cut', route: '/versions', bytes: 2 * 3300 + 1500 });
    expect((await e.push()).status).toBe('queued');
    await server.faults.online();
    const { frame } = start();
    await vi.waitFor(() => expect(frame()).toContain('Push main'));
    await vi.waitFor(() =>
      expect(frame()).toMatch(
        /push: (?:[0-2] of 3 parts on the remote \(at least\), [\d.]+ of 9\.0 KB|a take of 3 parts)/,
      ),
    );
  });

  it('a resuming push says so above its progress line, which does not overwrite it; a push warning shows once, Esc hides it', async () => {
    const { frame, press, emit } = start();
    await vi.waitFor(() => expect(frame()).toContain('The queue is empty.'));
    emit({ type: 'push-resume', partsTotal: 10, partsPresent: 7, bytesTotal: 2e9, bytesPresent: 1.4e9 });
    emit({ type: 'transfer', operation: 'push', progress: { bytesDone: 1.5e9, bytesTotal: 2e9 } });
    emit({ type: 'transfer', operation: 'push', progress: { bytesDone: 1.6e9, bytesTotal: 2e9 } });
    await vi.waitFor(() => expect(frame()).toMatch(/Pushing: 80%/));
    const lines = frame().split('\n');
    const at = lines.findIndex((l) => l.includes('Pushing:'));
    expect(lines.slice(at - 2, at).map((l) => l.trimEnd())).toEqual([
      'ℹ Resuming the push: 7 of 10 parts already on the remote, 1.4 of 2.0 GB; the',
      '  rest goes one part at a time.',
    ]);
    // The screen keeps its height: the list gave up the rows.
    expect(lines).toHaveLength(24);
    const fact = { recorded: true, parts: [3], bytes: 1_400_000, partBytes: 1_000_000 } as const;
    emit({ type: 'push-unresumable', ...fact });
    emit({ type: 'push-unresumable', ...fact });
    await vi.waitFor(() =>
      expect(frame()).toContain('⚠ Part 3 of this take is larger than its 1.0 MB part size'),
    );
    expect(frame().match(/⚠ Part 3/g)).toHaveLength(1);
    expect(frame().split('\n')).toHaveLength(24);
    await press('\u001b');
    await vi.waitFor(() => expect(frame()).not.toContain('⚠ Part 3'));
    expect(frame()).toContain('Resuming the push');
    // Told again (a retried run): not warned of again. The frame after it shows it was handled.
    emit({ type: 'push-unresumable', ...fact });
    emit({ type: 'transfer', operation: 'push', progress: { bytesDone: 1.8e9, bytesTotal: 2e9 } });
    await vi.waitFor(() => expect(frame()).toMatch(/Pushing: 90%/));
    expect(frame()).not.toContain('⚠ Part 3');
  });

  it('a queued push refused because someone else pushed first: the details say to pull, then push again', async () => {
    writeFileSync(join(dir, 'song.txt'), 'ada');
    expect((await world.env.oxen(['add', 'song.txt'], dir)).code).toBe(0);
    expect((await world.env.oxen(['commit', '-m', 'ada'], dir)).code).toBe(0);
    await server.faults.offline();
    expect((await makeEngine(new Set()).push()).status).toBe('queued');
    await server.faults.online();
    const name = dir.split('/').at(-1)!;
    const bob = await world.env.cloneProject(`${name}-bob`, server.repoUrl('ns', name));
    writeFileSync(join(bob, 'bob.txt'), 'bob');
    expect((await world.env.oxen(['add', 'bob.txt'], bob)).code).toBe(0);
    expect((await world.env.oxen(['commit', '-m', 'bob'], bob)).code).toBe(0);
    expect((await world.env.oxen(['push', 'origin', 'main'], bob)).code).toBe(0);
    const { frame, press } = start();
    await vi.waitFor(() => expect(frame()).toContain('1 shown'));
    await press('s');
    await vi.waitFor(() => expect(frame()).toContain('Sync: 0 done, 1 failed'));
    await vi.waitFor(() => expect(frame()).toMatch(/▶ failed +push/));
    // The details, wrapped to the window's width, read as one sentence.
    const said = () => frame().replace(/\s+/g, ' ');
    await vi.waitFor(() =>
      expect(said()).toContain(
        'failed · Not pushed: the remote branch has commits this copy does not have (someone else pushed first), so it was left as it is; run `oxenvcs pull`, then push again.',
      ),
    );
  });

  it('after r the row shows the entry’s new status (pending), as the details do', async () => {
    await server.faults.offline();
    await makeEngine(new Set()).pull('no-such-branch');
    await server.faults.online();
    const { frame, press } = start();
    await vi.waitFor(() => expect(frame()).toContain('1 shown'));
    await press('s');
    await vi.waitFor(() => expect(frame()).toContain('Sync: 0 done, 1 failed'));
    await vi.waitFor(() => expect(frame()).toMatch(/▶ failed +pull/));
    await press('r');
    await vi.waitFor(() => expect(frame()).toContain('Requeued'));
    await vi.waitFor(() => expect(frame()).toMatch(/▶ pending +pull .* ready/));
    expect(frame()).not.toMatch(/▶ failed/);
  });
});

describe('oxenvcs-tui: what happened while you were away, and the keep-alive', () => {
  it('opens with a banner naming what failed while you were away; Esc hides it; the next start does not repeat it', async () => {
    await server.faults.offline();
    await makeEngine(new Set()).pull('no-such-branch');
    await server.faults.online();
    // Another process (a sync the user did not watch) fails it.
    const other = makeEngine(new Set());
    expect((await other.sync()).summary?.failed).toBe(1);
    const first = start();
    await vi.waitFor(() =>
      expect(first.frame()).toContain('While you were away, 1 queued operation failed or expired:'),
    );
    expect(first.frame()).toMatch(
      /✗ Failed: Pull no-such-branch of tui\d+ from remote \([0-9a-z]{8}\): oxen pull failed/,
    );
    expect(first.frame()).toContain('Select one below: r retry · d remove · Esc hides this');
    await vi.waitFor(() => expect(first.frame()).toMatch(/▶ failed +pull/));
    await first.press('\u001b');
    await vi.waitFor(() => expect(first.frame()).not.toContain('While you were away'));
    expect(first.frame()).toMatch(/▶ failed +pull/);
    unmount?.();
    const second = start();
    await vi.waitFor(() => expect(second.frame()).toMatch(/▶ failed +pull/));
    expect(second.frame()).not.toContain('While you were away');
  });

  it('with the read-only guard on, acquiring and releasing say what it did to the files (issue 22)', async () => {
    writeFileSync(join(dir, 'Take.wav'), 'take');
    chmodSync(join(dir, 'Take.wav'), 0o644);
    const app = start({ env: { OXENVCS_LOCK_READ_ONLY_GUARD: 'true' } });
    // The first look at the lock (not yours) makes the files read-only, and the footer says so.
    await vi.waitFor(() => expect(app.frame()).toContain('Lock: free'));
    await vi.waitFor(() => expect(app.drew(/Files: made \d+ files? read-only/)).toBe(true));
    expect(lstatSync(join(dir, 'Take.wav')).mode & 0o777).toBe(0o444);
    await app.press('l');
    await app.press('a');
    await vi.waitFor(() => expect(app.frame()).toMatch(/Lock acquired; made \d+ files? writable/));
    expect(lstatSync(join(dir, 'Take.wav')).mode & 0o777).toBe(0o644);
    await app.press('r');
    await vi.waitFor(() => expect(app.frame()).toMatch(/Lock released; made \d+ files? read-only/));
    expect(lstatSync(join(dir, 'Take.wav')).mode & 0o777).toBe(0o444);
  });

  it('the lock panel shows the keep-alive: none, then this window renewing, and when the lease ends', async () => {
    const plain = start();
    await vi.waitFor(() => expect(plain.frame()).toContain('Lock: free'));
    await plain.press('l');
    await plain.press('a');
    await vi.waitFor(() => expect(plain.frame()).toContain('Lock acquired'));
    await vi.waitFor(() => expect(plain.frame()).toContain('Keep-alive: none'));
    expect(plain.frame()).toMatch(
      /the lease ends (?:\d{4}-\d\d-\d\d )?\d\d:\d\d \(in \dh\d\dm\) unless you renew it \(n\)/,
    );
    unmount?.();
    const kept = start({ heartbeat: true });
    await vi.waitFor(() => expect(kept.frame()).toMatch(/Lock: YOURS/));
    await kept.press('l');
    await vi.waitFor(() => expect(kept.frame()).toContain('Keep-alive: running in this window'));
    await vi.waitFor(() =>
      expect(kept.frame()).toMatch(/the lease ends (?:\d{4}-\d\d-\d\d )?\d\d:\d\d \(in \dh\d\dm\)/),
    );
  });
});
