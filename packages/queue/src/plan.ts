import type { Operation, QueueEntry } from './types.js';

/**
 * The lane of an operation: its project and remote. Entries of one lane run one at a time, in the
 * order they were enqueued (the order of the queue file, which enqueues append to under the file
 * lock); lanes are independent of each other.
 */
export function laneOf(operation: Operation): string {
  return `${operation.projectDir}\u0000${operation.remote}`;
}

/** The short id shown to users: the last 8 characters of the ULID (its random part), lower case. */
export function shortId(id: string): string {
  return id.slice(-8).toLowerCase();
}

/**
 * Order between the heads of two different lanes: priority (high first), then oldest first, then
 * id. Within one lane the enqueue order alone decides (see {@link laneOf}).
 */
export function compareForRun(a: QueueEntry, b: QueueEntry): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.enqueuedAt !== b.enqueuedAt) return a.enqueuedAt < b.enqueuedAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

const lockKeyOf = (e: QueueEntry): string | undefined => {
  const op = e.operation;
  if (op.kind === 'push') return op.lockKey;
  if (op.kind === 'acquire-lock' || op.kind === 'release-lock' || op.kind === 'renew-lock') return op.key;
  return undefined;
};

/** Entries that wait for the lock acquisition before them: pushes under a lock, renewals, releases. */
const dependsOnAcquire = (e: QueueEntry): boolean => {
  const kind = e.operation.kind;
  return kind === 'push' || kind === 'release-lock' || kind === 'renew-lock';
};

const lockSlot = (e: QueueEntry, key: string) => `${laneOf(e.operation)}\u0000${key}`;

/**
 * The failed prerequisite holding `entry` back, if any: the latest acquisition of the same lock in
 * the same lane (project and remote), enqueued before it, failed or expired (someone else holds
 * the lock, say). Pushes under that lock, renewals and releases of it wait; other entries of the
 * project go on.
 */
export function heldBy(entry: QueueEntry, all: readonly QueueEntry[]): QueueEntry | undefined {
  if (!dependsOnAcquire(entry)) return undefined;
  const key = lockKeyOf(entry);
  if (key === undefined) return undefined;
  const slot = lockSlot(entry, key);
  let index = all.indexOf(entry);
  if (index < 0) index = all.findIndex((e) => e.id === entry.id);
  for (let i = (index < 0 ? all.length : index) - 1; i >= 0; i--) {
    const other = all[i]!;
    if (other.operation.kind !== 'acquire-lock' || other.status === 'superseded') continue;
    if (lockSlot(other, other.operation.key) !== slot) continue;
    return other.status === 'failed' || other.status === 'expired' ? other : undefined;
  }
  return undefined;
}

/** What the runner may do now: {@link planRun}. */
export interface RunPlan {
  /** Pending entries past their expiry: to be marked expired (they never run). */
  readonly expire: readonly QueueEntry[];
  /** The next runnable entry of each lane, in run order (priority between lanes, then oldest). */
  readonly ready: readonly QueueEntry[];
  /** Pending entries held back by a failed prerequisite ({@link heldBy}). */
  readonly held: readonly QueueEntry[];
  /** The earliest not-before of a lane that waits for it. */
  readonly waitUntil?: string;
}

/** Options of {@link planRun}. */
export interface PlanOptions {
  /** Ignore client-side backoff (a user asked to sync now); a server's Retry-After is still obeyed. */
  readonly force?: boolean;
  /**
   * Entries not to run in this plan (another project, a remote judged down): the lane of a skipped
   * entry is closed, so nothing behind it runs out of order.
   */
  readonly skip?: (entry: QueueEntry) => boolean;
}

/**
 * Plans the next steps, pure, in one pass. Each lane (project and remote) runs its pending entries
 * in the order they were enqueued, one at a time: a lane with a running entry, or whose next entry
 * waits for its not-before, waits as a whole. A pending entry past its expiry is expired (and the
 * lane goes on behind it); an entry held by a failed prerequisite is skipped (the lane goes on: what
 * follows does not depend on it, or is held too). The next runnable entry of each lane is ready;
 * priority orders only the lanes relative to each other.
 */
