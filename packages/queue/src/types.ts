/** Fields every operation carries: where it runs and against which remote. */
interface OperationBase {
  /** Absolute path of the project (the Oxen repository) the operation runs in. */
  readonly projectDir: string;
  /** Remote URL the operation targets. */
  readonly remote: string;
}

/** Take the exclusive lock `key` for `ttlMs`. */
export interface AcquireLockOp extends OperationBase {
  readonly kind: 'acquire-lock';
  readonly key: string;
  readonly ttlMs: number;
  readonly holder: string;
  readonly comment?: string;
}
/** Give the lock back. `fencingToken` when the grant was known at enqueue time. */
export interface ReleaseLockOp extends OperationBase {
  readonly kind: 'release-lock';
  readonly key: string;
  readonly holder: string;
  readonly fencingToken?: number;
}
/** Extend the lease; pointless once `leaseExpiresAt` has passed. */
export interface RenewLockOp extends OperationBase {
  readonly kind: 'renew-lock';
  readonly key: string;
  readonly holder: string;
  readonly ttlMs: number;
  readonly fencingToken?: number;
  /** ISO time the lease being extended ends; after it the renew expires instead of running. */
  readonly leaseExpiresAt?: string;
}
/** Push `branch`; under `lockKey` when the push needs the lock (fencing checked at replay). */
export interface PushOp extends OperationBase {
  readonly kind: 'push';
  readonly branch: string;
  readonly lockKey?: string;
  readonly fencingToken?: number;
}
/** Pull `branch`. */
export interface PullOp extends OperationBase {
  readonly kind: 'pull';
  readonly branch: string;
}
/** Sync review comments. */
export interface SyncCommentsOp extends OperationBase {
  readonly kind: 'sync-comments';
  /** The branch the comments are on. @default the project's checked-out branch when the operation runs */
  readonly branch?: string;
}

/** What a queue entry does: data only, executed by executors handed to the runner. */
export type Operation = AcquireLockOp | ReleaseLockOp | RenewLockOp | PushOp | PullOp | SyncCommentsOp;
/** The operation kinds. */
export type OperationKind = Operation['kind'];

/** Lifecycle of an entry. `failed` is the dead-letter state: kept for the user to read, retry or remove. */
export type EntryStatus = 'pending' | 'running' | 'done' | 'failed' | 'expired' | 'superseded';

/** One link of an error's cause chain, as stored. */
export interface StoredErrorLink {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
}

/** An error as stored: the verdict and the whole cause chain. */
export interface StoredError {
  readonly message: string;
  /** `classify` verdict: transient, rate-limited, permanent, conflict, auth, cancelled. */
  readonly kind: string;
  readonly code?: string;
  readonly chain: readonly StoredErrorLink[];
  /** Facts an executor error carried that a user may need (holder, expiresAt, …). */
  readonly facts?: Readonly<Record<string, string | number | boolean>>;
}

/** One attempt, as kept in the bounded history. */
export interface AttemptRecord {
  readonly at: string;
  readonly outcome: 'done' | 'retry-later' | 'failed' | 'cancelled' | 'expired' | 'interrupted';
  readonly durationMs: number;
  readonly message?: string;
}

/** A queued operation and its bookkeeping. */
export interface QueueEntry {
  /** ULID: sortable by creation time. */
  readonly id: string;
  /** Stable across retries, crashes and replays; executors use it to recognise their own earlier effect. */
  readonly idempotencyKey: string;
  readonly operation: Operation;
  /** Higher runs first: lock operations 100, others 0. */
  readonly priority: number;
  readonly enqueuedAt: string;
  /** Not to be tried before this time (ISO). */
  notBefore?: string;
  /** Why `notBefore` is set: a server's Retry-After is always obeyed, client backoff may be skipped by a manual sync. */
  notBeforeReason?: 'retry-after' | 'backoff';
  /** After this time the entry expires instead of running (ISO). */
  expiresAt?: string;
  attempts: number;
  maxAttempts: number;
  status: EntryStatus;
  /** One sentence on the current status (why failed, superseded, held, expired). */
  statusReason?: string;
  /** Set when the entry was found `running` after its process died: check the remote before replaying. */
  verifyFirst?: boolean;
  /** Who is running it (pid), and since when. */
  runner?: { pid: number; since: string };
  /** A failed prerequisite holds this entry back (see `statusReason`). */
  heldBy?: string;
  supersededBy?: string;
  lastError?: StoredError;
  history: AttemptRecord[];
  completedAt?: string;
  /** What the executor returned (e.g. the fencing token granted). */
  result?: Readonly<Record<string, string | number | boolean>>;
}

/** The queue file. */
export interface QueueFile {
  readonly version: number;
  entries: QueueEntry[];
}

/** Priority of an operation kind. */
export function priorityOf(kind: OperationKind): number {
  return kind === 'acquire-lock' || kind === 'release-lock' || kind === 'renew-lock' ? 100 : 0;
}

/** The last path segment of a POSIX or Windows path (`/music/My Song/` → `My Song`). */
function lastSegment(dir: string): string {
  // Plain scanning: this runs for every row of a 1,000-entry `queue status` in a cold process,
  // where a regex split and two arrays per row cost milliseconds.
  let end = dir.length;
  while (end > 0 && (dir[end - 1] === '/' || dir[end - 1] === '\\')) end -= 1;
  const start = Math.max(dir.lastIndexOf('/', end - 1), dir.lastIndexOf('\\', end - 1)) + 1;
  return dir.slice(start, end) || dir;
}

/** A short human description: "Acquire lock for Song.logicx". */
export function describeOperation(op: Operation): string {
  const project = lastSegment(op.projectDir);
  const target = 'key' in op && op.key && op.key !== '.' ? `${project}/${op.key}` : project;
  switch (op.kind) {
    case 'acquire-lock':
      return `Acquire lock for ${target}`;
    case 'release-lock':
      return `Release lock for ${target}`;
    case 'renew-lock':
      return `Renew lock for ${target}`;
    case 'push':
      return `Push ${op.branch} of ${project} to remote`;
    case 'pull':
      return `Pull ${op.branch} of ${project} from remote`;
    case 'sync-comments':
      return `Sync comments of ${project}`;
  }
}
