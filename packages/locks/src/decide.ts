/**
 * The lock manager's decisions, as pure functions: given what a read (or the cache) shows of the
 * table, the request, who asks and the clocks, what to answer or which change to claim. No I/O:
 * the caller ({@link createTransitions} via the manager) reads, stores lease keys, and claims.
 * Randomness (new lease keys, nonces) is handed in as {@link Fresh}, as clocks are.
 */
import type { Snapshot } from './chain.js';
import type { Draft } from './claim.js';
import { LockError } from './errors.js';
import { MAX_WAITER_LEASE_MS, MIN_WAITER_LEASE_MS } from './line.js';
import type { KeyPair } from './proof.js';
import {
  EXPIRY_MARGIN_MS,
  type Identity,
  type Lease,
  type LockState,
  MAX_TTL_MS,
  MIN_TTL_MS,
} from './record.js';
import {
  blockers,
  type ChainTicket,
  isMine,
  leaseView,
  type TableLease,
  tableState,
  waitersFor,
} from './table.js';
import { blockedError, corruptError, inLineError, keyLostError, waitingError, what } from './words.js';

/** A granted (or extended) lease. */
export interface Grant extends Lease {
  /** True when you already held it and this call extended it. */
  readonly alreadyHeld: boolean;
}

/** How a caller waits in line (see `LockManager.acquire`). */
export interface LineOptions {
  /** The wait's id: the same for every call of one wait (a fresh one joins at the end). */
  readonly id: string;
  /**
   * How long the place is kept without a call: a waiter who stops calling leaves the line this
   * long (plus the expiry margin) after its last refresh. A call refreshes the place once a third
   * of it has gone. @default 300000 (5 minutes)
   */
  readonly leaseMs?: number;
  /** When to ask again, as `WAITING` says (`retryAfterMs`). @default a third of `leaseMs` */
  readonly recheckMs?: number;
}

/** Default {@link LineOptions.leaseMs}. */
export const WAITER_LEASE_MS = 300_000;

/**
 * Who asks: an identity, whether a lease is theirs (its key in their state folder), and that key.
 * Lookups only: the key store is read, never written, by a decision.
 */
export interface Me extends Identity {
  readonly owns: (lease: TableLease) => boolean;
  /** The private key of lease `lockId`, when this machine keeps it. */
  readonly keyOf: (lockId: string) => string | undefined;
}

/** Where a decision gets what must be new each time (a test passes fixed ones). */
export interface Fresh {
  readonly uuid: () => string;
  readonly leaseKey: () => KeyPair;
}

/** What a decision says to do. */
export type Step<R> =
  | { readonly result: R }
  | {
      readonly write: Draft;
      /** The answer once the change is claimed (the ticket written). */
      readonly onClaimed: (ticket: ChainTicket) => R;
      /** A new lease's key: keep it before claiming (a claim that wins must find it). */
      readonly keep?: { readonly lockId: string; readonly privateKey: string };
      /** A released lease's key: forget it once the claim won. */
      readonly forget?: string;
    }
  /** Only on a cached snapshot: decide on a fresh read instead (the cache would likely refuse). */
  | { readonly fresh: true };

/** A decision: the snapshot and the key's state in it, to a step. */
export type Decide<R> = (snap: Snapshot, state: LockState) => Step<R>;

/** The key's state in a snapshot, as `me` sees it. */
export const stateIn = (key: string, snap: Snapshot, me: Me): LockState =>
  tableState(key, snap.shown, snap.serverNow, me);

/** Throws INVALID_TTL unless `ttlMs` is a whole number of ms between a second and 30 days. */
export function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS) {
    throw new LockError(
      'INVALID_TTL',
      `A lease must last a whole number of milliseconds from ${MIN_TTL_MS} (a second) to ${MAX_TTL_MS} (30 days); got ${ttlMs}.`,
    );
  }
}

/** Throws INVALID_TTL unless a place in line's lease is whole ms within the bounds. */
export function checkWaiterLease(key: string, leaseMs: number): void {
  if (!(Number.isInteger(leaseMs) && leaseMs >= MIN_WAITER_LEASE_MS && leaseMs <= MAX_WAITER_LEASE_MS)) {
    throw new LockError(
      'INVALID_TTL',
      `A place in line must be kept from ${MIN_WAITER_LEASE_MS} ms to ${MAX_WAITER_LEASE_MS} ms without a refresh; got ${leaseMs}.`,
      { key },
    );
  }
}

