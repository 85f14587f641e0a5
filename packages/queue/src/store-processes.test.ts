import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkProcess, identify } from '@oxvcs/durable';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { QueueError } from './errors.js';
import { readStoredEntries } from './journal.js';
import { createQueue, type QueueOptions, type QueueStoreEvent } from './store.js';
import { type CopyForAnotherUser, copyForAnotherUser } from './test-support/another-user.js';
import { type BookingOp, BOOKING_RULES as rules } from './test-support/rules.js';

// Real processes against one queue file: concurrent writers, a writer stopped (SIGSTOP) while it
// holds the lock, writers killed (SIGKILL) at seeded points, lock files left behind. Children run
// the sources (test-support/queue-writer.mjs), so no build is needed.

let dir: string;
let file: string;
const children: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'queue-proc-'));
  file = join(dir, 'queue.json');
});
afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const hooks = fileURLToPath(new URL('../../../source-hooks.mjs', import.meta.url));
const writerScript = fileURLToPath(new URL('./test-support/queue-writer.mjs', import.meta.url));

interface Writer {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Keys whose enqueue was acknowledged (returned) before the line was printed. */
  readonly acked: string[];
  readonly events: QueueStoreEvent[];
  /** The first line starting with `prefix`, waiting for it (bounded). */
  line(prefix: string): Promise<string>;
  /** Lets a writer paused at a `pauseAt` point or inside `hold` go on. */
  resume(): void;
  readonly exit: Promise<number | null>;
}

interface WriterOptions {
  count?: number;
  staleLockMs?: number;
  lockWaitMs?: number;
  pauseAt?: { event: QueueStoreEvent['type']; n: number };
}

function startWriter(
  mode: 'enqueue' | 'enqueue-forever' | 'hold',
  tag: string,
  options: WriterOptions = {},
  target: { file?: string; uid?: number; gid?: number; copy?: CopyForAnotherUser } = {},
): Writer {
  const { file: queueFile = file, copy, ...ids } = target;
  const own = (path: string) => copy?.at(path) ?? path;
  const child = spawn(
    copy?.node ?? process.execPath,
    ['--import', own(hooks), own(writerScript), mode, queueFile, tag, JSON.stringify(options)],
    { stdio: ['pipe', 'pipe', 'inherit'], ...ids },
  );
  children.push(child);
  const lines: string[] = [];
  const acked: string[] = [];
  const events: QueueStoreEvent[] = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const complete = buffer.split('\n');
    buffer = complete.pop() ?? '';
    for (const line of complete) {
      lines.push(line);
      if (line.startsWith('ack ')) acked.push(line.slice(4));
      if (line.startsWith('event ')) events.push(JSON.parse(line.slice(6)) as QueueStoreEvent);
    }
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    lines,
    acked,
    events,
    exit,
    line: (prefix) =>
      vi.waitFor(
        () => {
          const found = lines.find((l) => l.startsWith(prefix));
          if (!found)
            throw new Error(`no line "${prefix}…" from the writer yet; it printed: ${lines.join(' | ')}`);
          return found;
        },
        { interval: 5 },
      ),
    resume: () => child.stdin!.write('x'),
  };
}

const send = (to: string): BookingOp => ({
  kind: 'send',
  project: '/events/Gala',
  server: 'http://localhost:3000/gala/seats',
  to,
});
/** A queue on `file` (the test's by default), with the booking rules. */
const open = (options: Partial<QueueOptions<BookingOp>> = {}) => createQueue({ file, rules, ...options });

const keysOnDisk = (queueFile = file): string[] => readStoredEntries(queueFile).map((e) => e.idempotencyKey);
const leftovers = () => readdirSync(dir).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'));

const recording = (events: QueueStoreEvent[]) => (event: QueueStoreEvent) => {
  events.push(event);
};
const acquisitions = (events: QueueStoreEvent[]) =>
  events.filter((e): e is Extract<QueueStoreEvent, { type: 'lock-acquired' }> => e.type === 'lock-acquired');

/** A pid that was just in use and now is not (the child has exited and been reaped). */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

const writeLock = (holder: { pid: number; host?: string }, mtime: Date) => {
  const lock = `${file}.lock`;
  writeFileSync(
    lock,
    JSON.stringify({ pid: holder.pid, host: holder.host ?? hostname(), token: 'left-behind', acquiredAt: 0 }),
  );
  utimesSync(lock, mtime, mtime);
};

