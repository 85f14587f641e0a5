import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRetryBudget } from '@oxvcs/retry';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ExecutionContext, type RunEvent, runQueue, toStoredError } from './runner.js';
import { createQueue, type Queue } from './store.js';
import { type BookingEntry, type BookingOp, BOOKING_RULES as rules } from './test-support/rules.js';

let dir: string;
let queue: Queue<BookingOp>;
let now: number;
const clock = { now: () => now };
const sleeps: number[] = [];
const sleep = async (ms: number) => {
  sleeps.push(ms);
  now += ms;
};
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'queue-runner-'));
  now = Date.parse('2026-11-24T10:00:00Z');
  sleeps.length = 0;
  queue = createQueue({ file: join(dir, 'queue.json'), rules, clock });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const server = 'http://localhost:3000/ns/r';
const reserve = (p = '/a'): BookingOp => ({
  kind: 'reserve',
  project: p,
  server,
  seat: 'A1',
  holdMs: 1000,
  guest: 'g',
});
const send = (p = '/a'): BookingOp => ({
  kind: 'send',
  project: p,
  server,
  to: 'ada@example.com',
  seat: 'A1',
});
const fetchList = (p = '/a', list = 'menu'): BookingOp => ({ kind: 'fetch', project: p, server, list });
const policy = { maxRetries: 2, initialDelayMs: 100, maxDelayMs: 1000 };
const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

