import { type ErrorKind, OxvcsError } from '@oxvcs/retry';
import type { Waiter } from './line.js';

/** Codes of {@link LockError}. */
export type LockErrorCode =
  | 'HELD'
  /** You are in line for the lock (`acquire` with `line`): not granted yet; ask again later. */
  | 'WAITING'
  /** The table was busy: every claim until the call's deadline lost a race (nobody holds the key). */
  | 'BUSY'
  /** The change would make the table bigger than readers accept; nothing was written. */
  | 'TABLE_FULL'
  | 'NOT_HOLDER'
  /**
   * The lease is this holder's, taken on this machine, but its private key is not in this machine's
   * key store (the state folder was deleted or restored from a backup): nothing can prove it is
   * yours, so it can be neither renewed nor released; a forced break takes it over, or it expires.
   */
  | 'KEY_LOST'
  | 'LOST'
  | 'STALE_TOKEN'
  | 'SERVER_TOO_OLD'
  | 'INVALID_KEY'
  | 'INVALID_TTL'
  | 'CORRUPT_RECORD'
  | 'NO_BASE_COMMIT';

const KIND: Record<LockErrorCode, ErrorKind> = {
  HELD: 'conflict',
  // Not a failure: ask again after `retryAfterMs` (a queue defers the entry that long).
  WAITING: 'rate-limited',
  BUSY: 'conflict',
  TABLE_FULL: 'permanent',
  NOT_HOLDER: 'conflict',
  KEY_LOST: 'permanent',
  LOST: 'conflict',
  STALE_TOKEN: 'permanent',
  SERVER_TOO_OLD: 'permanent',
  INVALID_KEY: 'permanent',
  INVALID_TTL: 'permanent',
  CORRUPT_RECORD: 'permanent',
  NO_BASE_COMMIT: 'permanent',
};

/** Facts a {@link LockError} may carry. */
export interface LockErrorFacts {
  readonly key?: string;
  readonly holder?: string;
  readonly machineId?: string;
  readonly acquiredAt?: string;
  readonly expiresAt?: string;
  readonly comment?: string;
  readonly fencingToken?: number;
  readonly brokenBy?: string;
  /** NOT_HOLDER / LOST: when your lease was broken (server time, ISO). */
  readonly brokenAt?: string;
  /** HELD: when the holder's lease was last renewed (server time, ISO). */
  readonly lastRenewedAt?: string;
  /** HELD: a keep-alive renews the holder's lease (its end keeps moving). */
  readonly keptAlive?: boolean;
  readonly reason?: string;
  readonly ticket?: string;
  /** HELD: the key the blocking lease is on, when it is a folder containing yours or one inside it. */
  readonly heldKey?: string;
  /** CORRUPT_RECORD: the author of the invalid record's commit. */
  readonly writtenBy?: string;
  /** HELD: others wait in line for it (a plain acquire does not jump the line). */
  readonly inLine?: boolean;
  /** WAITING: your place in line (1 = first), since when you wait, and the whole line. */
  readonly position?: number;
  readonly since?: string;
  readonly waiters?: readonly Waiter[];
  /** WAITING: when to ask again (keeps the place, and grants the lock when the turn has come). */
  readonly retryAfterMs?: number;
  /** HELD by a break without `force`: a forced break would go ahead. */
  readonly force?: boolean;
  /** HELD by a break without `force`: the lease ended this long ago (server clock), inside the expiry margin. */
  readonly endedAgoMs?: number;
  /** LOST by a lapse (the keep-alive): how long the lock was free before a renewal could be sent (ms). */
  readonly freeForMs?: number;
  /**
   * A refusal decided on a read: the server's clock then (its `Date` header, epoch ms). The times
   * above are on the server's clock, so a caller words them against this, never against a local
   * clock that may run days off.
   */
  readonly serverNow?: number;
  readonly cause?: unknown;
}

/** Every failure a caller of the lock manager can act on. */
export class LockError extends OxvcsError {
  override readonly name = 'LockError';
  readonly code: LockErrorCode;
  override readonly retryKind: ErrorKind;
  readonly key?: string;
  /** HELD / LOST: who holds it now, since and until when (server clock), and their comment. */
  readonly holder?: string;
  readonly machineId?: string;
  readonly acquiredAt?: string;
  readonly expiresAt?: string;
  readonly comment?: string;
  readonly fencingToken?: number;
  /** LOST by a break (or NOT_HOLDER after one, once another took the lock): who broke it, when and why. */
  readonly brokenBy?: string;
  readonly brokenAt?: string;
  readonly lastRenewedAt?: string;
  readonly keptAlive?: boolean;
  readonly reason?: string;
  readonly ticket?: string;
  readonly writtenBy?: string;
  readonly heldKey?: string;
  readonly inLine?: boolean;
  readonly position?: number;
  readonly since?: string;
  readonly waiters?: readonly Waiter[];
  readonly force?: boolean;
  readonly endedAgoMs?: number;
  readonly freeForMs?: number;
  readonly serverNow?: number;

  constructor(code: LockErrorCode, message: string, facts: LockErrorFacts = {}) {
    super(message, facts.cause === undefined ? undefined : { cause: facts.cause });
    this.code = code;
    this.retryKind = KIND[code];
    const { cause: _c, ...rest } = facts;
    Object.assign(this, rest);
  }
}