const sameWriter = (a: Identity, b: Identity) => a.holder === b.holder && a.machineId === b.machineId;

/** The lease of `key` in `ticket` as granted: LOST when the table just written does not have it. */
export function grantOf(key: string, ticket: ChainTicket, alreadyHeld: boolean): Grant {
  const lease = ticket.record?.leases[key];
  if (!lease)
    throw new LockError('LOST', `The lock on ${what(key)} is not in the table just written.`, { key });
  return { ...leaseView(key, lease, ticket), alreadyHeld };
}

/**
 * The table, when an earlier attempt of this very operation (same nonce) already took effect:
 * the top was written by it, or (for an acquire or renew buried under later tickets of other
 * keys) the key's lease still carries its nonce.
 */
export function replayed(snap: Snapshot, me: Me, nonce: string, key?: string): ChainTicket | undefined {
  const r = snap.state.effective?.record;
  const mineTop = r?.nonce === nonce && sameWriter(r.writer, me);
  const lease = key === undefined ? undefined : r?.leases[key];
  const ours =
    lease !== undefined && (lease.nonce === nonce || lease.grantNonce === nonce) && isMine(lease, me);
  return mineTop || ours ? snap.state.effective : undefined;
}

/** Your lease, live or lapsed but not taken over, with its private key. */
export function ownLease(snap: Snapshot, me: Me, key: string) {
  const lease = snap.state.effective?.record?.leases[key];
  if (!lease || !isMine(lease, me)) return undefined;
  const privateKey = me.keyOf(lease.lockId);
  return privateKey ? { lease, privateKey } : undefined;
}

/** Why a renew or release by someone who does not hold the lease fails. */
export function notHolder(key: string, state: LockState, me: Identity, fencingToken?: number): LockError {
  const token = fencingToken === undefined ? {} : { fencingToken };
  switch (state.state) {
    case 'broken':
      return new LockError(
        'LOST',
        `Your lock on ${what(key)} was broken by ${state.brokenBy}${state.reason ? `: ${state.reason}` : ''}; acquire it again before editing.`,
        { key, brokenBy: state.brokenBy, ...(state.reason ? { reason: state.reason } : {}), ...token },
      );
    case 'held-by-other':
    case 'expired': {
      if (state.state === 'held-by-other' && sameWriter(state.lease, me))
        return keyLostError(state.lease, key);
      const broke = state.yourLeaseBroken;
      return new LockError(
        'NOT_HOLDER',
        `${broke ? `Your lock on ${what(key)} was broken by ${broke.by} at ${broke.at}${broke.reason ? ` (${broke.reason})` : ''}; it` : `The lock on ${what(key)}`} is held by ${state.lease.holder} until ${state.lease.expiresAt}, not by you; only its holder can renew or release it.`,
        {
          key,
          holder: state.lease.holder,
          acquiredAt: state.lease.acquiredAt,
          expiresAt: state.lease.expiresAt,
          ...(broke ? { brokenBy: broke.by, brokenAt: broke.at } : {}),
          ...(broke?.reason ? { reason: broke.reason } : {}),
          ...token,
        },
      );
    }
    case 'corrupt':
      return corruptError(key, state);
    default:
      return new LockError(
        'NOT_HOLDER',
        `You do not hold the lock on ${what(key)} (it is ${state.state.replace(/-/g, ' ')}); acquire it first.`,
        { key, ...token },
      );
  }
}

/**
 * A waiter's step when it cannot have the lock yet: join the line, or refresh its place once a
 * third of its lease has gone, then report WAITING with its place.
 */
function inLine(
  snap: Snapshot,
  me: Me,
  key: string,
  line: LineOptions,
  leaseMs: number,
  lease: Lease | undefined,
  nonce: string,
): Step<Grant> {
  const { id } = line;
  const recheck = line.recheckMs ?? Math.floor(leaseMs / 3);
  const top = snap.state.effective;
  const at = snap.serverNow ?? top?.committedAt ?? 0;
  const lineIn = (t: ChainTicket | undefined) => waitersFor(key, t, t === top ? snap.serverNow : undefined);
  const waiting = (t: ChainTicket | undefined): never => {
    const queue = lineIn(t);
    const place = queue.find((w) => w.id === id);
    throw waitingError(
      key,
      lease,
      queue,
      place?.position ?? queue.length,
      place?.since ?? new Date(at).toISOString(),
      recheck,
    );
  };
  const place = lineIn(top).find((w) => w.id === id && w.key === key && sameWriter(w, me));
  // Refresh once a third of the place's lease has gone (its end is `leavesAt`).
  if (place && Date.parse(place.leavesAt) - at > (leaseMs * 2) / 3) return { result: waiting(top) };
  return {
    write: { op: 'wait', key, nonce, wait: { id, leaseMs, action: place ? 'refresh' : 'join' } },
    onClaimed: (ticket) => waiting(ticket),
  };
}

