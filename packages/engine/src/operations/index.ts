import type { Executors, QueueEntry, QueueRules } from '@oxvcs/queue';
import { acquireLock } from './acquire-lock.js';
import { pull } from './pull.js';
import { push } from './push.js';
import { releaseLock } from './release-lock.js';
import { renewLock } from './renew-lock.js';
import { assertProjectThere, errorFacts, failureReason } from './shared.js';
import { syncComments } from './sync-comments.js';
import type { Operation, OperationKind, OperationSpec, OxvcsEntry, RunDeps } from './types.js';

export { lastSegment } from './shared.js';
export type * from './types.js';

/** Every kind of operation oxvcs queues, by kind: the one home of what each is. */
export const OPERATIONS: { readonly [K in OperationKind]: OperationSpec<Extract<Operation, { kind: K }>> } = {
  'acquire-lock': acquireLock,
  'renew-lock': renewLock,
  'release-lock': releaseLock,
  push,
  pull,
  'sync-comments': syncComments,
};

/** The spec of an operation's kind. */
export const specOf = <Op extends Operation>(op: Op): OperationSpec<Op> =>
  OPERATIONS[op.kind as OperationKind] as unknown as OperationSpec<Op>;

/** Lock operations run before transfers between projects. */
const PRIORITY = { lock: 100, transfer: 0 } as const;

/**
 * The queue's rules for oxvcs operations: a lane is a project and its remote (run in the order
 * typed); lock operations go first between lanes; a push, renewal or release of a lock waits
 * behind that lock's acquisition and is held back when it failed; each kind's own supersession.
 */
export const RULES: QueueRules<Operation> = {
  scope: (op) => op.projectDir,
  scopeField: 'projectDir',
  target: (op) => op.remote,
  priority: (op) => PRIORITY[specOf(op).class],
  provides: (op) => specOf(op).provides?.(op),
  requires: (op) => specOf(op).requires?.(op),
  onEnqueue: (incoming, pending, now) =>
    specOf(incoming.operation).onEnqueue?.(incoming as QueueEntry<never>, pending, now),
  errorFacts: (error) => errorFacts(error),
  failureReason: (error) => failureReason(error),
};

/** A short description for a person: "Acquire lock for Song.logicx". */
export const describeOperation = (op: Operation): string => specOf(op).describe(op);

/**
 * The runner's executors: each kind's own `run`, the same one direct runs call, run for the entry's
 * own project wherever the sync was typed; an entry whose project folder is gone fails alone
 * (PROJECT_GONE), unless its kind needs only the remote.
 */
export function executorsFor(deps: RunDeps): Executors<Operation> {
  const executors: Record<string, unknown> = {};
  for (const spec of Object.values(OPERATIONS) as OperationSpec<Operation>[]) {
    executors[spec.kind] = async (op: Operation, ctx: Parameters<OperationSpec<Operation>['run']>[1]) => {
      if (!spec.withoutFolder) assertProjectThere(op.projectDir);
      return spec.run(op, ctx, deps);
    };
  }
  return executors as Executors<Operation>;
}

/** The original tool's entry shape (schema 1: snake_case, a `completed` flag, PascalCase operations). */
interface V1Entry {
  id: string;
  operation: Record<string, Record<string, unknown>>;
  queued_at: string;
  attempts: number;
  completed: boolean;
}

const V1_KINDS: Record<string, OperationKind> = {
  AcquireLock: 'acquire-lock',
  ReleaseLock: 'release-lock',
  RenewLock: 'renew-lock',
  PushCommits: 'push',
  PullCommits: 'pull',
  SyncComments: 'sync-comments',
};

/** Reads the original tool's queue entries (every one on the whole project's lock, `.`). */
export function legacyEntries(entries: readonly unknown[]): OxvcsEntry[] {
  return (entries as V1Entry[]).map((entry) => {
    const [name, fields = {}] = Object.entries(entry.operation)[0] ?? ['SyncComments', {}];
    const kind = V1_KINDS[name] ?? 'sync-comments';
    const projectDir = String(fields.project_path ?? fields.repo_path ?? '');
    const base = { projectDir, remote: String(fields.remote ?? '') };
    const hours = Number(fields.timeout_hours ?? fields.additional_hours ?? 4);
    const operation: Operation =
      kind === 'acquire-lock'
        ? { ...base, kind, key: '.', ttlMs: hours * 3_600_000, holder: String(fields.user_id ?? '') }
        : kind === 'release-lock'
          ? { ...base, kind, key: '.', holder: '' }
          : kind === 'renew-lock'
            ? { ...base, kind, key: '.', holder: '', ttlMs: hours * 3_600_000 }
            : kind === 'push' || kind === 'pull'
              ? { ...base, kind, branch: String(fields.branch ?? 'main') }
              : { ...base, kind: 'sync-comments' };
    return {
      id: entry.id.replace(/-/g, '').toUpperCase().padEnd(26, '0').slice(0, 26),
      idempotencyKey: `v1:${entry.id}`,
      operation,
      priority: RULES.priority!(operation),
      enqueuedAt: new Date(entry.queued_at).toISOString(),
      attempts: entry.attempts ?? 0,
      maxAttempts: 10,
      status: entry.completed ? 'done' : 'pending',
      history: [],
    };
  });
}
