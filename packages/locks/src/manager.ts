import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { OxenHub } from '@oxvcs/oxen';
import { computeDelay } from '@oxvcs/retry';
import {
  type ChainCache,
  createChainReader,
  memoryChainCache,
  type ReadEvent,
  type Snapshot,
} from './chain.js';
import { type ClaimEvent, createClaimer, type Draft } from './claim.js';
import { LockError } from './errors.js';
import { normaliseKey } from './key.js';
import { MAX_WAITER_LEASE_MS, MIN_WAITER_LEASE_MS } from './line.js';
import { type KeyStore, memoryKeyStore, newLeaseKey, publicKeyOf } from './proof.js';
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
  leaseView,
  overlaps,
  progressedElsewhere,
  type TableLease,
  tableState,
  waitersFor,
} from './table.js';
import { blockedError, corruptError, inLineError, keyLostError, waitingError, what } from './words.js';

export { type CachedChain, type CachedTicket, type ChainCache, memoryChainCache } from './chain.js';
export { SCRATCH_ROOT } from './claim.js';

/** Oldest oxen-server whose branch creation is atomic (the compare-and-swap we rely on). */
export const MIN_SERVER_VERSION = '0.50.4';

/** A granted (or extended) lease. */
export interface Grant extends Lease {
  /** True when you already held it and this call extended it. */
  readonly alreadyHeld: boolean;
}

/** Things worth telling a UI or a log. */
export type LockEvent = ReadEvent | ClaimEvent;

/** Options of {@link createLockManager}. */
export interface LockManagerOptions {
  readonly hub: OxenHub;
  readonly identity: Identity;
  /** @default '0.50.4' */
  readonly minServerVersion?: string;
  /** Where the private keys of your leases are kept (the holder's state folder). @default in memory */
  readonly keys?: KeyStore;
  /** What the manager last learnt of the chain. @default in memory */
  readonly cache?: ChainCache;
  /** Keep at least this many tickets, whatever their age, before old ones are deleted. @default 6 */
  readonly keepTickets?: number;
  /**
   * Old tickets are deleted only once the ticket above them is this old on the server's commit
   * clock, and a cached read is trusted for half of it; see the README. @default 86400000 (a day)
   */
  readonly cleanupHorizonMs?: number;
  /**
   * How long a change keeps trying when it loses ticket races (others changing the table at the
   * same time), with exponential backoff and full jitter; then it fails with BUSY. Each race lost
   * to a change of unrelated keys (the team got through) moves the deadline to this long after
   * it, up to {@link LockManagerOptions.claimPatienceMs}. @default 60000
   */
  readonly claimDeadlineMs?: number;
  /**
   * The longest a change keeps trying while the races it loses are to unrelated keys.
   * @default 10 × claimDeadlineMs
   */
  readonly claimPatienceMs?: number;
  /** First backoff step after a lost race, in ms (doubles each time, capped at 2 s). @default 50 */
  readonly claimBackoffMs?: number;
  /** Test seam: random numbers in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Test seam: waits `ms` (rejects when `signal` aborts). @default node:timers/promises setTimeout */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Test seam: the local monotonic clock in ms, for the claim deadline. @default performance.now */
  readonly now?: () => number;
  /** Test seam: the local wall clock in ms, clean-up's second opinion on a ticket's age. @default Date.now */
  readonly clock?: () => number;
  readonly onEvent?: (event: LockEvent) => void;
}

/** Per-call options. */
export interface LockCallOptions {
  readonly signal?: AbortSignal;
  /** Idempotency key: a replay carrying the same nonce recognises its own earlier effect. */
  readonly nonce?: string;
}

/** How a caller waits in line (see {@link LockManager.acquire}). */
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

