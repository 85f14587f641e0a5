/**
 * Running a decision against the chain: one attempt on the cached state, then rounds of read,
 * decide, claim until a claim wins or the deadline passes (then the decision's last word: HELD or
 * BUSY). Owns the claim deadline, its patience and the backoff between lost races; the reading is
 * the reader's ({@link createChainReader}), the claiming the claimer's ({@link createClaimer}), and
 * every answer the decision's (`decide.ts`). {@link nextDeadline} is the deadline rule, pure.
 */
import { computeDelay } from '@oxvcs/retry';
import type { ChainReader, Snapshot } from './chain.js';
import type { Claimer } from './claim.js';
import { type Decide, gaveUp, type Me, type Step, stateIn } from './decide.js';
import { LockError } from './errors.js';
import type { KeyStore } from './proof.js';
import { type ChainTicket, progressedElsewhere } from './table.js';

/** What {@link createTransitions} needs. */
export interface TransitionDeps {
  readonly reader: ChainReader;
  readonly claimer: Claimer;
  readonly me: Me;
  /** Where a new lease's key is kept before its claim, and a released one's forgotten. */
  readonly keys: KeyStore;
  /** A change keeps trying this long after its start, or after a race lost to unrelated progress (ms). */
  readonly deadlineMs: number;
  /** …but never longer than this after its start (ms). */
  readonly patienceMs: number;
  /** First backoff step after a lost race (ms). */
  readonly backoffMs: number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random: () => number;
  /** The local monotonic clock (ms). */
  readonly now: () => number;
}

/**
 * Pure: the deadline of a change after a read at `at`. A race lost to others' work on unrelated
 * keys (`progressed`) moves it to `deadlineMs` after the read, never back and never past
 * `start + patienceMs`; otherwise it stays.
 */
export function nextDeadline(c: {
  readonly deadline: number;
  readonly start: number;
  readonly at: number;
  readonly progressed: boolean;
  readonly deadlineMs: number;
  readonly patienceMs: number;
}): number {
  if (!c.progressed) return c.deadline;
  return Math.min(Math.max(c.deadline, c.at + c.deadlineMs), c.start + c.patienceMs);
}

/** Runs decisions against the chain: see the module comment. */
export function createTransitions(deps: TransitionDeps) {
  const { reader, claimer, me, keys, now } = deps;
  const policy = { maxRetries: 0, initialDelayMs: deps.backoffMs, maxDelayMs: 2000 };

  /** Claims a step's change: the new lease's key kept first; on a win, the cache and the answer. */
  const claim = async <R>(
    snap: Snapshot,
    step: Extract<Step<R>, { write: unknown }>,
    signal: AbortSignal | undefined,
  ): Promise<{ result: R } | undefined> => {
    if (step.keep) keys.set(step.keep.lockId, step.keep.privateKey);
    const claimed = await claimer.claim(snap, step.write, signal);
    if (!claimed.won) return undefined;
    return { result: settle(snap, claimed.ticket, step) };
  };

  /** A won claim: the new top becomes the verified state, and old tickets may go. */
  const settle = <R>(snap: Snapshot, ticket: ChainTicket, step: Extract<Step<R>, { write: unknown }>): R => {
    reader.save({ verified: ticket.ticket, effective: ticket }, ticket);
    claimer.cleanup(snap, ticket);
    if (step.forget !== undefined) keys.delete(step.forget);
    return step.onClaimed(ticket);
  };

  /**
   * One attempt on the cached state: the decision and the claim, with no read first. Resolves to
   * the result only when the claim won; a refusal on the cache (it may be stale) is not an answer.
   */
  const onCache = async <R>(
    key: string,
    snap: Snapshot,
    decide: Decide<R>,
    signal: AbortSignal | undefined,
  ): Promise<{ result: R } | undefined> => {
    try {
      const step = onServerClock(snap, () => decide(snap, stateIn(key, snap, me)));
      return 'write' in step ? await claim(snap, step, signal) : undefined;
    } catch (error) {
      if (error instanceof LockError) return undefined;
      throw error;
    }
  };

  /** `f()`, a refusal it throws (or returns) stamped with the server's clock of the read it rests on. */
  const onServerClock = <T>(snap: Snapshot, f: () => T): T => {
    const stamp = (error: unknown) => {
      if (error instanceof LockError && error.serverNow === undefined && snap.serverNow !== undefined)
        Object.assign(error, { serverNow: snap.serverNow });
      return error;
    };
    try {
      return stamp(f()) as T;
    } catch (error) {
      throw stamp(error);
    }
  };

  /**
   * Every change to a lock is the same loop: read the chain, decide, claim the next ticket.
   * Losing the race re-reads and decides again, after a backoff that doubles from
   * `backoffMs` (full jitter, capped at 2 s) until the deadline; then BUSY (or HELD, when
   * the last read shows someone else's lease). A race lost to a change of unrelated keys moves the
   * deadline on ({@link nextDeadline}): the team is getting through. The first round decides on the
   * cached state without a read when the cache is young: the claim of the next ticket is itself the
   * compare-and-swap (it wins only while the cached top is still the top). Anything but a won
   * claim on the cache (a refusal, a lost race, nothing to do) is decided again on a fresh read, so
   * no answer but a grant ever rests on the cache.
   */
  const run = async <R>(key: string, signal: AbortSignal | undefined, decide: Decide<R>): Promise<R> => {
    const start = now();
    let deadline = start + deps.deadlineMs;
    const cached = reader.cachedSnapshot();
    let before: Snapshot | undefined;
    if (cached) {
      const won = await onCache(key, cached, decide, signal);
      if (won) return won.result;
      before = cached;
    }
    for (let round = 1; ; round++) {
      const snap = await reader.read(signal);
      // Lost to others' work on unrelated keys: the team is getting through, so keep trying. Judged
      // on a read after every lost race, before the deadline is: on a busy machine one round (read,
      // claim, confirm) can outlast the deadline by itself, and a race lost to progress is no reason
      // to stop.
      const progressed = before !== undefined && progressedElsewhere(key, before.state, snap.state);
      if (progressed) deadline = nextDeadline({ ...deps, deadline, start, at: now(), progressed });
      before = snap;
      if (round > 1 && now() >= deadline) break;
      const step = onServerClock(snap, () => decide(snap, stateIn(key, snap, me)));
      if ('result' in step) return step.result;
      if ('fresh' in step) throw new Error('decide asked for a fresh read after a read');
      const won = await claim(snap, step, signal);
      if (won) return won.result;
      await deps.sleep(
        Math.max(0, Math.min(deadline - now(), computeDelay(policy, round, deps.random))),
        signal,
      );
    }
    const last = await reader.read(signal);
    throw onServerClock(last, () => gaveUp(key, last, me));
  };

  return { run };
}
