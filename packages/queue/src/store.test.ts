import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QueueError } from './errors.js';
import { readJournal, START } from './journal.js';
import type { LegacyReader } from './migrate.js';
import { MIN_ID_PREFIX, shortId } from './plan.js';
import { createQueue, type QueueOptions, type QueueStoreEvent } from './store.js';
import { type BookingEntry, type BookingOp, BOOKING_RULES as rules } from './test-support/rules.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'queue-store-'));
  file = join(dir, 'queue.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const server = 'http://localhost:3000/gala/seats';
const reserve = (project = '/events/Gala'): BookingOp => ({
  kind: 'reserve',
  project,
  server,
  seat: 'A1',
  holdMs: 4 * 3_600_000,
  guest: 'ada@example.com',
});
const fetchList = (project = '/events/Gala'): BookingOp => ({ kind: 'fetch', project, server, list: 'menu' });
const send = (to = 'ada@example.com', project = '/events/Gala'): BookingOp => ({
  kind: 'send',
  project,
  server,
  to,
});
/** The queue of the test's file, with the booking rules. */
const open = (options: Partial<QueueOptions<BookingOp>> = {}) => createQueue({ file, rules, ...options });
const failure = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(QueueError);
  return e as QueueError;
};

describe('queue storage', () => {
  it('persists to disk (not memory, even under NODE_ENV=test) and lists in run order', async () => {
    const q = open();
    await q.enqueue({ operation: send() });
    await q.enqueue({ operation: reserve() });
    await q.enqueue({ operation: reserve('/events/Other') });
    // The first write makes the snapshot, later ones go to its journal.
    const onDisk = JSON.parse(readFileSync(file, 'utf8'));
    expect(onDisk.version).toBe(4);
    expect(readdirSync(dir)).toContain(`queue.json.journal-${onDisk.generation}`);
    const listed = await open().list();
    // One lane in the order typed; priority only puts the other project's seat operation first.
    expect(listed.map((e) => [e.operation.kind, e.operation.project, e.priority])).toEqual([
      ['reserve', '/events/Other', 100],
      ['send', '/events/Gala', 0],
      ['reserve', '/events/Gala', 100],
    ]);
    // The scope filter is the rules' scope.
    expect((await q.list({ scope: '/events/Other' })).map((e) => e.operation.project)).toEqual([
      '/events/Other',
    ]);
  });

  it('gets by full id, prefix or the short id shown; ambiguous prefixes list candidates', async () => {
    const q = open();
    const a = (await q.enqueue({ operation: send('a') })).entry;
    const b = (await q.enqueue({ operation: send('b', '/other') })).entry;
    expect((await q.get(a.id)).id).toBe(a.id);
    expect((await q.get(a.id.slice(-8).toLowerCase())).id).toBe(a.id);
    const common = a.id.slice(0, 6);
    expect(b.id.startsWith(common)).toBe(true);
    const ambiguous = await failure(q.get(common));
    expect(ambiguous.code).toBe('AMBIGUOUS_ID');
    expect(ambiguous.candidates).toEqual([a.id, b.id]);
    expect(await failure(q.get('zzzzzzzz'))).toMatchObject({ code: 'NOT_FOUND', id: 'zzzzzzzz' });
  });

  it('remove reports when nothing matched; retry only failed entries; clear done / all; stats', async () => {
    const q = open();
    const a = (await q.enqueue({ operation: send('a') })).entry;
    await q.enqueue({ operation: send('b') });
    expect((await failure(q.remove('nothing'))).code).toBe('NOT_FOUND');
    expect(await failure(q.retry(a.id))).toMatchObject({
      code: 'INVALID_STATE',
      problem: 'not-retryable',
      entryId: a.id,
      entryStatus: 'pending',
    });
    await q.transact((entries) => {
      entries[0]!.status = 'failed';
      entries[1]!.status = 'done';
    });
    expect((await q.retry(a.id)).status).toBe('pending');
    expect(await q.stats()).toMatchObject({ pending: 1, done: 1, total: 2 });
    expect(await q.clearDone()).toBe(1);
    expect((await q.remove(a.id)).id).toBe(a.id);
    expect(await q.clearAll()).toBe(0);
  });

  it('a clear scoped to one project removes its finished entries only; a clear that finds nothing writes nothing and takes no lock', async () => {
    const events: QueueStoreEvent[] = [];
    const q = open({ onEvent: (e) => events.push(e) });
    await q.enqueue({ operation: send('a') });
    await q.enqueue({ operation: send('b', '/events/Other') });
    await q.transact((entries) => {
      for (const e of entries) e.status = 'done';
    });
    expect(await q.clear({ scope: '/events/Other' })).toBe(1);
    const before = statSync(file, { bigint: true });
    events.length = 0;
    expect(await q.clear({ scope: '/events/Other' })).toBe(0);
    expect(await q.clear({ scope: '/events/Other', all: true })).toBe(0);
    expect(events).toEqual([]);
    const after = statSync(file, { bigint: true });
    expect([after.ino, after.mtimeNs, after.size]).toEqual([before.ino, before.mtimeNs, before.size]);
    expect((await q.list()).map((e) => (e.operation as { to: string }).to)).toEqual(['a']);
  });

  it('refuses a duplicate idempotency key', async () => {
    const q = open();
    await q.enqueue({ operation: send('a'), idempotencyKey: 'k1' });
    expect((await failure(q.enqueue({ operation: send('b'), idempotencyKey: 'k1' }))).code).toBe('DUPLICATE');
  });

  it('a corrupt file is reported, kept in place and copied beside it, never reset', async () => {
    writeFileSync(file, '{"version":3,"entries":[{"id":"01');
    const q = open();
    const error = await failure(q.list());
    expect(error.code).toBe('CORRUPT');
    expect(error).toMatchObject({ problem: 'not-json', file });
    expect(error.detail).toMatch(/JSON/);
    expect(readFileSync(file, 'utf8')).toBe('{"version":3,"entries":[{"id":"01');
    expect(existsSync(error.quarantine!)).toBe(true);
    expect((await failure(q.enqueue({ operation: send() }))).code).toBe('CORRUPT');
    expect(readFileSync(file, 'utf8')).toBe('{"version":3,"entries":[{"id":"01');
  });

  it('reads an unversioned (schema 1) file through the legacy reader it is given, and writes it back as schema 4', async () => {
    const v1 = {
      entries: [
        {
          ref: '01234567-89ab-cdef-0123-456789abcdef',
          booking: { event: '/events/Gala', seat_no: 'A1', guest_email: 'john@example.com', hold_hours: 4 },
          queued_at: '2025-11-17T10:00:00Z',
          tries: 1,
          completed: false,
        },
      ],
    };
    type V1 = (typeof v1.entries)[number];
    const given: unknown[][] = [];
    // A caller's own legacy format: the queue hands it the raw entries and stores what it returns.
    const legacy: LegacyReader<BookingOp> = (entries) => {
      given.push([...entries]);
      return (entries as V1[]).map((e): BookingEntry => {
        const operation: BookingOp = {
          kind: 'reserve',
          project: e.booking.event,
          server,
          seat: e.booking.seat_no,
          guest: e.booking.guest_email,
          holdMs: e.booking.hold_hours * 3_600_000,
        };
        return {
          id: e.ref.replace(/-/g, '').toUpperCase().padEnd(26, '0').slice(0, 26),
          idempotencyKey: `v1:${e.ref}`,
          operation,
          priority: rules.priority!(operation),
          enqueuedAt: new Date(e.queued_at).toISOString(),
          attempts: e.tries,
          maxAttempts: 10,
          status: e.completed ? 'done' : 'pending',
          history: [],
        };
      });
    };
    writeFileSync(file, JSON.stringify(v1));
    const q = open({ legacy });
    const [entry] = await q.list();
    expect(given).toEqual([v1.entries]);
    expect(entry).toMatchObject({
      idempotencyKey: 'v1:01234567-89ab-cdef-0123-456789abcdef',
      status: 'pending',
      priority: 100,
      attempts: 1,
      operation: { kind: 'reserve', seat: 'A1', holdMs: 14_400_000 },
    });
    await q.enqueue({ operation: fetchList(), idempotencyKey: 'after' });
    const onDisk = JSON.parse(readFileSync(file, 'utf8'));
    expect(onDisk.version).toBe(4);
    expect(onDisk.entries.map((e: BookingEntry) => e.idempotencyKey)).toEqual([
      entry!.idempotencyKey,
      'after',
    ]);
  });

  it('an unversioned file without a legacy reader is refused as CORRUPT and left as it is; a newer schema is refused', async () => {
    const v1 = JSON.stringify({
      entries: [{ ref: 'x', queued_at: '2025-11-17T10:00:00Z', completed: false }],
    });
    writeFileSync(file, v1);
    const q = open();
    for (const attempt of [q.list(), q.enqueue({ operation: fetchList() })]) {
      const error = await failure(attempt);
      expect(error).toMatchObject({ code: 'CORRUPT', problem: 'no-version', file });
    }
    expect(readFileSync(file, 'utf8')).toBe(v1);
    writeFileSync(file, JSON.stringify({ version: 99, entries: [] }));
    expect((await failure(open().list())).code).toBe('SCHEMA_TOO_NEW');
  });

  it('a file of a newer schema is refused by every command, naming the file and the version, and never rewritten', async () => {
    // A future shape: no "entries" list at all.
    const future = '{"version":5,"items":{"01J":{"kind":"teleport"}}}';
    writeFileSync(file, future);
    const before = statSync(file);
    const q = open();
    const attempts: Array<Promise<unknown>> = [
      q.list(),
      q.get('01J'),
      q.stats(),
      q.enqueue({ operation: send() }),
      q.transact(() => undefined),
      q.recover(),
      q.clearDone(),
      q.clearAll(),
    ];
    for (const attempt of attempts) {
      const error = await failure(attempt);
      expect(error).toMatchObject({
        code: 'SCHEMA_TOO_NEW',
        file,
        schemaVersion: 5,
        knownVersion: 4,
        retryKind: 'permanent',
      });
    }
    expect(readFileSync(file, 'utf8')).toBe(future);
    const after = statSync(file);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(readdirSync(dir)).toEqual(['queue.json']);
  });

  it('a file written by the previous release (schema 3) loads as it is and keeps every field when written (as schema 4)', async () => {
    const current = {
      version: 3,
      entries: [
        {
          id: '01KB2Y3ZJ8T3V9Q5X7W1M0P4RS',
          idempotencyKey: 'reserve:5b0f',
          operation: {
            kind: 'reserve',
            project: '/events/Gala',
            server,
            seat: 'A1',
            holdMs: 14_400_000,
            guest: 'ada@example.com',
            note: 'aisle',
          },
          priority: 100,
          enqueuedAt: '2026-11-20T09:00:00.000Z',
          expiresAt: '2026-11-20T13:00:00.000Z',
          attempts: 10,
          maxAttempts: 10,
          status: 'failed',
          reason: {
            code: 'gave-up',
            facts: {
              kind: 'transient',
              reason: 'Network error ECONNREFUSED: connect ECONNREFUSED',
              attempts: 10,
            },
          },
          lastError: {
            message: 'connect ECONNREFUSED',
            kind: 'transient',
            code: 'ECONNREFUSED',
            chain: [{ name: 'Error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' }],
            facts: { guest: 'bob@example.com' },
          },
          history: [{ at: '2026-11-20T09:05:00.000Z', outcome: 'failed', durationMs: 120, message: 'x' }],
          completedAt: '2026-11-20T09:05:00.000Z',
          verifyFirst: true,
        },
        {
          id: '01KB2Y4A0000000000000000AB',
          idempotencyKey: 'send:1',
          operation: {
            kind: 'send',
            project: '/events/Gala',
            server,
            to: 'ada@example.com',
            seat: 'A1',
            ticket: 7,
          },
          priority: 0,
          enqueuedAt: '2026-11-20T09:01:00.000Z',
          notBefore: '2026-11-20T09:06:00.000Z',
          notBeforeReason: 'backoff',
          attempts: 1,
          maxAttempts: 10,
          status: 'pending',
          reason: { code: 'will-retry', facts: { kind: 'transient', reason: 'Timed out' } },
          history: [],
          result: { ticket: 7 },
        },
      ],
    };
    writeFileSync(file, JSON.stringify(current));
    const clock = { now: () => Date.parse('2026-11-21T09:00:00Z') };
    const q = open({ clock });
    expect(await q.get('01KB2Y3ZJ8T3V9Q5X7W1M0P4RS')).toEqual(current.entries[0]);
    await q.enqueue({ operation: fetchList('/events/Other'), idempotencyKey: 'new' });
    const onDisk = JSON.parse(readFileSync(file, 'utf8'));
    expect(onDisk.version).toBe(4);
    expect(onDisk.entries.slice(0, 2)).toEqual(current.entries);
  });

  it('a schema 2 file migrates on read: its status words are kept as a note reason, heldBy is dropped, every other field is kept', async () => {
    const failed = {
      id: '01KB2Y3ZJ8T3V9Q5X7W1M0P4RS',
      idempotencyKey: 'reserve:5b0f',
      operation: {
        kind: 'reserve',
        project: '/events/Gala',
        server,
        seat: 'A1',
        holdMs: 60_000,
        guest: 'ada',
      },
      priority: 100,
      enqueuedAt: '2026-11-20T09:00:00.000Z',
      attempts: 10,
      maxAttempts: 10,
      status: 'failed',
      lastError: { message: 'connect ECONNREFUSED', kind: 'transient', chain: [], facts: { guest: 'bob' } },
      history: [{ at: '2026-11-20T09:05:00.000Z', outcome: 'failed', durationMs: 120 }],
      completedAt: '2026-11-20T09:05:00.000Z',
    };
    const held = {
      id: '01KB2Y4A0000000000000000AB',
      idempotencyKey: 'send:1',
      operation: { kind: 'send', project: '/events/Gala', server, to: 'ada@example.com', seat: 'A1' },
      priority: 0,
      enqueuedAt: '2026-11-20T09:01:00.000Z',
      attempts: 0,
      maxAttempts: 10,
      status: 'pending',
      history: [],
    };
    const done = {
      id: '01KB2Y4B0000000000000000CD',
      idempotencyKey: 'fetch:1',
      operation: { kind: 'fetch', project: '/events/Gala', server, list: 'menu' },
      priority: 0,
      enqueuedAt: '2026-11-20T09:02:00.000Z',
      attempts: 1,
      maxAttempts: 10,
      status: 'done',
      history: [],
      completedAt: '2026-11-20T09:03:00.000Z',
      result: { items: 12 },
    };
    const gaveUp = 'Gave up after 10 attempts: Network error ECONNREFUSED: connect ECONNREFUSED';
    const heldBack = `Held back: reserve ${shortId(failed.id)} failed.`;
    writeFileSync(
      file,
      JSON.stringify({
        version: 2,
        entries: [
          { ...failed, statusReason: gaveUp },
          { ...held, statusReason: heldBack, heldBy: failed.id },
          { ...done, statusReason: '' },
        ],
      }),
    );
    const migrated = [
      { ...failed, reason: { code: 'note', facts: { text: gaveUp } } },
      { ...held, reason: { code: 'note', facts: { text: heldBack } } },
      done,
    ];
    const q = open({ clock: { now: () => Date.parse('2026-11-21T09:00:00Z') } });
    expect(await q.get(failed.id)).toEqual(migrated[0]);
    expect(await q.get(held.id)).toEqual(migrated[1]);
    expect(await q.get(done.id)).toEqual(migrated[2]);
    // Held back is computed from the rules now, not read from the file.
    expect(await q.list({ status: 'pending' })).toEqual([migrated[1]]);
    await q.enqueue({ operation: fetchList('/events/Other'), idempotencyKey: 'new' });
    const onDisk = JSON.parse(readFileSync(file, 'utf8'));
    expect(onDisk.version).toBe(4);
    expect(onDisk.entries.slice(0, 3)).toEqual(migrated);
  });

  it('a shown short id, or any unique prefix of it, selects the entry, in any case; unknown and ambiguous ids say so', async () => {
    const q = open();
    const [a, b] = (
      await Promise.all([q.enqueue({ operation: send('a') }), q.enqueue({ operation: fetchList() })])
    ).map((r) => r.entry);
    // Ids made in the same millisecond share their time part; the tail shown is what tells them apart.
    const ids = ['01JZZZZZZZ00000000227K1JHD', '01JZZZZZZZ00000000227KM000'];
    await q.transact((entries) => {
      entries.push({ ...entries[0]!, id: ids[0]!, idempotencyKey: 'x' });
      entries.push({ ...entries[0]!, id: ids[1]!, idempotencyKey: 'y' });
    });
    expect(shortId(ids[0]!)).toBe('227k1jhd');
    for (const given of ['227k1jhd', '227K1JHD', '227k1', ' 227k1j ', ids[0]!.toLowerCase()]) {
      expect((await q.get(given)).id, given).toBe(ids[0]);
    }
    expect((await q.get(shortId(a!.id))).id).toBe(a!.id);
    expect((await q.get(shortId(b!.id))).id).toBe(b!.id);
    const ambiguous = await failure(q.get('227k'));
    expect(ambiguous).toMatchObject({ code: 'AMBIGUOUS_ID', candidates: ids, id: '227k', matches: 2 });
    expect(await failure(q.get('227x'))).toMatchObject({ code: 'NOT_FOUND', id: '227x' });
    expect((await failure(q.remove('227k'))).code).toBe('AMBIGUOUS_ID');
    expect((await q.remove('227km')).id).toBe(ids[1]);
  });

  it(`a prefix shorter than ${MIN_ID_PREFIX} characters selects nothing, even when one entry would match`, async () => {
    const q = open();
    const { entry } = await q.enqueue({ operation: send('a') });
    for (const given of ['', '0', shortId(entry.id).slice(0, MIN_ID_PREFIX - 1), entry.id.slice(0, 2)]) {
      const error = await failure(q.remove(given));
      expect(error.code, given).toBe(given ? 'ID_TOO_SHORT' : 'NOT_FOUND');
      if (given) expect(error).toMatchObject({ id: given, minimum: MIN_ID_PREFIX });
    }
    expect((await q.list()).map((e) => e.id)).toEqual([entry.id]);
    expect((await q.get(shortId(entry.id).slice(0, MIN_ID_PREFIX))).id).toBe(entry.id);
    expect((await q.remove(entry.id)).id).toBe(entry.id);
  });

  it('200,000 entries: enqueue, list, get and remove work (no "Maximum call stack size exceeded")', async () => {
    const n = 200_000;
    const entries: BookingEntry[] = Array.from({ length: n }, (_, i) => ({
      id: `01J${String(i).padStart(23, '0')}`,
      idempotencyKey: `seed:${i}`,
      operation: { kind: 'fetch', project: `/p${i % 100}`, server: 'http://127.0.0.1:1/n/r', list: `b${i}` },
      priority: 0,
      enqueuedAt: new Date(1_700_000_000_000 + i).toISOString(),
      attempts: 0,
      maxAttempts: 10,
      status: 'pending',
      history: [],
    }));
    writeFileSync(file, JSON.stringify({ version: 3, entries }));
    const q = open();
    const { entry } = await q.enqueue({ operation: send('ada@example.com', '/p0') });
    const listed = await q.list();
    expect(listed).toHaveLength(n + 1);
    expect(listed[0]!.id).toBe(entries[0]!.id);
    expect((await q.get(entry.id)).id).toBe(entry.id);
    await q.remove(entry.id);
    expect(await q.stats()).toMatchObject({ pending: n, total: n });
  });

  it('finished entries are pruned after retainFinishedMs and beyond maxFinishedEntries; failed ones stay', async () => {
    let now = Date.parse('2026-11-24T10:00:00Z');
    const clock = { now: () => now };
    const q = open({ clock, retainFinishedMs: 3_600_000, maxFinishedEntries: 3 });
    for (let i = 0; i < 6; i++) await q.enqueue({ operation: send(`b${i}`, `/p${i}`) });
    await q.transact((entries) => {
      entries.forEach((e, i) => {
        e.status = i === 0 ? 'failed' : 'done';
        e.completedAt = new Date(now + i).toISOString();
      });
    });
    // Five done: the oldest two beyond the three kept are gone at once; the failed one stays.
    expect((await q.list()).map((e) => e.status).sort()).toEqual(['done', 'done', 'done', 'failed']);
    now += 3_600_000 + 10;
    await q.enqueue({ operation: fetchList('/later') });
    expect((await q.list()).map((e) => e.status).sort()).toEqual(['failed', 'pending']);
  });

  it('concurrent writes from one process, through two queues on the same file, all land', async () => {
    const [a, b] = [open(), open()];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).enqueue({ operation: send(`b${i}`, `/p${i}`) })),
    );
    expect(await open().list()).toHaveLength(40);
    // The snapshot and its journal; no lock or temp file left.
    expect(readdirSync(dir).filter((name) => !name.startsWith('queue.json.journal-'))).toEqual([
      'queue.json',
    ]);
  });

  it('recovers an entry left running by a dead process as pending, verify first', async () => {
    const q = open();
    const { entry } = await q.enqueue({ operation: reserve() });
    await q.transact((entries) => {
      entries[0]!.status = 'running';
      entries[0]!.runner = { pid: 999_999_999, since: new Date().toISOString() };
    });
    const [recovered] = await q.recover();
    expect(recovered).toMatchObject({
      id: entry.id,
      status: 'pending',
      verifyFirst: true,
      reason: { code: 'interrupted' },
    });
    expect(recovered!.runner).toBeUndefined();
    expect(recovered!.history.at(-1)?.outcome).toBe('interrupted');
    expect(await q.get(entry.id)).toEqual(recovered);
  });
});