/** Manages exclusive locks (leases with fencing tokens) for one Oxen repository. */
export interface LockManager {
  /**
   * Takes the lock. With `line`, a caller who cannot have it yet joins the line for it (or
   * refreshes its place) and gets `WAITING` (its place, the line); call again to keep the place and
   * to be granted when its turn comes. Without `line`, a held lock or an active line is `HELD`.
   */
  acquire(
    key: string | undefined,
    options: LockCallOptions & { ttlMs: number; comment?: string; line?: LineOptions },
  ): Promise<Grant>;
  /** Leaves the line for `key` (the wait `id`); `left` is false when you were not in it. */
  leave(key: string | undefined, options: LockCallOptions & { id: string }): Promise<{ left: boolean }>;
  /** `keepAlive`: a keep-alive renews (others are told the lease's end keeps moving). @default false */
  renew(
    key: string | undefined,
    options: LockCallOptions & { ttlMs: number; fencingToken?: number; keepAlive?: boolean },
  ): Promise<Grant>;
  release(
    key: string | undefined,
    options?: LockCallOptions & { fencingToken?: number },
  ): Promise<{ released: boolean; previous: LockState }>;
  /** `serverNow` is the server's clock (its `Date` header), undefined when it sent none. */
  status(
    key: string | undefined,
    options?: LockCallOptions,
  ): Promise<LockState & { serverNow: number | undefined }>;
  /** Every lock in the repository (one read). */
  list(options?: LockCallOptions): Promise<LockState[]>;
  /** Live leases of others on `key`, on a folder containing it, or on one inside it. */
  blockers(key: string | undefined, options?: LockCallOptions): Promise<Lease[]>;
  /** Break: allowed when the lease has lapsed (on the commit clock), or with `force`; the audit (who, why) is recorded. */
  break(
    key: string | undefined,
    options: LockCallOptions & { force?: boolean; reason?: string },
  ): Promise<{ broken: boolean; previous: LockState }>;
  /** Is `fencingToken` still the current grant of `key` for you? */
  verify(
    key: string | undefined,
    fencingToken: number,
    options?: LockCallOptions,
  ): Promise<{ valid: boolean; state: LockState }>;
  /** Throws STALE_TOKEN unless `fencingToken` is the current grant. */
  assertFencing(key: string | undefined, fencingToken: number, options?: LockCallOptions): Promise<Lease>;
  /** Settles when background work (clean-up of old tickets) is done. */
  idle(): Promise<void>;
}

type Step<R> =
  | { readonly result: R }
  | { readonly write: Draft; readonly onClaimed: (ticket: ChainTicket) => R }
  /** Only on a cached snapshot: decide on a fresh read instead (the cache would likely refuse). */
  | { readonly fresh: true };

