import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueueEntry } from '@oxvcs/queue';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AWAY_MARGIN_MS, awayFile, markSeen, unseenFailures, whileAway } from './away.js';
import { createEngine } from './engine.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** An entry as the queue stores it, finished (or not) at `at`. */
function entry(id: string, status: QueueEntry['status'], at: number): QueueEntry {
  return {
    id,
    idempotencyKey: id,
    operation: { kind: 'pull', projectDir: '/music/Song', remote: 'http://h/ns/song', branch: 'main' },
    priority: 0,
    enqueuedAt: iso(T0 - 3_600_000),
    attempts: 1,
    maxAttempts: 5,
    status,
    history: [],
    ...(status === 'pending' ? {} : { completedAt: iso(at) }),
  } as QueueEntry;
}

describe('unseenFailures and markSeen (pure)', () => {
  it('without a marker, every failed and expired entry is unseen, oldest first; others never are', () => {
    const entries = [
      entry('b', 'expired', T0 + 2000),
      entry('a', 'failed', T0 + 1000),
      entry('c', 'done', T0),
      entry('d', 'pending', T0),
      entry('e', 'superseded', T0),
    ];
    expect(unseenFailures(entries).map((e) => e.id)).toEqual(['a', 'b']);
  });

  it('after looking, nothing already there is unseen; a failure after the look is', () => {
    const entries = [entry('a', 'failed', T0 - 10 * AWAY_MARGIN_MS), entry('b', 'failed', T0 - 1000)];
    const marker = markSeen(entries, T0);
    expect(unseenFailures(entries, marker)).toEqual([]);
    const later = [...entries, entry('c', 'expired', T0 + 5000)];
    expect(unseenFailures(later, marker).map((e) => e.id)).toEqual(['c']);
  });

  it('a failure written just after the look that had finished just before it is still reported once', () => {
    const marker = markSeen([], T0);
    const late = [entry('a', 'failed', T0 - 2000)];
    expect(unseenFailures(late, marker).map((e) => e.id)).toEqual(['a']);
    expect(unseenFailures(late, markSeen(late, T0 + 1000))).toEqual([]);
  });

  it('a retried entry that fails again is reported again', () => {
    const first = [entry('a', 'failed', T0)];
    const marker = markSeen(first, T0 + 1000);
    expect(unseenFailures([entry('a', 'failed', T0 + 60_000)], marker).map((e) => e.id)).toEqual(['a']);
  });

  it('keeps only the keys it needs: failures long before the look are covered by its time', () => {
    const marker = markSeen(
      [entry('old', 'failed', T0 - 2 * AWAY_MARGIN_MS), entry('new', 'failed', T0 - 1000)],
      T0,
      { mtimeMs: 12.5, size: 300 },
    );
    expect(marker).toEqual({
      seenAt: iso(T0),
      told: [`new@${iso(T0 - 1000)}`],
      queue: { mtimeMs: 12.5, size: 300 },
    });
  });
});