/** An acquire: `ttlMs` checked, `key` normalised, `nonce` chosen by the caller. */
export interface AcquireRequest {
  readonly key: string;
  readonly nonce: string;
  readonly ttlMs: number;
  readonly comment?: string;
  readonly line?: LineOptions;
}

/**
 * Pure: acquire `req.key`. `clock` is this machine's wall clock, used only to decide that the
 * cache would likely refuse (then read first: a refusal must rest on a read).
 */
export function decideAcquire(
  snap: Snapshot,
  state: LockState,
  req: AcquireRequest,
  me: Me,
  fresh: Fresh,
  clock: number,
): Step<Grant> {
  const { key, nonce, line } = req;
  const waiterLease = line?.leaseMs ?? WAITER_LEASE_MS;
  const effective = snap.state.effective;
  // On the cache, a key someone else seems to hold (by this machine's clock) or with a line
  // is read first: a refusal must rest on a read, and an upload the claim would refuse
  // anyway is a commit stored for good.
  if (
    snap.fromCache &&
    (blockers(key, effective, clock, me).length > 0 || waitersFor(key, effective, clock).length > 0)
  )
    return { fresh: true };
  const earlier = replayed(snap, me, nonce, key);
  const replayedLease = earlier?.record?.leases[key];
  if (earlier && replayedLease && isMine(replayedLease, me)) return { result: grantOf(key, earlier, false) };
  if (state.state === 'corrupt') throw corruptError(key, state);
  // Without a server clock (no `Date` header) a lease is never judged over from a read; the
  // commit clock of our prepared record decides instead (the exclusive check in claim).
  const live = blockers(key, effective, snap.serverNow, me);
  const heldNow = live[0] && snap.serverNow !== undefined ? live[0] : undefined;
  // Your own lease whose key is gone: no line can help (KEY_LOST).
  if (heldNow && sameWriter(heldNow, me)) throw blockedError(heldNow, key, me);
  const own = ownLease(snap, me, key);
  const extending = own && (state.state === 'held-by-you' || state.state === 'expired');
  const [first] = waitersFor(key, effective, snap.serverNow);
  const myTurn = !first || (first.key === key && sameWriter(first, me));
  if (line && (heldNow || (!extending && !myTurn)))
    return inLine(snap, me, key, line, waiterLease, heldNow, fresh.uuid());
  if (heldNow) throw blockedError(heldNow, key, me);
  if (!extending && first && !myTurn) throw inLineError(first, key);
  if (own && extending) {
    // Re-acquiring your own live lock extends it, keeping its fencing token.
    const comment = req.comment ?? own.lease.comment;
    const lease: TableLease = {
      ...own.lease,
      ttlMs: req.ttlMs,
      acquiredAt: leaseView(key, own.lease, effective as ChainTicket).acquiredAt,
      nonce,
      ...(comment ? { comment } : {}),
    };
    delete (lease as { renewedAt?: string }).renewedAt;
    return {
      write: {
        op: 'acquire',
        key,
        nonce,
        lease,
        sign: { privateKey: own.privateKey, lease },
        exclusive: true,
      },
      onClaimed: (ticket) => grantOf(key, ticket, true),
    };
  }
  const pair = fresh.leaseKey();
  const lockId = fresh.uuid();
  const lease: TableLease = {
    lockId,
    holder: me.holder,
    machineId: me.machineId,
    fencingToken: snap.state.verified + 1,
    ttlMs: req.ttlMs,
    owner: pair.publicKey,
    nonce,
    grantNonce: nonce,
    ...(req.comment ? { comment: req.comment } : {}),
  };
  return {
    write: { op: 'acquire', key, nonce, lease, exclusive: true },
    keep: { lockId, privateKey: pair.privateKey },
    onClaimed: (ticket) => grantOf(key, ticket, false),
  };
}

