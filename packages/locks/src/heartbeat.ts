import { setTimeout as delay } from 'node:timers/promises';
import { classify } from '@oxvcs/retry';
import { LockError } from './errors.js';
import type { Grant, LockManager } from './manager.js';

/** Health of a heartbeat: healthy, in jeopardy (renewals failing, lease not yet over), lost, or stopped. */
export type HeartbeatState = 'healthy' | 'jeopardy' | 'lost' | 'stopped';

/** Progress of a heartbeat. */
export type HeartbeatEvent =
  | { readonly type: 'renewed'; readonly grant: Grant }
  | {
      readonly type: 'jeopardy';
      readonly failures: number;
      readonly error: unknown;
      readonly leaseEndsAt: string;
    }
  | {
      readonly type: 'lost';
      readonly error: unknown;
      /** When the keep-alive woke up after its local deadline: the lease lapsed at `at` (ISO). */
      readonly lapsed?: { readonly at: string; readonly freeForMs: number };
    }
  | { readonly type: 'stopped' };

/** Options of {@link startHeartbeat}. */
export interface HeartbeatOptions {
  readonly key: string | undefined;
  readonly ttlMs: number;
  /** The grant being kept alive (its token and expiry). */
  readonly grant: Grant;
  /** Renew every… @default ttlMs / 3 */
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: HeartbeatEvent) => void;
  readonly clock?: { now(): number };
  /** A clock that never jumps (it may stop while the machine sleeps). @default performance */
  readonly monotonic?: { now(): number };
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Start in jeopardy (e.g. started offline from a cached grant): retry soon, not after a full interval. @default 0 */
  readonly initialFailures?: number;
}

/** A running heartbeat. */
export interface Heartbeat {
  readonly state: HeartbeatState;
  /** The latest grant. */
  readonly grant: Grant;
  /** Consecutive failed renewals. */
  readonly failures: number;
  stop(): void;
  /** Settles when the heartbeat ends (stopped, aborted or lost). */
  readonly done: Promise<HeartbeatState>;
}

/**
 * Keeps a lease alive by renewing at about a third of its TTL (etcd's keepalive). A failed renewal
 * puts it in jeopardy (Chubby's grace period) and retries sooner; it is lost when the lease ends
 * before a renewal gets through, or at once when the lock was taken over or broken. It never sends
 * a renewal past its local deadline on either clock (wall: counts a sleeping machine; monotonic:
 * ignores a wall clock set back): a lease that lapsed while the process was frozen stays lapsed,
 * and the `lost` event says when it lapsed and for how long the lock was free.
 */
export function startHeartbeat(manager: LockManager, options: HeartbeatOptions): Heartbeat {
  const clock = options.clock ?? Date;
  const sleep =
    options.sleep ??
    ((ms: number, signal?: AbortSignal) =>
      delay(ms, undefined, signal ? { signal } : {}).then(() => undefined));
  const interval = options.intervalMs ?? Math.max(1000, Math.floor(options.ttlMs / 3));
  const emit = options.onEvent ?? (() => {});
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  let failures = options.initialFailures ?? 0;
  let state: HeartbeatState = failures > 0 ? 'jeopardy' : 'healthy';
  let grant = options.grant;
  // Local deadline measured on our own clock from when the lease was last confirmed.
  let localDeadline = clock.now() + (Date.parse(grant.expiresAt) - Date.parse(grant.lastHeartbeat));
  const mono = options.monotonic ?? performance;
  let monoDeadline = mono.now() + (localDeadline - clock.now());
  const lapsedFor = () => Math.max(clock.now() - localDeadline, mono.now() - monoDeadline);

  const loop = async (): Promise<HeartbeatState> => {
    while (!signal.aborted) {
      const wait = failures === 0 ? interval : Math.max(250, Math.floor(interval / 3));
      try {
        await sleep(Math.min(wait, Math.max(0, localDeadline - clock.now())), signal);
      } catch {
        break;
      }
      if (signal.aborted) break;
      if (lapsedFor() >= 0) {
        // Past the lease (frozen, asleep, or renewals failing): others may have seen it free, so it
        // is never re-taken silently.
        const at = new Date(Math.min(localDeadline, clock.now() - lapsedFor())).toISOString();
        const freeForMs = lapsedFor();
        state = 'lost';
        emit({
          type: 'lost',
          error: new LockError(
            'LOST',
            `Your lease on ${options.key ?? 'this project'} lapsed at ${at} and the lock was free for ${Math.round(freeForMs / 1000)} s before it could be renewed (renewals failed, the machine slept or the process was frozen).`,
            {
              ...(options.key ? { key: options.key } : {}),
              expiresAt: at,
              fencingToken: grant.fencingToken,
              freeForMs,
            },
          ),
          lapsed: { at, freeForMs },
        });
        return state;
      }
      const sentAt = clock.now();
      const monoSentAt = mono.now();
      try {
        grant = await manager.renew(options.key, {
          ttlMs: options.ttlMs,
          fencingToken: grant.fencingToken,
          keepAlive: true,
          signal,
        });
        failures = 0;
        state = 'healthy';
        // Count the lease from when the request was sent (Redlock's rule), not when it returned.
        localDeadline = sentAt + options.ttlMs;
        monoDeadline = monoSentAt + options.ttlMs;
        emit({ type: 'renewed', grant });
      } catch (error) {
        if (signal.aborted) break;
        const lostForGood =
          error instanceof LockError || !['transient', 'rate-limited'].includes(classify(error).kind);
        if (lostForGood || lapsedFor() >= 0) {
          state = 'lost';
          emit({ type: 'lost', error });
          return state;
        }
        failures += 1;
        state = 'jeopardy';
        emit({ type: 'jeopardy', failures, error, leaseEndsAt: new Date(localDeadline).toISOString() });
      }
    }
    state = 'stopped';
    emit({ type: 'stopped' });
    return state;
  };

  const done = loop();
  return {
    get state() {
      return state;
    },
    get grant() {
      return grant;
    },
    get failures() {
      return failures;
    },
    stop() {
      controller.abort();
    },
    done,
  };
}