describe('overview (a status page in one read)', () => {
  it('counts the scope, lists its first `limit` unfinished entries in run order and its finished ones, and counts other scopes', async () => {
    const q = open();
    for (let i = 0; i < 7; i++) await q.enqueue({ operation: send(`guest${i}@example.com`) });
    const failed = await q.enqueue({ operation: fetchList() });
    await q.transact((entries) => {
      const e = entries.find((x) => x.id === failed.entry.id)!;
      e.status = 'failed';
    });
    await q.enqueue({ operation: fetchList('/events/Other') });
    await q.enqueue({ operation: send('x@example.com', '/events/Third') });
    const page = await q.overview({ scope: '/events/Gala', limit: 5 });
    expect(page.stats).toMatchObject({ pending: 7, failed: 1, total: 8 });
    expect(page.omitted).toBe(2);
    expect(page.elsewhere).toBe(2);
    expect(page.entries.map((e) => e.status)).toEqual([
      'pending',
      'pending',
      'pending',
      'pending',
      'pending',
      'failed',
    ]);
    // The same order as the whole list, restricted to the scope.
    const all = (await q.list({ scope: '/events/Gala', status: 'pending' })).map((e) => e.id);
    expect(page.entries.slice(0, 5).map((e) => e.id)).toEqual(all.slice(0, 5));
    const everything = await q.overview();
    expect(everything).toMatchObject({ omitted: 0, elsewhere: 0, stats: { total: 10 } });
  });
});