/** Pure: leave the line for `key` (the wait `id`). */
export function decideLeave(
  snap: Snapshot,
  key: string,
  id: string,
  nonce: string,
  me: Me,
): Step<{ left: boolean }> {
  const there = (snap.state.effective?.record?.waiters?.[key] ?? []).some(
    (w) => w.id === id && sameWriter(w, me),
  );
  if (!there) return { result: { left: false } };
  return {
    write: { op: 'wait', key, nonce, wait: { id, leaseMs: WAITER_LEASE_MS, action: 'leave' } },
    onClaimed: () => ({ left: true }),
  };
}

/** STALE_TOKEN: `fencingToken` is not the current grant `current` of `key`. */
const staleToken = (key: string, fencingToken: number | undefined, current: number, advice: string) =>
  new LockError(
    'STALE_TOKEN',
    `Fencing token ${fencingToken} is stale: the current grant of ${what(key)} is ${current}${advice}.`,
    { key, ...(fencingToken !== undefined ? { fencingToken } : {}) },
  );

/** A renewal: `ttlMs` checked, `key` normalised. */
export interface RenewRequest {
  readonly key: string;
  readonly nonce: string;
  readonly ttlMs: number;
  readonly fencingToken?: number;
  readonly keepAlive?: boolean;
}

/** Pure: renew `req.key`; `clock` (local wall ms) dates a lease with no `acquiredAt` and no chain time. */
export function decideRenew(
  snap: Snapshot,
  state: LockState,
  req: RenewRequest,
  me: Me,
  clock: number,
): Step<Grant> {
  const { key, nonce } = req;
  const earlier = replayed(snap, me, nonce, key);
  if (earlier?.record?.leases[key]) return { result: grantOf(key, earlier, true) };
  const own = ownLease(snap, me, key);
  if (!own) throw notHolder(key, state, me, req.fencingToken);
  if (req.fencingToken !== undefined && req.fencingToken !== own.lease.fencingToken)
    throw staleToken(key, req.fencingToken, own.lease.fencingToken, '; acquire the lock again');
  const lease: TableLease = {
    ...own.lease,
    ttlMs: req.ttlMs,
    nonce,
    acquiredAt: own.lease.acquiredAt ?? new Date(snap.state.effective?.committedAt ?? clock).toISOString(),
    ...(req.keepAlive ? { keptAlive: true as const } : {}),
  };
  delete (lease as { renewedAt?: string }).renewedAt;
  if (!req.keepAlive) delete (lease as { keptAlive?: true }).keptAlive;
  return {
    write: { op: 'renew', key, nonce, lease, sign: { privateKey: own.privateKey, lease }, exclusive: true },
    onClaimed: (ticket) => grantOf(key, ticket, true),
  };
}

/** What a release answers. */
export interface Released {
  readonly released: boolean;
  readonly previous: LockState;
}

/** Pure: release `key`. */
export function decideRelease(
  snap: Snapshot,
  state: LockState,
  req: { readonly key: string; readonly nonce: string; readonly fencingToken?: number },
  me: Me,
): Step<Released> {
  const { key, nonce, fencingToken } = req;
  if (replayed(snap, me, nonce)) return { result: { released: true, previous: state } };
  if (state.state === 'unlocked' || state.state === 'broken')
    return { result: { released: false, previous: state } };
  const own = ownLease(snap, me, key);
  if (!own) throw notHolder(key, state, me, fencingToken);
  if (fencingToken !== undefined && fencingToken !== own.lease.fencingToken)
    throw staleToken(key, fencingToken, own.lease.fencingToken, '');
  return {
    write: {
      op: 'release',
      key,
      nonce,
      lease: null,
      last: own.lease.holder,
      sign: { privateKey: own.privateKey, lease: own.lease },
    },
    forget: own.lease.lockId,
    onClaimed: () => ({ released: true, previous: state }),
  };
}

/** What a break answers. */
export interface Broken {
  readonly broken: boolean;
  readonly previous: LockState;
}

