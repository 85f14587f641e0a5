/**
 * The public surface of @oxvcs/locks: what the README documents. The reading rule, the lock
 * table's format, the line's rules and the claim's decisions are internal (their modules are
 * tested beside them); a caller needs only the manager, its stores, the heartbeat and the error.
 */
export { LockError, type LockErrorCode, type LockErrorFacts } from './errors.js';
export {
  type Heartbeat,
  type HeartbeatEvent,
  type HeartbeatOptions,
  type HeartbeatState,
  startHeartbeat,
} from './heartbeat.js';
export { normaliseKey } from './key.js';
export { fileKeyStore } from './key-store.js';
export type { Waiter } from './line.js';
export { loadMachineId } from './machine.js';
export {
  type CachedChain,
  type CachedTicket,
  type ChainCache,
  createLockManager,
  type Grant,
  type LineOptions,
  type LockCallOptions,
  type LockEvent,
  type LockManager,
  type LockManagerOptions,
  MIN_SERVER_VERSION,
  memoryChainCache,
  WAITER_LEASE_MS,
} from './manager.js';
export { type KeyStore, memoryKeyStore } from './proof.js';
export {
  EXPIRY_MARGIN_MS,
  type Identity,
  type Lease,
  type LockState,
  MAX_TEXT,
  MAX_TTL_MS,
  MIN_TTL_MS,
  type YourBreak,
} from './record.js';