describe('the summary a status page reads', () => {
  it('answers a page exactly as the queue file would, and is not used once the file changed under it', async () => {
    const q = open({ summaryMinEntries: 0 });
    for (let i = 0; i < 30; i++) {
      await q.enqueue({
        operation: i % 3 ? send(`g${i}@example.com`, `/events/E${i % 4}`) : reserve(`/events/E${i % 4}`),
      });
    }
    await q.transact((entries) => {
      entries[4]!.status = 'failed';
      entries[9]!.notBefore = new Date(Date.now() + 3_600_000).toISOString();
    });
    // A write to the journal leaves the summary to the next status page, which makes it.
    await q.overview({ limit: 50 });
    expect(existsSync(`${file}.summary`)).toBe(true);
    const direct = createQueue({ file, rules, summaryPageSize: 0 });
    for (const scope of [undefined, '/events/E0', '/events/E1', '/events/none']) {
      for (const limit of [1, 5, 50]) {
        const fromSummary = await q.overview({ ...(scope ? { scope } : {}), limit });
        const fromFile = await direct.overview({ ...(scope ? { scope } : {}), limit });
        expect(fromSummary, `${scope} ${limit}`).toEqual(fromFile);
      }
    }
    // A writer that keeps no summary (an older version, say) changes the file: the stale summary
    // is not believed, and the page is made again from the file.
    await direct.enqueue({ operation: fetchList('/events/E0') });
    const after = await q.overview({ scope: '/events/E0', limit: 50 });
    expect(existsSync(`${file}.summary`)).toBe(true);
    expect(after.stats.pending).toBe(
      (await direct.overview({ scope: '/events/E0', limit: 50 })).stats.pending,
    );
    expect(after.entries.some((e) => e.operation.kind === 'fetch')).toBe(true);
    // Below the size where it pays, the next status page that finds it stale removes it.
    await createQueue({ file, rules, summaryMinEntries: 1000 }).enqueue({ operation: fetchList() });
    await createQueue({ file, rules, summaryMinEntries: 1000 }).overview({ limit: 50 });
    expect(existsSync(`${file}.summary`)).toBe(false);
  });

  it('is not used once an entry’s not-before has come (the run order depends on the time)', async () => {
    let now = Date.parse('2026-11-25T10:00:00Z');
    const clock = { now: () => now };
    const q = open({ clock, summaryMinEntries: 0 });
    const first = await q.enqueue({ operation: send('a@example.com') });
    await q.enqueue({ operation: send('b@example.com', '/events/Other') });
    await q.transact((entries) => {
      entries.find((e) => e.id === first.entry.id)!.notBefore = new Date(now + 60_000).toISOString();
    });
    const before = await q.overview({ limit: 10 });
    now += 120_000;
    const after = await q.overview({ limit: 10 });
    const direct = await createQueue({ file, rules, clock, summaryPageSize: 0 }).overview({ limit: 10 });
    expect(after).toEqual(direct);
    expect(after.entries.map((e) => e.id)).not.toEqual(before.entries.map((e) => e.id));
  });
});

