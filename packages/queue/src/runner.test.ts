import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRetryBudget } from '@oxvcs/retry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ExecutionContext, type RunEvent, runQueue, toStoredError } from './runner.js';
import { createQueue, type Queue } from './store.js';
import type { Operation, QueueEntry } from './types.js';

let dir: string;
let queue: Queue;
let now: number;
const clock = { now: () => now };
const sleeps: number[] = [];
const sleep = async (ms: number) => {
  sleeps.push(ms);
  now += ms;
};
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'oxvcs-runner-'));
  now = Date.parse('2026-11-24T10:00:00Z');
  sleeps.length = 0;
  queue = createQueue({ file: join(dir, 'queue.json'), clock });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const remote = 'http://localhost:3000/ns/r';
const acq = (p = '/a'): Operation => ({
  kind: 'acquire-lock',
  projectDir: p,
  remote,
  key: '.',
  ttlMs: 1000,
  holder: 'h',
});
const push = (p = '/a'): Operation => ({ kind: 'push', projectDir: p, remote, branch: 'main', lockKey: '.' });
const pull = (p = '/a'): Operation => ({ kind: 'pull', projectDir: p, remote, branch: 'main' });
const policy = { maxRetries: 2, initialDelayMs: 100, maxDelayMs: 1000 };
const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

