/**
 * The lock table: its format (a ticket's commit message), parsing it, and pure reads of it (the
 * state of a key, who blocks it, who waits for it, what a change carries over).
 */
import { carryLines, type Lines, lineFor, parseLine, type TableWaiter, type Waiter } from './line.js';
import {
  cleanText,
  EXPIRY_MARGIN_MS,
  type Identity,
  isId,
  isTime,
  type Lease,
  type LockState,
  MAX_TEXT,
  MAX_TTL_MS,
} from './record.js';

/**
 * Every lock of a repository lives in one lock table, and every change to it is one ticket on one
 * chain `oxvcs-locks/<N>`: one compare-and-swap decides every key at once, so a lock on a project
 * and a lock on a folder inside it can exclude each other atomically, and `lock list` is one read.
 */
export const CHAIN_ROOT = 'oxvcs-locks';
/**
 * Schema of the table records this version writes. 3 added `prev` and the reading rule of the
 * README; 4 added the waiting line (`waiters`, the `wait` operation, and the fairness rule).
 * Schema 2 and 3 records are still read. A version that knows only 3 reads a 4 as corrupt and
 * refuses to change the table (it can never grant on a rule it does not follow, nor drop a line
 * it cannot see).
 */
export const TABLE_SCHEMA = 4;
/** Largest table record (UTF-8 bytes of the commit message) readers accept and writers write. */
export const MAX_TABLE_BYTES = 512 * 1024;
/** Most keys a table may hold (leases, break notes and last holders together). */
export const MAX_KEYS = 1000;

/** Ticket branch `oxvcs-locks/<N zero-padded to 10>`. */
export function chainTicket(ticket: number): string {
  return `${CHAIN_ROOT}/${String(ticket).padStart(10, '0')}`;
}