describe('the summary is believed only for the file it was made from (review findings)', () => {
  const seeded = async (n: number, scope = '/events/Gala') => {
    const q = open({ summaryMinEntries: 0 });
    for (let i = 0; i < n; i++) await q.enqueue({ operation: send(`g${i}@example.com`, scope) });
    expect(existsSync(`${file}.summary`)).toBe(true);
    return q;
  };

  it('a truncated (corrupt) queue file is reported as corrupt, not paged from the summary', async () => {
    const q = await seeded(5);
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 40));
    expect((await failure(q.overview({ limit: 50 }))).code).toBe('CORRUPT');
  });

  it('an edit that keeps the head of the file (a repair by hand) is not hidden by the summary', async () => {
    const q = await seeded(6);
    // The repair keeps the generation at the head; it edits the queue as a whole (the snapshot with
    // its journal applied), then removes the journal it folded in.
    const data = JSON.parse(readFileSync(file, 'utf8')) as { entries: unknown[]; generation: string };
    data.entries = (await open().list()).slice(0, 2);
    writeFileSync(file, JSON.stringify(data));
    rmSync(`${file}.journal-${data.generation}`, { force: true });
    expect((await q.overview({ limit: 50 })).stats.pending).toBe(2);
  });

  it('a reader whose clock is earlier than the summary’s maker does not trust it', async () => {
    let now = Date.parse('2026-11-25T12:00:00Z');
    const q = open({ clock: { now: () => now }, summaryMinEntries: 0 });
    await q.enqueue({ operation: send('a@example.com') });
    const second = await q.enqueue({ operation: send('b@example.com') });
    await q.transact((entries) => {
      entries.find((e) => e.id === second.entry.id)!.notBefore = new Date(now - 60_000).toISOString();
    });
    now -= 120_000;
    const page = await q.overview({ limit: 50 });
    const direct = await createQueue({ file, rules, clock: { now: () => now }, summaryPageSize: 0 }).overview(
      {
        limit: 50,
      },
    );
    expect(page).toEqual(direct);
  });

  it('scopes named like Object’s own properties page as any other', async () => {
    const q = open({ summaryMinEntries: 0 });
    for (const scope of ['__proto__', 'constructor', 'toString'])
      await q.enqueue({ operation: send(`${scope}@example.com`, scope) });
    for (const scope of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const page = await q.overview({ scope, limit: 50 });
      expect(page.stats.pending, scope).toBe(scope === 'hasOwnProperty' ? 0 : 1);
    }
  });

  it('a summary that cannot be kept never fails the write it follows, and leaves no temp file', async () => {
    mkdirSync(`${file}.summary`);
    writeFileSync(join(`${file}.summary`, 'x'), 'in the way');
    const q = open({ summaryMinEntries: 0 });
    await q.enqueue({ operation: send('a@example.com') });
    await q.enqueue({ operation: send('b@example.com') });
    expect((await q.overview({ limit: 50 })).stats.pending).toBe(2);
    await createQueue({ file, rules, summaryMinEntries: 100 }).enqueue({ operation: send('c@example.com') });
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('the snapshot and its journal', () => {
  const journals = () => readdirSync(dir).filter((name) => name.startsWith('queue.json.journal-'));

  it('a change appends one line to the journal instead of rewriting the snapshot; the journal is folded into a new snapshot before it outgrows half of it', async () => {
    const q = open();
    for (let i = 0; i < 20; i++) await q.enqueue({ operation: send(`g${i}@example.com`, `/events/E${i}`) });
    const snapshot = statSync(file);
    const [journal] = journals();
    const before = statSync(join(dir, journal!)).size;
    const entry = (await q.list())[5]!;
    await q.transact((entries) => {
      entries.find((e) => e.id === entry.id)!.status = 'failed';
    });
    // The snapshot untouched; the journal grew by about one entry.
    expect(statSync(file).ino).toBe(snapshot.ino);
    expect(statSync(file).mtimeMs).toBe(snapshot.mtimeMs);
    const grown = statSync(join(dir, journal!)).size - before;
    expect(grown).toBeLessThan(JSON.stringify(entry).length + 200);
    // Many more changes: compacted along the way; never more than one journal, never large.
    for (let i = 0; i < 300; i++) await q.enqueue({ operation: fetchList(`/events/F${i}`) });
    expect(journals().length).toBeLessThanOrEqual(1);
    const left = journals()[0];
    if (left)
      expect(statSync(join(dir, left)).size).toBeLessThanOrEqual(
        Math.max(64 * 1024, statSync(file).size / 2) + 2048,
      );
    expect(await open().list()).toHaveLength(320);
    expect((await open().get(entry.id)).status).toBe('failed');
  });

  it('a journal sealed by a writer that died before its snapshot: read as of the seal, the next write makes the snapshot, nothing is lost', async () => {
    const q = open();
    for (let i = 0; i < 3; i++) await q.enqueue({ operation: send(`g${i}@example.com`, `/events/E${i}`) });
    const { generation } = JSON.parse(readFileSync(file, 'utf8')) as { generation: string };
    const journal = join(dir, `queue.json.journal-${generation}`);
    const read = readJournal(journal, generation, START)!;
    appendFileSync(
      journal,
      `!\n${JSON.stringify({ g: generation, seq: read.cursor.seq + 1, w: 'dead', seal: true })}\n`,
    );
    // A record after the seal (a writer paused past it) never counts.
    appendFileSync(
      journal,
      `!\n${JSON.stringify({ g: generation, seq: read.cursor.seq + 2, w: 'late', set: [], del: [(await q.list())[0]!.id] })}\n`,
    );
    expect(await open().list()).toHaveLength(3);
    await open().enqueue({ operation: fetchList() });
    const after = JSON.parse(readFileSync(file, 'utf8')) as { generation: string; entries: unknown[] };
    expect(after.generation).not.toBe(generation);
    expect(after.entries).toHaveLength(4);
    expect(existsSync(journal)).toBe(false);
    expect(await open().list()).toHaveLength(4);
  });
});