describe('runQueue', () => {
  it('runs each lane in the order enqueued, priority ordering only lanes, and marks entries done with their result', async () => {
    await queue.enqueue({ operation: fetchList('/b') });
    await queue.enqueue({ operation: send('/a') });
    await queue.enqueue({ operation: reserve('/a') });
    await queue.enqueue({ operation: reserve('/c') });
    const order: string[] = [];
    const mark = (kind: string) => async (op: BookingOp) => {
      order.push(`${kind} ${op.project}`);
      return kind === 'reserve' ? { ticket: 7 } : undefined;
    };
    const summary = await runQueue(queue, {
      executors: { reserve: mark('reserve'), send: mark('send'), fetch: mark('fetch') },
      retryPolicy: policy,
      clock,
      sleep,
      concurrency: 1,
    });
    expect(order).toEqual(['reserve /c', 'fetch /b', 'send /a', 'reserve /a']);
    expect(summary).toMatchObject({ done: 4, failed: 0, remaining: 0 });
    const [reserved] = await queue.list({ kind: 'reserve', scope: '/a' });
    expect(reserved).toMatchObject({ status: 'done', result: { ticket: 7 }, attempts: 1 });
    expect(reserved!.reason).toBeUndefined();
    expect(reserved!.history).toHaveLength(1);
  });

  it('offline send then cancel: the send is replayed first, under the ticket it was queued with', async () => {
    // The server's reservation: granted with ticket 7 before going offline.
    let ticket: number | undefined = 7;
    await queue.enqueue({
      operation: { kind: 'send', project: '/a', server, to: 'ada@example.com', seat: 'A1', ticket: 7 },
    });
    await queue.enqueue({
      operation: { kind: 'cancel', project: '/a', server, seat: 'A1', guest: 'g', ticket: 7 },
    });
    const summary = await runQueue(queue, {
      executors: {
        send: async (op) => {
          if (op.ticket !== ticket) throw Object.assign(new Error('stale ticket'), { retryKind: 'conflict' });
          return undefined;
        },
        cancel: async () => {
          ticket = undefined;
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
      rules,
      clock,
      onEvent: (e) => {
        if (e.type === 'write-verified') writes.push(e.type);
      },
    });
    await counted.transact((entries) => {
      for (let i = 0; i < 20; i++) entries.push(entry(fetchList(`/p${i % 4}`), i));
    });
    writes.length = 0;
    const summary = await runQueue(counted, {
      executors: { fetch: async () => undefined },
      retryPolicy: policy,
      clock,
      sleep,
      concurrency: 1,
    });
    expect(summary.done).toBe(20);
    // One claim, then at most one write per operation: its result with the next claims (a clean
    // start writes nothing). Claims run a window ahead of the executors, so often fewer.
    expect(writes.length).toBeGreaterThanOrEqual(10);
    expect(writes.length).toBeLessThanOrEqual(21);
  });

  it('transient failures retry with backoff, then the entry stays pending and the run stops (offline)', async () => {
    await queue.enqueue({ operation: reserve('/a') });
    await queue.enqueue({ operation: fetchList('/b') });
    const events: RunEvent<BookingOp>[] = [];
    let calls = 0;
    const summary = await runQueue(queue, {
      executors: {
        reserve: async () => {
          calls++;
          throw new Error('could not reach the server', { cause: refused() });
        },
        fetch: async () => undefined,
      },
      retryPolicy: policy,
      clock,
      sleep,
      random: () => 0.5,
      onEvent: (e) => events.push(e),
    });
    expect(calls).toBe(3);
    expect(summary).toMatchObject({ stopped: 'offline', done: 0, deferred: 1, remaining: 2 });
    const [pending] = await queue.list({ kind: 'reserve' });
    expect(pending).toMatchObject({
      status: 'pending',
      attempts: 1,
      verifyFirst: true,
      notBeforeReason: 'backoff',
      reason: { code: 'will-retry', facts: { kind: 'transient' } },
    });
    expect(String(pending!.reason!.facts!.reason)).toMatch(/ECONNREFUSED/);
    expect(pending!.lastError).toMatchObject({ kind: 'transient', message: 'could not reach the server' });
    expect(pending!.lastError!.chain.map((l) => l.code ?? l.name)).toEqual(['Error', 'ECONNREFUSED']);
    expect(
      events
        .filter((e) => e.type === 'entry-retry')
        .map((e) => (e as { event: { type: string } }).event.type),
    ).toContain('retry-scheduled');
    const deferred = events.find((e) => e.type === 'entry-deferred');
    expect(deferred).toMatchObject({ entry: { id: pending!.id }, until: pending!.notBefore });
    expect((await queue.list({ kind: 'fetch' }))[0]!.status).toBe('pending');
  });

  it('permanent, auth and conflict failures dead-letter with the reason; others proceed', async () => {
    await queue.enqueue({ operation: reserve('/a') });
    await queue.enqueue({ operation: send('/a') });
    await queue.enqueue({ operation: fetchList('/b') });
    const events: RunEvent<BookingOp>[] = [];
    const summary = await runQueue(queue, {
      executors: {
        reserve: async () => {
          throw Object.assign(new Error('Seat A1 taken by bob@example.com since 09:00'), {
            retryKind: 'conflict',
            guest: 'bob@example.com',
          });
        },
        send: async () => undefined,
        fetch: async () => undefined,
      },
      retryPolicy: policy,
      clock,
      sleep,
      onEvent: (e) => events.push(e),
    });
    expect(summary).toMatchObject({ failed: 1, done: 1, held: 1 });
    const [failed] = await queue.list({ status: 'failed' });
    expect(failed).toMatchObject({
      reason: {
        code: 'failed',
        facts: { kind: 'conflict', reason: 'Seat A1 taken by bob@example.com since 09:00' },
      },
      lastError: { facts: { guest: 'bob@example.com' } },
    });
    expect(events.find((e) => e.type === 'entry-failed')).toMatchObject({
      entry: { id: failed!.id, reason: { code: 'failed' } },
    });
    const [held] = await queue.list({ kind: 'send' });
    expect(held!.status).toBe('pending');
    expect(events.filter((e) => e.type === 'entry-held')).toEqual([
      expect.objectContaining({ entry: expect.objectContaining({ id: held!.id }), by: failed!.id }),
    ]);
  });

  it('rate-limited: waits exactly the server’s Retry-After', async () => {
    await queue.enqueue({ operation: fetchList() });
    let calls = 0;
    await runQueue(queue, {
      executors: {
        fetch: async () => {
          if (++calls === 1)
            throw Object.assign(new Error('busy'), {
              response: { status: 429, headers: new Headers({ 'retry-after': '5' }) },
            });
          return undefined;
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
    await queue.enqueue({ operation: fetchList() });
    const summary = await runQueue(queue, {
      executors: {
        fetch: async () => {
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
    const [pending] = await queue.list();
    expect(pending!.status).toBe('pending');
    expect(pending!.notBeforeReason).toBe('retry-after');
    expect(Date.parse(pending!.notBefore!) - now).toBe(24 * 3_600_000);
  });

  it('gives up after maxAttempts replays', async () => {
    await queue.enqueue({ operation: fetchList(), maxAttempts: 2 });
    const exec = {
      fetch: async () => {
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
    const [failed] = await queue.list();
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: 2,
      reason: { code: 'gave-up', facts: { attempts: 2, kind: 'transient' } },
    });
    expect(String(failed!.reason!.facts!.reason)).toMatch(/ECONNREFUSED/);
  });

  it('an entry past its expiry expires instead of running', async () => {
    await queue.enqueue({ operation: reserve(), ttlMs: 60_000 });
    const expiresAt = new Date(now + 60_000).toISOString();
    now += 120_000;
    let ran = false;
    const summary = await runQueue(queue, {
      executors: {
        reserve: async () => {
          ran = true;
          return undefined;
        },
      },
      retryPolicy: policy,
      clock,
      sleep,
    });
    expect(ran).toBe(false);
    expect(summary.expired).toBe(1);
    expect((await queue.list())[0]).toMatchObject({
      status: 'expired',
      reason: { code: 'expired', facts: { expiresAt } },
    });
  });

  it('abort mid-operation leaves the entry pending (verify first) and others untouched', async () => {
    await queue.enqueue({ operation: reserve('/a') });
    await queue.enqueue({ operation: fetchList('/b') });
    const controller = new AbortController();
    const events: RunEvent<BookingOp>[] = [];
    const summary = await runQueue(queue, {
      executors: {
        reserve: (_op, ctx) =>
          new Promise((_, reject) => {
            ctx.signal.addEventListener('abort', () =>
              reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
            );
            setTimeout(() => controller.abort(), 10);
          }),
        fetch: async () => undefined,
      },
      retryPolicy: policy,
      signal: controller.signal,
      onEvent: (e) => events.push(e),
    });
    expect(summary.stopped).toBe('aborted');
    const entries = await queue.list();
    expect(entries.map((e) => [e.operation.kind, e.status])).toEqual([
      ['reserve', 'pending'],
      ['fetch', 'pending'],
    ]);
    expect(entries[0]).toMatchObject({ attempts: 0, verifyFirst: true });
    expect(entries[0]!.runner).toBeUndefined();
    expect(events.filter((e) => e.type === 'run-stopped')).toEqual([
      { type: 'run-stopped', reason: 'aborted', putBack: [entries[0]!.id] },
    ]);
  });

  it('a recovered entry is replayed with verifyFirst', async () => {
    await queue.enqueue({ operation: reserve() });
    await queue.transact((entries) => {
      entries[0]!.status = 'running';
      entries[0]!.runner = { pid: 999_999_999, since: new Date(now).toISOString() };
    });
    const seen: boolean[] = [];
    await runQueue(queue, {
      executors: {
        reserve: async (_op, ctx) => {
          seen.push(ctx.verifyFirst);
          return undefined;
        },
      },
      retryPolicy: policy,
      clock,
      sleep,
    });
    expect(seen).toEqual([true]);
  });

  it('an executor is told the entry’s idempotency key and the attempt, the same across retries', async () => {
    const { entry: queued } = await queue.enqueue({ operation: fetchList(), idempotencyKey: 'menu-once' });
    const seen: Array<[string, number, boolean]> = [];
    await runQueue(queue, {
      executors: {
        fetch: async (_op, ctx) => {
          seen.push([ctx.idempotencyKey, ctx.attempt, ctx.verifyFirst]);
          if (ctx.attempt === 1) throw refused();
          return undefined;
        },
      },
      retryPolicy: policy,
      clock,
      sleep,
    });
    expect(queued.idempotencyKey).toBe('menu-once');
    expect(seen).toEqual([
      ['menu-once', 1, false],
      ['menu-once', 2, true],
    ]);
  });

  it('a spent retry budget stops the replay', async () => {
    for (const p of ['/a', '/b', '/c']) await queue.enqueue({ operation: fetchList(p) });
    const budget = createRetryBudget({ capacity: 5, retryCost: 5 });
    let calls = 0;
    const events: RunEvent<BookingOp>[] = [];
    const summary = await runQueue(queue, {
      executors: {
        fetch: async () => {
          calls++;
          throw refused();
        },
      },
      retryPolicy: { maxRetries: 5, initialDelayMs: 1 },
      budget,
      clock,
      sleep,
      onEvent: (e) => events.push(e),
    });
    expect(calls).toBe(2);
    expect(summary.stopped).toBe('budget');
    expect(events.filter((e) => e.type === 'run-stopped')).toEqual([
      { type: 'run-stopped', reason: 'budget', putBack: [] },
    ]);
  });
});

/** A pending entry as the store would keep it (for seeding many at once). */
function entry(operation: BookingOp, i: number): BookingEntry {
  return {
    id: `01J${String(i).padStart(23, '0')}`,
    idempotencyKey: `seed:${i}`,
    operation,
    priority: rules.priority!(operation),
    enqueuedAt: new Date(now + i).toISOString(),
    attempts: 0,
    maxAttempts: 10,
    status: 'pending',
    history: [],
  };
}

describe('parallel replay', () => {
  const seatOp = (i: number, projects: number, origin = 'http://localhost:3000'): BookingOp => {
    const base = {
      project: `/p${i % projects}`,
      server: `${origin}/ns/p${i % projects}`,
      seat: `s${i % projects}`,
      guest: 'g',
    };
    return i % 3 === 2 ? { kind: 'cancel', ...base } : { kind: 'reserve', ...base, holdMs: 60_000 };
  };
  const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  it('1,000 seat operations across 20 projects at 5 ms latency: 8 at once, each project in order (throughput: pnpm bench)', async () => {
    const real = createQueue({ file: join(dir, 'parallel.json'), rules });
    await real.transact((entries) => {
      for (let i = 0; i < 1000; i++) entries.push(entry(seatOp(i, 20), i));
    });
    const started: Record<string, string[]> = {};
    let inFlight = 0;
    let peak = 0;
    const exec = async (op: BookingOp, ctx: ExecutionContext) => {
      started[op.project] = [...(started[op.project] ?? []), ctx.idempotencyKey];
      peak = Math.max(peak, ++inFlight);
      await realSleep(5);
      inFlight -= 1;
      return undefined;
    };
    const summary = await runQueue(real, {
      executors: { reserve: exec, cancel: exec },
      retryPolicy: policy,
    });
    expect(summary).toMatchObject({ done: 1000, failed: 0, remaining: 0 });
    expect(peak).toBe(8);
    for (let p = 0; p < 20; p++) {
      const expected = Array.from(
        { length: 50 },
        (_, j) => entry(seatOp(p + 20 * j, 20), p + 20 * j).idempotencyKey,
      );
      expect(started[`/p${p}`]).toEqual(expected);
    }
  });

  it('operations with the same exclusive key never run at once, even in different lanes; other keys run beside them', async () => {
    // 8 projects on 4 servers: two lanes share each server (as two folders share a repository's lock table).
    for (let i = 0; i < 48; i++) {
      const p = i % 8;
      await queue.enqueue({
        operation: {
          kind: 'reserve',
          project: `/p${p}`,
          server: `http://localhost:3000/ns/s${p % 4}`,
          seat: `s${p}`,
          guest: 'g',
          holdMs: 60_000,
        },
      });
    }
    const running = new Map<string, number>();
    let peakPerKey = 0;
    let peak = 0;
    let now = 0;
    const exec = async (op: BookingOp) => {
      const n = (running.get(op.server) ?? 0) + 1;
      running.set(op.server, n);
      peakPerKey = Math.max(peakPerKey, n);
      peak = Math.max(peak, ++now);
      await realSleep(2);
      running.set(op.server, running.get(op.server)! - 1);
      now -= 1;
      return undefined;
    };
    const summary = await runQueue(queue, {
      executors: { reserve: exec },
      retryPolicy: policy,
      concurrency: 8,
      exclusive: (op) => op.server,
    });
    expect(summary).toMatchObject({ done: 48, failed: 0, remaining: 0 });
    expect(peakPerKey).toBe(1);
    expect(peak).toBe(4);
  });

  it('a server that does not answer defers only its own entries; other servers replay meanwhile', async () => {
    for (let i = 0; i < 30; i++) {
      const down = i % 3 === 0;
      await queue.enqueue({
        operation: seatOp(i, 6, down ? 'http://down.example:3000' : 'http://up.example:3000'),
      });
    }
    const tried: string[] = [];
    const events: RunEvent<BookingOp>[] = [];
    const exec = async (op: BookingOp) => {
      if (op.server.startsWith('http://down.example')) {
        tried.push(op.project);
        throw new Error('could not reach the server', { cause: refused() });
      }
      return undefined;
    };
    const summary = await runQueue(queue, {
      executors: { reserve: exec, cancel: exec },
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
    // One entry probed the server that was down (with its in-process retries), not one per project.
    expect(tried).toEqual(['/p0', '/p0', '/p0']);
    expect(events.filter((e) => e.type === 'target-down')).toEqual([
      expect.objectContaining({
        target: 'http://down.example:3000',
        entry: expect.objectContaining({ operation: expect.objectContaining({ project: '/p0' }) }),
      }),
    ]);
    const left = await queue.list({ status: 'pending' });
    expect(new Set(left.map((e) => e.operation.server.slice(0, 18)))).toEqual(
      new Set(['http://down.exampl']),
    );
  });

  it('groupOf decides which entries a server that does not answer holds back', async () => {
    // Two paths on one host, judged as two servers: one down does not defer the other.
    for (const [i, path] of ['down', 'up', 'down', 'up'].entries()) {
      await queue.enqueue({
        operation: { ...fetchList(`/${path}`, `list${i}`), server: `http://shared:1/${path}` },
      });
    }
    const summary = await runQueue(queue, {
      executors: {
        fetch: async (op) => {
          if (op.server.endsWith('/down')) throw refused();
          return undefined;
        },
      },
      retryPolicy: { maxRetries: 0 },
      groupOf: (op) => op.server,
      clock,
      sleep,
    });
    expect(summary).toMatchObject({
      done: 2,
      deferred: 1,
      remaining: 2,
      unreachable: ['http://shared:1/down'],
    });
  });

  it('a hung server does not hold back another: the other finishes while it hangs', async () => {
    await queue.enqueue({ operation: fetchList('/hung') });
    for (let i = 0; i < 5; i++)
      await queue.enqueue({ operation: { ...fetchList(`/ok${i}`), server: 'http://ok:1/n/r' } });
    const controller = new AbortController();
    let finished = 0;
    const summary = await runQueue(queue, {
      executors: {
        fetch: (op, ctx) =>
          op.server === server
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
    expect(hung).toMatchObject({ operation: { project: '/hung' }, verifyFirst: true, attempts: 0 });
  });
});

describe('scope and limits', () => {
  it('scope replays only that project; limit caps the entries started', async () => {
    const projects = ['/a', '/b', '/a', '/a'];
    for (const [i, p] of projects.entries()) await queue.enqueue({ operation: fetchList(p, `list${i}`) });
    const ran: string[] = [];
    const exec = {
      fetch: async (op: BookingOp) => {
        ran.push(op.project);
        return undefined;
      },
    };
    const first = await runQueue(queue, {
      executors: exec,
      retryPolicy: policy,
      clock,
      sleep,
      scope: '/a',
      limit: 2,
    });
    expect(ran).toEqual(['/a', '/a']);
    expect(first).toMatchObject({ done: 2, remaining: 1 });
    await runQueue(queue, { executors: exec, retryPolicy: policy, clock, sleep, scope: '/a' });
    expect(ran).toEqual(['/a', '/a', '/a']);
    expect((await queue.list({ status: 'pending' })).map((e) => e.operation.project)).toEqual(['/b']);
  });
});

describe('stored errors are bounded', () => {
  it('a megabyte error page, a long cause chain and huge facts are stored clipped', async () => {
    await queue.enqueue({ operation: fetchList() });
    const page = `<html>${'x'.repeat(1_000_000)}</html>`;
    let error: Error = Object.assign(new Error('root'), { code: 'E'.repeat(10_000) });
    for (let i = 0; i < 20; i++) error = new Error(`${i}: ${page}`, { cause: error });
    Object.assign(error, { retryKind: 'permanent', guest: page, note: page, status: 500 });
    await runQueue(queue, {
      executors: {
        fetch: async () => {
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
    expect(String(stored.facts!.guest).length).toBeLessThanOrEqual(200);
    expect(String(stored.facts!.note).length).toBeLessThanOrEqual(200);
    expect(stored.facts!.status).toBe(500);
    expect(failed!.reason!.code).toBe('failed');
    expect(String(failed!.reason!.facts!.reason).length).toBeLessThanOrEqual(500);
    expect(readFileSync(join(dir, 'queue.json')).length).toBeLessThan(10_000);
  });

  it('toStoredError never splits a character in two', () => {
    const stored = toStoredError(new Error(`${'a'.repeat(498)}😀😀`));
    expect(stored.message).toBe(`${'a'.repeat(498)}…`);
  });
});

describe('claims ahead of the executors', () => {
  it('a slow write does not stall the executors: the next claimed entry starts as soon as a slot frees, and an abort gives back what never started', async () => {
    const file = join(dir, 'ahead.json');
    const log: string[] = [];
    const q = createQueue({
      file,
      rules,
      clock,
      onEvent: (e) => {
        if (e.type === 'write-verified') log.push('write');
      },
    });
    await q.transact((entries) => {
      for (let i = 0; i < 6; i++) entries.push(entry(fetchList(`/lane${i}`), i));
    });
    const controller = new AbortController();
    const starts: string[] = [];
    let release: (() => void) | undefined;
    const summary = runQueue(q, {
      executors: {
        fetch: (op, ctx) =>
          new Promise((resolve, reject) => {
            starts.push(op.project);
            log.push(op.project);
            if (op.project === '/lane0' || op.project === '/lane1') resolve(undefined);
            else {
              release = () => resolve(undefined);
              ctx.signal.addEventListener('abort', () => reject(new Error('aborted')));
            }
          }),
      },
      retryPolicy: policy,
      clock,
      sleep,
      concurrency: 1,
      signal: controller.signal,
    });
    // The first probes the server alone; then two are claimed at once (a window of 2 for one
    // executor), and the second starts the moment the first ends, with no write between.
    await vi.waitFor(() => expect(starts).toEqual(['/lane0', '/lane1', '/lane2']));
    expect(log.slice(log.indexOf('/lane1'), log.indexOf('/lane2') + 1)).toEqual(['/lane1', '/lane2']);
    const running = (await q.list({ status: 'running' })).map((e) => e.operation.project);
    expect(running).toContain('/lane2');
    controller.abort();
    release?.();
    expect(await summary).toMatchObject({ stopped: 'aborted' });
    // Nothing is left running, and no entry that never started counts an attempt.
    const after = await q.list();
    expect(after.filter((e) => e.status === 'running')).toEqual([]);
    for (const e of after.filter((x) => !starts.includes(x.operation.project))) expect(e.attempts).toBe(0);
  });

  it('nothing claimed ahead starts after its server failed, nor once it expired while waiting', async () => {
    const q = createQueue({ file: join(dir, 'ahead2.json'), rules, clock });
    await q.transact((entries) => {
      for (let i = 0; i < 4; i++) entries.push(entry(fetchList(`/p${i}`), i));
      // Worth running for 100 ms only.
      entries[3]!.expiresAt = new Date(now + 100).toISOString();
    });
    const ran: string[] = [];
    const down = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const summary = await runQueue(q, {
      executors: {
        fetch: async (op) => {
          ran.push(op.project);
          if (op.project === '/p1') throw down;
          return undefined;
        },
      },
      retryPolicy: { maxRetries: 0 },
      clock,
      sleep,
      concurrency: 1,
    });
    // /p0 probes and answers; /p1 and /p2 are claimed together; /p1 finds the server down, so
    // /p2 never starts, and goes back as it was.
    expect(ran).toEqual(['/p0', '/p1']);
    expect(summary).toMatchObject({ done: 1, deferred: 1, stopped: 'offline' });
    const byProject = new Map((await q.list()).map((e) => [e.operation.project, e]));
    expect(byProject.get('/p2')).toMatchObject({ status: 'pending', attempts: 0 });
    expect(byProject.get('/p2')!.runner).toBeUndefined();

    // The expiry: /p3 waits behind a slow /p2 and expires meanwhile; it never runs.
    const q2 = createQueue({ file: join(dir, 'ahead3.json'), rules, clock });
    await q2.transact((entries) => {
      for (let i = 0; i < 3; i++) entries.push(entry(fetchList(`/q${i}`), i));
      entries[2]!.expiresAt = new Date(now + 100).toISOString();
    });
    const ran2: string[] = [];
    await runQueue(q2, {
      executors: {
        fetch: async (op) => {
          ran2.push(op.project);
          if (op.project === '/q1') now += 200;
          return undefined;
        },
      },
      retryPolicy: policy,
      clock,
      sleep,
      concurrency: 1,
    });
    expect(ran2).toEqual(['/q0', '/q1']);
    expect((await q2.list()).find((e) => e.operation.project === '/q2')).toMatchObject({
      status: 'expired',
      attempts: 0,
    });
  });
});
