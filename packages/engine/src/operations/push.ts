import { checkName, refuse } from '../input.js';
import { collapseIntoLast, lastSegment } from './shared.js';
import type { OperationSpec, PushOp } from './types.js';

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
    // Anyone else's live lease on this key, a folder containing it, or one inside it blocks the
    // push: a push of the project would carry a change to a folder someone else is editing.
    const [blocker] = await locks.blockers(key, { signal: ctx.signal });
    if (blocker) {
      // Loaded here, as the lock manager already is: describing queued pushes loads no lock code.
      const { LockError } = await import('@oxvcs/locks');
      throw new LockError(
        'HELD',
        `Not pushing: ${blocker.holder} holds the lock on ${blocker.key === '.' ? 'this project' : blocker.key} until ${blocker.expiresAt}; pushing could overwrite their work.`,
        {
          key,
          holder: blocker.holder,
          expiresAt: blocker.expiresAt,
          ...(blocker.key !== key ? { heldKey: blocker.key } : {}),
        },
      );
    }
    if (op.fencingToken !== undefined)
      await locks.assertFencing(key, op.fencingToken, { signal: ctx.signal });
    const cli = deps.cliFor(op.projectDir);
    if (ctx.verifyFirst) {
      const [local] = await cli.log(1, op.branch);
      const remote = await deps.hubFor(op.remote).findBranch(op.branch, { signal: ctx.signal });
      if (local && remote?.commit_id === local.id) return { upToDate: true, commit: local.id };
    }
    const { remoteNameFor } = await import('./remote-name.js');
    const result = await cli.push(remoteNameFor(op.projectDir, op.remote), op.branch, {
      signal: ctx.signal,
      onProgress: (p) => deps.progress?.(op, p),
    });
    return { upToDate: result.upToDate, ...(result.commit ? { commit: result.commit } : {}) };
  },
};
