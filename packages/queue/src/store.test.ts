import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QueueError } from './errors.js';
import { shortId } from './plan.js';
import { createQueue } from './store.js';
import type { Operation, QueueEntry } from './types.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'oxvcs-queue-'));
  file = join(dir, 'queue.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const acquire = (projectDir = '/music/Song'): Operation => ({
  kind: 'acquire-lock',
  projectDir,
  remote: 'http://localhost:3000/ada/song',
  key: '.',
  ttlMs: 4 * 3_600_000,
  holder: 'ada@laptop',
});
const pull = (projectDir = '/music/Song'): Operation => ({
  kind: 'pull',
  projectDir,
  remote: 'http://localhost:3000/ada/song',
  branch: 'main',
});
const push = (branch = 'main', projectDir = '/music/Song'): Operation => ({
  kind: 'push',
  projectDir,
  remote: 'http://localhost:3000/ada/song',
  branch,
});
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
    const q = createQueue({ file });
    await q.enqueue({ operation: push() });
    await q.enqueue({ operation: acquire() });
    await q.enqueue({ operation: acquire('/music/Other') });
    const onDisk = JSON.parse(readFileSync(file, 'utf8'));
    expect(onDisk.version).toBe(2);
    expect(onDisk.entries).toHaveLength(3);
    const listed = await createQueue({ file }).list();
    // One project in the order typed; priority only puts the other project's lock first.
    expect(listed.map((e) => [e.operation.kind, e.operation.projectDir])).toEqual([
      ['acquire-lock', '/music/Other'],
      ['push', '/music/Song'],
      ['acquire-lock', '/music/Song'],
    ]);
  });

  it('gets by full id, prefix or the short id shown; ambiguous prefixes list candidates', async () => {
    const q = createQueue({ file });
    const a = (await q.enqueue({ operation: push('a') })).entry;
    const b = (await q.enqueue({ operation: push('b', '/other') })).entry;
    expect((await q.get(a.id)).id).toBe(a.id);
    expect((await q.get(a.id.slice(-8).toLowerCase())).id).toBe(a.id);
    const common = a.id.slice(0, 6);
    expect(b.id.startsWith(common)).toBe(true);
    const ambiguous = await failure(q.get(common));
    expect(ambiguous.code).toBe('AMBIGUOUS_ID');
    expect(ambiguous.candidates).toEqual([a.id, b.id]);
    expect((await failure(q.get('zzzzzzzz'))).message).toBe(
      'No queue entry matches "zzzzzzzz"; run `oxenvcs queue status` to see ids.',
    );
  });

  it('remove reports when nothing matched; retry only failed entries; clear done / all; stats', async () => {
    const q = createQueue({ file });
    const a = (await q.enqueue({ operation: push('a') })).entry;
    await q.enqueue({ operation: push('b') });
    expect((await failure(q.remove('nothing'))).code).toBe('NOT_FOUND');
    expect((await failure(q.retry(a.id))).message).toContain('only failed or expired entries can be retried');
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

  it('refuses a duplicate idempotency key', async () => {
    const q = createQueue({ file });
    await q.enqueue({ operation: push('a'), idempotencyKey: 'k1' });
    expect((await failure(q.enqueue({ operation: push('b'), idempotencyKey: 'k1' }))).code).toBe('DUPLICATE');
  });

  it('a corrupt file is reported, kept in place and copied beside it, never reset', async () => {
    writeFileSync(file, '{"version":2,"entries":[{"id":"01');
    const q = createQueue({ file });
    const error = await failure(q.list());
    expect(error.code).toBe('CORRUPT');
    expect(error.message).toContain(file);
    expect(error.message).toContain('Repair or move the file away');
    expect(readFileSync(file, 'utf8')).toBe('{"version":2,"entries":[{"id":"01');
    expect(existsSync(error.quarantine!)).toBe(true);
    expect((await failure(q.enqueue({ operation: push() }))).code).toBe('CORRUPT');
    expect(readFileSync(file, 'utf8')).toBe('{"version":2,"entries":[{"id":"01');
  });

  it('migrates the original (v1) shape on read and refuses a newer schema', async () => {
    writeFileSync(
      file,
      JSON.stringify({
        entries: [
          {
            id: '01234567-89ab-cdef-0123-456789abcdef',
            operation: {
              AcquireLock: { project_path: '/music/Song', user_id: 'john@laptop', timeout_hours: 4 },
            },
            queued_at: '2025-11-17T10:00:00Z',
            attempts: 1,
            priority: 100,
            completed: false,
          },
        ],
      }),
    );
    const [entry] = await createQueue({ file }).list();
    expect(entry).toMatchObject({
      status: 'pending',
      priority: 100,
      attempts: 1,
      operation: { kind: 'acquire-lock', ttlMs: 14_400_000 },
    });
    writeFileSync(file, JSON.stringify({ version: 99, entries: [] }));
    expect((await failure(createQueue({ file }).list())).code).toBe('SCHEMA_TOO_NEW');
  });

  it('a file of a newer schema is refused by every command, naming the file and the version, and never rewritten', async () => {
    // A future shape: no "entries" list at all.
    const future = '{"version":3,"items":{"01J":{"kind":"teleport"}}}';
    writeFileSync(file, future);
    const before = statSync(file);
    const q = createQueue({ file });
    const attempts: Array<Promise<unknown>> = [
      q.list(),
      q.get('01J'),
      q.stats(),
      q.enqueue({ operation: push() }),
      q.transact(() => undefined),
      q.recover(),
      q.clearDone(),
      q.clearAll(),
    ];
    for (const attempt of attempts) {
      const error = await failure(attempt);
      expect(error).toMatchObject({ code: 'SCHEMA_TOO_NEW', file, schemaVersion: 3, retryKind: 'permanent' });
      expect(error.message).toBe(
        `The queue file ${file} has schema version 3, newer than the 2 this oxenvcs knows, so it was left unchanged; upgrade oxenvcs to use it.`,
      );
    }
    expect(readFileSync(file, 'utf8')).toBe(future);
    const after = statSync(file);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(readdirSync(dir)).toEqual(['queue.json']);
  });

  it('a file written by the current release (schema 2) loads as it is and keeps every field when written', async () => {
    const current = {
      version: 2,
      entries: [
        {
          id: '01KB2Y3ZJ8T3V9Q5X7W1M0P4RS',
          idempotencyKey: 'acquire-lock:5b0f',
          operation: {
            kind: 'acquire-lock',
            projectDir: '/music/Song',
            remote: 'http://localhost:3000/ada/song',
            key: '.',
            ttlMs: 14_400_000,
            holder: 'ada@laptop',
            comment: 'mixing',
          },
          priority: 100,
          enqueuedAt: '2026-11-20T09:00:00.000Z',
          expiresAt: '2026-11-20T13:00:00.000Z',
          attempts: 10,
          maxAttempts: 10,
          status: 'failed',
          statusReason: 'Gave up after 10 attempts: Network error ECONNREFUSED: connect ECONNREFUSED',
          lastError: {
            message: 'connect ECONNREFUSED',
            kind: 'transient',
            code: 'ECONNREFUSED',
            chain: [{ name: 'Error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' }],
            facts: { holder: 'bob@studio' },
          },
          history: [{ at: '2026-11-20T09:05:00.000Z', outcome: 'failed', durationMs: 120, message: 'x' }],
          completedAt: '2026-11-20T09:05:00.000Z',
          verifyFirst: true,
        },
        {
          id: '01KB2Y4A0000000000000000AB',
          idempotencyKey: 'push:1',
          operation: {
            kind: 'push',
            projectDir: '/music/Song',
            remote: 'http://localhost:3000/ada/song',
            branch: 'main',
            lockKey: '.',
            fencingToken: 7,
          },
          priority: 0,
          enqueuedAt: '2026-11-20T09:01:00.000Z',
          notBefore: '2026-11-20T09:06:00.000Z',
          notBeforeReason: 'backoff',
          attempts: 1,
          maxAttempts: 10,
          status: 'pending',
          history: [],
          result: { fencingToken: 7 },
        },
      ],
    };
    writeFileSync(file, JSON.stringify(current));
    const clock = { now: () => Date.parse('2026-11-21T09:00:00Z') };
    const q = createQueue({ file, clock });
    expect(await q.get('01KB2Y3ZJ8T3V9Q5X7W1M0P4RS')).toEqual(current.entries[0]);
    await q.enqueue({ operation: pull('/music/Other'), idempotencyKey: 'new' });
    const onDisk = JSON.parse(readFileSync(file, 'utf8'));
    expect(onDisk.version).toBe(2);
    expect(onDisk.entries.slice(0, 2)).toEqual(current.entries);
  });

  it('a shown short id, or any unique prefix of it, selects the entry, in any case; unknown and ambiguous ids say so', async () => {
    const q = createQueue({ file });
    const [a, b] = (
      await Promise.all([q.enqueue({ operation: push('a') }), q.enqueue({ operation: pull() })])
    ).map((r) => r.entry);
    // Ids made in the same millisecond share their time part; the tail shown is what tells them apart.
    const ids = ['01JZZZZZZZ00000000227K1JHD', '01JZZZZZZZ00000000227M0000'];
    await q.transact((entries) => {
      entries.push({ ...entries[0]!, id: ids[0]!, idempotencyKey: 'x' });
      entries.push({ ...entries[0]!, id: ids[1]!, idempotencyKey: 'y' });
    });
    expect(shortId(ids[0]!)).toBe('227k1jhd');
    for (const given of ['227k1jhd', '227K1JHD', '227k', '227k1', ' 227k1j ', ids[0]!.toLowerCase()]) {
      expect((await q.get(given)).id, given).toBe(ids[0]);
    }
    expect((await q.get(shortId(a!.id))).id).toBe(a!.id);
    expect((await q.get(shortId(b!.id))).id).toBe(b!.id);
    const ambiguous = await failure(q.get('227'));
    expect(ambiguous).toMatchObject({ code: 'AMBIGUOUS_ID', candidates: ids, id: '227' });
    expect(ambiguous.message).toBe('"227" matches 2 entries (227k1jhd, 227m0000); give more characters.');
    expect(await failure(q.get('227x'))).toMatchObject({ code: 'NOT_FOUND', id: '227x' });
    expect((await failure(q.remove('227'))).code).toBe('AMBIGUOUS_ID');
    expect((await q.remove('227m')).id).toBe(ids[1]);
  });

  it('200,000 entries: enqueue, list, get and remove work (no "Maximum call stack size exceeded")', async () => {
    const n = 200_000;
    const base = { projectDir: '/p', remote: 'http://127.0.0.1:1/n/r' };
    const entries: QueueEntry[] = Array.from({ length: n }, (_, i) => ({
      id: `01J${String(i).padStart(23, '0')}`,
      idempotencyKey: `seed:${i}`,
      operation: { kind: 'pull', ...base, projectDir: `/p${i % 100}`, branch: `b${i}` },
      priority: 0,
      enqueuedAt: new Date(1_700_000_000_000 + i).toISOString(),
      attempts: 0,
      maxAttempts: 10,
      status: 'pending',
      history: [],
    }));
    writeFileSync(file, JSON.stringify({ version: 2, entries }));
    const q = createQueue({ file });
    const { entry } = await q.enqueue({ operation: push('main', '/p0') });
    const listed = await q.list();
    expect(listed).toHaveLength(n + 1);
    expect(listed[0]!.id).toBe(entries[0]!.id);
    expect((await q.get(entry.id)).id).toBe(entry.id);
    await q.remove(entry.id);
    expect(await q.stats()).toMatchObject({ pending: n, total: n });
  }, 30_000);

  it('finished entries are pruned after retainFinishedMs and beyond maxFinishedEntries; failed ones stay', async () => {
    let now = Date.parse('2026-11-24T10:00:00Z');
    const clock = { now: () => now };
    const q = createQueue({ file, clock, retainFinishedMs: 3_600_000, maxFinishedEntries: 3 });
    for (let i = 0; i < 6; i++) await q.enqueue({ operation: push(`b${i}`, `/p${i}`) });
    await q.transact((entries) => {
      entries.forEach((e, i) => {
        e.status = i === 0 ? 'failed' : 'done';
        e.completedAt = new Date(now + i).toISOString();
      });
    });
    // Five done: the oldest two beyond the three kept are gone at once; the failed one stays.
    expect((await q.list()).map((e) => e.status).sort()).toEqual(['done', 'done', 'done', 'failed']);
    now += 3_600_000 + 10;
    await q.enqueue({ operation: pull('/later') });
    expect((await q.list()).map((e) => e.status).sort()).toEqual(['failed', 'pending']);
  });

  it('concurrent writes from one process, through two queues on the same file, all land', async () => {
    const [a, b] = [createQueue({ file }), createQueue({ file })];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).enqueue({ operation: push(`b${i}`, `/p${i}`) })),
    );
    expect(await createQueue({ file }).list()).toHaveLength(40);
    expect(readdirSync(dir)).toEqual(['queue.json']);
  });

  it('recovers an entry left running by a dead process as pending, verify first', async () => {
    const q = createQueue({ file });
    const { entry } = await q.enqueue({ operation: acquire() });
    await q.transact((entries) => {
      entries[0]!.status = 'running';
      entries[0]!.runner = { pid: 999_999_999, since: new Date().toISOString() };
    });
    const [recovered] = await q.recover();
    expect(recovered).toMatchObject({ id: entry.id, status: 'pending', verifyFirst: true });
  });
});
