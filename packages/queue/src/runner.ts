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
import { planRun, shortId } from './plan.js';
import { type Queue, recoverInterrupted } from './store.js';
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
      /**
       * A remote did not answer (a network error or a server failing after the in-process retries):
       * its entries stay queued for the next sync; other remotes go on.
       */
      readonly type: 'remote-down';
      readonly remote: string;
      readonly entry: QueueEntry;
      readonly message: string;
    }
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
  /** Pending and running entries left in the run's scope (`projectDir`, or every project). */
  readonly remaining: number;
  /**
   * Why entries were left: `offline` when a remote was judged down (its entries wait, others ran),
   * `budget` when the run's retry budget was spent, `aborted` when the signal fired.
   */
  readonly stopped?: 'offline' | 'aborted' | 'budget';
  /** The remotes judged down in this run (see {@link RunOptions.remoteOf}). */
  readonly unreachable?: readonly string[];
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
  /** Start at most this many entries. @default unlimited */
  readonly limit?: number;
  /** Only entries of this project. */
  readonly projectDir?: string;
  /**
   * Entries run at once. Each lane (a project and remote) runs one entry at a time in the order
   * they were enqueued; different lanes run side by side. @default 8
   */
  readonly concurrency?: number;
  /**
   * The remote an operation talks to, for judging remotes down: one entry probes a remote until it
   * has answered once in this run, and a remote that does not answer defers its own entries only.
   * @default the origin of `operation.remote` (scheme, host and port), or the whole string when it
   * has none
   */
  readonly remoteOf?: (operation: Operation) => string;
  /** Longest backoff stored on an entry between runs, in ms. @default 300000 */
  readonly maxDeferMs?: number;
  readonly clock?: { now(): number };
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  readonly historyLimit?: number;
}

/** Longest text kept from an error: its message, each link of its chain, a status reason. */
export const STORED_TEXT_LIMIT = 500;
/** Links of an error's cause chain kept. */
export const STORED_CHAIN_LIMIT = 5;
/** Longest text kept of one fact (holder, comment…), and facts or result fields kept at most. */
const FACT_TEXT_LIMIT = 200;
const FIELD_LIMIT = 20;
const NAME_LIMIT = 100;

/**
 * `text` cut to at most `max` characters, an ellipsis marking the cut (a server's error page can
 * be megabytes; the queue file stores what a user needs to read, not the page).
 */
export function clip(text: string, max: number = STORED_TEXT_LIMIT): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1; // never half a surrogate pair
  return `${text.slice(0, end)}…`;
}

type Fields = Record<string, string | number | boolean>;

/** At most {@link FIELD_LIMIT} scalar fields, strings clipped. */
function boundFields(fields: Readonly<Record<string, unknown>>, textLimit: number): Fields {
  const out: Fields = {};
  let n = 0;
  for (const [key, value] of Object.entries(fields)) {
    if (n >= FIELD_LIMIT) break;
    if (typeof value === 'string') out[clip(key, NAME_LIMIT)] = clip(value, textLimit);
    else if (typeof value === 'number' || typeof value === 'boolean') out[clip(key, NAME_LIMIT)] = value;
    else continue;
    n += 1;
  }
  return out;
}

/**
 * Turns any thrown value into the stored form, bounded: the first {@link STORED_CHAIN_LIMIT} links
 * of the cause chain, each message clipped to {@link STORED_TEXT_LIMIT} characters, and the facts a
 * user may need (holder, expiresAt…) clipped too.
 */
