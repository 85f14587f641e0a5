import { grantFacts, lockTarget } from './shared.js';
import type { AcquireLockOp, OperationSpec } from './types.js';

/** Take the lock on a project or a folder of it. */
export const acquireLock: OperationSpec<AcquireLockOp> = {
  kind: 'acquire-lock',
  class: 'lock',
  provides: (op) => op.key,
  // A queued acquisition is stale once the lock time it asked for has gone by.
  expiry: (op, retentionMs) => ({ ttlMs: Math.min(op.ttlMs, retentionMs) }),
  describe: (op) => `Acquire lock for ${lockTarget(op)}`,
  async run(op, ctx, deps) {
    // The nonce makes the manager recognise a grant an interrupted attempt already obtained.
    const grant = await deps.locksFor(op.remote, op.holder).acquire(op.key, {
      ttlMs: op.ttlMs,
      nonce: ctx.idempotencyKey,
      signal: ctx.signal,
      ...(op.comment ? { comment: op.comment } : {}),
    });
    deps.noteGrant(op.remote, op.key, grant);
    return grantFacts(grant);
  },
};
