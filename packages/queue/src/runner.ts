import {
  type Classification,
  classify,
  computeDelay,
  isRetryable,
  type RetryBudget,
  type RetryEvent,
  type RetryPolicy,
  retry,
} from '@oxvcs/retry';
import { nextStep } from './plan.js';
import type { Queue } from './store.js';
import type { AttemptRecord, Operation, OperationKind, QueueEntry, StoredError } from './types.js';

/** What an executor is told besides the operation. */
export interface ExecutionContext {
  readonly entry: QueueEntry;
  /** True when a previous run was interrupted mid-flight: check the remote's real state before acting. */
  readonly verifyFirst: boolean;
  readonly signal: AbortSignal;
  readonly attempt: number;
}

/** Runs one kind of operation; resolves to facts worth keeping (e.g. the fencing token), or nothing. */
export type Executor<K extends OperationKind = OperationKind> = (
  operation: Extract<Operation, { kind: K }>,
  context: ExecutionContext,
) => Promise<Record<string, string | number | boolean> | undefined>;

/** Executors for the kinds a caller supports; an entry of a missing kind fails with a clear reason. */
export type Executors = { readonly [K in OperationKind]?: Executor<K> };

/** Progress of a run, for the UIs. */
export type RunEvent =
  | { readonly type: 'run-started'; readonly pending: number; readonly recovered: number }
  | { readonly type: 'entry-started'; readonly entry: QueueEntry }
  | { readonly type: 'entry-retry'; readonly entry: QueueEntry; readonly event: RetryEvent }
  | { readonly type: 'entry-done'; readonly entry: QueueEntry }
  | {
      readonly type: 'entry-deferred';
      readonly entry: QueueEntry;
      readonly until: string;
      readonly reason: string;
    }
  | { readonly type: 'entry-failed'; readonly entry: QueueEntry; readonly reason: string }
  | { readonly type: 'entry-expired'; readonly entry: QueueEntry }
  | { readonly type: 'entry-held'; readonly entry: QueueEntry; readonly reason: string }
  | {
      readonly type: 'run-stopped';
      readonly reason: 'offline' | 'aborted' | 'budget';
      readonly message: string;
    }
  | { readonly type: 'run-finished'; readonly summary: RunSummary };

/** Totals of a run. */
export interface RunSummary {
  readonly done: number;
  readonly failed: number;
  readonly deferred: number;
  readonly expired: number;
  readonly held: number;
  readonly remaining: number;
  readonly stopped?: 'offline' | 'aborted' | 'budget';
}

/** Options of {@link runQueue}. */
export interface RunOptions {
  readonly executors: Executors;
  /** Retry policy per attempt of an entry (in-process backoff), by kind. */
  readonly retryPolicy: RetryPolicy | ((kind: OperationKind) => RetryPolicy);
  /** Shared across the run so one replay cannot hammer a dead server. */
  readonly budget?: RetryBudget;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: RunEvent) => void;
  /** Ignore client-side backoff (a user asked to sync now); a server's Retry-After is still obeyed. */
  readonly force?: boolean;
  /** Stop after this many entries. @default unlimited */
  readonly limit?: number;
  /** Only entries of this project. */
  readonly projectDir?: string;
  /** Longest backoff stored on an entry between runs, in ms. @default 300000 */
  readonly maxDeferMs?: number;
  readonly clock?: { now(): number };
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  readonly historyLimit?: number;
}

/** Turns any thrown value into the stored form, with the whole cause chain. */
export function toStoredError(error: unknown, classification: Classification = classify(error)): StoredError {
  const chain: StoredError['chain'][number][] = [];
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current != null && !seen.has(current) && chain.length < 12) {
    seen.add(current);
    if (current instanceof Error || (typeof current === 'object' && 'message' in (current as object))) {
      const e = current as Error & { code?: unknown };
      chain.push({
        name: e.name ?? 'Error',
        message: String(e.message),
        ...(typeof e.code === 'string' ? { code: e.code } : {}),
      });
      const aggregate = (current as { errors?: unknown[] }).errors;
      current =
        (current as { cause?: unknown }).cause ?? (Array.isArray(aggregate) ? aggregate[0] : undefined);
    } else {
      chain.push({ name: typeof current, message: String(current) });
      break;
    }
  }
  const facts: Record<string, string | number | boolean> = {};
  if (error && typeof error === 'object') {
    for (const key of [
      'holder',
      'acquiredAt',
      'expiresAt',
      'comment',
      'fencingToken',
      'status',
      'brokenBy',
      'reason',
    ]) {
      const value = (error as Record<string, unknown>)[key];
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
        facts[key] = value;
    }
  }
  const first = chain[0];
  return {
    message: first?.message ?? String(error),
    kind: classification.kind,
    ...(first?.code ? { code: first.code } : classification.code ? { code: classification.code } : {}),
    chain,
    ...(Object.keys(facts).length > 0 ? { facts } : {}),
  };
}

