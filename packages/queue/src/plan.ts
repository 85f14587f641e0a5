import type { EnqueueRule, EntryReason, EntryStatus, Operation, QueueEntry, QueueRules } from './types.js';

/**
 * The lane of an operation: its scope and target (a project and its remote). Entries of one lane
 * run one at a time, in the order they were enqueued (the order of the queue file, which enqueues
 * append to under the file lock); lanes are independent of each other.
 */
export function laneOf<Op extends Operation>(rules: QueueRules<Op>, operation: Op): string {
  return `${rules.scope(operation)}\u0000${rules.target(operation)}`;
}

/** The short id shown to users: the last 8 characters of the ULID (its random part), lower case. */
export function shortId(id: string): string {
  return id.slice(-8).toLowerCase();
}

/**
 * The fewest characters an id prefix must have to select an entry: one or two characters match
 * by accident (`queue remove 0` would remove whichever entry happens to be alone), four of the
 * short id's random part make a chance match unlikely while staying short to type.
 */
export const MIN_ID_PREFIX = 4;

/**
 * Order between the heads of two different lanes: priority (high first), then oldest first, then
 * id. Within one lane the enqueue order alone decides (see {@link laneOf}).
 */
export function compareForRun(a: QueueEntry, b: QueueEntry): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.enqueuedAt !== b.enqueuedAt) return a.enqueuedAt < b.enqueuedAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Prerequisite slots: a provider's or a dependant's slot, qualified by its lane. */
function slots<Op extends Operation>(rules: QueueRules<Op>) {
  const slot = (e: QueueEntry<Op>, name: string | undefined) =>
    name === undefined ? undefined : `${laneOf(rules, e.operation)}\u0000${name}`;
  return {
    provided: (e: QueueEntry<Op>) => (rules.provides ? slot(e, rules.provides(e.operation)) : undefined),
    required: (e: QueueEntry<Op>) => (rules.requires ? slot(e, rules.requires(e.operation)) : undefined),
  };
}

const isDead = (status: EntryStatus | undefined) => status === 'failed' || status === 'expired';

/**
 * The failed prerequisite holding `entry` back, if any: the latest provider of the slot it
 * {@link QueueRules.requires} in the same lane, enqueued before it, failed or expired (someone
 * else holds the lock, say). Other entries of the lane go on.
 */
export function heldBy<Op extends Operation>(
  rules: QueueRules<Op>,
  entry: QueueEntry<Op>,
  all: readonly QueueEntry<Op>[],
): QueueEntry<Op> | undefined {
  const { provided, required } = slots(rules);
  const slot = required(entry);
  if (slot === undefined) return undefined;
  let index = all.indexOf(entry);
  if (index < 0) index = all.findIndex((e) => e.id === entry.id);
  for (let i = (index < 0 ? all.length : index) - 1; i >= 0; i--) {
    const other = all[i]!;
    if (other.status === 'superseded' || provided(other) !== slot) continue;
    return isDead(other.status) ? other : undefined;
  }
  return undefined;
}

/**
 * The entries of `operation`'s lane that a run would still perform before an entry enqueued now:
 * those running (in any process) and those pending that are neither past their expiry nor held
 * back by a failed prerequisite ({@link heldBy}; those wait for the user, not for a run). A
 * command run directly while any are left would overtake them: the caller queues it behind.
 */
export function aheadInLane<Op extends Operation>(
  rules: QueueRules<Op>,
  entries: readonly QueueEntry<Op>[],
  operation: Op,
  now: number,
): QueueEntry<Op>[] {
  const lane = laneOf(rules, operation);
  const nowIso = new Date(now).toISOString();
  const inLane = entries.filter((e) => laneOf(rules, e.operation) === lane);
  return inLane.filter(
    (e) =>
      e.status === 'running' ||
      (e.status === 'pending' &&
        !(e.expiresAt !== undefined && e.expiresAt <= nowIso) &&
        heldBy(rules, e, inLane) === undefined),
  );
}

/** What the runner may do now: {@link planRun}. */
export interface RunPlan<Op extends Operation = Operation> {
  /** Pending entries past their expiry: to be marked expired (they never run). */
  readonly expire: readonly QueueEntry<Op>[];
  /** The next runnable entry of each lane, in run order (priority between lanes, then oldest). */
  readonly ready: readonly QueueEntry<Op>[];
  /** Pending entries held back by a failed prerequisite ({@link heldBy}), with its id. */
  readonly held: readonly { readonly entry: QueueEntry<Op>; readonly by: string }[];
  /** The earliest not-before of a lane that waits for it. */
  readonly waitUntil?: string;
}

