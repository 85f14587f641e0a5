/**
 * The lock manager: a thin composition. It owns the options and their defaults, the public API,
 * and who "me" is (identity plus the key store); reading the chain is `chain.ts`, claiming a
 * ticket `claim.ts`, the read-decide-claim loop `transition.ts`, and every answer `decide.ts`
 * (pure functions).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { OxenHub } from '@oxvcs/oxen';
import { type ChainCache, createChainReader, memoryChainCache, type ReadEvent } from './chain.js';
import { type ClaimEvent, createClaimer } from './claim.js';
import {
  blockersOf,
  checkTtl,
  checkWaiterLease,
  decideAcquire,
  decideBreak,
  decideLeave,
  decideRelease,
  decideRenew,
  type Fresh,
  type Grant,
  type LineOptions,
  listOf,
  type Me,
  notCurrent,
  statusOf,
  WAITER_LEASE_MS,
} from './decide.js';
import { normaliseKey } from './key.js';
import { type KeyStore, memoryKeyStore, newLeaseKey, publicKeyOf } from './proof.js';
import type { Identity, Lease, LockState } from './record.js';
import { createTransitions } from './transition.js';

export { type CachedChain, type CachedTicket, type ChainCache, memoryChainCache } from './chain.js';
export { type Grant, type LineOptions, WAITER_LEASE_MS } from './decide.js';

/** Oldest oxen-server whose branch creation is atomic (the compare-and-swap we rely on). */
export const MIN_SERVER_VERSION = '0.50.4';

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
  let background: Promise<void> = Promise.resolve();
  /** Runs best-effort work off the critical path; {@link LockManager.idle} waits for it. */
  const later = (work: () => Promise<void>) => {
    background = background.then(work).catch(() => {});
  };

  const me: Me = {
    ...identity,
    /** Is this lease yours: your name and machine, and its key in your state folder? */
    owns: (lease) => {
      if (lease.holder !== identity.holder || lease.machineId !== identity.machineId) return false;
      const secret = keys.get(lease.lockId);
      return secret !== undefined && publicKeyOf(secret) === lease.owner;
    },
    keyOf: (lockId) => keys.get(lockId),
  };
  const fresh: Fresh = { uuid: randomUUID, leaseKey: newLeaseKey };

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
  const { run } = createTransitions({
    reader,
    claimer,
    me,
    keys,
    deadlineMs,
    patienceMs: Math.max(deadlineMs, options.claimPatienceMs ?? 10 * deadlineMs),
    backoffMs: options.claimBackoffMs ?? 50,
    sleep,
    random,
    now,
  });

  const manager: LockManager = {
    async acquire(rawKey, o) {
      checkTtl(o.ttlMs);
      const key = normaliseKey(rawKey);
      if (o.line) checkWaiterLease(key, o.line.leaseMs ?? WAITER_LEASE_MS);
      const req = {
        key,
        nonce: o.nonce ?? randomUUID(),
        ttlMs: o.ttlMs,
        ...(o.comment !== undefined ? { comment: o.comment } : {}),
        ...(o.line ? { line: o.line } : {}),
      };
      return run(key, o.signal, (snap, state) => decideAcquire(snap, state, req, me, fresh, clock()));
    },

    leave(rawKey, o) {
      const key = normaliseKey(rawKey);
      const nonce = o.nonce ?? randomUUID();
      return run(key, o.signal, (snap) => decideLeave(snap, key, o.id, nonce, me));
    },

    async renew(rawKey, o) {
      checkTtl(o.ttlMs);
      const key = normaliseKey(rawKey);
      const req = {
        key,
        nonce: o.nonce ?? randomUUID(),
        ttlMs: o.ttlMs,
        ...(o.fencingToken !== undefined ? { fencingToken: o.fencingToken } : {}),
        ...(o.keepAlive ? { keepAlive: true } : {}),
      };
      return run(key, o.signal, (snap, state) => decideRenew(snap, state, req, me, Date.now()));
    },

    release(rawKey, o = {}) {
      const key = normaliseKey(rawKey);
      const req = {
        key,
        nonce: o.nonce ?? randomUUID(),
        ...(o.fencingToken !== undefined ? { fencingToken: o.fencingToken } : {}),
      };
      return run(key, o.signal, (snap, state) => decideRelease(snap, state, req, me));
    },

    async status(rawKey, o = {}) {
      const key = normaliseKey(rawKey);
      const snap = await reader.read(o.signal);
      return { ...statusOf(key, snap, me), serverNow: snap.serverNow };
    },

    async list(o = {}) {
      return listOf(await reader.read(o.signal), me);
    },

    async blockers(rawKey, o = {}) {
      const key = normaliseKey(rawKey);
      return blockersOf(key, await reader.read(o.signal), me);
    },

    break(rawKey, o) {
      const key = normaliseKey(rawKey);
      const req = {
        key,
        nonce: o.nonce ?? randomUUID(),
        ...(o.force ? { force: true } : {}),
        ...(o.reason !== undefined ? { reason: o.reason } : {}),
      };
      return run(key, o.signal, (snap, state) => decideBreak(snap, state, req, identity));
    },

    async verify(rawKey, fencingToken, o = {}) {
      const state = await manager.status(rawKey, o);
      return { valid: state.state === 'held-by-you' && state.lease.fencingToken === fencingToken, state };
    },

    async assertFencing(rawKey, fencingToken, o = {}) {
      const key = normaliseKey(rawKey);
      const { valid, state } = await manager.verify(key, fencingToken, o);
      if (valid && state.state === 'held-by-you') return state.lease;
      throw notCurrent(key, fencingToken, state);
    },

    idle: () => background,
  };
  return manager;
}
