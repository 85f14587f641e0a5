import { checkName, refuse } from '../input.js';
import { collapseIntoLast, lastSegment } from './shared.js';
import type { OperationSpec, PullOp } from './types.js';

/** Pull a branch. */
export const pull: OperationSpec<PullOp> = {
  kind: 'pull',
  class: 'transfer',
  // Three offline pulls of one branch are one pull when the network returns.
  onEnqueue: (incoming, lane) =>
    collapseIntoLast(
      incoming,
      lane,
      (other) => other.kind === 'pull' && other.branch === incoming.operation.branch,
    ),
  expiry: (_op, retentionMs) => ({ ttlMs: retentionMs }),
  describe: (op) => `Pull ${op.branch} of ${lastSegment(op.projectDir)} from remote`,
  async run(op, ctx, deps) {
    // An entry stored by an older version that did not check its branch fails here, alone.
    refuse(op.branch, checkName('branch', op.branch));
    const { remoteNameFor } = await import('./remote-name.js');
    await deps.cliFor(op.projectDir).pull(remoteNameFor(op.projectDir, op.remote), op.branch, {
      signal: ctx.signal,
      onProgress: (p) => deps.progress?.(op, p),
    });
    return { pulled: op.branch };
  },
};
