import { grantFacts, lockTarget } from './shared.js';
import type { AcquireLockOp, OperationSpec } from './types.js';

/**
 * A queued acquisition waiting in line keeps its place this long without a look (a sync), and
 * asks to be looked at again after {@link QUEUED_RECHECK_MS} (the queue defers the entry that long;
 * longer than the in-process retry cap, so a sync never sleeps on it).
 */
export const QUEUED_PLACE_MS = 15 * 60_000;
/** See {@link QUEUED_PLACE_MS}. */
export const QUEUED_RECHECK_MS = 90_000;

/** Take the lock on a project or a folder of it. */
export const acquireLock: OperationSpec<AcquireLockOp> = {
  kind: 'acquire-lock',
  class: 'lock',
  provides: (op) => op.key,
  // A queued acquisition is stale once the lock time it asked for has gone by.
  expiry: (op, retentionMs) => ({ ttlMs: Math.min(op.ttlMs, retentionMs) }),
  describe: (op) => `Acquire lock for ${lockTarget(op)}`,
  async run(op, ctx, deps) {
    // The nonce makes the manager recognise a grant an interrupted attempt already obtained. A
    // queued acquisition meeting a held lock waits in line (WAITING: the entry stays pending).
    const grant = await deps.locksFor(op.remote, op.holder).acquire(op.key, {
      ttlMs: op.ttlMs,
      nonce: ctx.idempotencyKey,
      signal: ctx.signal,
      ...(op.comment ? { comment: op.comment } : {}),
      ...(op.waitInLine
        ? {
            line: {
              id: `queued-${ctx.idempotencyKey}`,
              leaseMs: QUEUED_PLACE_MS,
              recheckMs: QUEUED_RECHECK_MS,
            },
          }
        : {}),
    });
    deps.noteGrant(op.remote, op.key, grant);
    return grantFacts(grant);
  },
};
