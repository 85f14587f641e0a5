import { setTimeout as delay } from 'node:timers/promises';
import { computeDelay, type RetryPolicy } from './backoff.js';
import type { CircuitBreaker } from './breaker.js';
import type { RetryBudget } from './budget.js';
import { type Classification, classify as defaultClassify, isRetryable } from './classify.js';
import { RetryError } from './errors.js';

/** Progress of a {@link retry} call; each carries a ready-to-print `message` in the original's wording. */
export type RetryEvent =
  | {
      readonly type: 'attempt-failed';
      readonly attempt: number;
      readonly maxAttempts: number;
      readonly error: unknown;
      readonly classification: Classification;
      readonly message: string;
    }
  | {
      readonly type: 'retry-scheduled';
      readonly attempt: number;
      readonly delayMs: number;
      /** True when the delay came from the server (Retry-After), which is never jittered. */
      readonly serverDelay: boolean;
      /** Retries not yet made, counting the one just scheduled (`maxRetries` after the first failure). */
      readonly remaining: number;
      readonly maxRetries: number;
      readonly message: string;
    }
  | {
      readonly type: 'succeeded';
      readonly attempts: number;
      readonly elapsedMs: number;
      readonly message: string;
    }
  | {
      readonly type: 'gave-up';
      readonly attempts: number;
      readonly elapsedMs: number;
      readonly error: unknown;
      readonly classification: Classification;
      readonly reason: string;
      readonly message: string;
    };

/** Injectable effects and hooks of {@link retry}. */
export interface RetryOptions {
  /** Cancels the current attempt's signal and any backoff wait at once. */
  readonly signal?: AbortSignal;
  /** Receives progress events. */
  readonly onEvent?: (event: RetryEvent) => void;
  /** Clock. @default Date */
  readonly clock?: { now(): number };
  /** Waits `ms`, rejecting when `signal` aborts. @default node:timers/promises setTimeout */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Classifier. @default classify */
  readonly classify?: (error: unknown) => Classification;
  /** Shared retry budget; when it is empty retrying stops. */
  readonly budget?: RetryBudget;
  /**
   * Circuit breaker. An open breaker fails fast with `RetryError` code `CIRCUIT_OPEN` (nothing is
   * sent); a failure that opens it ends retrying at once, without waiting, with that last error.
   */
  readonly breaker?: CircuitBreaker;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  delay(ms, undefined, signal ? { signal } : {}).then(() => undefined);

function cancelled(signal: AbortSignal): RetryError {
  return new RetryError('CANCELLED', 'The operation was cancelled before it finished.', {
    cause: signal.reason,
  });
}

/**
 * Runs `fn` until it succeeds, retrying transient and rate-limited failures with exponential
 * backoff and jitter. A server-given delay (Retry-After) is waited exactly, never jittered; one
 * longer than `maxServerDelayMs` ends retrying. Permanent, conflict and auth failures are thrown
 * at once, unchanged; after the last attempt the last error is thrown unchanged, so callers can
 * `classify` it. Cancellation ends any wait at once and throws `RetryError` code `CANCELLED`.
 */
export async function retry<T>(
  fn: (attempt: number, signal: AbortSignal) => Promise<T>,
  policy: RetryPolicy,
  options: RetryOptions = {},
): Promise<T> {
  const clock = options.clock ?? Date;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const classifyError = options.classify ?? ((e: unknown) => defaultClassify(e, clock.now()));
  const emit = options.onEvent ?? (() => {});
  const signal = options.signal ?? new AbortController().signal;
  const maxAttempts = Math.max(0, Math.floor(policy.maxRetries)) + 1;
  const maxServerDelay = policy.maxServerDelayMs ?? 60_000;
  const started = clock.now();
  let previousDelay: number | undefined;

  const giveUp = (attempt: number, error: unknown, classification: Classification, reason: string): never => {
    const elapsedMs = clock.now() - started;
    emit({
      type: 'gave-up',
      attempts: attempt,
      elapsedMs,
      error,
      classification,
      reason,
      message: `Operation failed after ${attempt} attempt(s) in ${seconds(elapsedMs)}: ${reason}`,
    });
    throw error;
  };

  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw cancelled(signal);
    if (options.breaker && !options.breaker.canRequest()) {
      throw new RetryError(
        'CIRCUIT_OPEN',
        `The remote failed repeatedly and is being rested, so ${attempt === 1 ? 'the request' : `attempt ${attempt}`} was not sent; try again shortly.`,
      );
    }
    try {
      const value = await fn(attempt, signal);
      options.breaker?.recordSuccess();
      options.budget?.recordSuccess();
      const elapsedMs = clock.now() - started;
      emit({
        type: 'succeeded',
        attempts: attempt,
        elapsedMs,
        message: `Operation succeeded after ${attempt} attempt(s) in ${seconds(elapsedMs)}`,
      });
      return value;
    } catch (error) {
      if (signal.aborted) throw cancelled(signal);
      const classification = classifyError(error);
      if (classification.kind === 'cancelled') throw error;
      if (isRetryable(classification.kind)) options.breaker?.recordFailure();
      emit({
        type: 'attempt-failed',
        attempt,
        maxAttempts,
        error,
        classification,
        message: `Attempt ${attempt} of ${maxAttempts} failed: ${classification.reason}`,
      });
      if (!isRetryable(classification.kind)) {
        return giveUp(attempt, error, classification, `not retryable (${classification.kind})`);
      }
      if (attempt >= maxAttempts) return giveUp(attempt, error, classification, 'no retries left');
      // The breaker just opened: a further attempt would not be sent, so waiting for it is pointless.
      if (options.breaker?.state === 'open') {
        const failures = options.breaker.toJSON().consecutiveFailures;
        return giveUp(
          attempt,
          error,
          classification,
          `the remote failed ${failures} times in a row and is being rested (circuit breaker open)`,
        );
      }

      const serverDelay = classification.retryAfterMs;
      if (serverDelay !== undefined && serverDelay > maxServerDelay) {
        return giveUp(
          attempt,
          error,
          classification,
          `the server asked to wait ${seconds(serverDelay)}, longer than the ${seconds(maxServerDelay)} cap`,
        );
      }
      const wait = serverDelay ?? computeDelay(policy, attempt, random, previousDelay);
      previousDelay = wait;
      if (policy.deadlineMs !== undefined && clock.now() + wait - started > policy.deadlineMs) {
        return giveUp(
          attempt,
          error,
          classification,
          `the ${seconds(policy.deadlineMs)} deadline would pass`,
        );
      }
      if (
        options.budget &&
        !options.budget.tryAcquire(classification.code === 'TIMEOUT' || classification.code === 'ETIMEDOUT')
      ) {
        return giveUp(attempt, error, classification, 'the retry budget is spent');
      }
      const remaining = maxAttempts - attempt;
      emit({
        type: 'retry-scheduled',
        attempt,
        delayMs: wait,
        serverDelay: serverDelay !== undefined,
        remaining,
        maxRetries: maxAttempts - 1,
        message: `Retrying in ${seconds(wait)} (attempt ${attempt + 1} of ${maxAttempts})`,
      });
      try {
        await sleep(wait, signal);
      } catch {
        throw cancelled(signal);
      }
    }
  }
}
