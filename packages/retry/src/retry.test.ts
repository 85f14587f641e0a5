import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeDelay, LOCK_POLICY, type RetryPolicy } from './backoff.js';
import { createCircuitBreaker } from './breaker.js';
import { createRetryBudget } from './budget.js';
import { RetryError } from './errors.js';
import { type RetryEvent, retry } from './retry.js';

/** A virtual clock whose sleep advances time instantly and records each wait. */
function fakeTime(start = 1_700_000_000_000) {
  let now = start;
  const waits: number[] = [];
  return {
    clock: { now: () => now },
    sleep: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
    waits,
  };
}

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
const httpError = (status: number, headers: Record<string, string> = {}) =>
  Object.assign(new Error(`Request failed with status code ${status}`), {
    response: { status, headers: new Headers(headers) },
  });

describe('retry', () => {
  it('prints the original wording while retrying, then succeeds', async () => {
    const t = fakeTime();
    const events: RetryEvent[] = [];
    let calls = 0;
    const value = await retry(
      async (attempt) => {
        calls++;
        if (attempt < 3) throw refused();
        return 'ok';
      },
      { ...LOCK_POLICY, jitter: 'none' },
      { clock: t.clock, sleep: t.sleep, onEvent: (e) => events.push(e) },
    );
    expect(value).toBe('ok');
    expect(calls).toBe(3);
    expect(events.map((e) => e.message)).toEqual([
      'Attempt 1 of 6 failed: Network error ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1',
      'Retrying in 1.0s (attempt 2 of 6)',
      'Attempt 2 of 6 failed: Network error ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1',
      'Retrying in 2.0s (attempt 3 of 6)',
      'Operation succeeded after 3 attempt(s) in 3.0s',
    ]);
  });

  it('throws a permanent error at once, unchanged, with a give-up event', async () => {
    const t = fakeTime();
    const events: RetryEvent[] = [];
    const original = httpError(404);
    await expect(
      retry(
        async () => {
          throw original;
        },
        LOCK_POLICY,
        { ...t, onEvent: (e) => events.push(e) },
      ),
    ).rejects.toBe(original);
    expect(t.waits).toEqual([]);
    expect(events.at(-1)).toMatchObject({
      type: 'gave-up',
      attempts: 1,
      reason: 'not retryable (permanent)',
    });
  });

  it('gives up after maxRetries + 1 attempts and throws the last cause', async () => {
    const t = fakeTime();
    let calls = 0;
    const error = await retry(
      async () => {
        calls++;
        throw refused();
      },
      { maxRetries: 3, initialDelayMs: 100 },
      { ...t, random: () => 0.5 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(4);
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('waits exactly the Retry-After a 429 asked for, without jitter', async () => {
    const t = fakeTime();
    let calls = 0;
    await retry(
      async () => {
        if (++calls === 1) throw httpError(429, { 'retry-after': '5' });
        return 1;
      },
      { maxRetries: 2, initialDelayMs: 10 },
      { ...t, random: () => 0.01 },
    );
    expect(t.waits).toEqual([5000]);
  });

  it('honours an HTTP-date Retry-After', async () => {
    const t = fakeTime(Date.parse('2026-11-24T10:00:00Z'));
    let calls = 0;
    await retry(
      async () => {
        if (++calls === 1) throw httpError(503, { 'retry-after': 'Tue, 24 Nov 2026 10:00:07 GMT' });
        return 1;
      },
      { maxRetries: 2 },
      t,
    );
    expect(t.waits).toEqual([7000]);
  });

  it('stops rather than retry sooner than a server asked when its delay passes the cap', async () => {
    const t = fakeTime();
    const events: RetryEvent[] = [];
    await expect(
      retry(
        async () => {
          throw httpError(429, { 'retry-after': '600' });
        },
        { maxRetries: 5, maxServerDelayMs: 30_000 },
        { ...t, onEvent: (e) => events.push(e) },
      ),
    ).rejects.toMatchObject({ response: { status: 429 } });
    expect(t.waits).toEqual([]);
    expect(events.at(-1)).toMatchObject({ type: 'gave-up' });
    expect((events.at(-1) as { reason: string }).reason).toContain('600.0s');
  });

  it('ends a backoff wait at once on abort and never retries a cancellation', async () => {
    const controller = new AbortController();
    let calls = 0;
    const started = Date.now();
    const pending = retry(
      async () => {
        calls++;
        throw refused();
      },
      { maxRetries: 5, initialDelayMs: 10_000, jitter: 'none' },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error('user pressed Ctrl-C')), 30);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryError);
    expect((error as RetryError).code).toBe('CANCELLED');
    expect(calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('does not retry an error whose cause chain says AbortError', async () => {
    let calls = 0;
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    await expect(
      retry(
        async () => {
          calls++;
          throw new Error('request failed', { cause: abort });
        },
        { maxRetries: 3 },
        fakeTime(),
      ),
    ).rejects.toThrow('request failed');
    expect(calls).toBe(1);
  });

  it('stops when the shared retry budget is spent', async () => {
    const budget = createRetryBudget({ capacity: 10, retryCost: 5 });
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw refused();
        },
        { maxRetries: 10 },
        { ...fakeTime(), budget },
      ),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(calls).toBe(3);
    expect(budget.available).toBe(0);
  });

  it('counts attempts consistently: the last retry announced is the last attempt made', async () => {
    const t = fakeTime();
    const events: RetryEvent[] = [];
    await retry(
      async () => {
        throw refused();
      },
      { maxRetries: 2, initialDelayMs: 10, jitter: 'none' },
      { ...t, onEvent: (e) => events.push(e) },
    ).catch(() => {});
    expect(events.map((e) => e.message.replace(/: Network error.*/, ''))).toEqual([
      'Attempt 1 of 3 failed',
      'Retrying in 0.0s (attempt 2 of 3)',
      'Attempt 2 of 3 failed',
      'Retrying in 0.0s (attempt 3 of 3)',
      'Attempt 3 of 3 failed',
      'Operation failed after 3 attempt(s) in 0.0s: no retries left',
    ]);
    expect(events.filter((e) => e.type === 'retry-scheduled').map((e) => e.remaining)).toEqual([2, 1]);
  });

  it('stops at once, without the pointless last wait, when a failure opens the breaker; throws that failure', async () => {
    const t = fakeTime();
    const events: RetryEvent[] = [];
    const breaker = createCircuitBreaker({ failureThreshold: 3, halfOpenAfterMs: 30_000, clock: t.clock });
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw refused();
        },
        { maxRetries: 5, initialDelayMs: 1000, jitter: 'none' },
        { ...t, breaker, onEvent: (e) => events.push(e) },
      ),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(calls).toBe(3);
    expect(t.waits).toEqual([1000, 2000]);
    expect(events.at(-1)).toMatchObject({
      type: 'gave-up',
      attempts: 3,
      reason: 'the remote failed 3 times in a row and is being rested (circuit breaker open)',
    });
    expect(events.map((e) => e.message).join('\n')).not.toContain('not sent');
  });

  it('fails fast with CIRCUIT_OPEN once the breaker opened', async () => {
    const t = fakeTime();
    const breaker = createCircuitBreaker({ failureThreshold: 2, halfOpenAfterMs: 1000, clock: t.clock });
    await retry(
      async () => {
        throw refused();
      },
      { maxRetries: 5 },
      { ...t, breaker },
    ).catch(() => {});
    expect(breaker.state).toBe('open');
    await expect(retry(async () => 1, { maxRetries: 0 }, { ...t, breaker })).rejects.toMatchObject({
      code: 'CIRCUIT_OPEN',
      message:
        'The remote failed repeatedly and is being rested, so the request was not sent; try again shortly.',
    });
  });
});

describe('properties', () => {
  const policyArb = fc.record({
    maxRetries: fc.integer({ min: 0, max: 8 }),
    initialDelayMs: fc.integer({ min: 1, max: 5000 }),
    maxDelayMs: fc.integer({ min: 1, max: 60_000 }),
    factor: fc.double({ min: 1, max: 4, noNaN: true }),
    jitter: fc.constantFrom('full' as const, 'equal' as const, 'decorrelated' as const, 'none' as const),
  });

  it('no computed delay exceeds the cap or goes negative', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0, max: 0.9999, noNaN: true }),
        (p, n, r) => {
          const d = computeDelay(p, n, () => r, p.initialDelayMs * 2);
          return d >= 0 && d <= p.maxDelayMs;
        },
      ),
    );
  });

  it('attempts never exceed retries + 1 and waits never exceed the cap', async () => {
    await fc.assert(
      fc.asyncProperty(policyArb, fc.integer({ min: 0, max: 20 }), async (p, failures) => {
        const t = fakeTime();
        let calls = 0;
        await retry(
          async () => {
            if (++calls <= failures) throw refused();
            return 1;
          },
          p,
          { ...t, random: () => 0.999 },
        ).catch(() => {});
        expect(calls).toBeLessThanOrEqual(p.maxRetries + 1);
        expect(calls).toBe(Math.min(failures + 1, p.maxRetries + 1));
        for (const w of t.waits) expect(w).toBeLessThanOrEqual(p.maxDelayMs);
      }),
    );
  });

  it('total time never passes the deadline', async () => {
    await fc.assert(
      fc.asyncProperty(policyArb, fc.integer({ min: 0, max: 20_000 }), async (p, deadlineMs) => {
        const t = fakeTime();
        const policy: RetryPolicy = { ...p, deadlineMs };
        await retry(
          async () => {
            t.advance(7);
            throw refused();
          },
          policy,
          { ...t, random: () => 0.999 },
        ).catch(() => {});
        const waited = t.waits.reduce((a, b) => a + b, 0);
        expect(waited).toBeLessThanOrEqual(deadlineMs);
      }),
    );
  });

  it('Retry-After is obeyed exactly whatever the jitter', async () => {
    await fc.assert(
      fc.asyncProperty(
        policyArb,
        fc.integer({ min: 0, max: 60 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        async (p, s, r) => {
          const t = fakeTime();
          let calls = 0;
          await retry(
            async () => {
              if (++calls === 1) throw httpError(429, { 'retry-after': String(s) });
              return 1;
            },
            { ...p, maxRetries: Math.max(1, p.maxRetries) },
            { ...t, random: () => r },
          );
          expect(t.waits).toEqual([s * 1000]);
        },
      ),
    );
  });
});

describe('circuit breaker', () => {
  it('opens on consecutive failures, half-opens after its wait, and survives a restart', () => {
    const t = fakeTime();
    const breaker = createCircuitBreaker({ failureThreshold: 3, halfOpenAfterMs: 10_000, clock: t.clock });
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.canRequest()).toBe(true);
    breaker.recordFailure();
    expect(breaker.canRequest()).toBe(false);

    const saved = JSON.parse(JSON.stringify(breaker.toJSON()));
    const restored = createCircuitBreaker({
      failureThreshold: 3,
      halfOpenAfterMs: 10_000,
      clock: t.clock,
      initialState: saved,
    });
    expect(restored.state).toBe('open');
    t.advance(10_000);
    expect(restored.state).toBe('half-open');
    expect(restored.canRequest()).toBe(true);
    expect(restored.canRequest()).toBe(false);
    restored.recordFailure();
    expect(restored.state).toBe('open');
    t.advance(10_000);
    expect(restored.canRequest()).toBe(true);
    restored.recordSuccess();
    expect(restored.toJSON()).toEqual({ state: 'closed', consecutiveFailures: 0 });
  });
});