/** Options of {@link planRun}. */
export interface PlanOptions<Op extends Operation = Operation> {
  /** Ignore client-side backoff (a user asked to sync now); a server's Retry-After is still obeyed. */
  readonly force?: boolean;
  /**
   * Entries not to run in this plan (another scope, a target judged down): the lane of a skipped
   * entry is closed, so nothing behind it runs out of order.
   */
  readonly skip?: (entry: QueueEntry<Op>) => boolean;
}

/**
 * Plans the next steps, pure, in one pass. Each lane runs its pending entries in the order they
 * were enqueued, one at a time: a lane with a running entry, or whose next entry waits for its
 * not-before, waits as a whole. A pending entry past its expiry is expired (and the lane goes on
 * behind it); an entry held by a failed prerequisite is skipped (the lane goes on: what follows
 * does not depend on it, or is held too). The next runnable entry of each lane is ready; priority
 * orders only the lanes relative to each other.
 */
export function planRun<Op extends Operation>(
  rules: QueueRules<Op>,
  entries: readonly QueueEntry<Op>[],
  now: number,
  options: PlanOptions<Op> = {},
): RunPlan<Op> {
  const { provided, required } = slots(rules);
  const nowIso = new Date(now).toISOString();
  const busy = new Set<string>();
  for (const e of entries) if (e.status === 'running') busy.add(laneOf(rules, e.operation));
  const closed = new Set<string>();
  // The latest provider of each slot so far, as the run would leave it.
  const latest = new Map<string, { id: string; status: EntryStatus }>();
  const expire: QueueEntry<Op>[] = [];
  const ready: Array<{ entry: QueueEntry<Op>; index: number }> = [];
  const held: Array<{ entry: QueueEntry<Op>; by: string }> = [];
  let waitUntil: string | undefined;
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    const provides = provided(entry);
    const track = (status: EntryStatus) => {
      if (provides !== undefined && status !== 'superseded') latest.set(provides, { id: entry.id, status });
    };
    if (entry.status !== 'pending') {
      track(entry.status);
      continue;
    }
    const lane = laneOf(rules, entry.operation);
    if (busy.has(lane) || closed.has(lane) || options.skip?.(entry)) {
      closed.add(lane);
      track('pending');
      continue;
    }
    if (entry.expiresAt && entry.expiresAt <= nowIso) {
      expire.push(entry);
      track('expired');
      continue;
    }
    const needs = required(entry);
    const prerequisite = needs === undefined ? undefined : latest.get(needs);
    if (prerequisite && isDead(prerequisite.status)) {
      held.push({ entry, by: prerequisite.id });
      continue;
    }
    const skippable = options.force && entry.notBeforeReason !== 'retry-after';
    if (entry.notBefore && entry.notBefore > nowIso && !skippable) {
      closed.add(lane);
      if (!waitUntil || entry.notBefore < waitUntil) waitUntil = entry.notBefore;
      track('pending');
      continue;
    }
    closed.add(lane);
    ready.push({ entry, index });
    track('pending');
  }
  ready.sort((a, b) => b.entry.priority - a.entry.priority || a.index - b.index);
  return {
    expire,
    ready: ready.map((r) => r.entry),
    held,
    ...(waitUntil ? { waitUntil } : {}),
  };
}

/** What the runner should do next. */
export type NextStep<Op extends Operation = Operation> =
  | { readonly type: 'run'; readonly entry: QueueEntry<Op> }
  | { readonly type: 'expire'; readonly entry: QueueEntry<Op> }
  | {
      readonly type: 'idle';
      readonly waitUntil?: string;
      readonly held: readonly { readonly entry: QueueEntry<Op>; readonly by: string }[];
    };

/** The single next step of a serial run, pure: see {@link planRun}. */
export function nextStep<Op extends Operation>(
  rules: QueueRules<Op>,
  entries: readonly QueueEntry<Op>[],
  now: number,
  options: { force?: boolean } = {},
): NextStep<Op> {
  const plan = planRun(rules, entries, now, options);
  if (plan.expire[0]) return { type: 'expire', entry: plan.expire[0] };
  if (plan.ready[0]) return { type: 'run', entry: plan.ready[0] };
  return { type: 'idle', ...(plan.waitUntil ? { waitUntil: plan.waitUntil } : {}), held: plan.held };
}