/** mulberry32: a small seeded PRNG, so a failing run of kill points can be replayed. */
const seeded = (seed: number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};
const seed = Number(process.env.QUEUE_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe('writers in real processes', () => {
  it('8 processes enqueueing 50 entries each at once → exactly 400 entries', async () => {
    const writers = Array.from({ length: 8 }, (_, i) => startWriter('enqueue', `w${i}`, { count: 50 }));
    expect(await Promise.all(writers.map((w) => w.exit))).toEqual(Array(8).fill(0));
    const entries = await open().list();
    expect(entries).toHaveLength(400);
    expect(new Set(entries.map((e) => e.idempotencyKey)).size).toBe(400);
    expect(new Set(entries.map((e) => e.id)).size).toBe(400);
    expect(leftovers()).toEqual([]);
  });

  it('a holder that is working (alive, not stopped) is never taken over and never makes another writer fail: it waits, saying whom for', async () => {
    const working = startWriter('hold', 'a');
    await working.line('inside');
    const events: QueueStoreEvent[] = [];
    // Bounds far below how long the holder keeps the lock: they apply only to holders that may not
    // be working (stopped, older versions, other machines).
    const waiting = open({ staleLockMs: 200, lockWaitMs: 200, onEvent: recording(events) }).enqueue({
      operation: send('b'),
      idempotencyKey: 'b',
    });
    await vi.waitFor(() => expect(events.some((e) => e.type === 'lock-waiting')).toBe(true));
    const told = events.find((e) => e.type === 'lock-waiting') as Extract<
      QueueStoreEvent,
      { type: 'lock-waiting' }
    >;
    expect(told.holder?.pid).toBe(working.child.pid);
    // Still waiting, well past both bounds: checked again after the holder has had time to be
    // judged stale many times over (its own line proves it is still inside).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(acquisitions(events)).toEqual([]);
    working.resume();
    expect(await working.exit).toBe(0);
    await waiting;
    expect(keysOnDisk().sort()).toEqual(['a:held', 'b']);
    expect(acquisitions(events)[0]?.takeover).toBeUndefined();
  });

  it('a writer stopped (SIGSTOP) inside its read-modify-write past the stale timeout does not overwrite the entry acknowledged meanwhile', async () => {
    await open().enqueue({ operation: send('before'), idempotencyKey: 'before' });
    const paused = startWriter('hold', 'a');
    await paused.line('inside'); // it holds the lock and has read the file
    paused.child.kill('SIGSTOP');

    const events: QueueStoreEvent[] = [];
    const other = open({ staleLockMs: 300, onEvent: recording(events) });
    await other.enqueue({ operation: send('b'), idempotencyKey: 'b' }); // acknowledged
    expect(acquisitions(events)[0]?.takeover).toMatchObject({
      reason: 'stale',
      holder: { pid: paused.child.pid },
    });

    paused.child.kill('SIGCONT');
    paused.resume();
    expect(await paused.exit).toBe(0);
    expect(paused.acked).toEqual(['a:held']);
    expect(keysOnDisk().sort()).toEqual(['a:held', 'b', 'before']);
    // Its first write was refused (the lock was no longer its own) and redone on a fresh read.
    expect(paused.events).toContainEqual(
      expect.objectContaining({ type: 'write-redone', reason: 'lock-lost' }),
    );
    expect(leftovers()).toEqual([]);
  });

  it('a writer stopped between its last check and its rename cannot rename once its lock is taken over: the new holder swept its temp file', async () => {
    const paused = startWriter('enqueue', 'a', { count: 1, pauseAt: { event: 'write-verified', n: 1 } });
    await paused.line('at write-verified');
    paused.child.kill('SIGSTOP');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toHaveLength(1); // its verified temp file

    const events: QueueStoreEvent[] = [];
    await open({ staleLockMs: 300, onEvent: recording(events) }).enqueue({
      operation: send('b'),
      idempotencyKey: 'b',
    });
    expect(acquisitions(events)[0]?.takeover?.reason).toBe('stale');

    paused.child.kill('SIGCONT');
    paused.resume();
    expect(await paused.exit).toBe(0);
    expect(keysOnDisk().sort()).toEqual(['a:0', 'b']);
    expect(paused.events).toContainEqual(expect.objectContaining({ type: 'write-redone', reason: 'fenced' }));
  });

  it('a writer stopped right before its journal append, resumed after another took its lock over and appended: its line does not count, it redoes its step, both entries land once', async () => {
    // Its first write makes the snapshot; the second is a journal line, paused right before it.
    const paused = startWriter('enqueue', 'a', { count: 2, pauseAt: { event: 'write-verified', n: 2 } });
    await paused.line('at write-verified');
    paused.child.kill('SIGSTOP');

    const events: QueueStoreEvent[] = [];
    await open({ staleLockMs: 300, onEvent: recording(events) }).enqueue({
      operation: send('b'),
      idempotencyKey: 'b',
    });
    expect(acquisitions(events)[0]?.takeover?.reason).toBe('stale');

    paused.child.kill('SIGCONT');
    paused.resume();
    expect(await paused.exit).toBe(0);
    expect(paused.acked).toEqual(['a:0', 'a:1']);
    expect(keysOnDisk().sort()).toEqual(['a:0', 'a:1', 'b']);
    // Its line went in at the number b's had taken: read back, it lost, and the step was redone.
    expect(paused.events).toContainEqual(
      expect.objectContaining({ type: 'write-redone', reason: 'file-changed' }),
    );
    expect(leftovers()).toEqual([]);
  });

  it(`writers killed with SIGKILL at seeded points (seed ${seed}, replay with QUEUE_CRASH_SEED=${seed}): the file parses, no acknowledged entry is lost, the next write takes the dead holder's lock at once`, async () => {
    const random = seeded(seed);
    const points = ['lock-acquired', 'write-verified', 'any time'] as const;
    let acknowledged = 0;
    for (let run = 0; run < 16; run++) {
      const point = points[Math.floor(random() * points.length)]!;
      const n = 1 + Math.floor(random() * 3);
      const context = `run ${run} of seed ${seed}, killed at ${point}${point === 'any time' ? '' : ` #${n}`}`;
      const writer = startWriter(
        'enqueue-forever',
        `k${run}`,
        point === 'any time' ? {} : { pauseAt: { event: point, n } },
      );
      if (point === 'any time') {
        await writer.line('ack ');
        await new Promise((r) => setTimeout(r, Math.floor(random() * 40)));
      } else {
        await writer.line(`at ${point}`);
        expect(writer.acked.length, context).toBe(n - 1);
      }
      writer.child.kill('SIGKILL');
      await writer.exit;
      acknowledged += writer.acked.length;

      const lockLeft = existsSync(`${file}.lock`);
      if (point !== 'any time') expect(lockLeft, context).toBe(true);
      if (existsSync(file)) {
        const keys = new Set(keysOnDisk());
        for (const key of writer.acked) expect(keys.has(key), `${context}: ${key} lost`).toBe(true);
      } else {
        expect(writer.acked, context).toEqual([]);
      }

      // The next write: a stale timeout of 30 s shows it never waited for one.
      const events: QueueStoreEvent[] = [];
      await open({
        staleLockMs: 30_000,
        lockWaitMs: 30_000,
        onEvent: recording(events),
      }).enqueue({
        operation: send(`after-${run}`),
        idempotencyKey: `after-${run}`,
      });
      const [acquired] = acquisitions(events);
      // Half the stale time it would otherwise wait: a busy machine's slow file system stays below.
      expect(acquired!.waitedMs, context).toBeLessThan(15_000);
      if (lockLeft) expect(acquired!.takeover?.reason, context).toBe('holder-dead');
    }
    expect(keysOnDisk().length).toBeGreaterThanOrEqual(acknowledged + 16);
    expect(leftovers()).toEqual([]);
  });
});

describe('locks left behind', () => {
  it('a lock of a dead process dated an hour in the future is taken over at once', async () => {
    writeLock({ pid: deadPid() }, new Date(Date.now() + 3_600_000));
    const events: QueueStoreEvent[] = [];
    await open({ staleLockMs: 30_000, onEvent: recording(events) }).enqueue({
      operation: send('a'),
    });
    const [acquired] = acquisitions(events);
    expect(acquired!.takeover?.reason).toBe('holder-dead');
    expect(acquired!.waitedMs).toBeLessThan(15_000); // half the stale time, as above
    expect(leftovers()).toEqual([]);
  });

  it("6 processes racing to take over a dead holder's lock: one at a time, nothing lost", async () => {
    writeLock({ pid: deadPid() }, new Date());
    const writers = Array.from({ length: 6 }, (_, i) =>
      startWriter('enqueue', `r${i}`, { count: 20, staleLockMs: 30_000 }),
    );
    expect(await Promise.all(writers.map((w) => w.exit))).toEqual(Array(6).fill(0));
    expect(keysOnDisk()).toHaveLength(120);
    const takeovers = writers.flatMap((w) => acquisitions(w.events).filter((e) => e.takeover));
    expect(takeovers).toHaveLength(1);
    expect(takeovers[0]!.takeover?.reason).toBe('holder-dead');
    expect(leftovers()).toEqual([]);
  });

  it('a lock of a live process dated in the future: a message saying so, and taken over once watched for the stale time', async () => {
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    children.push(sleeper);
    writeLock({ pid: sleeper.pid! }, new Date(Date.now() + 3_600_000));

    const error = await open({ staleLockMs: 30_000, lockWaitMs: 300 })
      .enqueue({ operation: send('a') })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueError);
    expect(error).toMatchObject({ code: 'LOCK_TIMEOUT', holderPid: sleeper.pid, retryKind: 'transient' });
    // The facts the apps word ("… the lock is dated 3600 s in the future, so the clock was set back").
    expect(error).toMatchObject({ problem: 'held-here', file, holderHost: hostname() });
    expect((error as QueueError).aheadMs).toBeGreaterThan(3_500_000);
    expect((error as QueueError).waitedMs).toBeGreaterThanOrEqual(300);

    // Not until the clock passes that date: it is stale once watched unchanged for staleLockMs.
    const events: QueueStoreEvent[] = [];
    await open({ staleLockMs: 300, onEvent: recording(events) }).enqueue({
      operation: send('b'),
    });
    const [acquired] = acquisitions(events);
    expect(acquired!.takeover).toMatchObject({ reason: 'stale', holder: { pid: sleeper.pid } });
    expect(acquired!.waitedMs).toBeGreaterThanOrEqual(290);
  });

  it("an older version's lock directory (no holder record) is taken over once stale", async () => {
    mkdirSync(`${file}.lock`);
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${file}.lock`, old, old);
    const events: QueueStoreEvent[] = [];
    await open({ staleLockMs: 30_000, onEvent: recording(events) }).enqueue({
      operation: send('a'),
    });
    expect(acquisitions(events)[0]?.takeover).toEqual({ reason: 'stale' });
    expect(leftovers()).toEqual([]);
  });
});

describe('an entry held by a sync that does nothing', () => {
  it('a sync stopped (SIGSTOP) while running an entry: remove names the process and how to get out; once it ends, remove works', async () => {
    const sync = spawn('sleep', ['1000'], { stdio: 'ignore' });
    children.push(sync);
    const q = open();
    const { entry } = await q.enqueue({ operation: send('a') });
    const runner = { ...identify(sync.pid!)!, since: new Date().toISOString() };
    await q.transact((entries) => {
      Object.assign(entries[0]!, { status: 'running', runner });
    });
    sync.kill('SIGSTOP');
    await vi.waitFor(() => expect(checkProcess(runner)).toBe('stopped'));
    const refused = await q.remove(entry.id).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'INVALID_STATE',
      problem: 'stopped',
      entryId: entry.id,
      runnerPid: sync.pid,
    });
    sync.kill('SIGKILL');
    await vi.waitFor(() => expect(checkProcess(runner)).toBe('gone'));
    expect((await q.remove(entry.id)).id).toBe(entry.id);
  });
});

describe('a queue folder that cannot be written', () => {
  it('read-only: fails at once with NOT_WRITABLE naming the folder (never a lock timeout); reading still works', async () => {
    const state = join(dir, 'state');
    const queueFile = join(state, 'queue.json');
    await open({ file: queueFile }).enqueue({ operation: send('a'), idempotencyKey: 'a' });
    // chmod does not bind root: run the writer as nobody then, from a copy nobody can reach (the
    // clone may live where only root may enter).
    const asRoot = process.getuid?.() === 0;
    const copy = asRoot
      ? copyForAnotherUser(fileURLToPath(new URL('../', import.meta.url)), [hooks])
      : undefined;
    chmodSync(dir, 0o755);
    chmodSync(state, 0o555);
    try {
      const writer = startWriter(
        'enqueue',
        'ro',
        { lockWaitMs: 30_000 },
        {
          file: queueFile,
          ...(copy ? { uid: 65_534, gid: 65_534, copy } : {}),
        },
      );
      expect(await writer.exit).toBe(1);
      const failure = JSON.parse(writer.lines.find((l) => l.startsWith('error '))!.slice(6));
      expect(failure).toEqual({ name: 'QueueError', code: 'NOT_WRITABLE', folder: state, errno: 'EACCES' });
      expect(keysOnDisk(queueFile)).toEqual(['a']);
      expect(readdirSync(state)).toEqual(['queue.json']);
    } finally {
      chmodSync(state, 0o755);
      copy?.remove();
    }
  });

  it('a file where the folder should be: NOT_WRITABLE saying so', async () => {
    writeFileSync(join(dir, 'state'), 'not a folder');
    const error = await open({ file: join(dir, 'state', 'queue.json') })
      .enqueue({ operation: send('a') })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'NOT_WRITABLE',
      file: join(dir, 'state', 'queue.json'),
      folder: join(dir, 'state'),
      errno: 'EEXIST',
    });
  });
});