describe('runQueue', () => {
  it('runs each project in the order enqueued, priority ordering only projects, and marks entries done with their result', async () => {
    await queue.enqueue({ operation: pull('/b') });
    await queue.enqueue({ operation: push('/a') });
    await queue.enqueue({ operation: acq('/a') });
    await queue.enqueue({ operation: acq('/c') });
    const order: string[] = [];
    const mark = (kind: string) => async (op: Operation) => {
      order.push(`${kind} ${op.projectDir}`);
      return kind === 'acquire' ? { fencingToken: 7 } : undefined;
    };
    const summary = await runQueue(queue, {
      executors: { 'acquire-lock': mark('acquire'), push: mark('push'), pull: mark('pull') },
      retryPolicy: policy,
      clock,
      sleep,
      concurrency: 1,
    });
    expect(order).toEqual(['acquire /c', 'pull /b', 'push /a', 'acquire /a']);
    expect(summary).toMatchObject({ done: 4, failed: 0, remaining: 0 });
    const [acquire] = await queue.list({ kind: 'acquire-lock', projectDir: '/a' });
    expect(acquire).toMatchObject({ status: 'done', result: { fencingToken: 7 }, attempts: 1 });
    expect(acquire!.history).toHaveLength(1);
  });

  it('offline push then lock release: the push is replayed first, under the lease it was queued with', async () => {
    // The remote's lock: granted with token 7 before going offline.
    let lease: number | undefined = 7;
    await queue.enqueue({
      operation: { kind: 'push', projectDir: '/a', remote, branch: 'main', lockKey: '.', fencingToken: 7 },
    });
    await queue.enqueue({
      operation: { kind: 'release-lock', projectDir: '/a', remote, key: '.', holder: 'h', fencingToken: 7 },
    });
    const summary = await runQueue(queue, {
      executors: {
        push: async (op) => {
          if (op.fencingToken !== lease)
            throw Object.assign(new Error('stale fencing token'), { retryKind: 'conflict' });
          return undefined;
        },
        'release-lock': async () => {
          lease = undefined;
          return undefined;
        },
      },
      retryPolicy: policy,
      clock,
      sleep,
    });
    expect(summary).toMatchObject({ done: 2, failed: 0 });
  });

  it('replays a queued operation with one write of the queue file: the result and the next claim go together', async () => {
    const writes: string[] = [];
    const counted = createQueue({
      file: join(dir, 'counted.json'),
      clock,
      onEvent: (e) => {
        if (e.type === 'write-verified') writes.push(e.type);
      },
    });
    await counted.transact((entries) => {
      for (let i = 0; i < 20; i++) entries.push(entry(pull(`/p${i % 4}`), i));
    });
    writes.length = 0;
    const summary = await runQueue(counted, {
      executors: { pull: async () => undefined },
      retryPolicy: policy,
      clock,
      sleep,
      concurrency: 1,
    });
    expect(summary.done).toBe(20);
    // One claim, then per operation its result with the next claim (a clean start writes nothing).
    expect(writes.length).toBe(21);
  });

  it('transient failures retry with backoff, then the entry stays pending and the run stops (offline)', async () => {
    await queue.enqueue({ operation: acq('/a') });
    await queue.enqueue({ operation: pull('/b') });
    const events: RunEvent[] = [];
    let calls = 0;
    const summary = await runQueue(queue, {
      executors: {
        'acquire-lock': async () => {
          calls++;
          throw new Error('could not reach the remote', { cause: refused() });
        },
        pull: async () => undefined,
      },
      retryPolicy: policy,
      clock,
      sleep,
      random: () => 0.5,
      onEvent: (e) => events.push(e),
    });
    expect(calls).toBe(3);
    expect(summary).toMatchObject({ stopped: 'offline', done: 0, deferred: 1, remaining: 2 });
    const [entry] = await queue.list({ kind: 'acquire-lock' });
    expect(entry).toMatchObject({
      status: 'pending',
      attempts: 1,
      verifyFirst: true,
      notBeforeReason: 'backoff',
    });
    expect(entry!.lastError).toMatchObject({ kind: 'transient', message: 'could not reach the remote' });
    expect(entry!.lastError!.chain.map((l) => l.code ?? l.name)).toEqual(['Error', 'ECONNREFUSED']);
    expect(
      events
        .filter((e) => e.type === 'entry-retry')
        .map((e) => (e as { event: { type: string } }).event.type),
    ).toContain('retry-scheduled');
    expect((await queue.list({ kind: 'pull' }))[0]!.status).toBe('pending');
  });

  it('permanent, auth and conflict failures dead-letter with the reason; others proceed', async () => {
    await queue.enqueue({ operation: acq('/a') });
    await queue.enqueue({ operation: push('/a') });
    await queue.enqueue({ operation: pull('/b') });
    const events: RunEvent[] = [];
    const summary = await runQueue(queue, {
      executors: {
        'acquire-lock': async () => {
          throw Object.assign(new Error('Lock held by bob@studio since 09:00'), {
            retryKind: 'conflict',
            holder: 'bob@studio',
          });
        },
        push: async () => undefined,
        pull: async () => undefined,
      },
      retryPolicy: policy,
      clock,
      sleep,
      onEvent: (e) => events.push(e),
    });
    expect(summary).toMatchObject({ failed: 1, done: 1, held: 1 });
    const [failed] = await queue.list({ status: 'failed' });
    expect(failed).toMatchObject({
      statusReason: 'Lock held by bob@studio since 09:00',
      lastError: { facts: { holder: 'bob@studio' } },
    });
    expect(events.some((e) => e.type === 'entry-held')).toBe(true);
    expect((await queue.list({ kind: 'push' }))[0]!.status).toBe('pending');
  });

  it('rate-limited: waits exactly the server’s Retry-After', async () => {
    await queue.enqueue({ operation: pull() });
    let calls = 0;
    await runQueue(queue, {
      executors: {
        pull: async () => {
          if (++calls === 1)
            throw Object.assign(new Error('busy'), {
              response: { status: 429, headers: new Headers({ 'retry-after': '5' }) },
            });
        },
      },
      retryPolicy: policy,
      clock,
      sleep,
    });
    expect(sleeps).toEqual([5000]);
    expect((await queue.list())[0]!.status).toBe('done');
  });

  it('an absurd Retry-After (99999999999999999999) defers the entry by at most a day, never crashes', async () => {
    await queue.enqueue({ operation: pull() });
    const summary = await runQueue(queue, {
      executors: {
        pull: async () => {
          throw Object.assign(new Error('busy'), {
            response: { status: 429, headers: new Headers({ 'retry-after': '99999999999999999999' }) },
          });
        },
      },
      retryPolicy: policy,
      clock,
      sleep,
    });
    expect(sleeps).toEqual([]);
    expect(summary.remaining).toBe(1);
    const [entry] = await queue.list();
    expect(entry!.status).toBe('pending');
    expect(Date.parse(entry!.notBefore!) - now).toBe(24 * 3_600_000);
  });

  it('gives up after maxAttempts replays', async () => {
    await queue.enqueue({ operation: pull(), maxAttempts: 2 });
    const exec = {
      pull: async () => {
        throw refused();
      },
    };
    await runQueue(queue, { executors: exec, retryPolicy: { maxRetries: 0 }, clock, sleep, force: true });
    const second = await runQueue(queue, {
      executors: exec,
      retryPolicy: { maxRetries: 0 },
      clock,
      sleep,
      force: true,
    });
    expect(second.failed).toBe(1);
    expect((await queue.list())[0]).toMatchObject({ status: 'failed', attempts: 2 });
    expect((await queue.list())[0]!.statusReason).toMatch(/^Gave up after 2 attempts/);
  });

  it('an entry past its expiry expires instead of running', async () => {
    await queue.enqueue({ operation: acq(), ttlMs: 60_000 });
    now += 120_000;
    let ran = false;
    const summary = await runQueue(queue, {
      executors: {
        'acquire-lock': async () => {
          ran = true;
        },
      },
      retryPolicy: policy,
      clock,
      sleep,
    });
    expect(ran).toBe(false);
    expect(summary.expired).toBe(1);
    expect((await queue.list())[0]!.status).toBe('expired');
  });

  it('abort mid-operation leaves the entry pending (verify first) and others untouched', async () => {
    await queue.enqueue({ operation: acq('/a') });
    await queue.enqueue({ operation: pull('/b') });
    const controller = new AbortController();
    const summary = await runQueue(queue, {
      executors: {
        'acquire-lock': (_op, ctx) =>
          new Promise((_, reject) => {
            ctx.signal.addEventListener('abort', () =>
              reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
            );
            setTimeout(() => controller.abort(), 10);
          }),
        pull: async () => undefined,
      },
      retryPolicy: policy,
      signal: controller.signal,
    });
    expect(summary.stopped).toBe('aborted');
    const entries = await queue.list();
    expect(entries.map((e) => [e.operation.kind, e.status])).toEqual([
      ['acquire-lock', 'pending'],
      ['pull', 'pending'],
    ]);
    expect(entries[0]).toMatchObject({ attempts: 0, verifyFirst: true });
    expect(entries[0]!.runner).toBeUndefined();
  });

  it('a recovered entry is replayed with verifyFirst', async () => {
    await queue.enqueue({ operation: acq() });
    await queue.transact((entries) => {
      entries[0]!.status = 'running';
      entries[0]!.runner = { pid: 999_999_999, since: new Date(now).toISOString() };
    });
    const seen: boolean[] = [];
    await runQueue(queue, {
      executors: {
        'acquire-lock': async (_op, ctx) => {
          seen.push(ctx.verifyFirst);
        },
      },
      retryPolicy: policy,
      clock,
      sleep,
    });
    expect(seen).toEqual([true]);
  });

  it('a spent retry budget stops the replay', async () => {
    for (const p of ['/a', '/b', '/c']) await queue.enqueue({ operation: pull(p) });
    const budget = createRetryBudget({ capacity: 5, retryCost: 5 });
    let calls = 0;
    const summary = await runQueue(queue, {
      executors: {
        pull: async () => {
          calls++;
          throw refused();
        },
      },
      retryPolicy: { maxRetries: 5, initialDelayMs: 1 },
      budget,
      clock,
      sleep,
    });
    expect(calls).toBe(2);
    expect(summary.stopped).toBe('budget');
  });
});

