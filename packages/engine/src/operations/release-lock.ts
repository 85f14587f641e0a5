import { shortId } from '@oxvcs/queue';
import { lockTarget } from './shared.js';
import type { OperationSpec, ReleaseLockOp } from './types.js';

/** Give a lock back. */
export const releaseLock: OperationSpec<ReleaseLockOp> = {
  kind: 'release-lock',
  class: 'lock',
  requires: (op) => op.key,
  onEnqueue(incoming, pending) {
    // A release meeting its still-pending acquisition: neither needs to run. Both are cancelled,
    // with any pending renewal of that lock. A push queued between them still runs, checked
    // against other people's locks as every push is: the remote ends as the commands typed
    // online would have left it (the commits pushed, the lock free).
    const key = incoming.operation.key;
    const sameLock = (kind: string) =>
      pending.filter((e) => e.operation.kind === kind && 'key' in e.operation && e.operation.key === key);
    const acquires = sameLock('acquire-lock');
    if (acquires.length === 0) return undefined;
    return {
      outcome: 'cancelled',
      supersede: {
        ids: [...acquires, ...sameLock('renew-lock')].map((e) => e.id),
        reason: { code: 'cancelled-by-release', facts: { entry: shortId(incoming.id) } },
      },
      incoming: {
        status: 'superseded',
        supersededBy: acquires[0]!.id,
        reason: { code: 'cancelled-with-acquire', facts: { entry: shortId(acquires[0]!.id) } },
      },
    };
  },
  expiry: (_op, retentionMs) => ({ ttlMs: retentionMs }),
  describe: (op) => `Release lock for ${lockTarget(op)}`,
  async run(op, ctx, deps) {
    const token = op.fencingToken ?? deps.grant(op.remote, op.key)?.fencingToken;
    const result = await deps.locksFor(op.remote, op.holder).release(op.key, {
      nonce: ctx.idempotencyKey,
      signal: ctx.signal,
      ...(token !== undefined ? { fencingToken: token } : {}),
    });
    deps.noteGrant(op.remote, op.key, undefined);
    return { released: result.released, was: result.previous.state };
  },
};
