import type { Grant, LockManager } from '@oxvcs/locks';
import type { OxenCli, OxenHub, TransferProgress } from '@oxvcs/oxen';
import type { EnqueueRule, ExecutionContext, Facts, QueueEntry, QueueReasonCode } from '@oxvcs/queue';
import type { GrantNote } from '../state.js';

/** Fields every oxvcs operation carries: where it runs and against which remote. */
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
  /**
   * Set on every queued acquisition: when it is replayed and the lock is held (or others are in
   * line first), it waits its turn in the lock's line instead of failing: it joins the line, stays
   * pending, and is tried again by later syncs until its expiry (see the engine README).
   */
  readonly waitInLine?: boolean;
}
/** Give the lock back. `fencingToken` when the grant was known at enqueue time. */
export interface ReleaseLockOp extends OperationBase {
  readonly kind: 'release-lock';
  readonly key: string;
  readonly holder: string;
  readonly fencingToken?: number;
  /** Typed while this machine held a lease of the lock: it gives a lease back, never cancelled. */
  readonly whileHeld?: boolean;
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
/** What a push re-run finds already on the remote of the project's last recorded take. */
export interface PushResume {
  readonly partsTotal: number;
  /** Parts the remote has whole (`commits/missing` does not list them): the push skips them. */
  readonly partsPresent: number;
  readonly bytesTotal: number;
  readonly bytesPresent: number;
}
/**
 * A push sends something that cannot resume midway if it is cut (Oxen resumes only whole
 * commits): parts of a recorded take over its part size (`recorded`, with their 1-based
 * indices), or commits not recorded as parts, `bytes` in all, more than a part would be.
 */
export interface PushUnresumable {
  readonly recorded: boolean;
  readonly parts?: readonly number[];
  /** The largest such part, or all the unrecorded commits together. */
  readonly bytes: number;
  /** The part size it is over. */
  readonly partBytes: number;
}
/** Pull `branch`. */
export interface PullOp extends OperationBase {
  readonly kind: 'pull';
  readonly branch: string;
}
/** Fetch review comments. */
export interface SyncCommentsOp extends OperationBase {
  readonly kind: 'sync-comments';
  /** The branch the comments are on. @default the project's checked-out branch when the operation runs */
  readonly branch?: string;
}

/**
 * Reason codes the engine stores with an entry, beside the queue's own: `project-gone` (fact
 * `project`: its folder is gone or no longer a repository), `invalid-input` (facts `field`,
 * `problem`, and `limit` where one applies: see `input.ts`; an entry stored by an older version that
 * did not check what it queued), `cancelled-by-release` (fact `entry`: the release that cancelled a
 * pending acquisition or renewal), `cancelled-with-acquire` (fact `entry`: the acquisition a release
 * was cancelled with), `replaced` (fact `entry`: the same request typed again) and `lease-ended`
 * (fact `at`: a renewal queued after the lease it would extend ended).
 */
export type EngineReasonCode =
  | 'project-gone'
  | 'invalid-input'
  | 'cancelled-by-release'
  | 'cancelled-with-acquire'
  | 'replaced'
  | 'lease-ended';

/**
 * Every reason code an oxvcs entry is stored with: the queue's and the engine's. The apps word each
 * one in an exhaustive switch. A queue file written by another version may hold a code outside it.
 */
export type OxvcsReasonCode = QueueReasonCode | EngineReasonCode;

/** What a queue entry of oxvcs does: data only. */
export type Operation = AcquireLockOp | ReleaseLockOp | RenewLockOp | PushOp | PullOp | SyncCommentsOp;
/** The operation kinds. */
export type OperationKind = Operation['kind'];
/** A queue entry of an oxvcs operation. */
export type OxvcsEntry = QueueEntry<Operation>;

/** What running an operation needs from the engine. */
export interface RunDeps {
  hubFor(remoteUrl: string): OxenHub;
  /** The lock manager for a remote, as `holder` (default: this user). */
  locksFor(remoteUrl: string, holder?: string): LockManager;
  cliFor(projectDir: string): OxenCli;
  grant(remote: string, key: string): GrantNote | undefined;
  noteGrant(remote: string, key: string, grant: Grant | undefined): void;
  /** Progress of a push or pull, as oxen reports it. */
  progress?(op: PushOp | PullOp, progress: TransferProgress): void;
  /** A push re-run after a cut, before it sends: how much of the take the remote already has. */
  resumed?(op: PushOp, resume: PushResume): void;
  /** The part size of a take, in bytes (config `transfer.part_size_mb`). @default DEFAULT_PART_BYTES */
  partBytes?(): number;
  /** A push is sending something that cannot resume midway (told once per push run). */
  unresumable?(op: PushOp, fact: PushUnresumable): void;
}

/**
 * Everything one kind of operation is, in one place: how it is queued (priority, prerequisites,
 * supersession, expiry), how it is described, which facts of its failures are kept, and how it
 * runs. Direct runs and replays both call {@link OperationSpec.run}.
 */
export interface OperationSpec<Op extends Operation> {
  readonly kind: Op['kind'];
  /**
   * `lock`: runs before transfers between projects, retries with the lock policy, and a direct run
   * is bounded by one request timeout (then it queues). `transfer`: the transfer policy and timeout.
   */
  readonly class: 'lock' | 'transfer';
  /**
   * Replays even when its project folder is gone: it needs only the remote (a release gives a lock
   * back, which frees it for others). @default false: the entry fails with PROJECT_GONE
   */
  readonly withoutFolder?: boolean;
  /** The lock slot this operation establishes (an acquisition): see `QueueRules.provides`. */
  provides?(op: Op): string | undefined;
  /** The lock slot this operation needs: held back while its acquisition failed. */
  requires?(op: Op): string | undefined;
  /** Supersession against the entries of the same project and remote (any status), in order. */
  onEnqueue?(incoming: QueueEntry<Op>, lane: readonly OxvcsEntry[], now: number): EnqueueRule | undefined;
  /** When a queued entry stops being worth running: `ttlMs` from now, and an absolute end if any. */
  expiry(op: Op, retentionMs: number): { readonly ttlMs: number; readonly expiresAt?: string };
  /** One line for a person: "Acquire lock for Song/Drums". */
  describe(op: Op): string;
  /** Runs it: the idempotency key lets a retried or replayed run recognise its own earlier effect. */
  run(op: Op, ctx: ExecutionContext, deps: RunDeps): Promise<Facts | undefined>;
}
