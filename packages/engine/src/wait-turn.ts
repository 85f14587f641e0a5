import { setTimeout as delay } from 'node:timers/promises';
import { type Grant, type LockManager, WAITER_LEASE_MS, type Waiter } from '@oxvcs/locks';
import { classify, isOxvcsError, isRetryable } from '@oxvcs/retry';
import { EngineError } from './errors.js';

/** Where a wait stands, each time the engine looks (data; the apps word it). */
export type WaitProgress =
  | {
      readonly type: 'waiting';
      /** Your place in line (1 = next). */
      readonly position: number;
      /** Server time you joined the line. */
      readonly since: string;
      /** The lease you wait behind, when one is live (someone may just be giving it up). */
      readonly holder?: string;
      readonly heldSince?: string;
      /** The key the holder's lease is on, when it is a folder around yours or one inside it. */
      readonly heldKey?: string;
      /** The whole line, first first. */
      readonly waiters: readonly Waiter[];
    }
  /** The remote could not be reached this time; the wait goes on (the place lasts its lease). */
  | { readonly type: 'unreachable'; readonly reason: string };

/** Options of a `lock acquire --wait`. */
export interface LockWaitOptions {
  /** Give up (and leave the line) after this long. @default no limit */
  readonly maxWaitMs?: number;
  /** Aborting leaves the line and rejects with the signal's reason (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Told each time the engine looks (every `pollMs`). */
  readonly onProgress?: (progress: WaitProgress) => void;
  /** How often to look (one read; a write only to join or to keep the place). @default 5000 */
  readonly pollMs?: number;
  /** How long the place is kept without a look (a dead waiter leaves the line after it). @default 300000 */
  readonly placeMs?: number;
}

/** What {@link waitTurn} needs. */
export interface WaitTurnDeps {
  readonly manager: LockManager;
  readonly key: string;
  readonly ttlMs: number;
  readonly comment?: string;
  /** Each look gets this long (the request deadline). */
  readonly lookMs: number;
  /** Test seam. @default node:timers/promises setTimeout */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Test seam: a clock for how long the wait has lasted (`maxWaitMs`, `waitedMs`). Monotonic, so a
   * wall clock set back or ahead mid-wait neither stretches nor cuts the wait. @default performance.now
   */
  readonly now?: () => number;
}

/** A grant after waiting in line: how long the wait was, and whether there was one. */
export type WaitedGrant = Grant & { readonly waitedMs: number; readonly waited: boolean };

/**
 * Waits in line for the lock: joins the line, keeps the place, and takes the lock when its turn
 * comes (the fairness rule of `@oxvcs/locks`: first come, first served). On `maxWaitMs` it leaves
 * the line and fails with WAIT_ENDED; on abort it leaves the line and rejects with the signal's
 * reason. A look that cannot reach the remote is reported and the wait goes on.
 */
export async function waitTurn(deps: WaitTurnDeps, o: LockWaitOptions): Promise<WaitedGrant> {
  const { manager, key } = deps;
  const now = deps.now ?? (() => performance.now());
  const sleep =
    deps.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, signal ? { signal } : {}));
  const id = `wait-${globalThis.crypto.randomUUID()}`;
  // One nonce for the whole wait: a grant whose answer was lost is recognised on the next look.
  const nonce = `acquire-lock:${id}`;
  const started = now();
  const pollMs = o.pollMs ?? 5000;
  const placeMs = o.placeMs ?? WAITER_LEASE_MS;
  let inLine = false;
  const leave = async () => {
    if (!inLine) return;
    // Best effort within one request deadline: otherwise the place lapses by itself.
    await manager.leave(key, { id, signal: AbortSignal.timeout(deps.lookMs) }).catch(() => undefined);
  };
  for (;;) {
    o.signal?.throwIfAborted();
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(deps.lookMs), ...(o.signal ? [o.signal] : [])]);
      const grant = await manager.acquire(key, {
        ttlMs: deps.ttlMs,
        nonce,
        signal,
        line: { id, leaseMs: placeMs },
        ...(deps.comment ? { comment: deps.comment } : {}),
      });
      return { ...grant, waited: inLine, waitedMs: now() - started };
    } catch (error) {
      if (o.signal?.aborted) {
        await leave();
        throw o.signal.reason;
      }
      const e = error as { name?: string; code?: string } & Record<string, unknown>;
      if (e.name === 'LockError' && e.code === 'WAITING') {
        inLine = true;
        o.onProgress?.({
          type: 'waiting',
          position: Number(e.position),
          since: String(e.since),
          waiters: (e.waiters as Waiter[] | undefined) ?? [],
          ...(typeof e.holder === 'string' ? { holder: e.holder } : {}),
          ...(typeof e.acquiredAt === 'string' ? { heldSince: e.acquiredAt } : {}),
          ...(typeof e.heldKey === 'string' ? { heldKey: e.heldKey } : {}),
        });
      } else if (isOxvcsError(error) && isRetryable(classify(error).kind)) {
        o.onProgress?.({ type: 'unreachable', reason: classify(error).reason });
      } else if (!isOxvcsError(error) && (error as Error)?.name === 'TimeoutError') {
        o.onProgress?.({ type: 'unreachable', reason: 'the remote did not answer in time' });
      } else throw error;
    }
    const left = o.maxWaitMs === undefined ? pollMs : Math.min(pollMs, started + o.maxWaitMs - now());
    if (left <= 0) {
      await leave();
      throw new EngineError(
        'WAIT_ENDED',
        `Waited ${Math.round((o.maxWaitMs ?? 0) / 1000)} s in line for the lock without getting it; left the line.`,
        { waitedMs: now() - started },
      );
    }
    try {
      await sleep(left, o.signal);
    } catch (error) {
      if (!o.signal?.aborted) throw error;
      await leave();
      throw o.signal.reason;
    }
  }
}