/** A pending entry as the store would keep it (for seeding many at once). */
function entry(operation: Operation, i: number): QueueEntry {
  return {
    id: `01J${String(i).padStart(23, '0')}`,
    idempotencyKey: `seed:${i}`,
    operation,
    priority: operation.kind.endsWith('-lock') ? 100 : 0,
    enqueuedAt: new Date(now + i).toISOString(),
    attempts: 0,
    maxAttempts: 10,
    status: 'pending',
    history: [],
  };
}

describe('parallel replay', () => {
  const lockOp = (i: number, projects: number, origin = 'http://localhost:3000'): Operation => ({
    kind: i % 3 === 2 ? 'release-lock' : 'acquire-lock',
    projectDir: `/p${i % projects}`,
    remote: `${origin}/ns/p${i % projects}`,
    key: `k${i % projects}`,
    holder: 'h',
    ttlMs: 60_000,
  });
  const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  it('1,000 lock operations across 20 projects at 5 ms latency: 8 at once, each project in order (throughput: pnpm bench)', async () => {
    const real = createQueue({ file: join(dir, 'parallel.json') });
    await real.transact((entries) => {
      for (let i = 0; i < 1000; i++) entries.push({ ...entry(lockOp(i, 20), i), priority: 100 });
    });
    const started: Record<string, string[]> = {};
    let inFlight = 0;
    let peak = 0;
    const exec = async (op: Operation, ctx: ExecutionContext) => {
      started[op.projectDir] = [...(started[op.projectDir] ?? []), ctx.entry.id];
      peak = Math.max(peak, ++inFlight);
      await realSleep(5);
      inFlight -= 1;
      return undefined;
    };
    const summary = await runQueue(real, {
      executors: { 'acquire-lock': exec, 'release-lock': exec },
      retryPolicy: policy,
    });
    expect(summary).toMatchObject({ done: 1000, failed: 0, remaining: 0 });
    expect(peak).toBe(8);
    for (let p = 0; p < 20; p++) {
      const expected = Array.from({ length: 50 }, (_, j) => entry(lockOp(p + 20 * j, 20), p + 20 * j).id);
      expect(started[`/p${p}`]).toEqual(expected);
    }
  }, 30_000);

  it('a remote that does not answer defers only its own entries; other remotes replay meanwhile', async () => {
    for (let i = 0; i < 30; i++) {
      const down = i % 3 === 0;
      await queue.enqueue({
        operation: lockOp(i, 6, down ? 'http://down.example:3000' : 'http://up.example:3000'),
      });
    }
    const tried: string[] = [];
    const events: RunEvent[] = [];
    const exec = async (op: Operation) => {
      if (op.remote.startsWith('http://down.example')) {
        tried.push(op.projectDir);
        throw new Error('could not reach the remote', { cause: refused() });
      }
      return undefined;
    };
    const summary = await runQueue(queue, {
      executors: { 'acquire-lock': exec, 'release-lock': exec },
      retryPolicy: policy,
      clock,
      sleep,
      onEvent: (e) => events.push(e),
    });
    expect(summary).toMatchObject({
      done: 20,
      deferred: 1,
      remaining: 10,
      stopped: 'offline',
      unreachable: ['http://down.example:3000'],
    });
    // One entry probed the remote that was down (with its in-process retries), not one per project.
    expect(tried).toEqual(['/p0', '/p0', '/p0']);
    expect(events.filter((e) => e.type === 'remote-down')).toEqual([
      expect.objectContaining({ remote: 'http://down.example:3000' }),
    ]);
    const left = await queue.list({ status: 'pending' });
    expect(new Set(left.map((e) => e.operation.remote.slice(0, 18)))).toEqual(
      new Set(['http://down.exampl']),
    );
  });

  it('a hung remote does not hold back another: the other finishes while it hangs', async () => {
    await queue.enqueue({ operation: pull('/hung') });
    for (let i = 0; i < 5; i++)
      await queue.enqueue({ operation: { ...pull(`/ok${i}`), remote: 'http://ok:1/n/r' } });
    const controller = new AbortController();
    let finished = 0;
    const summary = await runQueue(queue, {
      executors: {
        pull: (op, ctx) =>
          op.remote === remote
            ? new Promise((_, reject) =>
                ctx.signal.addEventListener('abort', () =>
                  reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
                ),
              )
            : Promise.resolve(undefined).then(() => {
                if (++finished === 5) controller.abort();
                return undefined;
              }),
      },
      retryPolicy: policy,
      clock,
      sleep,
      signal: controller.signal,
    });
    expect(summary).toMatchObject({ done: 5, stopped: 'aborted', remaining: 1 });
    const [hung] = await queue.list({ status: 'pending' });
    expect(hung).toMatchObject({ operation: { projectDir: '/hung' }, verifyFirst: true, attempts: 0 });
  });
});

