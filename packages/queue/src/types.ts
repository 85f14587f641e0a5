/**
 * What every operation carries: its kind. The rest is the caller's own data, stored as JSON; the
 * queue reads it only through the {@link QueueRules} it is given.
 */
export interface Operation {
  readonly kind: string;
}

/** Flat facts (strings, numbers, booleans): results, error facts, the facts of a reason. */
export type Facts = Readonly<Record<string, string | number | boolean>>;

/**
 * Why an entry has its status: a code and the facts to word it with. The queue writes the codes of
 * {@link QueueReasonCode}; supersession rules add their own (`Code` names a caller's union, so the
 * caller can check what it writes). Words are the caller's.
 */
export interface EntryReason<Code extends string = string> {
  readonly code: Code;
  readonly facts?: Facts;
}

/**
 * Reason codes the queue itself writes: `will-retry` (facts `kind`, `reason`: the classification),
 * `gave-up` (`attempts`, `kind`, `reason`), `failed` (`kind`, `reason`), `expired` (`expiresAt`),
 * `interrupted` (the process running it died: the remote is checked before it is replayed), `note`
 * (`text`: a reason stored as words by schema 2).
 */
export type QueueReasonCode = 'will-retry' | 'gave-up' | 'failed' | 'expired' | 'interrupted' | 'note';

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
  /** Facts the error carried that a user may need ({@link QueueRules.errorFacts}). */
  readonly facts?: Facts;
}

/** One attempt, as kept in the bounded history. */
export interface AttemptRecord {
  readonly at: string;
  readonly outcome: 'done' | 'retry-later' | 'failed' | 'cancelled' | 'expired' | 'interrupted';
  readonly durationMs: number;
  readonly message?: string;
}

/** A queued operation and its bookkeeping. */
export interface QueueEntry<Op extends Operation = Operation> {
  /** ULID: sortable by creation time. */
  readonly id: string;
  /** Stable across retries, crashes and replays; executors use it to recognise their own earlier effect. */
  readonly idempotencyKey: string;
  readonly operation: Op;
  /** Higher runs first between lanes ({@link QueueRules.priority}). */
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
  /** Why it has its status (failed, will retry, superseded, expired, interrupted). */
  reason?: EntryReason;
  /** Set when the entry was found `running` after its process died: check the remote before replaying. */
  verifyFirst?: boolean;
  /**
   * Who is running it, and since when: the process's pid, host and start time (a pid alone could
   * be reused by another program; see `@oxvcs/durable`'s process identity).
   */
  runner?: { pid: number; since: string; host?: string; start?: string };
  supersededBy?: string;
  lastError?: StoredError;
  history: AttemptRecord[];
  completedAt?: string;
  /** What the executor returned (e.g. the fencing token granted). */
  result?: Facts;
}

/** The queue file. */
export interface QueueFile<Op extends Operation = Operation> {
  readonly version: number;
  entries: QueueEntry<Op>[];
}

/**
 * What an enqueue does to the entries already in the same lane (supersession), as decided by
 * {@link QueueRules.onEnqueue}. `outcome` is the caller's word for it, returned by `enqueue`.
 */
export interface EnqueueRule {
  readonly outcome: string;
  /** Pending entries the new one makes pointless: marked superseded by it, with `reason`. */
  readonly supersede?: { readonly ids: readonly string[]; readonly reason: EntryReason };
  /**
   * The new entry stored finished instead of pending: `superseded` (cancelled together with an
   * entry it met, named by `supersededBy`) or `expired`.
   */
  readonly incoming?: {
    readonly status: 'superseded' | 'expired';
    readonly reason: EntryReason;
    readonly supersededBy?: string;
  };
}

/**
 * What the queue needs to know about the caller's operations. Entries of one scope and target form
 * a lane: a lane runs one entry at a time, in the order they were enqueued; lanes are independent.
 */
export interface QueueRules<Op extends Operation = Operation> {
  /** The group a user works in (a project, say): list filters and scoped runs use it. */
  scope(operation: Op): string;
  /**
   * The operation's field whose value {@link scope} returns, as it is (`projectDir`, say), when
   * there is one: an enqueue then decodes only the entries of its own scope, so other scopes'
   * entries cost it little more than reading the file. Undefined: an enqueue decodes every entry.
   */
  readonly scopeField?: string;
  /** What the operation talks to (a server URL): a target that does not answer defers only its own entries. */
  target(operation: Op): string;
  /** Higher runs first, between lanes only. @default 0 */
  priority?(operation: Op): number;
  /**
   * A prerequisite this operation establishes within its lane (a lock acquisition, say). Later
   * entries that {@link requires} it are held back while its latest provider failed or expired.
   */
  provides?(operation: Op): string | undefined;
  /** The prerequisite this operation needs (see {@link provides}). */
  requires?(operation: Op): string | undefined;
  /**
   * Supersession: given every entry of the new entry's lane (any status), in order. Only pending
   * entries can be superseded. Undefined: just add it.
   */
  onEnqueue?(incoming: QueueEntry<Op>, lane: readonly QueueEntry<Op>[], now: number): EnqueueRule | undefined;
  /** Facts of a failure worth storing with it (who holds what, until when); bounded by the queue. */
  errorFacts?(error: unknown, operation: Op): Readonly<Record<string, unknown>> | undefined;
  /**
   * The reason stored with an entry that failed for good, when the caller has a code of its own for
   * that failure (a project folder that is gone, say). @default the queue's `failed` or `gave-up`
   */
  failureReason?(error: unknown, operation: Op): EntryReason | undefined;
}

/** Rules for operations that need no more than a kind: one scope, one target, no prerequisites. */
export const SIMPLE_RULES: QueueRules = { scope: () => '', target: () => '' };