/** The ticket number of a chain branch, or undefined. */
export function parseChainTicket(name: string): number | undefined {
  const m = /^oxvcs-locks\/(\d{10})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** One lease in the table. */
export interface TableLease {
  readonly lockId: string;
  readonly holder: string;
  readonly machineId: string;
  /** The ticket number of the acquisition that started the lease. */
  readonly fencingToken: number;
  readonly ttlMs: number;
  /** Server time the lease was first granted; absent: this ticket's commit time. */
  readonly acquiredAt?: string;
  /** Server time of the lease's last renewal; absent: this ticket's commit time. */
  readonly renewedAt?: string;
  readonly comment?: string;
  /** The holder's public key (Ed25519, SPKI DER, base64): renewals and releases are signed with it. */
  readonly owner: string;
  /** Idempotency key of the acquire or renew that last wrote this lease (a replay finds it here). */
  readonly nonce?: string;
  /** Idempotency key of the acquire that started the lease (kept through renewals). */
  readonly grantNonce?: string;
  /**
   * Last renewed by a keep-alive (not by hand): others are told its end keeps moving. Not signed
   * and not part of the reading rule (a reader of an older version drops it): words only.
   */
  readonly keptAlive?: true;
}

/**
 * What a break left for the previous holder to read. It stays in the table (for
 * {@link HISTORY_MS}) when someone else acquires the key after the break; the previous holder's
 * own acquisition, or a later break, replaces it.
 */
export interface BreakNote {
  readonly by: string;
  readonly reason?: string;
  readonly previousHolder: string;
  readonly previousMachineId: string;
  /** Server time of the break; absent: this ticket's commit time. */
  readonly at?: string;
}

/** A table record: the commit message of a chain ticket. */
export interface TableRecord {
  readonly schema: number;
  /** This record's own ticket number. */
  readonly ticket: number;
  /** Who wrote it. */
  readonly writer: Identity;
  /** `wait`: join, refresh or leave the line for `key` (see `line.ts`). */
  readonly op: 'acquire' | 'renew' | 'release' | 'break' | 'wait';
  /** The key the operation was about. */
  readonly key: string;
  /** Idempotency key of the operation that wrote this record. */
  readonly nonce: string;
  /** For renew and release: the lease owner's signature of {@link signedText}. */
  readonly sig?: string;
  /** The commit of ticket `ticket - 1` as the writer read it (schema 3; absent on ticket 1). */
  readonly prev?: string;
  /**
   * The chain time of the table this one was built on (ms; schema 3; absent on a first table).
   * A ticket counts at the later of this and its own commit time, so the chain's clock never runs
   * back: a commit clock stepped back cannot bring an ended lease back to life.
   */
  readonly floor?: number;
  readonly leases: Readonly<Record<string, TableLease>>;
  readonly breaks: Readonly<Record<string, BreakNote>>;
  /** Who last held each recently released key (for `unlocked (last held by …)`). */
  readonly last: Readonly<Record<string, string>>;
  /** Schema 4: who waits in line for each key, in the order they joined; absent: nobody. */
  readonly waiters?: Lines;
}

/** What a renew or release signs: binds the ticket, the operation and the lease. */
export function signedText(
  r: Pick<TableRecord, 'ticket' | 'op' | 'key' | 'nonce'>,
  lease: TableLease,
): string {
  return [
    'oxvcs-lock-proof-v1',
    r.ticket,
    r.op,
    r.key,
    r.nonce,
    lease.lockId,
    lease.fencingToken,
    lease.ttlMs,
  ].join('\n');
}

/** A chain ticket as read: number, commit, its chain time, the commit's author, and the record. */
export interface ChainTicket {
  readonly ticket: number;
  readonly commitId: string;
  /**
   * The ticket's chain time (ms): its commit's server time, or its record's `floor` when that is
   * later. The clock every lease is judged on.
   */
  readonly committedAt: number;
  readonly author?: string;
  /** Undefined when the message is no valid table record. */
  readonly record?: TableRecord;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const id = isId;
const text = (v: unknown): v is string | undefined =>
  v === undefined || (typeof v === 'string' && v.length <= MAX_TEXT);
const when = isTime;
const keyOk = (k: string) =>
  k.length > 0 &&
  k.length <= 1024 &&
  // biome-ignore lint/suspicious/noControlCharactersInRegex: keys may not hold them
  !/[\u0000-\u001f\u007f-\u009f]/.test(k) &&
  (k === '.' || !k.split('/').some((s) => s === '' || s === '.' || s === '..'));

function parseLease(v: unknown): TableLease | undefined {
  if (!isObject(v)) return undefined;
  const ttl = v.ttlMs;
  const token = v.fencingToken;
  const ok =
    id(v.lockId) &&
    id(v.holder) &&
    id(v.machineId) &&
    typeof token === 'number' &&
    Number.isSafeInteger(token) &&
    token >= 1 &&
    typeof ttl === 'number' &&
    Number.isInteger(ttl) &&
    ttl > 0 &&
    ttl <= MAX_TTL_MS &&
    when(v.acquiredAt) &&
    when(v.renewedAt) &&
    text(v.comment) &&
    (v.nonce === undefined || id(v.nonce)) &&
    (v.grantNonce === undefined || id(v.grantNonce)) &&
    typeof v.owner === 'string' &&
    /^[A-Za-z0-9+/=]{40,120}$/.test(v.owner);
  if (!ok) return undefined;
  return {
    lockId: v.lockId as string,
    holder: v.holder as string,
    machineId: v.machineId as string,
    fencingToken: token as number,
    ttlMs: ttl as number,
    owner: v.owner as string,
    ...(v.acquiredAt ? { acquiredAt: v.acquiredAt as string } : {}),
    ...(v.renewedAt ? { renewedAt: v.renewedAt as string } : {}),
    ...(typeof v.comment === 'string' ? { comment: cleanText(v.comment) } : {}),
    ...(typeof v.nonce === 'string' ? { nonce: v.nonce } : {}),
    ...(typeof v.grantNonce === 'string' ? { grantNonce: v.grantNonce } : {}),
    ...(v.keptAlive === true ? { keptAlive: true as const } : {}),
  };
}

function parseBreak(v: unknown): BreakNote | undefined {
  if (!isObject(v)) return undefined;
  if (!(id(v.by) && id(v.previousHolder) && id(v.previousMachineId) && text(v.reason) && when(v.at)))
    return undefined;
  return {
    by: v.by as string,
    previousHolder: v.previousHolder as string,
    previousMachineId: v.previousMachineId as string,
    ...(typeof v.reason === 'string' ? { reason: cleanText(v.reason) } : {}),
    ...(v.at ? { at: v.at as string } : {}),
  };
}

function parseMap<T>(v: unknown, item: (x: unknown) => T | undefined): Record<string, T> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, T> = {};
  const entries = Object.entries(v);
  if (entries.length > MAX_KEYS) return undefined;
  for (const [k, x] of entries) {
    const parsed = item(x);
    if (!keyOk(k) || parsed === undefined) return undefined;
    out[k] = parsed;
  }
  return out;
}

/**
 * Parses a commit message into a table record, or undefined when it is not a valid one. Records
 * are untrusted input (any repository writer, a buggy client or a hostile server can write one):
 * every field is type-checked and bounded, so a TTL of `1e300` or a date that does not parse makes
 * the record invalid, never a crash; free text has its control characters replaced.
 */
export function parseTable(message: string, ticket: number): TableRecord | undefined {
  if (message.length > MAX_TABLE_BYTES || Buffer.byteLength(message, 'utf8') > MAX_TABLE_BYTES)
    return undefined;
  let v: unknown;
  try {
    v = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (!isObject(v) || ![2, 3, TABLE_SCHEMA].includes(v.schema as number) || v.ticket !== ticket)
    return undefined;
  const writer = v.writer;
  if (!isObject(writer) || !id(writer.holder) || !id(writer.machineId)) return undefined;
  const ops =
    v.schema === TABLE_SCHEMA
      ? ['acquire', 'renew', 'release', 'break', 'wait']
      : ['acquire', 'renew', 'release', 'break'];
  if (!ops.includes(String(v.op))) return undefined;
  if (typeof v.key !== 'string' || !keyOk(v.key) || !id(v.nonce)) return undefined;
  if (v.sig !== undefined && (typeof v.sig !== 'string' || !/^[A-Za-z0-9+/=]{40,200}$/.test(v.sig)))
    return undefined;
  if (v.prev !== undefined && (typeof v.prev !== 'string' || !/^[A-Za-z0-9]{1,128}$/.test(v.prev)))
    return undefined;
  if (v.floor !== undefined && !(Number.isSafeInteger(v.floor) && (v.floor as number) >= 0)) return undefined;
  const leases = parseMap(v.leases, parseLease);
  const breaks = parseMap(v.breaks ?? {}, parseBreak);
  const last = parseMap(v.last ?? {}, (x) => (id(x) ? x : undefined));
  const waiters = v.waiters === undefined || v.schema !== TABLE_SCHEMA ? {} : parseMap(v.waiters, parseLine);
  if (!leases || !breaks || !last || !waiters) return undefined;
  return {
    schema: v.schema as number,
    ticket,
    writer: { holder: writer.holder as string, machineId: writer.machineId as string },
    op: v.op as TableRecord['op'],
    key: v.key,
    nonce: v.nonce as string,
    ...(typeof v.sig === 'string' ? { sig: v.sig } : {}),
    ...(typeof v.prev === 'string' ? { prev: v.prev } : {}),
    ...(typeof v.floor === 'number' ? { floor: v.floor } : {}),
    leases,
    breaks,
    last,
    ...(Object.keys(waiters).length > 0 ? { waiters } : {}),
  };
}

/** True when two keys overlap: the same, or one is a folder containing the other ('.' contains all). */
export function overlaps(a: string, b: string): boolean {
  if (a === b || a === '.' || b === '.') return true;
  return a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** When a lease was last renewed (ms, server clock), given the commit time of the ticket holding it. */
export function renewedAtOf(lease: TableLease, committedAt: number): number {
  return lease.renewedAt ? Date.parse(lease.renewedAt) : committedAt;
}

/** The lease as the public {@link Lease} shape. */
export function leaseView(key: string, lease: TableLease, top: ChainTicket): Lease {
  const renewed = renewedAtOf(lease, top.committedAt);
  return {
    key,
    lockId: lease.lockId,
    holder: lease.holder,
    machineId: lease.machineId,
    acquiredAt: lease.acquiredAt ?? iso(top.committedAt),
    expiresAt: iso(renewed + lease.ttlMs),
    lastHeartbeat: iso(renewed),
    ttlMs: lease.ttlMs,
    ...(lease.comment ? { comment: lease.comment } : {}),
    ...(lease.keptAlive ? { keptAlive: true as const } : {}),
    fencingToken: lease.fencingToken,
    ticket: top.ticket,
  };
}

/** True when the lease has ended at server time `now` (with the margin); never without a clock. */
export function leaseEnded(lease: TableLease, committedAt: number, now: number | undefined): boolean {
  return (
    now !== undefined &&
    Number.isFinite(now) &&
    now >= renewedAtOf(lease, committedAt) + lease.ttlMs + EXPIRY_MARGIN_MS
  );
}

/** Who asks: an identity, and optionally proof of ownership (the lease's key in your state folder). */
export type Asker = Identity & { readonly owns?: (lease: TableLease) => boolean };

/** Is this lease yours? Your name and machine, and (when the asker can tell) its key in your state folder. */
export const isMine = (lease: TableLease, me: Asker) =>
  me.owns ? me.owns(lease) : lease.holder === me.holder && lease.machineId === me.machineId;

/**
 * Pure: the state of `key` in the table at `top`, at server time `now`, for `me`, with the live
 * line for it (`waiters`) when anyone waits.
 */
export function tableState(
  key: string,
  top: ChainTicket | undefined,
  now: number | undefined,
  me: Asker,
): LockState {
  const state = bareState(key, top, now, me);
  const r = top?.record;
  if (!top || !r?.waiters) return state;
  const waiters = waitersFor(key, top, now);
  return waiters.length > 0 ? { ...state, waiters } : state;
}

/** The live line for `key` at `top` (at server time `now`, else the ticket's own time). */
export function waitersFor(key: string, top: ChainTicket | undefined, now: number | undefined): Waiter[] {
  if (!top?.record?.waiters) return [];
  const at = now !== undefined && Number.isFinite(now) ? Math.max(now, top.committedAt) : top.committedAt;
  return lineFor(key, top.record.waiters, top.committedAt, at, overlaps);
}

function bareState(key: string, top: ChainTicket | undefined, now: number | undefined, me: Asker): LockState {
  if (!top) return { state: 'unlocked', key };
  const r = top.record;
  if (!r || !Number.isFinite(top.committedAt)) {
    return { state: 'corrupt', key, ticket: top.ticket, ...(top.author ? { writtenBy: top.author } : {}) };
  }
  const lease = r.leases[key];
  const broke = r.breaks[key];
  const brokeMine = broke && broke.previousHolder === me.holder && broke.previousMachineId === me.machineId;
  if (lease) {
    const view = leaseView(key, lease, top);
    const mine = isMine(lease, me);
    // The note of a break stays when someone else takes the lock after it (see carryOver), so the
    // previous holder learns who broke their lease, when and why, whatever happened since.
    const told =
      brokeMine && !mine
        ? {
            yourLeaseBroken: {
              by: broke.by,
              ...(broke.reason ? { reason: broke.reason } : {}),
              at: broke.at ?? iso(top.committedAt),
            },
          }
        : {};
    if (leaseEnded(lease, top.committedAt, now))
      return { state: 'expired', key, lease: view, yours: mine, ...told };
    return mine
      ? { state: 'held-by-you', key, lease: view }
      : { state: 'held-by-other', key, lease: view, ...told };
  }
  if (brokeMine) {
    return {
      state: 'broken',
      key,
      brokenBy: broke.by,
      ...(broke.reason ? { reason: broke.reason } : {}),
      brokenAt: broke.at ?? iso(top.committedAt),
    };
  }
  const last = r.last[key] ?? broke?.previousHolder;
  return { state: 'unlocked', key, ...(last ? { lastHolder: last } : {}) };
}

/** Live leases of others on keys overlapping `key` (the exact key included), at server time `now`. */
export function blockers(
  key: string,
  top: ChainTicket | undefined,
  now: number | undefined,
  me: Asker,
): Lease[] {
  const r = top?.record;
  if (!top || !r) return [];
  return Object.entries(r.leases)
    .filter(([k, l]) => overlaps(k, key) && !isMine(l, me) && !leaseEnded(l, top.committedAt, now))
    .map(([k, l]) => leaseView(k, l, top));
}

/**
 * Pure: did the table change only away from `key` between `before` and `after`? True when `after`
 * is a later ticket and the leases and places in line on keys overlapping `key` are the same ones
 * (same lease ids and tokens, same waiters): a change that lost the race to it lost it to someone
 * else's unrelated work, so the team made progress (see `claimDeadlineMs`).
 */
export function progressedElsewhere(
  key: string,
  before: { readonly verified: number; readonly effective?: ChainTicket },
  after: { readonly verified: number; readonly effective?: ChainTicket },
): boolean {
  if (after.verified <= before.verified) return false;
  const around = (t: ChainTicket | undefined) => {
    const r = t?.record;
    if (t && !r) return 'corrupt';
    const leases = Object.entries(r?.leases ?? {})
      .filter(([k]) => overlaps(k, key))
      .map(([k, l]) => `${k}|${l.lockId}|${l.fencingToken}`);
    const waiters = Object.entries(r?.waiters ?? {})
      .filter(([k]) => overlaps(k, key))
      .flatMap(([k, line]) => line.map((w) => `${k}|${w.id}|${w.joined}`));
    return JSON.stringify([leases.sort(), waiters.sort()]);
  };
  return around(before.effective) === around(after.effective);
}

/** How long a lease stays in the table after it ended (its holder still reads "expired"), and a break note after the break. */
export const HISTORY_MS = 24 * 3_600_000;

/**
 * The table a new ticket starts from: the table in force with every time made absolute (a lease
 * or note without a time was written in `top`, so it gets `top`'s commit time), leases over by
 * {@link HISTORY_MS} dropped, and break notes and last holders kept bounded. Every age is judged on
 * the commit clock (`top`'s commit time), never on a `Date` header, and the writer checks its
 * change again on its own commit time before claiming it, so a lease is dropped only when every
 * reader agrees it had ended. `keepAll` drops no lease (for a commit clock that stepped back).
 */
export function carryOver(
  top: ChainTicket | undefined,
  keepAll = false,
): {
  leases: Record<string, TableLease>;
  breaks: Record<string, BreakNote>;
  last: Record<string, string>;
  waiters: Record<string, TableWaiter[]>;
} {
  const r = top?.record;
  if (!top || !r) return { leases: {}, breaks: {}, last: {}, waiters: {} };
  const at = iso(top.committedAt);
  const leases: Record<string, TableLease> = {};
  for (const [k, l] of Object.entries(r.leases)) {
    if (!keepAll && leaseEnded(l, top.committedAt, top.committedAt - HISTORY_MS)) continue;
    leases[k] = { ...l, acquiredAt: l.acquiredAt ?? at, renewedAt: l.renewedAt ?? at };
  }
  const breaks: Record<string, BreakNote> = {};
  for (const [k, b] of Object.entries(r.breaks)) {
    const when = b.at ? Date.parse(b.at) : top.committedAt;
    if (top.committedAt > when + HISTORY_MS) continue;
    breaks[k] = { ...b, at: b.at ?? at };
  }
  const lastEntries = Object.entries(r.last).slice(-200);
  return {
    leases,
    breaks,
    last: Object.fromEntries(lastEntries),
    waiters: carryLines(r.waiters, top.committedAt, keepAll),
  };
}

/** A ticket's chain time: its commit time (ms), or its record's `floor` when later. */
export function chainTime(commitTime: number, record: TableRecord | undefined): number {
  return record?.floor !== undefined && Number.isFinite(commitTime)
    ? Math.max(commitTime, record.floor)
    : commitTime;
}
