import { shortId } from '@oxvcs/queue';
import { collapseIntoLast, engineReason, lockTarget } from './shared.js';
import type { OperationSpec, ReleaseLockOp } from './types.js';

/** Give a lock back. */
export const releaseLock: OperationSpec<ReleaseLockOp> = {
  kind: 'release-lock',
  class: 'lock',
  withoutFolder: true,
  requires: (op) => op.key,
  onEnqueue(incoming, lane) {
    // A release meeting its acquisition, queued and never tried: neither needs to run. Both are
    // cancelled, with any pending renewal of that lock. A push queued between them still runs,
    // checked against other people's locks as every push is: the remote ends as the commands
    // typed online would have left it (the commits pushed, the lock free). Not when the release
    // names a grant we held when it was typed (the lock is held now: it must be given back), nor
    // when the acquisition may have reached the server (tried, or queued after a direct attempt
    // that did not finish): then the release runs after it.
    const key = incoming.operation.key;
    // The same release typed again: one is enough (the newer replaces it).
    const again = collapseIntoLast(
      incoming,
      lane,
      (other) => other.kind === 'release-lock' && other.key === key,
    );
    if (again) return again;
    if (incoming.operation.whileHeld || incoming.operation.fencingToken !== undefined) return undefined;
    const sameLock = (kind: string) =>
      lane.filter(
        (e) =>
          e.status === 'pending' &&
          e.operation.kind === kind &&
          'key' in e.operation &&
          e.operation.key === key,
      );
    const acquires = sameLock('acquire-lock');
    if (acquires.length === 0 || acquires.some((e) => e.attempts > 0 || e.verifyFirst)) return undefined;
    return {
      outcome: 'cancelled',
      supersede: {
        ids: [...acquires, ...sameLock('renew-lock')].map((e) => e.id),
        reason: engineReason('cancelled-by-release', { entry: shortId(incoming.id) }),
      },
      incoming: {
        status: 'superseded',
        supersededBy: acquires[0]!.id,
        reason: engineReason('cancelled-with-acquire', { entry: shortId(acquires[0]!.id) }),
      },
    };
  },
  expiry: (_op, retentionMs) => ({ ttlMs: retentionMs }),
  describe: (op) => `Release lock for ${lockTarget(op)}`,
  async run(op, ctx, deps) {
    // Typed behind a queued acquisition, it carries no token: it gives back the lease that
    // acquisition was granted, noted when it replayed.
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