/** Result of {@link applyEnqueue}. */
export interface EnqueueDecision<Op extends Operation = Operation> {
  /**
   * `added`: queued. `duplicate`: the idempotency key exists. Otherwise the
   * {@link EnqueueRule.outcome} of the rules' supersession (e.g. `cancelled`, `collapsed`).
   */
  readonly outcome: string;
  /** Entries whose status this enqueue changed (besides the new one). */
  readonly affected: readonly QueueEntry<Op>[];
  /** The new entry as it should be stored (absent for a duplicate). */
  readonly entry?: QueueEntry<Op>;
}

/**
 * Supersession applied on enqueue, pure: never changes the input (entries it changes are copied).
 * Duplicates by idempotency key are refused; otherwise {@link QueueRules.onEnqueue} decides, given
 * the entries of the new entry's lane. The new entry is appended: the file's order is the
 * enqueue order.
 */
export function applyEnqueue<Op extends Operation>(
  rules: QueueRules<Op>,
  entries: readonly QueueEntry<Op>[],
  incoming: QueueEntry<Op>,
  now: number,
): { entries: QueueEntry<Op>[]; decision: EnqueueDecision<Op> } {
  if (entries.some((e) => e.idempotencyKey === incoming.idempotencyKey)) {
    return { entries: entries.slice(), decision: { outcome: 'duplicate', affected: [] } };
  }
  const next = entries.slice();
  const rule: EnqueueRule | undefined = rules.onEnqueue
    ? rules.onEnqueue(
        incoming,
        (() => {
          const lane = laneOf(rules, incoming.operation);
          return next.filter((e) => laneOf(rules, e.operation) === lane);
        })(),
        now,
      )
    : undefined;
  if (!rule) {
    next.push(incoming);
    return { entries: next, decision: { outcome: 'added', affected: [], entry: incoming } };
  }
  const nowIso = new Date(now).toISOString();
  const affected: QueueEntry<Op>[] = [];
  if (rule.supersede && rule.supersede.ids.length > 0) {
    const ids = new Set(rule.supersede.ids);
    const reason: EntryReason = rule.supersede.reason;
    for (let i = 0; i < next.length; i++) {
      const e = next[i]!;
      if (!ids.has(e.id) || e.status !== 'pending') continue;
      const copy: QueueEntry<Op> = {
        ...e,
        status: 'superseded',
        supersededBy: incoming.id,
        reason,
        completedAt: nowIso,
      };
      next[i] = copy;
      affected.push(copy);
    }
  }
  const entry: QueueEntry<Op> = rule.incoming
    ? {
        ...incoming,
        status: rule.incoming.status,
        reason: rule.incoming.reason,
        completedAt: nowIso,
        ...(rule.incoming.supersededBy ? { supersededBy: rule.incoming.supersededBy } : {}),
      }
    : incoming;
  next.push(entry);
  return { entries: next, decision: { outcome: rule.outcome, affected, entry } };
}

/** One line of a dry run. */
export interface PreviewStep<Op extends Operation = Operation> {
  readonly entry: QueueEntry<Op>;
  readonly action: 'run' | 'expire' | 'held' | 'wait';
  /** For `wait`: until when; for `held`: the failed prerequisite's id. */
  readonly detail?: string;
}

/**
 * What a serial sync would do, in order, assuming every operation succeeds (pure): the dry run of
 * "what happens when I'm back online". Every pending entry appears once: the steps that run or
 * expire in run order (each lane in its enqueue order, lanes merged by priority, then age), then
 * those held back by a failed prerequisite, then those that wait (for a not-before, or behind a
 * running entry). A parallel run keeps the order within each lane.
 */
