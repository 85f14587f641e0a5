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
  /** The commit's author (terminal-safe), shown when the record is corrupt. */
  readonly author?: string;
}

/** Who is asking. */
export interface Identity {
  readonly holder: string;
  readonly machineId: string;
}

/** Longest lease a record may carry: 30 days (the CLI's `--timeout` maximum is 720 hours). */
export const MAX_TTL_MS = 30 * 24 * 3_600_000;
/** Longest free text (comment, break reason) a record may carry, in characters. */
export const MAX_TEXT = 500;
/** Longest identifier (holder, machine id, lock id, nonce, key) a record may carry. */
export const MAX_ID = 256;

const OPS: ReadonlySet<string> = new Set(['acquire', 'renew', 'release', 'break']);

/** Free text from a record, made terminal-safe: control characters become spaces. */
export function cleanText(value: string): string {
  let out = '';
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? ' ' : ch;
  }
  return out;
}

/**
 * Parses a commit message into a record, or undefined when it is not a valid one. Records are
 * untrusted input (any repository writer, a buggy client or a hostile server can write one):
 * every field is type-checked and bounded (a TTL of `1e300` or a date that does not parse makes
 * the record invalid, never a crash), identifiers may hold no control characters, and free text
 * has its control characters replaced.
 */
export function parseRecord(text: string): LockRecord | undefined {
  if (text.length > 16_384) return undefined;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const id = (v: unknown) =>
    typeof v === 'string' &&
    v.length > 0 &&
    v.length <= MAX_ID &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: identifiers may not hold them
    !/[\u0000-\u001f\u007f-\u009f]/.test(v);
  const optionalId = (v: unknown) => v === undefined || id(v);
  const optionalText = (v: unknown) => v === undefined || (typeof v === 'string' && v.length <= MAX_TEXT);
  const op = value.op;
  const ttl = value.ttlMs;
  const token = value.fencingToken;
  const acquiredAt = value.acquiredAt;
  const valid =
    typeof op === 'string' &&
    OPS.has(op) &&
    id(value.holder) &&
    id(value.machineId) &&
    id(value.lockId) &&
    id(value.nonce) &&
    (value.key === undefined || (typeof value.key === 'string' && value.key.length <= 4096)) &&
    typeof ttl === 'number' &&
    Number.isInteger(ttl) &&
    ttl >= 0 &&
    ttl <= MAX_TTL_MS &&
    (op === 'release' || op === 'break' || ttl > 0) &&
    typeof token === 'number' &&
    Number.isSafeInteger(token) &&
    token >= 1 &&
    (acquiredAt === undefined ||
      (typeof acquiredAt === 'string' &&
        acquiredAt.length <= 64 &&
        Number.isFinite(Date.parse(acquiredAt)))) &&
    optionalText(value.comment) &&
    optionalText(value.reason) &&
    optionalId(value.previousHolder) &&
    optionalId(value.previousMachineId);
  if (!valid) return undefined;
  const record = { ...value } as Record<string, unknown>;
  if (typeof record.comment === 'string') record.comment = cleanText(record.comment);
  if (typeof record.reason === 'string') record.reason = cleanText(record.reason);
  return record as unknown as LockRecord;
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
  | {
      readonly state: 'corrupt';
      readonly key: string;
      readonly ticket: number;
      /** Who made the unreadable record's commit (its author), when known. */
      readonly writtenBy?: string;
    };

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

/**
 * A lease counts as over only this long after it ends on the server's clock: the `Date` header
 * has 1 s resolution and may lag by 1.5 s, and a takeover is confirmed on the commit clock anyway.
 */
export const EXPIRY_MARGIN_MS = 5_000;

/** True when, at server time `now`, the lease `top` describes has ended (with the margin). */
export function leaseOver(top: Ticket & { record: LockRecord }, now: number | undefined): boolean {
  return (
    now !== undefined && Number.isFinite(now) && now >= top.committedAt + top.record.ttlMs + EXPIRY_MARGIN_MS
  );
}

/**
 * Pure: the state of `key` given its top ticket, the server's clock and who asks. With no server
 * clock (`serverNow` undefined: no `Date` header) a lease is never judged over: held, not expired.
 */
export function lockState(
  key: string,
  top: Ticket | undefined,
  serverNow: number | undefined,
  me: Identity,
): LockState {
  if (!top) return { state: 'unlocked', key };
  const r = top.record;
  if (!r || !Number.isFinite(top.committedAt)) {
    return { state: 'corrupt', key, ticket: top.ticket, ...(top.author ? { writtenBy: top.author } : {}) };
  }
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
  if (leaseOver({ ...top, record: r }, serverNow)) return { state: 'expired', key, lease, yours: mine };
  return mine ? { state: 'held-by-you', key, lease } : { state: 'held-by-other', key, lease };
}
