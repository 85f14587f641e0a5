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
export {
  judgeLines,
  type Lines,
  lineFor,
  MAX_WAITER_LEASE_MS,
  MAX_WAITERS,
  MIN_WAITER_LEASE_MS,
  mayGrant,
  type TableWaiter,
  type Waiter,
  waiterLapsed,
} from './line.js';
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
  SCRATCH_ROOT,
  WAITER_LEASE_MS,
} from './manager.js';
export { checkProof, type KeyPair, type KeyStore, memoryKeyStore, newLeaseKey, signProof } from './proof.js';
export {
  EXPIRY_MARGIN_MS,
  type Identity,
  type Lease,
  type LockState,
  type LockStateOnly,
  MAX_TEXT,
  MAX_TTL_MS,
  MIN_TTL_MS,
  type YourBreak,
} from './record.js';
export {
  type ChainState,
  judge,
  readChain,
  runsOf,
  type TicketVerdict,
  writtenByThisRule,
} from './rule.js';
export {
  type BreakNote,
  CHAIN_ROOT,
  type ChainTicket,
  chainTicket,
  overlaps,
  parseChainTicket,
  parseTable,
  progressedElsewhere,
  TABLE_SCHEMA,
  type TableLease,
  type TableRecord,
  tableState,
} from './table.js';