describe('scope and limits', () => {
  it('projectDir replays only that project; limit caps the entries started', async () => {
    for (const p of ['/a', '/b', '/a', '/a']) await queue.enqueue({ operation: pull(p) });
    const ran: string[] = [];
    const exec = { pull: async (op: Operation) => void ran.push(op.projectDir) };
    const first = await runQueue(queue, {
      executors: exec,
      retryPolicy: policy,
      clock,
      sleep,
      projectDir: '/a',
      limit: 2,
    });
    expect(ran).toEqual(['/a', '/a']);
    expect(first).toMatchObject({ done: 2, remaining: 1 });
    await runQueue(queue, { executors: exec, retryPolicy: policy, clock, sleep, projectDir: '/a' });
    expect(ran).toEqual(['/a', '/a', '/a']);
    expect((await queue.list({ status: 'pending' })).map((e) => e.operation.projectDir)).toEqual(['/b']);
  });
});

describe('stored errors are bounded', () => {
  it('a megabyte error page, a long cause chain and huge facts are stored clipped', async () => {
    await queue.enqueue({ operation: pull() });
    const page = `<html>${'x'.repeat(1_000_000)}</html>`;
    let error: Error = Object.assign(new Error('root'), { code: 'E'.repeat(10_000) });
    for (let i = 0; i < 20; i++) error = new Error(`${i}: ${page}`, { cause: error });
    Object.assign(error, { retryKind: 'permanent', holder: page, comment: page, status: 500 });
    await runQueue(queue, {
      executors: {
        pull: async () => {
          throw error;
        },
      },
      retryPolicy: policy,
      clock,
      sleep,
    });
    const [failed] = await queue.list();
    expect(failed!.status).toBe('failed');
    const stored = failed!.lastError!;
    expect(stored.chain).toHaveLength(5);
    for (const link of stored.chain) expect(link.message.length).toBeLessThanOrEqual(500);
    expect(stored.message.length).toBeLessThanOrEqual(500);
    expect(stored.message.endsWith('…')).toBe(true);
    expect(String(stored.facts!.holder).length).toBeLessThanOrEqual(200);
    expect(stored.facts!.status).toBe(500);
    expect(failed!.statusReason!.length).toBeLessThanOrEqual(500);
    expect(readFileSync(join(dir, 'queue.json')).length).toBeLessThan(10_000);
  });

  it('toStoredError never splits a character in two', () => {
    const stored = toStoredError(new Error(`${'a'.repeat(498)}😀😀`));
    expect(stored.message).toBe(`${'a'.repeat(498)}…`);
  });
});
