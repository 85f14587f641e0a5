export { LockError, type LockErrorCode, type LockErrorFacts } from './errors.js';
export {
  type Heartbeat,
  type HeartbeatEvent,
  type HeartbeatOptions,
  type HeartbeatState,
  startHeartbeat,
} from './heartbeat.js';
export { keySlug, normaliseKey, parseTicketBranch, TICKET_ROOT, ticketBranch } from './key.js';
export { loadMachineId } from './machine.js';
export {
  createLockManager,
  type Grant,
  type LockCallOptions,
  type LockEvent,
  type LockManager,
  type LockManagerOptions,
  MIN_SERVER_VERSION,
} from './manager.js';
export {
  type Identity,
  type Lease,
  type LockRecord,
  type LockState,
  lockState,
  parseRecord,
  RECORD_SCHEMA,
  type Ticket,
} from './record.js';