/** Creates a {@link LockManager} over a hub. */
export function createLockManager(options: LockManagerOptions): LockManager {
  const { hub, identity } = options;
  const horizon = options.cleanupHorizonMs ?? 24 * 3_600_000;
  const keys = options.keys ?? memoryKeyStore();
  const cache = options.cache ?? memoryChainCache();
  const emit = options.onEvent ?? (() => {});
  const random = options.random ?? Math.random;
  const sleep =
    options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, signal ? { signal } : {}));
  const now = options.now ?? (() => performance.now());
  const clock = options.clock ?? (() => Date.now());
  const deadlineMs = options.claimDeadlineMs ?? 60_000;
  const patienceMs = Math.max(deadlineMs, options.claimPatienceMs ?? 10 * deadlineMs);
  let background: Promise<void> = Promise.resolve();
  /** Runs best-effort work off the critical path; {@link LockManager.idle} waits for it. */
  const later = (work: () => Promise<void>) => {
    background = background.then(work).catch(() => {});
  };

  /** Is this lease yours: your name and machine, and its key in your state folder? */
  const mine = (lease: TableLease) => {
    if (lease.holder !== identity.holder || lease.machineId !== identity.machineId) return false;
    const secret = keys.get(lease.lockId);
    return secret !== undefined && publicKeyOf(secret) === lease.owner;
  };
  const me = { ...identity, owns: mine };

  const reader = createChainReader({
    hub,
    cache,
    identity,
    minVersion: options.minServerVersion ?? MIN_SERVER_VERSION,
    trustMs: horizon / 2,
    emit,
  });
  const claimer = createClaimer({
    hub,
    identity,
    me,
    cache,
    reader,
    keep: Math.max(2, options.keepTickets ?? 6),
    horizonMs: horizon,
    emit,
    later,
    sleep,
    random,
    now,
    clock,
  });
  const read = reader.read;

  /** A won claim: the new top becomes the verified state, and old tickets may go. */
  const settle = <R>(snap: Snapshot, ticket: ChainTicket, onClaimed: (t: ChainTicket) => R): R => {
    reader.save({ verified: ticket.ticket, effective: ticket }, ticket);
    claimer.cleanup(snap, ticket);
    return onClaimed(ticket);
  };

  /**
   * One attempt on the cached state: the decision and the claim, with no read first. Resolves to
   * the result only when the claim won; a refusal on the cache (it may be stale) is not an answer.
   */
  const onCache = async <R>(
    key: string,
    snap: Snapshot,
    decide: (snap: Snapshot, state: LockState) => Step<R>,
    signal: AbortSignal | undefined,
  ): Promise<{ result: R } | undefined> => {
    try {
      const step = decide(snap, tableState(key, snap.shown, snap.serverNow, me));
      if (!('write' in step)) return undefined;
      const claimed = await claimer.claim(snap, step.write, signal);
      return claimed.won ? { result: settle(snap, claimed.ticket, step.onClaimed) } : undefined;
    } catch (error) {
      if (error instanceof LockError) return undefined;
      throw error;
    }
  };

  /**
   * Every change to a lock is the same loop: read the chain, decide, claim the next ticket.
   * Losing the race re-reads and decides again, after a backoff that doubles from
   * `claimBackoffMs` (full jitter, capped at 2 s) until the deadline; then BUSY (or HELD, when
   * the last read shows someone else's lease). A race lost to a change of unrelated keys moves the
   * deadline on (up to `claimPatienceMs`): the team is getting through. The first round decides on the cached state
   * without a read when the cache is young: the claim of the next ticket is itself the
   * compare-and-swap (it wins only while the cached top is still the top). Anything but a won
   * claim on the cache (a refusal, a lost race, nothing to do) is decided again on a fresh read, so
   * no answer but a grant ever rests on the cache.
   */
  const transition = async <R>(
    key: string,
    signal: AbortSignal | undefined,
    decide: (snap: Snapshot, state: LockState) => Step<R>,
  ): Promise<R> => {
    const start = now();
    let deadline = start + deadlineMs;
    const policy = { maxRetries: 0, initialDelayMs: options.claimBackoffMs ?? 50, maxDelayMs: 2000 };
    const cached = reader.cachedSnapshot();
    let before: Snapshot | undefined;
    if (cached) {
      const won = await onCache(key, cached, decide, signal);
      if (won) return won.result;
      before = cached;
    }
    for (let round = 1; ; round++) {
      const snap = await read(signal);
      // Lost to others' work on unrelated keys: the team is getting through, so keep trying. Judged
      // on a read after every lost race, before the deadline is: on a busy machine one round (read,
      // claim, confirm) can outlast the deadline by itself, and a race lost to progress is no reason
      // to stop.
      if (before && progressedElsewhere(key, before.state, snap.state))
        deadline = Math.min(Math.max(deadline, now() + deadlineMs), start + patienceMs);
      before = snap;
      if (round > 1 && now() >= deadline) break;
      const step = decide(snap, tableState(key, snap.shown, snap.serverNow, me));
      if ('result' in step) return step.result;
      if ('fresh' in step) throw new Error('decide asked for a fresh read after a read');
      const claimed = await claimer.claim(snap, step.write, signal);
      if (claimed.won) return settle(snap, claimed.ticket, step.onClaimed);
      await sleep(Math.max(0, Math.min(deadline - now(), computeDelay(policy, round, random))), signal);
    }
    const snap = await read(signal);
    const live = blockers(key, snap.state.effective, snap.serverNow, me);
    if (live[0]) throw blockedError(live[0], key, identity);
    throw new LockError(
      'BUSY',
      `The lock table was busy (others kept changing it) until the deadline, so ${what(key)} was not changed; nobody holds it, try again in a moment.`,
      { key },
    );
  };

  const grantOf = (key: string, ticket: ChainTicket, alreadyHeld: boolean): Grant => {
    const lease = ticket.record?.leases[key];
    if (!lease)
      throw new LockError('LOST', `The lock on ${what(key)} is not in the table just written.`, { key });
    return { ...leaseView(key, lease, ticket), alreadyHeld };
  };

  /**
   * The table, when an earlier attempt of this very operation (same nonce) already took effect:
   * the top was written by it, or (for an acquire or renew buried under later tickets of other
   * keys) the key's lease still carries its nonce.
   */
  const replayed = (snap: Snapshot, nonce: string, key?: string) => {
    const r = snap.state.effective?.record;
    const mineTop =
      r?.nonce === nonce && r.writer.holder === identity.holder && r.writer.machineId === identity.machineId;
    const lease = key === undefined ? undefined : r?.leases[key];
    const ours = lease !== undefined && (lease.nonce === nonce || lease.grantNonce === nonce) && mine(lease);
    return mineTop || ours ? snap.state.effective : undefined;
  };

  /** Your lease, live or lapsed but not taken over, with its private key. */
  const ownLease = (snap: Snapshot, key: string) => {
    const lease = snap.state.effective?.record?.leases[key];
    if (!lease || !mine(lease)) return undefined;
    const privateKey = keys.get(lease.lockId);
    return privateKey ? { lease, privateKey } : undefined;
  };

  /** Why a renew or release by someone who does not hold the lease fails. */
  const notHolder = (key: string, state: LockState, fencingToken?: number) => {
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
        if (
          state.state === 'held-by-other' &&
          state.lease.holder === identity.holder &&
          state.lease.machineId === identity.machineId
        )
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
          {
            key,
            ...token,
          },
        );
    }
  };

  /**
   * A waiter's step when it cannot have the lock yet: join the line, or refresh its place once a
   * third of its lease has gone, then report WAITING with its place.
   */
  const inLine = (
    snap: Snapshot,
    key: string,
    line: LineOptions,
    leaseMs: number,
    lease: Lease | undefined,
  ): Step<Grant> => {
    const { id } = line;
    const recheck = line.recheckMs ?? Math.floor(leaseMs / 3);
    const top = snap.state.effective;
    const at = snap.serverNow ?? top?.committedAt ?? 0;
    const mineIn = (t: ChainTicket | undefined) =>
      waitersFor(key, t, t === top ? snap.serverNow : undefined).find(
        (w) =>
          w.id === id && w.key === key && w.holder === identity.holder && w.machineId === identity.machineId,
      );
    const waiting = (t: ChainTicket | undefined): never => {
      const queue = waitersFor(key, t, t === top ? snap.serverNow : undefined);
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
    const place = mineIn(top);
    // Refresh once a third of the place's lease has gone (its end is `leavesAt`).
    if (place && Date.parse(place.leavesAt) - at > (leaseMs * 2) / 3) return { result: waiting(top) };
    return {
      write: {
        op: 'wait',
        key,
        nonce: randomUUID(),
        wait: { id, leaseMs, action: place ? 'refresh' : 'join' },
      },
      onClaimed: (ticket) => waiting(ticket),
    };
  };

  const manager: LockManager = {
    async acquire(rawKey, o) {
      checkTtl(o.ttlMs);
      const key = normaliseKey(rawKey);
      const nonce = o.nonce ?? randomUUID();
      const line = o.line;
      const waiterLease = line?.leaseMs ?? WAITER_LEASE_MS;
      if (
        line &&
        !(
          Number.isInteger(waiterLease) &&
          waiterLease >= MIN_WAITER_LEASE_MS &&
          waiterLease <= MAX_WAITER_LEASE_MS
        )
      ) {
        throw new LockError(
          'INVALID_TTL',
          `A place in line must be kept from ${MIN_WAITER_LEASE_MS} ms to ${MAX_WAITER_LEASE_MS} ms without a refresh; got ${waiterLease}.`,
          { key },
        );
      }
      return transition(key, o.signal, (snap, state): Step<Grant> => {
        // On the cache, a key someone else seems to hold (by this machine's clock) or with a line
        // is read first: a refusal must rest on a read, and an upload the claim would refuse
        // anyway is a commit stored for good.
        if (
          snap.fromCache &&
          (blockers(key, snap.state.effective, clock(), me).length > 0 ||
            waitersFor(key, snap.state.effective, clock()).length > 0)
        )
          return { fresh: true };
        const earlier = replayed(snap, nonce, key);
        const replayedLease = earlier?.record?.leases[key];
        if (earlier && replayedLease && mine(replayedLease)) return { result: grantOf(key, earlier, false) };
        if (state.state === 'corrupt') throw corruptError(key, state);
        // Without a server clock (no `Date` header) a lease is never judged over from a read; the
        // commit clock of our prepared record decides instead (the exclusive check in claim).
        const live = blockers(key, snap.state.effective, snap.serverNow, me);
        const heldNow = live[0] && snap.serverNow !== undefined ? live[0] : undefined;
        // Your own lease whose key is gone: no line can help (KEY_LOST).
        if (heldNow && heldNow.holder === identity.holder && heldNow.machineId === identity.machineId)
          throw blockedError(heldNow, key, identity);
        const own = ownLease(snap, key);
        const extending = own && (state.state === 'held-by-you' || state.state === 'expired');
        const queue = waitersFor(key, snap.state.effective, snap.serverNow);
        const [first] = queue;
        const myTurn =
          !first ||
          (first.key === key && first.holder === identity.holder && first.machineId === identity.machineId);
        if (line && (heldNow || (!extending && !myTurn)))
          return inLine(snap, key, line, waiterLease, heldNow);
        if (heldNow) throw blockedError(heldNow, key, identity);
        if (!extending && first && !myTurn) throw inLineError(first, key);
        if (own && extending) {
          // Re-acquiring your own live lock extends it, keeping its fencing token.
          const comment = o.comment ?? own.lease.comment;
          const lease: TableLease = {
            ...own.lease,
            ttlMs: o.ttlMs,
            acquiredAt: leaseView(key, own.lease, snap.state.effective as ChainTicket).acquiredAt,
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
        const pair = newLeaseKey();
        const lockId = randomUUID();
        keys.set(lockId, pair.privateKey);
        const next = snap.state.verified + 1;
        const lease: TableLease = {
          lockId,
          holder: identity.holder,
          machineId: identity.machineId,
          fencingToken: next,
          ttlMs: o.ttlMs,
          owner: pair.publicKey,
          nonce,
          grantNonce: nonce,
          ...(o.comment ? { comment: o.comment } : {}),
        };
        return {
          write: { op: 'acquire', key, nonce, lease, exclusive: true },
          onClaimed: (ticket) => grantOf(key, ticket, false),
        };
      });
    },

    leave(rawKey, o) {
      const key = normaliseKey(rawKey);
      return transition(key, o.signal, (snap): Step<{ left: boolean }> => {
        const there = (snap.state.effective?.record?.waiters?.[key] ?? []).some(
          (w) => w.id === o.id && w.holder === identity.holder && w.machineId === identity.machineId,
        );
        if (!there) return { result: { left: false } };
        return {
          write: {
            op: 'wait',
            key,
            nonce: o.nonce ?? randomUUID(),
            wait: { id: o.id, leaseMs: WAITER_LEASE_MS, action: 'leave' },
          },
          onClaimed: () => ({ left: true }),
        };
      });
    },

    async renew(rawKey, o) {
      checkTtl(o.ttlMs);
      const key = normaliseKey(rawKey);
      const nonce = o.nonce ?? randomUUID();
      return transition(key, o.signal, (snap, state): Step<Grant> => {
        const earlier = replayed(snap, nonce, key);
        if (earlier?.record?.leases[key]) return { result: grantOf(key, earlier, true) };
        const own = ownLease(snap, key);
        if (!own) throw notHolder(key, state, o.fencingToken);
        if (o.fencingToken !== undefined && o.fencingToken !== own.lease.fencingToken) {
          throw new LockError(
            'STALE_TOKEN',
            `Fencing token ${o.fencingToken} is stale: the current grant of ${what(key)} is ${own.lease.fencingToken}; acquire the lock again.`,
            { key, fencingToken: o.fencingToken },
          );
        }
        const lease: TableLease = {
          ...own.lease,
          ttlMs: o.ttlMs,
          nonce,
          acquiredAt:
            own.lease.acquiredAt ?? new Date(snap.state.effective?.committedAt ?? Date.now()).toISOString(),
          ...(o.keepAlive ? { keptAlive: true as const } : {}),
        };
        delete (lease as { renewedAt?: string }).renewedAt;
        if (!o.keepAlive) delete (lease as { keptAlive?: true }).keptAlive;
        return {
          write: {
            op: 'renew',
            key,
            nonce,
            lease,
            sign: { privateKey: own.privateKey, lease },
            exclusive: true,
          },
          onClaimed: (ticket) => grantOf(key, ticket, true),
        };
      });
    },

    release(rawKey, o = {}) {
      const key = normaliseKey(rawKey);
      const nonce = o.nonce ?? randomUUID();
      return transition(key, o.signal, (snap, state): Step<{ released: boolean; previous: LockState }> => {
        if (replayed(snap, nonce)) return { result: { released: true, previous: state } };
        if (state.state === 'unlocked' || state.state === 'broken')
          return { result: { released: false, previous: state } };
        const own = ownLease(snap, key);
        if (!own || (o.fencingToken !== undefined && o.fencingToken !== own.lease.fencingToken)) {
          if (own) {
            throw new LockError(
              'STALE_TOKEN',
              `Fencing token ${o.fencingToken} is stale: the current grant of ${what(key)} is ${own.lease.fencingToken}.`,
              { key, ...(o.fencingToken !== undefined ? { fencingToken: o.fencingToken } : {}) },
            );
          }
          throw notHolder(key, state, o.fencingToken);
        }
        return {
          write: {
            op: 'release',
            key,
            nonce,
            lease: null,
            last: own.lease.holder,
            sign: { privateKey: own.privateKey, lease: own.lease },
          },
          onClaimed: () => {
            keys.delete(own.lease.lockId);
            return { released: true, previous: state };
          },
        };
      });
    },

    async status(rawKey, o = {}) {
      const key = normaliseKey(rawKey);
      const snap = await read(o.signal);
      const state = tableState(key, snap.shown, snap.serverNow, me);
      // Someone else's live lock on a folder around this key, or inside it, holds this key too:
      // say so (the lease names its own key), as acquire and the push guard would.
      if (state.state !== 'held-by-you' && state.state !== 'held-by-other' && state.state !== 'corrupt') {
        const [blocker] = blockers(key, snap.shown, snap.serverNow, me);
        if (blocker) return { state: 'held-by-other', key, lease: blocker, serverNow: snap.serverNow };
      }
      return { ...state, serverNow: snap.serverNow };
    },

    async list(o = {}) {
      const snap = await read(o.signal);
      const r = snap.shown?.record;
      if (snap.shown && !r) return [tableState('.', snap.shown, snap.serverNow, me)];
      if (!r) return [];
      const all = new Set([...Object.keys(r.leases), ...Object.keys(r.breaks)]);
      return [...all].sort().map((k) => tableState(k, snap.shown, snap.serverNow, me));
    },

    async blockers(rawKey, o = {}) {
      const key = normaliseKey(rawKey);
      const snap = await read(o.signal);
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
    },

    break(rawKey, o) {
      const key = normaliseKey(rawKey);
      const nonce = o.nonce ?? randomUUID();
      return transition(key, o.signal, (snap, state): Step<{ broken: boolean; previous: LockState }> => {
        const r = snap.shown?.record;
        if (r?.nonce === nonce && r.op === 'break') return { result: { broken: true, previous: state } };
        const corruptTop = snap.shown !== undefined && !r;
        if (!corruptTop && (state.state === 'unlocked' || state.state === 'broken'))
          return { result: { broken: false, previous: state } };
        if ((state.state === 'held-by-other' || state.state === 'held-by-you') && !o.force) {
          // Ended by the server's clock but inside the margin: said as such, not as "live until 3s ago".
          const over = snap.serverNow === undefined ? 0 : snap.serverNow - Date.parse(state.lease.expiresAt);
          const s = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;
          throw new LockError(
            'HELD',
            over >= 0 && over < EXPIRY_MARGIN_MS
              ? `The lock on ${what(key)} (held by ${state.lease.holder}) expired ${s(over)} ago; it is treated as held for ${s(EXPIRY_MARGIN_MS - over)} more so clocks cannot disagree: break it then, or pass --force now.`
              : `The lock on ${what(key)} is live (held by ${state.lease.holder} until ${state.lease.expiresAt}); pass --force to break it anyway.`,
            {
              key,
              holder: state.lease.holder,
              acquiredAt: state.lease.acquiredAt,
              expiresAt: state.lease.expiresAt,
            },
          );
        }
        if (corruptTop && !o.force)
          throw corruptError(key, state as Extract<LockState, { state: 'corrupt' }>);
        const previous = snap.state.effective?.record?.leases[key];
        // Breaking a corrupt table starts a fresh one; the previous holder's note says who and why.
        const write: Draft = {
          op: 'break',
          key,
          nonce,
          lease: null,
          // Without force, the lease must be over on the commit clock, not only by a `Date` header.
          ...(o.force ? {} : { requireEnded: true }),
          ...(previous
            ? {
                breakNote: {
                  by: identity.holder,
                  previousHolder: previous.holder,
                  previousMachineId: previous.machineId,
                  ...(o.reason ? { reason: o.reason.slice(0, 500) } : {}),
                },
                last: previous.holder,
              }
            : {}),
        };
        return {
          write,
          onClaimed: () => ({ broken: true, previous: state }),
        };
      });
    },

    async verify(rawKey, fencingToken, o = {}) {
      const state = await manager.status(rawKey, o);
      return { valid: state.state === 'held-by-you' && state.lease.fencingToken === fencingToken, state };
    },

    async assertFencing(rawKey, fencingToken, o = {}) {
      const key = normaliseKey(rawKey);
      const { valid, state } = await manager.verify(key, fencingToken, o);
      if (valid && state.state === 'held-by-you') return state.lease;
      const current =
        state.state === 'held-by-you' || state.state === 'held-by-other'
          ? ` (current grant: ${state.lease.fencingToken})`
          : '';
      throw new LockError(
        'STALE_TOKEN',
        `Fencing token ${fencingToken} for ${what(key)} is no longer the current grant${current}; the lock was ${state.state.replace(/-/g, ' ')}. Acquire it again before pushing.`,
        { key, fencingToken },
      );
    },

    idle: () => background,
  };
  return manager;
}

/** Throws INVALID_TTL unless `ttlMs` is a whole number of ms between a second and 30 days. */
function checkTtl(ttlMs: number) {
  if (!Number.isInteger(ttlMs) || ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS) {
    throw new LockError(
      'INVALID_TTL',
      `A lease must last a whole number of milliseconds from ${MIN_TTL_MS} (a second) to ${MAX_TTL_MS} (30 days); got ${ttlMs}.`,
    );
  }
}

export { overlaps };
