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
import { planRun } from './plan.js';
import { isRunnerHere, runnerHere } from './runner-identity.js';
import { type Queue, recoverInterrupted } from './store.js';
import type { AttemptRecord, Facts, Operation, QueueEntry, QueueRules, StoredError } from './types.js';

/** What an executor is told besides the operation. */
export interface ExecutionContext {
  /** The entry's idempotency key: stable across attempts, crashes and replays. */
  readonly idempotencyKey: string;
  /** True after an interrupted or failed attempt: check the remote's real state before acting. */
  readonly verifyFirst: boolean;
  readonly signal: AbortSignal;
  /** 1 for the first attempt of this run. */
  readonly attempt: number;
}

/** Runs one operation; resolves to facts worth keeping (e.g. the fencing token), or nothing. */
export type Executor<Op extends Operation = Operation> = (
  operation: Op,
  context: ExecutionContext,
) => Promise<Facts | undefined>;

/** Executors for the kinds a caller supports; an entry of a missing kind fails with a clear reason. */
export type Executors<Op extends Operation = Operation> = {
  readonly [K in Op['kind']]?: Executor<Extract<Op, { kind: K }>>;
};

/** Progress of a run, for the UIs. */
export type RunEvent<Op extends Operation = Operation> =
  | { readonly type: 'run-started'; readonly pending: number; readonly recovered: number }
  | { readonly type: 'entry-started'; readonly entry: QueueEntry<Op> }
  | { readonly type: 'entry-retry'; readonly entry: QueueEntry<Op>; readonly event: RetryEvent }
  | { readonly type: 'entry-done'; readonly entry: QueueEntry<Op> }
  /** Pending again with a not-before (`until`); `entry.reason` says why. */
  | { readonly type: 'entry-deferred'; readonly entry: QueueEntry<Op>; readonly until: string }
  /** Dead-lettered; `entry.reason` says why. */
  | { readonly type: 'entry-failed'; readonly entry: QueueEntry<Op> }
  | { readonly type: 'entry-expired'; readonly entry: QueueEntry<Op> }
  /** Held back by the failed prerequisite `by` (an entry id). */
  | { readonly type: 'entry-held'; readonly entry: QueueEntry<Op>; readonly by: string }
  | {
      /**
       * A target did not answer (a network error or a server failing after the in-process
       * retries): its entries stay queued for the next run; other targets go on.
       */
      readonly type: 'target-down';
      readonly target: string;
      readonly entry: QueueEntry<Op>;
    }
  | {
      readonly type: 'run-stopped';
      readonly reason: 'aborted' | 'budget';
      /** Entries that were running when the run was aborted, put back to pending. */
      readonly putBack: readonly string[];
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
  /** The targets judged down in this run (see {@link RunOptions.groupOf}). */
  readonly unreachable?: readonly string[];
}