describe('whileAway (the marker file)', () => {
  // Real times here, as the queue file's own.
  const T0 = Date.now();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'oxvcs-away-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A queue file on disk (its modification time and size are looked at) and its entries. */
  function fakeQueue(entries: QueueEntry[]) {
    const file = join(dir, 'queue.json');
    let reads = 0;
    /** Another process writes the file. */
    const write = () => writeFileSync(file, JSON.stringify({ entries: entries.map((e) => e.id) }));
    write();
    return {
      file,
      entries,
      write,
      get reads() {
        return reads;
      },
      async list() {
        reads++;
        return entries;
      },
    };
  }

  it('two looks at once (two commands started together) report a failure once; a stale lock is taken over', async () => {
    const queue = fakeQueue([entry('a', 'failed', T0 - 5000)]);
    const file = awayFile(dir);
    const [one, two] = await Promise.all([
      whileAway({ queue, file, now: () => T0 }),
      whileAway({ queue, file, now: () => T0 }),
    ]);
    expect([...one, ...two].map((e) => e.id)).toEqual(['a']);
    expect(existsSync(`${file}.lock`)).toBe(false);
    // A lock left by a process that died mid-look does not silence the report.
    writeFileSync(`${file}.lock`, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${file}.lock`, old, old);
    queue.entries.push(entry('b', 'failed', T0 + 2000));
    queue.write();
    expect((await whileAway({ queue, file, now: () => T0 + 3000 })).map((e) => e.id)).toEqual(['b']);
  });

  it('reports each failure once: the second look finds nothing, a new failure is reported', async () => {
    const queue = fakeQueue([entry('a', 'failed', T0 - 5000)]);
    const file = awayFile(dir);
    expect((await whileAway({ queue, file, now: () => T0 })).map((e) => e.id)).toEqual(['a']);
    queue.write();
    expect(await whileAway({ queue, file, now: () => T0 + 1000 })).toEqual([]);
    queue.entries.push(entry('b', 'expired', T0 + 2000));
    queue.write();
    expect((await whileAway({ queue, file, now: () => T0 + 3000 })).map((e) => e.id)).toEqual(['b']);
  });

  it('entries the caller showed as they failed are recorded as seen without being returned', async () => {
    const queue = fakeQueue([]);
    const file = awayFile(dir);
    expect(await whileAway({ queue, file, now: () => T0 - 6000 })).toEqual([]);
    queue.entries.push(entry('a', 'failed', T0 - 5000), entry('b', 'failed', T0 - 4000));
    queue.write();
    expect((await whileAway({ queue, file, shown: ['a'], now: () => T0 })).map((e) => e.id)).toEqual(['b']);
    queue.write();
    expect(await whileAway({ queue, file, now: () => T0 + 1000 })).toEqual([]);
    expect(queue.reads).toBe(3);
  });

  it('does not read a queue file unchanged since the last look, nor make one that is missing', async () => {
    const queue = fakeQueue([entry('a', 'failed', T0 - 5000)]);
    const file = awayFile(dir);
    await whileAway({ queue, file, now: () => T0 });
    expect(await whileAway({ queue, file, now: () => T0 + 1000 })).toEqual([]);
    expect(queue.reads).toBe(1);
    queue.entries.push(entry('b', 'failed', T0 + 1500));
    queue.write();
    expect((await whileAway({ queue, file, now: () => T0 + 2000 })).map((e) => e.id)).toEqual(['b']);
    expect(queue.reads).toBe(2);
    rmSync(queue.file);
    expect(await whileAway({ queue, file: join(dir, 'other-away.json'), now: () => T0 + 3000 })).toEqual([]);
    expect(queue.reads).toBe(2);
  });

  it('reads every entry only when the status page cannot hold every candidate', async () => {
    const queue = fakeQueue([entry('p', 'pending', T0)]);
    let stats = { failed: 0, expired: 0 };
    const paged = {
      ...queue,
      list: () => queue.list(),
      async overview({ limit }: { limit: number }) {
        const dead = queue.entries.filter((e) => e.status === 'failed').slice(0, limit);
        return { stats, entries: [...queue.entries.filter((e) => e.status === 'pending'), ...dead] };
      },
    };
    const file = awayFile(dir);
    expect(await whileAway({ queue: paged, file, now: () => T0 })).toEqual([]);
    queue.entries.push(entry('a', 'failed', T0 + 1000));
    stats = { failed: 1, expired: 0 };
    queue.write();
    expect((await whileAway({ queue: paged, file, now: () => T0 + 2000 })).map((e) => e.id)).toEqual(['a']);
    expect(queue.reads).toBe(0);
    queue.entries.push(entry('b', 'expired', T0 + 3000));
    stats = { failed: 1, expired: 1 };
    queue.write();
    expect((await whileAway({ queue: paged, file, now: () => T0 + 4000 })).map((e) => e.id)).toEqual(['b']);
    expect(queue.reads).toBe(1);
  });

  it('a damaged marker counts as never having looked', async () => {
    const queue = fakeQueue([entry('a', 'failed', T0 - 5000)]);
    writeFileSync(awayFile(dir), '{"seenAt": 3');
    expect((await whileAway({ queue, file: awayFile(dir), now: () => T0 })).map((e) => e.id)).toEqual(['a']);
  });

  it('engine.whileAway reports a failed entry of any project once, from the state folder', async () => {
    const engine = createEngine({ cwd: dir, env: { OXENVCS_HOME: dir } });
    const { entry: queued } = await engine.queue.enqueue({
      operation: { kind: 'pull', projectDir: '/music/Other', remote: 'http://h/ns/other', branch: 'main' },
      idempotencyKey: 'k',
    });
    expect(await engine.whileAway()).toEqual([]);
    await engine.queue.transact((entries) => {
      Object.assign(entries.find((e) => e.id === queued.id)!, {
        status: 'failed',
        completedAt: new Date().toISOString(),
      });
    });
    expect((await engine.whileAway()).map((e) => e.id)).toEqual([queued.id]);
    expect(await engine.whileAway()).toEqual([]);
  });
});