export function planRun(entries: readonly QueueEntry[], now: number, options: PlanOptions = {}): RunPlan {
  const nowIso = new Date(now).toISOString();
  const busy = new Set<string>();
  for (const e of entries) if (e.status === 'running') busy.add(laneOf(e.operation));
  const closed = new Set<string>();
  // The latest acquisition of each lock slot so far, as the run would leave it.
  const latest = new Map<string, QueueEntry['status']>();
  const expire: QueueEntry[] = [];
  const ready: Array<{ entry: QueueEntry; index: number }> = [];
  const held: QueueEntry[] = [];
  let waitUntil: string | undefined;
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    const acquireSlot =
      entry.operation.kind === 'acquire-lock' ? lockSlot(entry, entry.operation.key) : undefined;
    const track = (status: QueueEntry['status']) => {
      if (acquireSlot !== undefined && status !== 'superseded') latest.set(acquireSlot, status);
    };
    if (entry.status !== 'pending') {
      track(entry.status);
      continue;
    }
    const lane = laneOf(entry.operation);
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
    const key = dependsOnAcquire(entry) ? lockKeyOf(entry) : undefined;
    const prerequisite = key === undefined ? undefined : latest.get(lockSlot(entry, key));
    if (prerequisite === 'failed' || prerequisite === 'expired') {
      held.push(entry);
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
export type NextStep =
  | { readonly type: 'run'; readonly entry: QueueEntry }
  | { readonly type: 'expire'; readonly entry: QueueEntry }
  | { readonly type: 'idle'; readonly waitUntil?: string; readonly held: readonly QueueEntry[] };

/** The single next step of a serial run, pure: see {@link planRun}. */
export function nextStep(
  entries: readonly QueueEntry[],
  now: number,
  options: { force?: boolean } = {},
): NextStep {
  const plan = planRun(entries, now, options);
  if (plan.expire[0]) return { type: 'expire', entry: plan.expire[0] };
  if (plan.ready[0]) return { type: 'run', entry: plan.ready[0] };
  return { type: 'idle', ...(plan.waitUntil ? { waitUntil: plan.waitUntil } : {}), held: plan.held };
}

/** Result of {@link applyEnqueue}. */
export interface EnqueueDecision {
  /**
   * `added`: queued. `cancelled`: a release met its still-pending acquire and both were cancelled.
   * `collapsed`: an older pending push of the same branch was replaced by this one.
   * `expired`: a renew whose lease had already ended. `duplicate`: the idempotency key exists.
   */
  readonly outcome: 'added' | 'cancelled' | 'collapsed' | 'expired' | 'duplicate';
  /** Entries whose status this enqueue changed (besides the new one). */
  readonly affected: readonly QueueEntry[];
  /** The new entry as it should be stored (absent for a duplicate). */
  readonly entry?: QueueEntry;
}

/**
 * Supersession applied on enqueue, pure: never changes the input (entries it changes are copied).
 * Rules: duplicates by idempotency key are refused; a release whose acquire is still pending
 * cancels both (and any pending renew of that lock); a newer push of the same project, remote and
 * branch replaces the pending one; a renew whose lease has already ended is stored as expired.
 * The new entry is appended: the file's order is the enqueue order.
 */
export function applyEnqueue(
  entries: readonly QueueEntry[],
  incoming: QueueEntry,
  now: number,
): { entries: QueueEntry[]; decision: EnqueueDecision } {
  if (entries.some((e) => e.idempotencyKey === incoming.idempotencyKey)) {
    return { entries: entries.slice(), decision: { outcome: 'duplicate', affected: [] } };
  }
  const next = entries.slice();
  const op = incoming.operation;
  const nowIso = new Date(now).toISOString();
  const pendingSame = (pred: (e: QueueEntry) => boolean): number[] => {
    const found: number[] = [];
    next.forEach((e, i) => {
      if (
        e.status === 'pending' &&
        e.operation.projectDir === op.projectDir &&
        e.operation.remote === op.remote &&
        pred(e)
      )
        found.push(i);
    });
    return found;
  };
  const supersede = (indexes: readonly number[], statusReason: string): QueueEntry[] =>
    indexes.map((i) => {
      const copy: QueueEntry = {
        ...next[i]!,
        status: 'superseded',
        supersededBy: incoming.id,
        statusReason,
        completedAt: nowIso,
      };
      next[i] = copy;
      return copy;
    });

  if (op.kind === 'release-lock') {
    const acquires = pendingSame((e) => e.operation.kind === 'acquire-lock' && e.operation.key === op.key);
    if (acquires.length > 0) {
      const firstAcquire = next[acquires[0]!]!.id;
      const renews = pendingSame((e) => e.operation.kind === 'renew-lock' && e.operation.key === op.key);
      const affected = supersede(
        [...acquires, ...renews],
        `Cancelled by release ${shortId(incoming.id)} before it ran.`,
      );
      const entry: QueueEntry = {
        ...incoming,
        status: 'superseded',
        supersededBy: firstAcquire,
        statusReason: 'Cancelled together with the pending acquisition it would have released.',
        completedAt: nowIso,
      };
      next.push(entry);
      return { entries: next, decision: { outcome: 'cancelled', affected, entry } };
    }
  }
  if (op.kind === 'push') {
    const pushes = pendingSame((e) => e.operation.kind === 'push' && e.operation.branch === op.branch);
    if (pushes.length > 0) {
      const affected = supersede(
        pushes,
        `Replaced by the newer push ${shortId(incoming.id)} of the same branch.`,
      );
      next.push(incoming);
      return { entries: next, decision: { outcome: 'collapsed', affected, entry: incoming } };
    }
  }
  if (op.kind === 'renew-lock' && op.leaseExpiresAt && op.leaseExpiresAt <= nowIso) {
    const entry: QueueEntry = {
      ...incoming,
      status: 'expired',
      statusReason: `The lease it would extend ended at ${op.leaseExpiresAt}.`,
      completedAt: nowIso,
    };
    next.push(entry);
    return { entries: next, decision: { outcome: 'expired', affected: [], entry } };
  }
  next.push(incoming);
  return { entries: next, decision: { outcome: 'added', affected: [], entry: incoming } };
}

/** One line of a dry run. */
export interface PreviewStep {
  readonly entry: QueueEntry;
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
export function previewRun(
  entries: readonly QueueEntry[],
  now: number,
  options: { force?: boolean } = {},
): PreviewStep[] {
  const nowIso = new Date(now).toISOString();
  // Lanes that run nothing now: one with a running entry, or waiting for a not-before.
  const closed = new Set<string>();
  for (const e of entries) if (e.status === 'running') closed.add(laneOf(e.operation));
  // The latest acquisition of each lock slot so far, as the run would leave it.
  const latest = new Map<string, { readonly id: string; readonly status: QueueEntry['status'] }>();
  const track = (slot: string | undefined, id: string, status: QueueEntry['status']) => {
    if (slot !== undefined && status !== 'superseded') latest.set(slot, { id, status });
  };
  // The steps that run or expire, in the file's order (each lane's order), and their priorities.
  const ordered: Array<{ step: PreviewStep; index: number }> = [];
  const priorities = new Set<number>();
  const held: PreviewStep[] = [];
  const waiting: PreviewStep[] = [];
  // `queue status` lists 10,000 entries through this in a cold process: no work per entry that
  // is not needed (a lane key only once some lane is closed).
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    const op = entry.operation;
    const slot = op.kind === 'acquire-lock' ? lockSlot(entry, op.key) : undefined;
    if (entry.status !== 'pending') {
      track(slot, entry.id, entry.status);
      continue;
    }
    if (closed.size > 0 && closed.has(laneOf(op))) {
      waiting.push({ entry, action: 'wait', ...(entry.notBefore ? { detail: entry.notBefore } : {}) });
      track(slot, entry.id, 'pending');
      continue;
    }
    if (entry.expiresAt && entry.expiresAt <= nowIso) {
      ordered.push({ step: { entry, action: 'expire' }, index });
      priorities.add(entry.priority);
      track(slot, entry.id, 'expired');
      continue;
    }
    if (latest.size > 0 && dependsOnAcquire(entry)) {
      const key = lockKeyOf(entry);
      const prerequisite = key === undefined ? undefined : latest.get(lockSlot(entry, key));
      if (prerequisite && (prerequisite.status === 'failed' || prerequisite.status === 'expired')) {
        held.push({ entry, action: 'held', detail: prerequisite.id });
        continue;
      }
    }
    const skippable = options.force && entry.notBeforeReason !== 'retry-after';
    if (entry.notBefore && entry.notBefore > nowIso && !skippable) {
      closed.add(laneOf(op));
      waiting.push({ entry, action: 'wait', detail: entry.notBefore });
      track(slot, entry.id, 'pending');
      continue;
    }
    ordered.push({ step: { entry, action: 'run' }, index });
    priorities.add(entry.priority);
    track(slot, entry.id, 'done');
  }
  const steps: PreviewStep[] = [];
  if (priorities.size <= 1) {
    // One priority throughout: a merge by age is the file's order.
    for (const o of ordered) steps.push(o.step);
  } else {
    // Merge the lanes as a serial run takes them: each time, the lane whose next step has the
    // highest priority, then the oldest. A binary heap keeps this O(n log lanes).
    const lanes = new Map<string, Array<{ step: PreviewStep; index: number }>>();
    for (const o of ordered) {
      const lane = laneOf(o.step.entry.operation);
      const queue = lanes.get(lane);
      if (queue) queue.push(o);
      else lanes.set(lane, [o]);
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
    while (heap.size > 0) {
      const q = heap.pop()!;
      steps.push(head(q).step);
      cursor[q]! += 1;
      if (cursor[q]! < queues[q]!.length) heap.push(q);
    }
  }
  for (const s of held) steps.push(s);
  for (const s of waiting) steps.push(s);
  return steps;
}

/**
 * Pending and running entries in the order a serial run takes them (running first): the order
 * `queue status` lists them in. See {@link previewRun}.
 */
export function runOrder(entries: readonly QueueEntry[], now: number): QueueEntry[] {
  // The common case, checked in one tight pass (`queue status` runs this cold on 10,000 entries):
  // nothing running, one priority, nothing waiting, expired or held. Then it is the file's order.
  const nowIso = new Date(now).toISOString();
  const pending: QueueEntry[] = [];
  let priority: number | undefined;
  let simple = true;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const status = e.status;
    if (status === 'pending') {
      pending.push(e);
      if (priority === undefined) priority = e.priority;
      else if (e.priority !== priority) simple = false;
      if (
        (e.notBefore !== undefined && e.notBefore > nowIso) ||
        (e.expiresAt !== undefined && e.expiresAt <= nowIso)
      )
        simple = false;
    } else if (
      status === 'running' ||
      ((status === 'failed' || status === 'expired') && e.operation.kind === 'acquire-lock')
    ) {
      simple = false;
    }
  }
  if (simple) return pending;
  const running = entries.filter((e) => e.status === 'running');
  return running.concat(previewRun(entries, now).map((s) => s.entry));
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
 * running and failed entries always stay (failed ones until the user acts). A finished acquisition
 * stays while {@link heldBy} needs it: the latest acquisition before a pending push, renewal or
 * release of its lock, or the latest acquisition of a lock after a failed or expired one (without it,
 * what is enqueued next would be held by the old failure).
 */
export function pruneFinished(
  entries: readonly QueueEntry[],
  now: number,
  retention: Retention,
): QueueEntry[] | undefined {
  const cutoff = new Date(now - retention.retainMs).toISOString();
  let finished = 0;
  let old = false;
  for (const e of entries) {
    if (!isFinished(e)) continue;
    finished += 1;
    if (!old && finishedAt(e) <= cutoff) old = true;
  }
  if (!old && finished <= retention.maxFinished) return undefined;

  const keep = new Set<QueueEntry>();
  const latest = new Map<string, QueueEntry>();
  const failedBefore = new Set<string>();
  for (const e of entries) {
    if (e.operation.kind === 'acquire-lock') {
      if (e.status === 'superseded') continue;
      const slot = lockSlot(e, e.operation.key);
      const previous = latest.get(slot);
      if (previous?.status === 'failed' || previous?.status === 'expired') failedBefore.add(slot);
      latest.set(slot, e);
      continue;
    }
    if ((e.status === 'pending' || e.status === 'running') && dependsOnAcquire(e)) {
      const key = lockKeyOf(e);
      const prerequisite = key === undefined ? undefined : latest.get(lockSlot(e, key));
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
