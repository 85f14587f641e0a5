import type { LockManager } from '@oxvcs/locks';
import { checkName, refuse } from '../input.js';
import { followPush, headTake, noteTakeBelowPushed, resumeFacts } from './push-take.js';
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

/**
 * Refuses (LockError HELD) while anyone else's live lease covers `key`: on it, a folder containing
 * it, or one inside it. A push of the project would carry a change to a folder someone else is
 * editing; a take recorded now would be pushed over their work.
 */
export async function refuseWhileHeld(
  locks: LockManager,
  key: string,
  doing: 'push' | 'commit',
  signal?: AbortSignal,
): Promise<void> {
  const [blocker] = await locks.blockers(key, signal ? { signal } : {});
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

/**
 * Whether the lease `fencingToken` of `key` was lost while the push ran, as flat result fields:
 * `lockLost` (the lock's state now: `held-by-other`, `expired`, `broken`…), `lockLostToken` and
 * `lockHolderNow`; none when it is still the current grant, or when the remote cannot say (the
 * push itself is done either way).
 */
async function lostDuring(
  locks: LockManager,
  key: string,
  fencingToken: number,
  signal: AbortSignal | undefined,
): Promise<{ lockLost: string; lockLostToken: number; lockHolderNow?: string } | undefined> {
  try {
    const { valid, state } = await locks.verify(key, fencingToken, signal ? { signal } : {});
    if (valid) return undefined;
    const holder = state.state === 'held-by-other' ? state.lease.holder : undefined;
    return {
      lockLost: state.state,
      lockLostToken: fencingToken,
      ...(holder ? { lockHolderNow: holder } : {}),
    };
  } catch {
    return undefined;
  }
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
    await refuseWhileHeld(locks, key, 'push', ctx.signal);
    if (op.fencingToken !== undefined)
      await locks.assertFencing(key, op.fencingToken, { signal: ctx.signal });
    const cli = deps.cliFor(op.projectDir);
    if (ctx.verifyFirst) {
      const [local] = await cli.log(1, op.branch);
      const remote = await deps.hubFor(op.remote).findBranch(op.branch, { signal: ctx.signal });
      if (local && remote?.commit_id === local.id) return { upToDate: true, commit: local.id };
    }
    // A take recorded as parts goes one part at a time, so a cut costs at most the part in flight;
    // a re-run after a cut says what is already there and adds chunk retries (a link that failed
    // once is likely to fail again).
    const take = await headTake(op, deps);
    const facts = ctx.verifyFirst && take ? await resumeFacts(op, deps, take, ctx.signal) : undefined;
    if (facts) {
      const { missing: _missing, ...resume } = facts;
      deps.resumed?.(op, resume);
    }
    const follow = followPush(op, deps, take, facts?.missing);
    const { remoteNameFor } = await import('./remote-name.js');
    const result = await cli.push(remoteNameFor(op.projectDir, op.remote), op.branch, {
      signal: ctx.signal,
      onProgress: follow.onProgress,
      ...(ctx.verifyFirst ? { env: RESUME_ENV } : take ? { env: ONE_PART_ENV } : {}),
    });
    follow.finished(result.commit);
    if (!take) noteTakeBelowPushed(op);
    // Stock Oxen takes a push whatever the lock says, so a lease lost while it ran (the process
    // paused, the machine asleep, a push longer than the lease) cannot stop it: it is told instead.
    const lockLost =
      op.fencingToken !== undefined && !result.upToDate
        ? await lostDuring(locks, key, op.fencingToken, ctx.signal)
        : undefined;
    return {
      upToDate: result.upToDate,
      ...lockLost,
      ...(result.commit ? { commit: result.commit } : {}),
      ...(facts ? { partsTotal: facts.partsTotal, partsPresent: facts.partsPresent } : {}),
    };
  },
};
