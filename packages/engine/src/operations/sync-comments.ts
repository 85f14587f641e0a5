import { checkName, refuse } from '../input.js';
import { collapseIntoLast, lastSegment } from './shared.js';
import type { OperationSpec, SyncCommentsOp } from './types.js';

/** Fetch the branch review comments live on (never the checked-out one: that is pull's job). */
export const syncComments: OperationSpec<SyncCommentsOp> = {
  kind: 'sync-comments',
  class: 'transfer',
  onEnqueue: (incoming, lane) =>
    collapseIntoLast(
      incoming,
      lane,
      (other) => other.kind === 'sync-comments' && other.branch === incoming.operation.branch,
    ),
  expiry: (_op, retentionMs) => ({ ttlMs: retentionMs }),
  describe: (op) => `Sync comments of ${lastSegment(op.projectDir)}`,
  async run(op, ctx, deps) {
    // Fetch only their branch: a plain `oxen fetch` downloads every remote branch, lock tickets
    // and scratch branches included, and fails when a ticket is cleaned up mid-fetch (audit #3).
    const cli = deps.cliFor(op.projectDir);
    const current = await cli.currentBranch();
    const branch = op.branch ?? current;
    // A stored branch is handed to `oxen fetch -b`: one that reads as an option fails here, alone.
    if (op.branch !== undefined) refuse(op.branch, checkName('branch', op.branch));
    if (!branch) return { fetched: false, reason: 'HEAD is detached and the operation names no branch' };
    if (branch !== current) {
      await cli.fetch({ branch, signal: ctx.signal });
      return { fetched: true, branch };
    }
    // `oxen fetch -b B` points the local branch B at the remote's head and leaves the files as
    // they are: on the checked-out branch that would strand the working copy (local commits
    // dropped from the branch, or the remote's changes showing as local reverts). So it is never
    // fetched: equal heads leave nothing to download, different ones are pull's job.
    const remote = await deps.hubFor(op.remote).findBranch(branch, { signal: ctx.signal });
    if (!remote) return { fetched: false, branch, reason: 'the branch is not on the remote' };
    const [local] = await cli.log(1, branch);
    if (local?.id === remote.commit_id) return { fetched: true, branch, upToDate: true };
    return {
      fetched: false,
      branch,
      reason: 'the checked-out branch differs from the remote; pull updates it',
    };
  },
};
