import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QueueError } from './errors.js';
import { createQueue } from './store.js';
import type { Operation } from './types.js';

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
    const onDisk = JSON.parse(readFileSync(file, 'utf8'));
    expect(onDisk.version).toBe(2);
    expect(onDisk.entries).toHaveLength(2);
    const listed = await createQueue({ file }).list();
    expect(listed.map((e) => e.operation.kind)).toEqual(['acquire-lock', 'push']);
    expect(listed.map((e) => e.priority)).toEqual([100, 0]);
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