export function toStoredError(error: unknown, classification: Classification = classify(error)): StoredError {
  const chain: StoredError['chain'][number][] = [];
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current != null && !seen.has(current) && chain.length < STORED_CHAIN_LIMIT) {
    seen.add(current);
    if (current instanceof Error || (typeof current === 'object' && 'message' in (current as object))) {
      const e = current as Error & { code?: unknown };
      chain.push({
        name: clip(String(e.name ?? 'Error'), NAME_LIMIT),
        message: clip(String(e.message)),
        ...(typeof e.code === 'string' ? { code: clip(e.code, NAME_LIMIT) } : {}),
      });
      const aggregate = (current as { errors?: unknown[] }).errors;
      current =
        (current as { cause?: unknown }).cause ?? (Array.isArray(aggregate) ? aggregate[0] : undefined);
    } else {
      chain.push({ name: typeof current, message: clip(String(current)) });
      break;
    }
  }
  const facts: Record<string, unknown> = {};
  if (error && typeof error === 'object') {
    for (const key of FACT_KEYS) facts[key] = (error as Record<string, unknown>)[key];
  }
  const bounded = boundFields(facts, FACT_TEXT_LIMIT);
  const first = chain[0];
  const code = first?.code ?? (classification.code ? clip(classification.code, NAME_LIMIT) : undefined);
  return {
    message: first?.message ?? clip(String(error)),
    kind: classification.kind,
    ...(code ? { code } : {}),
    chain,
    ...(Object.keys(bounded).length > 0 ? { facts: bounded } : {}),
  };
}

const FACT_KEYS = [
  'holder',
  'acquiredAt',
  'expiresAt',
  'comment',
  'fencingToken',
  'status',
  'brokenBy',
  'reason',
] as const;

const remoteOrigin = (operation: Operation): string => {
  try {
    const { origin } = new URL(operation.remote);
    return origin === 'null' ? operation.remote : origin;
  } catch {
    return operation.remote;
  }
};

type Outcome =
  | { readonly type: 'done'; readonly result?: Fields }
  | { readonly type: 'error'; readonly error: unknown; readonly classification: Classification };

/** An entry whose executor has settled, waiting to be recorded. */
interface Settled {
  readonly entry: QueueEntry;
  readonly remote: string;
  readonly started: number;
  readonly outcome: Outcome;
}

/**
 * Replays ready entries. Each lane (project and remote) runs in the order its entries were
 * enqueued, one at a time; up to `concurrency` lanes run side by side, and priority orders only the
 * lanes relative to each other. Transient failures retry with backoff in process; then the entry
 * stays pending with a not-before and its remote is judged down: that remote's entries wait for the
 * next sync, other remotes go on. Until a remote has answered once, one entry at a time probes it.
 * Rate limits wait the server's Retry-After. Permanent, auth and conflict failures dead-letter the
 * entry with its reason. Expired entries expire. An abort leaves the entries in flight pending
 * (verify first), every other entry untouched. Claims and results are written together: one
 * transaction records every result that came in meanwhile and claims the next entries.
 */