export function previewRun<Op extends Operation>(
  rules: QueueRules<Op>,
  entries: readonly QueueEntry<Op>[],
  now: number,
  options: { force?: boolean; limit?: number } = {},
): PreviewStep<Op>[] {
  const { provided, required } = slots(rules);
  const nowIso = new Date(now).toISOString();
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const lane = (e: QueueEntry<Op>) => laneOf(rules, e.operation);
  // Lanes that run nothing now: one with a running entry, or waiting for a not-before.
  const closed = new Set<string>();
  for (const e of entries) if (e.status === 'running') closed.add(lane(e));
  // The latest provider of each slot so far, as the run would leave it.
  const latest = new Map<string, { readonly id: string; readonly status: EntryStatus }>();
  const track = (slot: string | undefined, id: string, status: EntryStatus) => {
    if (slot !== undefined && status !== 'superseded') latest.set(slot, { id, status });
  };
  // The steps that run or expire, in the file's order (each lane's order), and their priorities.
  const ordered: Array<{ step: PreviewStep<Op>; index: number; lane?: string }> = [];
  const priorities = new Set<number>();
  const held: PreviewStep<Op>[] = [];
  const waiting: PreviewStep<Op>[] = [];
  // `queue status` lists 10,000 entries through this in a cold process: no work per entry that
  // is not needed (a lane key only once some lane is closed).
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    const slot = provided(entry);
    if (entry.status !== 'pending') {
      track(slot, entry.id, entry.status);
      continue;
    }
    // Its lane key, built at most once (a `queue status` of 10,000 entries runs this cold).
    const key = closed.size > 0 ? lane(entry) : undefined;
    if (key !== undefined && closed.has(key)) {
      waiting.push({ entry, action: 'wait', ...(entry.notBefore ? { detail: entry.notBefore } : {}) });
      track(slot, entry.id, 'pending');
      continue;
    }
    if (entry.expiresAt && entry.expiresAt <= nowIso) {
      ordered.push({ step: { entry, action: 'expire' }, index, ...(key !== undefined ? { lane: key } : {}) });
      priorities.add(entry.priority);
      track(slot, entry.id, 'expired');
      continue;
    }
    if (latest.size > 0) {
      const needs = required(entry);
      const prerequisite = needs === undefined ? undefined : latest.get(needs);
      if (prerequisite && isDead(prerequisite.status)) {
        held.push({ entry, action: 'held', detail: prerequisite.id });
        continue;
      }
    }
    const skippable = options.force && entry.notBeforeReason !== 'retry-after';
    if (entry.notBefore && entry.notBefore > nowIso && !skippable) {
      closed.add(key ?? lane(entry));
      waiting.push({ entry, action: 'wait', detail: entry.notBefore });
      track(slot, entry.id, 'pending');
      continue;
    }
    ordered.push({ step: { entry, action: 'run' }, index, ...(key !== undefined ? { lane: key } : {}) });
    priorities.add(entry.priority);
    track(slot, entry.id, 'done');
  }
  const steps: PreviewStep<Op>[] = [];
  if (priorities.size <= 1) {
    // One priority throughout: a merge by age is the file's order.
    for (const o of ordered) {
      if (steps.length >= limit) break;
      steps.push(o.step);
    }
  } else {
    // Merge the lanes as a serial run takes them: each time, the lane whose next step has the
    // highest priority, then the oldest. A binary heap keeps this O(n log lanes).
    const lanes = new Map<string, Array<{ step: PreviewStep<Op>; index: number }>>();
    for (const o of ordered) {
      const key = o.lane ?? lane(o.step.entry);
      const queue = lanes.get(key);
      if (queue) queue.push(o);
      else lanes.set(key, [o]);
    }
    const queues = [...lanes.values()];
    const cursor = queues.map(() => 0);
    const head = (q: number) => queues[q]![cursor[q]!]!;
    const before = (a: number, b: number) => {
      const x = head(a);
      const y = head(b);
      return x.step.entry.priority !== y.step.entry.priority
        ? x.step.entry.priority > y.step.entry.priority
        : x.index < y.index;
    };
    const heap = new MinHeap(before);
    for (let q = 0; q < queues.length; q++) heap.push(q);
    while (heap.size > 0 && steps.length < limit) {
      const q = heap.pop()!;
      steps.push(head(q).step);
      cursor[q]! += 1;
      if (cursor[q]! < queues[q]!.length) heap.push(q);
    }
  }
  for (const s of held) if (steps.length < limit) steps.push(s);
  for (const s of waiting) if (steps.length < limit) steps.push(s);
  return steps;
}

/**
 * Pending and running entries in the order a serial run takes them (running first): the order
 * `list` gives them in; only the first `limit` when given (a status page). See {@link previewRun}.
 */
export function runOrder<Op extends Operation>(
  rules: QueueRules<Op>,
  entries: readonly QueueEntry<Op>[],
  now: number,
  limit: number = Number.POSITIVE_INFINITY,
): QueueEntry<Op>[] {
  // The common case, checked in one tight pass (a cold `list` of 10,000 entries runs this):
  // nothing running, one priority, nothing waiting, expired or held. Then it is the file's order.
  const nowIso = new Date(now).toISOString();
  const pending: QueueEntry<Op>[] = [];
  let priority: number | undefined;
  let simple = true;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const status = e.status;
    if (status === 'pending') {
      if (pending.length < limit) pending.push(e);
      if (priority === undefined) priority = e.priority;
      else if (e.priority !== priority) simple = false;
      if (
        (e.notBefore !== undefined && e.notBefore > nowIso) ||
        (e.expiresAt !== undefined && e.expiresAt <= nowIso)
      )
        simple = false;
    } else if (status === 'running') simple = false;
    else if (simple && isDead(status) && rules.provides?.(e.operation) !== undefined) simple = false;
  }
  if (simple) return pending;
  const running = entries.filter((e) => e.status === 'running').slice(0, limit);
  const rest = limit - running.length;
  if (rest <= 0) return running;
  return running.concat(previewRun(rules, entries, now, { limit: rest }).map((s) => s.entry));
}