/** Options of {@link runQueue}. */
export interface RunOptions<Op extends Operation = Operation> {
  readonly executors: Executors<Op>;
  /** Retry policy per attempt of an entry (in-process backoff), by operation. */
  readonly retryPolicy: RetryPolicy | ((operation: Op) => RetryPolicy);
  /** Shared across the run so one replay cannot hammer a dead server. */
  readonly budget?: RetryBudget;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: RunEvent<Op>) => void;
  /** Ignore client-side backoff (a user asked to sync now); a server's Retry-After is still obeyed. */
  readonly force?: boolean;
  /** Start at most this many entries. @default unlimited */
  readonly limit?: number;
  /** Only entries of this scope ({@link QueueRules.scope}). */
  readonly scope?: string;
  /**
   * Entries run at once. Each lane (a scope and target) runs one entry at a time in the order
   * they were enqueued; different lanes run side by side. @default 8
   */
  readonly concurrency?: number;
  /**
   * The server an operation talks to, for judging targets down: one entry probes a server until
   * it has answered once in this run, and a server that does not answer defers its own entries.
   * @default the origin (scheme, host and port) of {@link QueueRules.target}, or the whole target
   * when it has none
   */
  readonly groupOf?: (operation: Op) => string;
  /**
   * Operations with the same key never run at the same time, even in different lanes (e.g. lock
   * operations on one repository, which share its lock table and would only race each other);
   * undefined: no such limit for that operation.
   */
  readonly exclusive?: (operation: Op) => string | undefined;
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
export function toStoredError(
  error: unknown,
  classification: Classification = classify(error),
  facts: Readonly<Record<string, unknown>> = {},
): StoredError {
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

const originOf = (target: string): string => {
  try {
    const { origin } = new URL(target);
    return origin === 'null' ? target : origin;
  } catch {
    return target;
  }
};

type Outcome =
  | { readonly type: 'done'; readonly result?: Fields }
  | { readonly type: 'error'; readonly error: unknown; readonly classification: Classification };

/** An entry whose executor has settled, waiting to be recorded. */
interface Settled<Op extends Operation> {
  readonly entry: QueueEntry<Op>;
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
export async function runQueue<Op extends Operation>(
  queue: Queue<Op>,
  options: RunOptions<Op>,
): Promise<RunSummary> {
  const rules: QueueRules<Op> = queue.rules;
  const clock = options.clock ?? Date;
  const emit = options.onEvent ?? (() => {});
  const signal = options.signal ?? new AbortController().signal;
  const historyLimit = options.historyLimit ?? 10;
  const maxDeferMs = options.maxDeferMs ?? 300_000;
  const random = options.random ?? Math.random;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 8));
  const groups = new Map<string, string>();
  const remoteOf = (operation: Op): string => {
    if (options.groupOf) return options.groupOf(operation);
    const target = rules.target(operation);
    let group = groups.get(target);
    if (group === undefined) {
      group = originOf(target);
      groups.set(target, group);
    }
    return group;
  };
  const policyFor = (operation: Op) =>
    typeof options.retryPolicy === 'function' ? options.retryPolicy(operation) : options.retryPolicy;
  const counts = { done: 0, failed: 0, deferred: 0, expired: 0, held: 0 };
  const heldSeen = new Set<string>();
  const iso = (ms: number) => new Date(ms).toISOString();
  const record = (
    entry: QueueEntry<Op>,
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
  const settle = (
    stored: QueueEntry<Op> | undefined,
    { outcome, started }: Settled<Op>,
  ): QueueEntry<Op> | undefined => {
    if (!stored) return undefined;
    delete stored.runner;
    if (outcome.type === 'done') {
      stored.status = 'done';
      stored.completedAt = iso(clock.now());
      delete stored.verifyFirst;
      delete stored.reason;
      delete stored.notBefore;
      delete stored.notBeforeReason;
      if (outcome.result) stored.result = boundFields(outcome.result, STORED_TEXT_LIMIT);
      record(stored, 'done', started);
      return { ...stored };
    }
    const { error, classification } = outcome;
    stored.lastError = toStoredError(error, classification, rules.errorFacts?.(error, stored.operation));
    const reason = clip(classification.reason);
    const verdict = { kind: classification.kind, reason };
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
      stored.reason = { code: 'will-retry', facts: verdict };
      stored.verifyFirst = true;
      record(stored, 'retry-later', started, reason);
      return { ...stored };
    }
    stored.status = 'failed';
    stored.completedAt = iso(clock.now());
    stored.reason =
      rules.failureReason?.(error, stored.operation) ??
      (isRetryable(classification.kind)
        ? { code: 'gave-up', facts: { ...verdict, attempts: stored.attempts } }
        : { code: 'failed', facts: verdict });
    record(stored, 'failed', started, reason);
    return { ...stored };
  };

  const execute = async (entry: QueueEntry<Op>): Promise<Outcome> => {
    const executors = options.executors as Readonly<Record<string, Executor<Op> | undefined>>;
    const executor = executors[entry.operation.kind];
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
            idempotencyKey: entry.idempotencyKey,
            // `attempt` still counts the calls before this one: any of them failed.
            verifyFirst: entry.verifyFirst === true || attempt > 0,
            signal,
            attempt: ++attempt,
          }),
        policyFor(entry.operation),
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
  /**
   * Claimed and not yet recorded: waiting in the backlog, running, settled and waiting to be
   * written, or given back unstarted and waiting to be written: id → remote.
   */
  const inFlight = new Map<string, string>();
  /** The {@link RunOptions.exclusive} key of each entry in flight that has one. */
  const exclusiveKeys = new Map<string, string>();
  /**
   * Claimed (durably `running`, so no other process takes them) and not started yet: each starts
   * as soon as a slot frees, without waiting for a write. Claims run one window ahead of the
   * executors, so a slow write (a large queue file) overlaps with the work instead of stalling it.
   */
  const backlog: Array<{ entry: QueueEntry<Op>; remote: string }> = [];
  /** Claimed entries given back unstarted (the run stopped, or their target went down). */
  const unclaimed: string[] = [];
  const window = concurrency * 2;
  let executing = 0;
  /** Another live process had entries running at the last transaction. */
  let sharing = false;
  const settled: Settled<Op>[] = [];
  let wake: (() => void) | undefined;
  /** Remotes that answered in this run, and those judged down (their entries wait). */
  const up = new Set<string>();
  const down = new Set<string>();
  const cancelled: string[] = [];
  // True when the last plan had nothing more to start: plan again only once something settled.
  let exhausted = false;
  let first = true;
  let remaining = 0;
  const inScope = (e: QueueEntry<Op>) =>
    options.scope === undefined || rules.scope(e.operation) === options.scope;

  const launch = (entry: QueueEntry<Op>, remote: string) => {
    const begun = clock.now();
    executing += 1;
    emit({ type: 'entry-started', entry });
    const done = (outcome: Outcome) => {
      executing -= 1;
      settled.push({ entry, remote, started: begun, outcome });
      // The next claimed entry starts at once only after a success: after a failure its server may
      // be down or the retry budget spent, which the next transaction decides first.
      if (outcome.type === 'done') pump();
      const resume = wake;
      wake = undefined;
      resume?.();
    };
    execute(entry).then(done, (error: unknown) =>
      done({ type: 'error', error, classification: classify(error) }),
    );
  };
  /**
   * Starts backlog entries while slots are free (highest priority first); gives one back instead
   * when the run stopped, its target is down, or it expired while it waited (the next plan expires it).
   */
  const pump = () => {
    while (executing < concurrency && backlog.length > 0) {
      const next = backlog.shift()!;
      const expired = next.entry.expiresAt !== undefined && next.entry.expiresAt <= iso(clock.now());
      if (signal.aborted || stopped !== undefined || down.has(next.remote) || expired)
        unclaimed.push(next.entry.id);
      else launch(next.entry, next.remote);
    }
  };

  for (;;) {
    // Let every executor that has finished meanwhile report (timers, sockets) before the next
    // write, so one transaction records them all: a group commit instead of a write per entry.
    if (inFlight.size > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const halted = signal.aborted || stopped !== undefined;
    if (halted) for (const item of backlog.splice(0)) unclaimed.push(item.entry.id);
    const batch = settled.splice(0);
    const giveBack = unclaimed.splice(0);
    // Claims run ahead of the executors only while no other process is replaying (then each takes
    // no more than it can run, and the work is shared).
    const ahead: number = sharing ? concurrency : window;
    const left = options.limit === undefined ? ahead : options.limit - started;
    // The batch and what is given back are recorded before anything is claimed: their slots are free.
    const free = halted ? 0 : Math.min(ahead - (inFlight.size - batch.length - giveBack.length), left);
    if (!first && batch.length === 0 && giveBack.length === 0 && (free <= 0 || exhausted)) {
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
      const byId = new Map<string, QueueEntry<Op>>();
      let others = false;
      for (const e of entries) {
        byId.set(e.id, e);
        if (e.status === 'running' && e.runner && !isRunnerHere(e.runner)) others = true;
      }
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
      // Claimed and never started: pending again, as they were (attempts not counted).
      for (const id of giveBack) {
        const e = byId.get(id);
        if (e?.status !== 'running' || !e.runner || !isRunnerHere(e.runner)) continue;
        e.status = 'pending';
        e.attempts = Math.max(0, e.attempts - 1);
        delete e.runner;
      }
      const start = { recovered, pendingAtStart };
      const unfinished = () =>
        entries.filter((e) => (e.status === 'pending' || e.status === 'running') && inScope(e)).length;
      if (free <= 0 || budgetSpent) {
        return {
          ...start,
          recorded,
          nowUp,
          nowDown,
          others,
          budgetSpent,
          expired: [],
          claimed: [],
          held: [],
          more: false,
          remaining: unfinished(),
        };
      }
      const plan = planRun(rules, entries, now, {
        force: options.force ?? false,
        skip: (e) => !inScope(e) || nowDown.has(remoteOf(e.operation)),
      });
      const expired = plan.expire.map((e) => {
        e.status = 'expired';
        e.reason = { code: 'expired', facts: { expiresAt: e.expiresAt ?? iso(now) } };
        e.completedAt = iso(now);
        return { ...e };
      });
      const probing = new Map<string, number>();
      const recording = new Set([...batch.map((item) => item.entry.id), ...giveBack]);
      for (const [id, remote] of inFlight) {
        if (!recording.has(id)) probing.set(remote, (probing.get(remote) ?? 0) + 1);
      }
      const claimed: Array<{ entry: QueueEntry<Op>; remote: string }> = [];
      // Keys of the operations still in flight (not being recorded now): one at a time per key.
      const exclusiveOf = options.exclusive;
      const busy = new Set<string>();
      if (exclusiveOf) {
        for (const id of inFlight.keys()) {
          const key = recording.has(id) ? undefined : exclusiveKeys.get(id);
          if (key !== undefined) busy.add(key);
        }
      }
      for (const e of plan.ready) {
        if (claimed.length >= free) break;
        const key = exclusiveOf?.(e.operation);
        if (key !== undefined && busy.has(key)) continue;
        const remote = remoteOf(e.operation);
        // Until a remote has answered in this run, one entry at a time probes it: a remote that is
        // down costs one entry's retries, not one per lane.
        if (!nowUp.has(remote) && (probing.get(remote) ?? 0) > 0) continue;
        probing.set(remote, (probing.get(remote) ?? 0) + 1);
        if (key !== undefined) busy.add(key);
        e.status = 'running';
        e.attempts += 1;
        e.runner = { ...runnerHere(), since: iso(now) };
        claimed.push({ entry: { ...e }, remote });
      }
      return {
        ...start,
        recorded,
        nowUp,
        nowDown,
        others,
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

    sharing = step.others;
    for (const remote of step.nowUp) up.add(remote);
    for (const id of giveBack) {
      inFlight.delete(id);
      exclusiveKeys.delete(id);
    }
    for (const { item, final } of step.recorded) {
      inFlight.delete(item.entry.id);
      exclusiveKeys.delete(item.entry.id);
      if (!final) continue;
      if (final.status === 'done') {
        counts.done += 1;
        emit({ type: 'entry-done', entry: final });
      } else if (final.status === 'failed') {
        counts.failed += 1;
        emit({ type: 'entry-failed', entry: final });
      } else if (item.outcome.type === 'error' && item.outcome.classification.kind === 'cancelled') {
        cancelled.push(final.id);
      } else {
        counts.deferred += 1;
        emit({ type: 'entry-deferred', entry: final, until: final.notBefore ?? '' });
      }
      if (step.nowDown.has(item.remote) && !down.has(item.remote)) {
        down.add(item.remote);
        emit({ type: 'target-down', target: item.remote, entry: final });
      }
    }
    if (step.budgetSpent && stopped === undefined) {
      stopped = 'budget';
      emit({ type: 'run-stopped', reason: 'budget', putBack: [] });
    }
    for (const entry of step.expired) {
      counts.expired += 1;
      emit({ type: 'entry-expired', entry });
    }
    for (const { entry, by } of step.held) {
      if (heldSeen.has(entry.id)) continue;
      heldSeen.add(entry.id);
      counts.held += 1;
      emit({ type: 'entry-held', entry, by });
    }
    for (const { entry, remote } of step.claimed) {
      started += 1;
      inFlight.set(entry.id, remote);
      const key = options.exclusive?.(entry.operation);
      if (key !== undefined) exclusiveKeys.set(entry.id, key);
      backlog.push({ entry, remote });
    }
    // Priority between lanes holds in the backlog too (a stable sort keeps the claim order).
    backlog.sort((a, b) => b.entry.priority - a.entry.priority);
    pump();
    exhausted = !step.more;
  }

  if (signal.aborted && stopped !== 'budget') {
    stopped = 'aborted';
    emit({ type: 'run-stopped', reason: 'aborted', putBack: cancelled });
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