export async function runQueue(queue: Queue, options: RunOptions): Promise<RunSummary> {
  const clock = options.clock ?? Date;
  const emit = options.onEvent ?? (() => {});
  const signal = options.signal ?? new AbortController().signal;
  const historyLimit = options.historyLimit ?? 10;
  const maxDeferMs = options.maxDeferMs ?? 300_000;
  const random = options.random ?? Math.random;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 8));
  const remotes = new Map<string, string>();
  const remoteOf = (operation: Operation): string => {
    let remote = remotes.get(operation.remote);
    if (remote === undefined) {
      remote = (options.remoteOf ?? remoteOrigin)(operation);
      remotes.set(operation.remote, remote);
    }
    return remote;
  };
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
    const at = clock.now();
    entry.history = [
      ...entry.history,
      { at: iso(at), outcome, durationMs: at - started, ...(message ? { message: clip(message) } : {}) },
    ].slice(-historyLimit);
  };

  /** Writes one settled outcome into its stored entry; undefined when the user removed it meanwhile. */
  const settle = (stored: QueueEntry | undefined, { outcome, started }: Settled): QueueEntry | undefined => {
    if (!stored) return undefined;
    delete stored.runner;
    if (outcome.type === 'done') {
      stored.status = 'done';
      stored.completedAt = iso(clock.now());
      delete stored.verifyFirst;
      delete stored.statusReason;
      delete stored.notBefore;
      delete stored.notBeforeReason;
      if (outcome.result) stored.result = boundFields(outcome.result, STORED_TEXT_LIMIT);
      record(stored, 'done', started);
      return { ...stored };
    }
    const { error, classification } = outcome;
    stored.lastError = toStoredError(error, classification);
    const reason = clip(classification.reason);
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
      stored.statusReason = clip(`Will retry: ${classification.reason}`);
      stored.verifyFirst = true;
      record(stored, 'retry-later', started, reason);
      return { ...stored };
    }
    stored.status = 'failed';
    stored.completedAt = iso(clock.now());
    stored.statusReason = isRetryable(classification.kind)
      ? clip(`Gave up after ${stored.attempts} attempts: ${classification.reason}`)
      : reason;
    record(stored, 'failed', started, reason);
    return { ...stored };
  };

  const execute = async (entry: QueueEntry): Promise<Outcome> => {
    const executor = options.executors[entry.operation.kind] as Executor | undefined;
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
      return { type: 'done', ...(result ? { result } : {}) };
    } catch (error) {
      return {
        type: 'error',
        error,
        classification: signal.aborted ? { kind: 'cancelled', reason: 'Cancelled.' } : classify(error),
      };
    }
  };

  let stopped: RunSummary['stopped'];
  let started = 0;
  /** Started and not yet recorded (running, or settled and waiting to be written): id → remote. */
  const inFlight = new Map<string, string>();
  const settled: Settled[] = [];
  let wake: (() => void) | undefined;
  /** Remotes that answered in this run, and those judged down (their entries wait). */
  const up = new Set<string>();
  const down = new Set<string>();
  const cancelled: string[] = [];
  // True when the last plan had nothing more to start: plan again only once something settled.
  let exhausted = false;
  let first = true;
  let remaining = 0;
  const inScope = (e: QueueEntry) =>
    options.projectDir === undefined || e.operation.projectDir === options.projectDir;

  const launch = (entry: QueueEntry, remote: string) => {
    const begun = clock.now();
    inFlight.set(entry.id, remote);
    emit({ type: 'entry-started', entry });
    const done = (outcome: Outcome) => {
      settled.push({ entry, remote, started: begun, outcome });
      const resume = wake;
      wake = undefined;
      resume?.();
    };
    execute(entry).then(done, (error: unknown) =>
      done({ type: 'error', error, classification: classify(error) }),
    );
  };

  for (;;) {
    // Let every executor that has finished meanwhile report (timers, sockets) before the next
    // write, so one transaction records them all: a group commit instead of a write per entry.
    if (inFlight.size > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const batch = settled.splice(0);
    const halted = signal.aborted || stopped !== undefined;
    const left = options.limit === undefined ? concurrency : options.limit - started;
    // The batch is recorded before anything is claimed: its slots are free again.
    const free = halted ? 0 : Math.min(concurrency - (inFlight.size - batch.length), left);
    if (!first && batch.length === 0 && (free <= 0 || exhausted)) {
      if (inFlight.size === 0) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      continue;
    }
    const now = clock.now();
    const step = await queue.transact((entries) => {
      // The first transaction also recovers entries left running by a process that died.
      const recovered = first ? recoverInterrupted(entries, iso(now), historyLimit).length : 0;
      const pendingAtStart = first ? entries.filter((e) => e.status === 'pending' && inScope(e)).length : 0;
      const byId = new Map<string, QueueEntry>();
      for (const e of entries) byId.set(e.id, e);
      const nowUp = new Set(up);
      const nowDown = new Set(down);
      let budgetSpent = false;
      const recorded = batch.map((item) => {
        const final = settle(byId.get(item.entry.id), item);
        const { outcome } = item;
        if (outcome.type === 'done') nowUp.add(item.remote);
        else if (outcome.classification.kind === 'transient') {
          if (final?.notBeforeReason === 'backoff' && options.budget && options.budget.available <= 0) {
            budgetSpent = true;
          } else nowDown.add(item.remote);
        } else if (outcome.classification.kind !== 'cancelled') nowUp.add(item.remote);
        return { item, final };
      });
      const start = { recovered, pendingAtStart };
      const unfinished = () =>
        entries.filter((e) => (e.status === 'pending' || e.status === 'running') && inScope(e)).length;
      if (free <= 0 || budgetSpent) {
        return {
          ...start,
          recorded,
          nowUp,
          nowDown,
          budgetSpent,
          expired: [],
          claimed: [],
          held: [],
          more: false,
          remaining: unfinished(),
        };
      }
      const plan = planRun(entries, now, {
        force: options.force ?? false,
        skip: (e) => !inScope(e) || nowDown.has(remoteOf(e.operation)),
      });
      const expired = plan.expire.map((e) => {
        e.status = 'expired';
        e.statusReason = `Expired at ${e.expiresAt} before it could run.`;
        e.completedAt = iso(now);
        return { ...e };
      });
      const probing = new Map<string, number>();
      const recording = new Set(batch.map((item) => item.entry.id));
      for (const [id, remote] of inFlight) {
        if (!recording.has(id)) probing.set(remote, (probing.get(remote) ?? 0) + 1);
      }
      const claimed: Array<{ entry: QueueEntry; remote: string }> = [];
      for (const e of plan.ready) {
        if (claimed.length >= free) break;
        const remote = remoteOf(e.operation);
        // Until a remote has answered in this run, one entry at a time probes it: a remote that is
        // down costs one entry's retries, not one per lane.
        if (!nowUp.has(remote) && (probing.get(remote) ?? 0) > 0) continue;
        probing.set(remote, (probing.get(remote) ?? 0) + 1);
        e.status = 'running';
        e.attempts += 1;
        e.runner = { pid: process.pid, since: iso(now) };
        delete e.heldBy;
        claimed.push({ entry: { ...e }, remote });
      }
      return {
        ...start,
        recorded,
        nowUp,
        nowDown,
        budgetSpent,
        expired,
        claimed,
        held: plan.held,
        more: claimed.length === free,
        remaining: unfinished(),
      };
    });
    if (first) {
      first = false;
      emit({ type: 'run-started', pending: step.pendingAtStart, recovered: step.recovered });
    }
    remaining = step.remaining;

    for (const remote of step.nowUp) up.add(remote);
    for (const { item, final } of step.recorded) {
      inFlight.delete(item.entry.id);
      if (!final) continue;
      if (final.status === 'done') {
        counts.done += 1;
        emit({ type: 'entry-done', entry: final });
      } else if (final.status === 'failed') {
        counts.failed += 1;
        emit({ type: 'entry-failed', entry: final, reason: final.statusReason ?? 'failed' });
      } else if (item.outcome.type === 'error' && item.outcome.classification.kind === 'cancelled') {
        cancelled.push(shortId(final.id));
      } else {
        counts.deferred += 1;
        emit({
          type: 'entry-deferred',
          entry: final,
          until: final.notBefore ?? '',
          reason: final.statusReason ?? '',
        });
      }
      if (step.nowDown.has(item.remote) && !down.has(item.remote)) {
        down.add(item.remote);
        emit({
          type: 'remote-down',
          remote: item.remote,
          entry: final,
          message: `${item.remote} is unreachable; its entries stay queued for the next sync, others go on.`,
        });
      }
    }
    if (step.budgetSpent && stopped === undefined) {
      stopped = 'budget';
      emit({
        type: 'run-stopped',
        reason: 'budget',
        message: 'The retry budget for this sync is spent; the rest stays queued.',
      });
    }
    for (const entry of step.expired) {
      counts.expired += 1;
      emit({ type: 'entry-expired', entry });
    }
    for (const entry of step.held) {
      if (heldSeen.has(entry.id)) continue;
      heldSeen.add(entry.id);
      counts.held += 1;
      const reason = 'waiting: the lock acquisition it depends on failed; retry or remove that entry first';
      emit({ type: 'entry-held', entry, reason });
    }
    for (const { entry, remote } of step.claimed) {
      started += 1;
      launch(entry, remote);
    }
    exhausted = !step.more;
  }

  if (signal.aborted && stopped !== 'budget') {
    stopped = 'aborted';
    const left = cancelled.length;
    emit({
      type: 'run-stopped',
      reason: 'aborted',
      message:
        left === 0
          ? 'Sync cancelled; everything not yet done stays queued.'
          : `Sync cancelled; ${cancelled.join(', ')} ${left === 1 ? 'stays' : 'stay'} queued.`,
    });
  } else if (stopped === undefined && down.size > 0) stopped = 'offline';
  const summary: RunSummary = {
    ...counts,
    remaining,
    ...(stopped ? { stopped } : {}),
    ...(down.size > 0 ? { unreachable: [...down] } : {}),
  };
  emit({ type: 'run-finished', summary });
  return summary;
}
