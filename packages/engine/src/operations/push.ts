import type { Lease, LockManager } from '@oxvcs/locks';
import { checkName, refuse } from '../input.js';
import { followPush, headTake, resumeFacts } from './push-take.js';
import { collapseIntoLast, lastSegment } from './shared.js';
import type { OperationSpec, PushOp } from './types.js';

/**
 * Oxen's settings for a push re-run over a link that failed: one commit in flight (so at most one
 * part is cut midway and re-sent) and 20 chunk retries instead of 5 (Oxen waits 0.3-0.8 s between
 * them: about 11 s of outage ridden out instead of 2-4 s).
 */
export const RESUME_ENV: Readonly<Record<string, string>> = { OXEN_NUM_THREADS: '1', OXEN_NUM_RETRIES: '20' };

/** Oxen's settings for the push of a recorded take: one commit (part) in flight. */
export const ONE_PART_ENV: Readonly<Record<string, string>> = { OXEN_NUM_THREADS: '1' };

/** `read`'s answer, or a rejection with `signal`'s reason as soon as it aborts. */
function untilAborted<T>(read: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return read;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    read.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Refuses (LockError HELD) while anyone else's live lease covers `key`: on it, a folder containing
 * it, or one inside it. A push of the project would carry a change to a folder someone else is
 * editing; a take recorded now would be pushed over their work. `sent`: the same read, sent
 * earlier (its answer is awaited here, as a read of our own would be).
 */
export async function refuseWhileHeld(
  locks: LockManager,
  key: string,
  doing: 'push' | 'commit',
  signal?: AbortSignal,
  sent?: Promise<readonly Lease[]>,
): Promise<void> {
  const [blocker] = await (sent ? untilAborted(sent, signal) : locks.blockers(key, signal ? { signal } : {}));
  if (!blocker) return;
  // Loaded here, as the lock manager already is: describing queued pushes loads no lock code.
  const { LockError } = await import('@oxvcs/locks');
  throw new LockError(
    'HELD',
    `Not ${doing === 'push' ? 'pushing' : 'committing'}: ${blocker.holder} holds the lock on ${blocker.key === '.' ? 'this project' : blocker.key} until ${blocker.expiresAt}; ${doing === 'push' ? 'pushing' : 'a take recorded now'} could overwrite their work.`,
    {
      key,
      holder: blocker.holder,
      expiresAt: blocker.expiresAt,
      ...(blocker.key !== key ? { heldKey: blocker.key } : {}),
    },
  );
}

/** Push a branch; refused while someone else holds a lock on the project or a folder of it. */
export const push: OperationSpec<PushOp> = {
  kind: 'push',
  class: 'transfer',
  requires: (op) => op.lockKey,
  onEnqueue: (incoming, lane) =>
    collapseIntoLast(
      incoming,
      lane,
      (other) =>
        other.kind === 'push' &&
        other.branch === incoming.operation.branch &&
        other.lockKey === incoming.operation.lockKey &&
        other.fencingToken === incoming.operation.fencingToken,
    ),
  expiry: (_op, retentionMs) => ({ ttlMs: retentionMs }),
  describe: (op) => `Push ${op.branch} of ${lastSegment(op.projectDir)} to remote`,
  async run(op, ctx, deps) {
    // An entry stored by an older version that did not check its branch fails here, alone.
    refuse(op.branch, checkName('branch', op.branch));
    const key = op.lockKey ?? '.';
    const locks = deps.locksFor(op.remote);
    const cli = deps.cliFor(op.projectDir);
    // While the lock read is on its way, what the push needs locally: whether the head is a take
    // recorded as parts (one `oxen log` when one is pending), the remote's name, a terminal for
    // oxen's bar. Oxen itself starts only once the read answered that nobody else holds the lock.
    const held = refuseWhileHeld(locks, key, 'push', ctx.signal, deps.earlyBlockers?.(op.remote, key));
    const local = Promise.all([headTake(op, deps), import('./remote-name.js'), cli.prepareTransfer()]);
    const [lock, prepared] = await Promise.allSettled([held, local]);
    if (lock.status === 'rejected') throw lock.reason;
    if (prepared.status === 'rejected') throw prepared.reason;
    const [take, { remoteNameFor }] = prepared.value;
    if (op.fencingToken !== undefined)
      await locks.assertFencing(key, op.fencingToken, { signal: ctx.signal });
    if (ctx.verifyFirst) {
      const [head] = await cli.log(1, op.branch);
      const remote = await deps.hubFor(op.remote).findBranch(op.branch, { signal: ctx.signal });
      if (head && remote?.commit_id === head.id) return { upToDate: true, commit: head.id };
    }
    // A take recorded as parts goes one part at a time, so a cut costs at most the part in flight;
    // a re-run after a cut says what is already there and adds chunk retries (a link that failed
    // once is likely to fail again).
    const facts = ctx.verifyFirst && take ? await resumeFacts(op, deps, take, ctx.signal) : undefined;
    if (facts) {
      const { missing: _missing, ...resume } = facts;
      deps.resumed?.(op, resume);
    }
    const follow = followPush(op, deps, take, facts?.missing);
    const result = await cli.push(remoteNameFor(op.projectDir, op.remote), op.branch, {
      signal: ctx.signal,
      onProgress: follow.onProgress,
      ...(ctx.verifyFirst ? { env: RESUME_ENV } : take ? { env: ONE_PART_ENV } : {}),
    });
    follow.finished(result.commit);
    return {
      upToDate: result.upToDate,
      ...(result.commit ? { commit: result.commit } : {}),
      ...(facts ? { partsTotal: facts.partsTotal, partsPresent: facts.partsPresent } : {}),
    };
  },
};
