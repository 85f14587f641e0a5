export { QueueError, type QueueErrorCode } from './errors.js';
export type { LockHolder } from './file-lock.js';
export { readStoredEntries, storedStamp } from './journal.js';
export { type LegacyReader, migrate, SCHEMA_VERSION } from './migrate.js';
export {
  aheadInLane,
  applyEnqueue,
  compareForRun,
  type EnqueueDecision,
  heldBy,
  laneOf,
  MIN_ID_PREFIX,
  type NextStep,
  nextStep,
  type PlanOptions,
  type PreviewStep,
  planRun,
  previewRun,
  pruneFinished,
  type Retention,
  type RunPlan,
  runOrder,
  shortId,
} from './plan.js';
export {
  clip,
  type ExecutionContext,
  type Executor,
  type Executors,
  type RunEvent,
  type RunOptions,
  type RunSummary,
  runQueue,
  STORED_CHAIN_LIMIT,
  STORED_TEXT_LIMIT,
  toStoredError,
} from './runner.js';
export {
  createQueue,
  type EnqueueInput,
  type ListFilter,
  type Queue,
  type QueueOptions,
  type QueueOverview,
  type QueueStats,
  type QueueStoreEvent,
} from './store.js';
export {
  type AttemptRecord,
  type EnqueueRule,
  type EntryReason,
  type EntryStatus,
  type Facts,
  type Operation,
  type QueueEntry,
  type QueueFile,
  type QueueReasonCode,
  type QueueRules,
  SIMPLE_RULES,
  type StoredError,
  type StoredErrorLink,
} from './types.js';
