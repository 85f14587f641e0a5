import type { QueueEntry } from './types.js';

/** Run order: priority (high first), then oldest first, then id. */
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

/**
 * The failed prerequisite holding `entry` back, if any: the latest acquisition of the same lock
 * in the same project, enqueued before it, failed (someone else holds the lock, say). Pushes under
 * that lock, renewals and releases of it wait; other entries of the project go on.
 */
export function heldBy(entry: QueueEntry, all: readonly QueueEntry[]): QueueEntry | undefined {
  if (
    entry.operation.kind === 'acquire-lock' ||
    entry.operation.kind === 'pull' ||
    entry.operation.kind === 'sync-comments'
  ) {
    return undefined;
  }
  const key = lockKeyOf(entry);
  if (key === undefined) return undefined;
  let latest: QueueEntry | undefined;
  for (const other of all) {
    if (other.operation.kind !== 'acquire-lock' || other.operation.projectDir !== entry.operation.projectDir)
      continue;
    if (other.operation.key !== key || other.status === 'superseded' || compareForRun(other, entry) > 0)
      continue;
    if (other.enqueuedAt > entry.enqueuedAt) continue;
    if (!latest || other.enqueuedAt >= latest.enqueuedAt) latest = other;
  }
  return latest && (latest.status === 'failed' || latest.status === 'expired') ? latest : undefined;
}

/** What the runner should do next. */
export type NextStep =
  | { readonly type: 'run'; readonly entry: QueueEntry }
  | { readonly type: 'expire'; readonly entry: QueueEntry }
  | { readonly type: 'idle'; readonly waitUntil?: string; readonly held: readonly QueueEntry[] };

/**
 * Picks the next step, pure. Pending entries in run order; one entry per project at a time, in
 * order (a project whose head waits for its not-before waits as a whole); an entry past its
 * expiry expires; an entry held by a failed prerequisite is skipped. `force` ignores client-side
 * backoff, never a server's Retry-After.
 */
export function nextStep(
  entries: readonly QueueEntry[],
  now: number,
  options: { force?: boolean } = {},
): NextStep {
  const busy = new Set(entries.filter((e) => e.status === 'running').map((e) => e.operation.projectDir));
  const waiting = new Set<string>();
  const held: QueueEntry[] = [];
  let waitUntil: string | undefined;
  const nowIso = new Date(now).toISOString();
  for (const entry of entries.filter((e) => e.status === 'pending').sort(compareForRun)) {
    const project = entry.operation.projectDir;
    if (busy.has(project) || waiting.has(project)) continue;
    if (entry.expiresAt && entry.expiresAt <= nowIso) return { type: 'expire', entry };
    if (heldBy(entry, entries)) {
      held.push(entry);
      continue;
    }
    const skippable = options.force && entry.notBeforeReason !== 'retry-after';
    if (entry.notBefore && entry.notBefore > nowIso && !skippable) {
      waiting.add(project);
      if (!waitUntil || entry.notBefore < waitUntil) waitUntil = entry.notBefore;
      continue;
    }
    return { type: 'run', entry };
  }
  return { type: 'idle', ...(waitUntil ? { waitUntil } : {}), held };
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
 * Supersession applied on enqueue, pure: mutates copies, never the input. Rules:
 * duplicates by idempotency key are refused; a release whose acquire is still pending cancels
 * both (and any pending renew of that lock); a newer push of the same project, remote and branch
 * replaces the pending one; a renew whose lease has already ended is stored as expired.
 */
export function applyEnqueue(
  entries: readonly QueueEntry[],
  incoming: QueueEntry,
  now: number,
): { entries: QueueEntry[]; decision: EnqueueDecision } {
  if (entries.some((e) => e.idempotencyKey === incoming.idempotencyKey)) {
    return { entries: [...entries], decision: { outcome: 'duplicate', affected: [] } };
  }
  const next = entries.map((e) => ({ ...e }));
  const op = incoming.operation;
  const nowIso = new Date(now).toISOString();
  const pendingSame = (pred: (e: QueueEntry) => boolean) =>
    next.filter(
      (e) =>
        e.status === 'pending' &&
        e.operation.projectDir === op.projectDir &&
        e.operation.remote === op.remote &&
        pred(e),
    );

  if (op.kind === 'release-lock') {
    const acquires = pendingSame((e) => e.operation.kind === 'acquire-lock' && e.operation.key === op.key);
    if (acquires.length > 0) {
      const renews = pendingSame((e) => e.operation.kind === 'renew-lock' && e.operation.key === op.key);
      const affected = [...acquires, ...renews];
      for (const e of affected) {
        e.status = 'superseded';
        e.supersededBy = incoming.id;
        e.statusReason = `Cancelled by release ${incoming.id.slice(-8).toLowerCase()} before it ran.`;
      }
      const entry: QueueEntry = {
        ...incoming,
        status: 'superseded',
        supersededBy: acquires[0]!.id,
        statusReason: 'Cancelled together with the pending acquisition it would have released.',
      };
      return { entries: [...next, entry], decision: { outcome: 'cancelled', affected, entry } };
    }
  }
  if (op.kind === 'push') {
    const pushes = pendingSame((e) => e.operation.kind === 'push' && e.operation.branch === op.branch);
    if (pushes.length > 0) {
      for (const e of pushes) {
        e.status = 'superseded';
        e.supersededBy = incoming.id;
        e.statusReason = `Replaced by the newer push ${incoming.id.slice(-8).toLowerCase()} of the same branch.`;
      }
      return {
        entries: [...next, incoming],
        decision: { outcome: 'collapsed', affected: pushes, entry: incoming },
      };
    }
  }
  if (op.kind === 'renew-lock' && op.leaseExpiresAt && op.leaseExpiresAt <= nowIso) {
    const entry: QueueEntry = {
      ...incoming,
      status: 'expired',
      statusReason: `The lease it would extend ended at ${op.leaseExpiresAt}.`,
    };
    return { entries: [...next, entry], decision: { outcome: 'expired', affected: [], entry } };
  }
  return { entries: [...next, incoming], decision: { outcome: 'added', affected: [], entry: incoming } };
}

/** One line of a dry run. */
export interface PreviewStep {
  readonly entry: QueueEntry;
  readonly action: 'run' | 'expire' | 'held' | 'wait';
  /** For `wait`: until when; for `held`: the failed prerequisite's id. */
  readonly detail?: string;
}

/**
 * What a sync would do, in order, assuming every operation succeeds (pure): the dry run of
 * "what happens when I'm back online".
 */
export function previewRun(
  entries: readonly QueueEntry[],
  now: number,
  options: { force?: boolean } = {},
): PreviewStep[] {
  const work = entries.map((e) => ({ ...e }));
  const steps: PreviewStep[] = [];
  for (let guard = 0; guard < work.length + 1; guard++) {
    const step = nextStep(work, now, options);
    if (step.type === 'idle') {
      const listed = new Set(steps.map((s) => s.entry.id));
      for (const held of step.held) {
        if (!listed.has(held.id))
          steps.push({ entry: held, action: 'held', detail: heldBy(held, work)?.id ?? '' });
      }
      for (const e of work) {
        if (e.status === 'pending' && !listed.has(e.id) && !step.held.some((h) => h.id === e.id)) {
          steps.push({ entry: e, action: 'wait', ...(e.notBefore ? { detail: e.notBefore } : {}) });
        }
      }
      break;
    }
    const target = work.find((e) => e.id === step.entry.id)!;
    target.status = step.type === 'expire' ? 'expired' : 'done';
    steps.push({ entry: step.entry, action: step.type });
  }
  return steps;
}