/** Pure: break `key` (with `force`, even a live lease or a corrupt table). */
export function decideBreak(
  snap: Snapshot,
  state: LockState,
  req: { readonly key: string; readonly nonce: string; readonly force?: boolean; readonly reason?: string },
  me: Identity,
): Step<Broken> {
  const { key, nonce, force } = req;
  const r = snap.shown?.record;
  if (r?.nonce === nonce && r.op === 'break') return { result: { broken: true, previous: state } };
  const corruptTop = snap.shown !== undefined && !r;
  if (!corruptTop && (state.state === 'unlocked' || state.state === 'broken'))
    return { result: { broken: false, previous: state } };
  if ((state.state === 'held-by-other' || state.state === 'held-by-you') && !force) {
    // Ended by the server's clock but inside the margin: said as such, not as "live until 3s ago".
    const over = snap.serverNow === undefined ? 0 : snap.serverNow - Date.parse(state.lease.expiresAt);
    const s = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;
    const inMargin = over >= 0 && over < EXPIRY_MARGIN_MS;
    throw new LockError(
      'HELD',
      inMargin
        ? `The lock on ${what(key)} (held by ${state.lease.holder}) expired ${s(over)} ago; it is treated as held for ${s(EXPIRY_MARGIN_MS - over)} more so clocks cannot disagree.`
        : `The lock on ${what(key)} is live (held by ${state.lease.holder} until ${state.lease.expiresAt}).`,
      {
        key,
        holder: state.lease.holder,
        acquiredAt: state.lease.acquiredAt,
        expiresAt: state.lease.expiresAt,
        force: true,
        ...(inMargin ? { endedAgoMs: over } : {}),
      },
    );
  }
  if (corruptTop && !force) throw corruptError(key, state as Extract<LockState, { state: 'corrupt' }>);
  const previous = snap.state.effective?.record?.leases[key];
  // Breaking a corrupt table starts a fresh one; the previous holder's note says who and why.
  const write: Draft = {
    op: 'break',
    key,
    nonce,
    lease: null,
    // Without force, the lease must be over on the commit clock, not only by a `Date` header.
    ...(force ? {} : { requireEnded: true }),
    ...(previous
      ? {
          breakNote: {
            by: me.holder,
            previousHolder: previous.holder,
            previousMachineId: previous.machineId,
            ...(req.reason ? { reason: req.reason.slice(0, 500) } : {}),
          },
          last: previous.holder,
        }
      : {}),
  };
  return { write, onClaimed: () => ({ broken: true, previous: state }) };
}

/** Pure: the answer of a change that lost every race until its deadline (read once more): HELD when a lease blocks it, else BUSY. */
export function gaveUp(key: string, snap: Snapshot, me: Me): LockError {
  const [live] = blockers(key, snap.state.effective, snap.serverNow, me);
  if (live) return blockedError(live, key, me);
  return new LockError(
    'BUSY',
    `The lock table was busy (others kept changing it) until the deadline, so ${what(key)} was not changed; nobody holds it, try again in a moment.`,
    { key },
  );
}

/**
 * Pure: the state of `key` as `status` reports it. Someone else's live lock on a folder around
 * the key, or inside it, holds the key too (the lease names its own key), as acquire and the push
 * guard would say.
 */
export function statusOf(key: string, snap: Snapshot, me: Me): LockState {
  const state = stateIn(key, snap, me);
  if (state.state !== 'held-by-you' && state.state !== 'held-by-other' && state.state !== 'corrupt') {
    const [blocker] = blockers(key, snap.shown, snap.serverNow, me);
    if (blocker) return { state: 'held-by-other', key, lease: blocker };
  }
  return state;
}

/** Pure: every lock in the table shown (a corrupt table: one `corrupt` state). */
export function listOf(snap: Snapshot, me: Me): LockState[] {
  const r = snap.shown?.record;
  if (snap.shown && !r) return [tableState('.', snap.shown, snap.serverNow, me)];
  if (!r) return [];
  const all = new Set([...Object.keys(r.leases), ...Object.keys(r.breaks)]);
  return [...all].sort().map((k) => tableState(k, snap.shown, snap.serverNow, me));
}

/** Pure: others' live leases on keys overlapping `key`; CORRUPT_RECORD when the table shown is corrupt. */
export function blockersOf(key: string, snap: Snapshot, me: Me): Lease[] {
  const shown = snap.shown;
  if (shown && !shown.record) {
    throw corruptError(key, {
      state: 'corrupt',
      key,
      ticket: shown.ticket,
      ...(shown.author ? { writtenBy: shown.author } : {}),
    });
  }
  return blockers(key, shown, snap.serverNow, me);
}

/** Pure: STALE_TOKEN for `assertFencing` when `fencingToken` is not the current grant in `state`. */
export function notCurrent(key: string, fencingToken: number, state: LockState): LockError {
  const current =
    state.state === 'held-by-you' || state.state === 'held-by-other'
      ? ` (current grant: ${state.lease.fencingToken})`
      : '';
  return new LockError(
    'STALE_TOKEN',
    `Fencing token ${fencingToken} for ${what(key)} is no longer the current grant${current}; the lock was ${state.state.replace(/-/g, ' ')}. Acquire it again before pushing.`,
    { key, fencingToken },
  );
}
