export { QueueError, type QueueErrorCode } from './errors.js';
export type { LockHolder } from './file-lock.js';
export { migrate, SCHEMA_VERSION } from './migrate.js';
export {
  applyEnqueue,
  compareForRun,
  type EnqueueDecision,
  heldBy,
  type NextStep,
  nextStep,
  type PreviewStep,
  previewRun,
} from './plan.js';
export {
  type ExecutionContext,
  type Executor,
  type Executors,
  type RunEvent,
  type RunOptions,
  type RunSummary,
  runQueue,
  toStoredError,
} from './runner.js';
export {
  createQueue,
  type EnqueueInput,
  type ListFilter,
  type Queue,
  type QueueOptions,
  type QueueStats,
  type QueueStoreEvent,
} from './store.js';
export {
  type AcquireLockOp,
  type AttemptRecord,
  describeOperation,
  type EntryStatus,
  type Operation,
  type OperationKind,
  type PullOp,
  type PushOp,
  priorityOf,
  type QueueEntry,
  type QueueFile,
  type ReleaseLockOp,
  type RenewLockOp,
  type StoredError,
  type StoredErrorLink,
  type SyncCommentsOp,
} from './types.js';
