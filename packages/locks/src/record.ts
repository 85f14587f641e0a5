/** Schema version of lock records. */
export const RECORD_SCHEMA = 1;

/** What a ticket says. Stored as the ticket commit's message (and its `.oxvcs/lock.json`). */
export interface LockRecord {
  readonly schema: number;
  /** Stable for one lease (acquire → renewals → release). */
  readonly lockId: string;
  readonly key: string;
  /** `user@host`. */
  readonly holder: string;
  readonly machineId: string;
  readonly op: 'acquire' | 'renew' | 'release' | 'break';
  readonly ttlMs: number;
  /** Server time the lease was first granted (ISO). */
  readonly acquiredAt?: string;
  readonly comment?: string;
  /** Fencing token of the lease: the ticket number of the acquisition that started it. */
  readonly fencingToken: number;
  /** Idempotency key of the operation that wrote this record. */
  readonly nonce: string;
  /** For a break: who held it and why it was broken. */
  readonly previousHolder?: string;
  readonly previousMachineId?: string;
  readonly reason?: string;
}

/** A ticket read from the remote: its number, record and the server time of its commit. */
export interface Ticket {
  readonly ticket: number;
  readonly branch: string;
  readonly commitId: string;
  /** Server timestamp (ms) of the record's commit: the lease counts from here. */
  readonly committedAt: number;
  /** Undefined when the record could not be parsed. */
  readonly record?: LockRecord;
}

/** Who is asking. */
export interface Identity {
  readonly holder: string;
  readonly machineId: string;
}

/** Parses a commit message into a record, or undefined. */
export function parseRecord(text: string): LockRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockRecord>;
    if (
      typeof value !== 'object' ||
      value === null ||
      typeof value.holder !== 'string' ||
      typeof value.machineId !== 'string' ||
      typeof value.ttlMs !== 'number' ||
      typeof value.fencingToken !== 'number' ||
      !['acquire', 'renew', 'release', 'break'].includes(String(value.op))
    ) {
      return undefined;
    }
    return value as LockRecord;
  } catch {
    return undefined;
  }
}

/** The state of a lock as a user sees it. */
export type LockState =
  | { readonly state: 'unlocked'; readonly key: string; readonly lastHolder?: string }
  | { readonly state: 'held-by-you'; readonly key: string; readonly lease: Lease }
  | { readonly state: 'held-by-other'; readonly key: string; readonly lease: Lease }
  | { readonly state: 'expired'; readonly key: string; readonly lease: Lease; readonly yours: boolean }
  | {
      readonly state: 'broken';
      readonly key: string;
      readonly brokenBy: string;
      readonly reason?: string;
      readonly brokenAt: string;
    }
  | { readonly state: 'corrupt'; readonly key: string; readonly ticket: number };

/** A live or lapsed lease. */
export interface Lease {
  readonly key: string;
  readonly lockId: string;
  readonly holder: string;
  readonly machineId: string;
  readonly acquiredAt: string;
  readonly expiresAt: string;
  /** Last renewal (server time). */
  readonly lastHeartbeat: string;
  readonly ttlMs: number;
  readonly comment?: string;
  readonly fencingToken: number;
  /** The top ticket number. */
  readonly ticket: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Derives the lease a top ticket describes (for acquire and renew records). */
export function leaseOf(key: string, top: Ticket & { record: LockRecord }): Lease {
  const r = top.record;
  return {
    key,
    lockId: r.lockId,
    holder: r.holder,
    machineId: r.machineId,
    acquiredAt: r.acquiredAt ?? iso(top.committedAt),
    expiresAt: iso(top.committedAt + r.ttlMs),
    lastHeartbeat: iso(top.committedAt),
    ttlMs: r.ttlMs,
    ...(r.comment ? { comment: r.comment } : {}),
    fencingToken: r.fencingToken,
    ticket: top.ticket,
  };
}

/** Pure: the state of `key` given its top ticket, the server's clock and who asks. */
export function lockState(key: string, top: Ticket | undefined, serverNow: number, me: Identity): LockState {
  if (!top) return { state: 'unlocked', key };
  const r = top.record;
  if (!r) return { state: 'corrupt', key, ticket: top.ticket };
  const mine = r.holder === me.holder && r.machineId === me.machineId;
  if (r.op === 'release') return { state: 'unlocked', key, lastHolder: r.holder };
  if (r.op === 'break') {
    const wasMine = r.previousHolder === me.holder && r.previousMachineId === me.machineId;
    if (wasMine) {
      return {
        state: 'broken',
        key,
        brokenBy: r.holder,
        ...(r.reason ? { reason: r.reason } : {}),
        brokenAt: iso(top.committedAt),
      };
    }
    return { state: 'unlocked', key, lastHolder: r.previousHolder ?? r.holder };
  }
  const lease = leaseOf(key, { ...top, record: r });
  if (serverNow >= top.committedAt + r.ttlMs) return { state: 'expired', key, lease, yours: mine };
  return mine ? { state: 'held-by-you', key, lease } : { state: 'held-by-other', key, lease };
}
