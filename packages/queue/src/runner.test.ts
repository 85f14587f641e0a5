import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRetryBudget } from '@oxvcs/retry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunEvent, runQueue } from './runner.js';
import { createQueue, type Queue } from './store.js';
import type { Operation } from './types.js';

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
  it('runs in priority order, oldest first, and marks entries done with their result', async () => {
    await queue.enqueue({ operation: pull('/b') });
    await queue.enqueue({ operation: push('/a') });
    await queue.enqueue({ operation: acq('/a') });
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
    });
    expect(order).toEqual(['acquire /a', 'pull /b', 'push /a']);
    expect(summary).toMatchObject({ done: 3, failed: 0, remaining: 0 });
    const [acquire] = await queue.list({ kind: 'acquire-lock' });
    expect(acquire).toMatchObject({ status: 'done', result: { fencingToken: 7 }, attempts: 1 });
    expect(acquire!.history).toHaveLength(1);
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