const short = (e: QueueEntry) => e.id.slice(-8).toLowerCase();

/**
 * Replays ready entries one at a time in run order. Transient failures retry with backoff, then
 * the entry stays pending with a not-before and the run stops (the network is down: nothing else
 * will do better). Rate limits wait the server's Retry-After. Permanent, auth and conflict
 * failures dead-letter the entry with its reason. Expired entries expire. An abort leaves the
 * entry in flight pending, every other entry untouched.
 */
export async function runQueue(queue: Queue, options: RunOptions): Promise<RunSummary> {
  const clock = options.clock ?? Date;
  const emit = options.onEvent ?? (() => {});
  const signal = options.signal ?? new AbortController().signal;
  const historyLimit = options.historyLimit ?? 10;
  const maxDeferMs = options.maxDeferMs ?? 300_000;
  const random = options.random ?? Math.random;
  const policyFor = (kind: OperationKind) =>
    typeof options.retryPolicy === 'function' ? options.retryPolicy(kind) : options.retryPolicy;
  const counts = { done: 0, failed: 0, deferred: 0, expired: 0, held: 0 };
  const heldSeen = new Set<string>();
  const iso = (ms: number) => new Date(ms).toISOString();
  const record = (
    entry: QueueEntry,
    outcome: AttemptRecord['outcome'],
    started: number,
    message?: string,
  ) => {
    entry.history = [
      ...entry.history,
      { at: iso(clock.now()), outcome, durationMs: clock.now() - started, ...(message ? { message } : {}) },
    ].slice(-historyLimit);
  };

  const recovered = await queue.recover();
  const initial = (await queue.list({ status: 'pending' })).filter(
    (e) => !options.projectDir || e.operation.projectDir === options.projectDir,
  );
  emit({ type: 'run-started', pending: initial.length, recovered: recovered.length });
  let stopped: RunSummary['stopped'];
  let ran = 0;

  const finish = async (): Promise<RunSummary> => {
    const remaining = (await queue.list({ status: ['pending', 'running'] })).length;
    const summary: RunSummary = { ...counts, remaining, ...(stopped ? { stopped } : {}) };
    emit({ type: 'run-finished', summary });
    return summary;
  };

  while (!signal.aborted && (options.limit === undefined || ran < options.limit)) {
    // Claim the next entry under the file lock, so two runners never take the same one.
    const claim = await queue.transact((entries) => {
      const scoped = options.projectDir
        ? entries.filter((e) => e.operation.projectDir === options.projectDir)
        : entries;
      const step = nextStep(scoped, clock.now(), { force: options.force ?? false });
      if (step.type === 'idle') return { step, entry: undefined };
      const entry = entries.find((e) => e.id === step.entry.id)!;
      if (step.type === 'expire') {
        entry.status = 'expired';
        entry.statusReason = `Expired at ${entry.expiresAt} before it could run.`;
        entry.completedAt = iso(clock.now());
        return { step, entry: { ...entry } };
      }
      entry.status = 'running';
      entry.attempts += 1;
      entry.runner = { pid: process.pid, since: iso(clock.now()) };
      delete entry.heldBy;
      return { step, entry: { ...entry } };
    });

    if (claim.step.type === 'idle') {
      for (const held of claim.step.held) {
        if (heldSeen.has(held.id)) continue;
        heldSeen.add(held.id);
        counts.held += 1;
        const reason = 'waiting: the lock acquisition it depends on failed; retry or remove that entry first';
        emit({ type: 'entry-held', entry: held, reason });
      }
      break;
    }
    const entry = claim.entry!;
    if (claim.step.type === 'expire') {
      counts.expired += 1;
      emit({ type: 'entry-expired', entry });
      continue;
    }

    ran += 1;
    emit({ type: 'entry-started', entry });
    const started = clock.now();
    const executor = options.executors[entry.operation.kind] as Executor | undefined;
    let outcome:
      | { type: 'done'; result?: Record<string, string | number | boolean> }
      | { type: 'error'; error: unknown; classification: Classification };
    try {
      if (!executor) {
        throw Object.assign(
          new Error(`No executor for "${entry.operation.kind}" operations in this program.`),
          {
            retryKind: 'permanent',
          },
        );
      }
      let attempt = 0;
      const result = await retry(
        () =>
          executor(entry.operation, {
            entry,
            verifyFirst: entry.verifyFirst === true || attempt > 1,
            signal,
            attempt: ++attempt,
          }),
        policyFor(entry.operation.kind),
        {
          signal,
          ...(options.budget ? { budget: options.budget } : {}),
          ...(options.sleep ? { sleep: options.sleep } : {}),
          clock,
          random,
          onEvent: (event) => emit({ type: 'entry-retry', entry, event }),
        },
      );
      outcome = { type: 'done', ...(result ? { result } : {}) };
    } catch (error) {
      outcome = {
        type: 'error',
        error,
        classification: signal.aborted ? { kind: 'cancelled', reason: 'Cancelled.' } : classify(error),
      };
    }

    const final = await queue.transact((entries) => {
      const stored = entries.find((e) => e.id === entry.id);
      if (!stored) return undefined; // removed by the user while it ran
      delete stored.runner;
      if (outcome.type === 'done') {
        stored.status = 'done';
        stored.completedAt = iso(clock.now());
        delete stored.verifyFirst;
        delete stored.statusReason;
        delete stored.notBefore;
        delete stored.notBeforeReason;
        if (outcome.result) stored.result = outcome.result;
        record(stored, 'done', started);
        return { ...stored };
      }
      const { error, classification } = outcome;
      stored.lastError = toStoredError(error, classification);
      if (classification.kind === 'cancelled') {
        stored.status = 'pending';
        stored.attempts = Math.max(0, stored.attempts - 1);
        stored.verifyFirst = true;
        record(stored, 'cancelled', started, 'Cancelled by the user.');
        return { ...stored };
      }
      if (isRetryable(classification.kind) && stored.attempts < stored.maxAttempts) {
        const serverWait = classification.retryAfterMs;
        const wait =
          serverWait ??
          Math.min(
            maxDeferMs,
            computeDelay(
              { maxRetries: 0, initialDelayMs: 2000, maxDelayMs: maxDeferMs },
              stored.attempts,
              random,
            ),
          );
        stored.status = 'pending';
        stored.notBefore = iso(clock.now() + wait);
        stored.notBeforeReason = serverWait === undefined ? 'backoff' : 'retry-after';
        stored.statusReason = `Will retry: ${classification.reason}`;
        stored.verifyFirst = true;
        record(stored, 'retry-later', started, classification.reason);
        return { ...stored };
      }
      stored.status = 'failed';
      stored.completedAt = iso(clock.now());
      stored.statusReason = isRetryable(classification.kind)
        ? `Gave up after ${stored.attempts} attempts: ${classification.reason}`
        : classification.reason;
      record(stored, 'failed', started, classification.reason);
      return { ...stored };
    });
    if (!final) continue;
    if (final.status === 'done') {
      counts.done += 1;
      emit({ type: 'entry-done', entry: final });
    } else if (final.status === 'failed') {
      counts.failed += 1;
      emit({ type: 'entry-failed', entry: final, reason: final.statusReason ?? 'failed' });
    } else if (outcome.type === 'error' && outcome.classification.kind === 'cancelled') {
      stopped = 'aborted';
      emit({
        type: 'run-stopped',
        reason: 'aborted',
        message: `Sync cancelled; ${short(final)} stays queued.`,
      });
      break;
    } else {
      counts.deferred += 1;
      emit({
        type: 'entry-deferred',
        entry: final,
        until: final.notBefore ?? '',
        reason: final.statusReason ?? '',
      });
      if (final.notBeforeReason === 'backoff') {
        const budgetOut = options.budget && options.budget.available <= 0;
        stopped = budgetOut ? 'budget' : 'offline';
        emit({
          type: 'run-stopped',
          reason: stopped,
          message: budgetOut
            ? 'The retry budget for this sync is spent; the rest stays queued.'
            : 'The remote is unreachable; the rest stays queued for the next sync.',
        });
        break;
      }
    }
  }
  if (signal.aborted && !stopped) {
    stopped = 'aborted';
    emit({
      type: 'run-stopped',
      reason: 'aborted',
      message: 'Sync cancelled; everything not yet done stays queued.',
    });
  }
  return finish();
}
