import { engineReason, grantFacts, lockTarget } from './shared.js';
import type { OperationSpec, RenewLockOp } from './types.js';

/** Extend the lease of a lock we hold. */
export const renewLock: OperationSpec<RenewLockOp> = {
  kind: 'renew-lock',
  class: 'lock',
  requires: (op) => op.key,
  onEnqueue(incoming, _pending, now) {
    // Extending a lease that has already ended is pointless: stored expired, never run.
    const end = incoming.operation.leaseExpiresAt;
    if (!end || Date.parse(end) > now) return undefined;
    return {
      outcome: 'expired',
      incoming: { status: 'expired', reason: engineReason('lease-ended', { at: end }) },
    };
  },
  // Worth running only while the lease it extends lasts.
  expiry: (op, retentionMs) => ({
    ttlMs: retentionMs,
    ...(op.leaseExpiresAt ? { expiresAt: op.leaseExpiresAt } : {}),
  }),
  describe: (op) => `Renew lock for ${lockTarget(op)}`,
  async run(op, ctx, deps) {
    // Typed behind a queued acquisition, it carries no token: it renews the lease that
    // acquisition was granted, noted when it replayed.
    const token = op.fencingToken ?? deps.grant(op.remote, op.key)?.fencingToken;
    const grant = await deps.locksFor(op.remote, op.holder).renew(op.key, {
      ttlMs: op.ttlMs,
      nonce: ctx.idempotencyKey,
      signal: ctx.signal,
      ...(token !== undefined ? { fencingToken: token } : {}),
    });
    deps.noteGrant(op.remote, op.key, grant);
    return grantFacts(grant);
  },
};