/** A binary heap of small integers ordered by `before` (true when `a` comes out first). */
class MinHeap {
  readonly #items: number[] = [];
  readonly #before: (a: number, b: number) => boolean;
  constructor(before: (a: number, b: number) => boolean) {
    this.#before = before;
  }
  get size(): number {
    return this.#items.length;
  }
  push(value: number): void {
    const items = this.#items;
    items.push(value);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }
  pop(): number | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < items.length && this.#before(items[l]!, items[best]!)) best = l;
        if (r < items.length && this.#before(items[r]!, items[best]!)) best = r;
        if (best === i) break;
        [items[i], items[best]] = [items[best]!, items[i]!];
        i = best;
      }
    }
    return top;
  }
}

/** How long finished entries are kept: {@link pruneFinished}. */
export interface Retention {
  /** Finished entries (done, superseded, expired) are removed once finished this long ago, ms. */
  readonly retainMs: number;
  /** At most this many finished entries are kept; the oldest beyond go first. */
  readonly maxFinished: number;
}

const isFinished = (e: QueueEntry) =>
  e.status === 'done' || e.status === 'superseded' || e.status === 'expired';

/** When an entry finished: its completion, else its last attempt, else its enqueue time (ISO). */
const finishedAt = (e: QueueEntry): string => e.completedAt ?? e.history.at(-1)?.at ?? e.enqueuedAt;

/**
 * The entries to keep, pure; undefined when nothing is to be removed. Finished entries (done,
 * superseded, expired) go once older than `retainMs`, and the oldest beyond `maxFinished`. Pending,
 * running and failed entries always stay (failed ones until the user acts). A finished provider
 * stays while {@link heldBy} needs it: the latest provider of a slot before a pending entry that
 * requires it, or the latest provider after a failed or expired one (without it, what is enqueued
 * next would be held by the old failure).
 */
export function pruneFinished<Op extends Operation>(
  rules: QueueRules<Op>,
  entries: readonly QueueEntry<Op>[],
  now: number,
  retention: Retention,
): QueueEntry<Op>[] | undefined {
  const cutoff = new Date(now - retention.retainMs).toISOString();
  let finished = 0;
  let old = false;
  for (const e of entries) {
    if (!isFinished(e)) continue;
    finished += 1;
    if (!old && finishedAt(e) <= cutoff) old = true;
  }
  if (!old && finished <= retention.maxFinished) return undefined;

  const { provided, required } = slots(rules);
  const keep = new Set<QueueEntry<Op>>();
  const latest = new Map<string, QueueEntry<Op>>();
  const failedBefore = new Set<string>();
  for (const e of entries) {
    const slot = provided(e);
    if (slot !== undefined) {
      if (e.status === 'superseded') continue;
      const previous = latest.get(slot);
      if (isDead(previous?.status)) failedBefore.add(slot);
      latest.set(slot, e);
      continue;
    }
    if (e.status === 'pending' || e.status === 'running') {
      const needs = required(e);
      const prerequisite = needs === undefined ? undefined : latest.get(needs);
      if (prerequisite && isFinished(prerequisite)) keep.add(prerequisite);
    }
  }
  for (const [slot, e] of latest) if (isFinished(e) && failedBefore.has(slot)) keep.add(e);

  const candidates = entries.filter((e) => isFinished(e) && !keep.has(e));
  const drop = new Set(candidates.filter((e) => finishedAt(e) <= cutoff));
  const excess = candidates.length - drop.size - retention.maxFinished;
  if (excess > 0) {
    const byAge = candidates
      .filter((e) => !drop.has(e))
      .map((e) => ({ e, at: finishedAt(e) }))
      .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    for (let i = 0; i < excess; i++) drop.add(byAge[i]!.e);
  }
  if (drop.size === 0) return undefined;
  return entries.filter((e) => !drop.has(e));
}
