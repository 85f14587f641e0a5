export { QueueError, type QueueErrorCode, type QueueErrorFacts, type QueueProblem } from './errors.js';
export { readStoredEntries, storedStamp } from './journal.js';
export type { LegacyReader } from './migrate.js';
export {
  applyEnqueue,
  type EnqueueDecision,
  MIN_ID_PREFIX,
  type PreviewStep,
  previewRun,
  shortId,
} from './plan.js';
export {
  type ExecutionContext,
  type Executor,
  type Executors,
  type RunEvent,
  type RunOptions,
  type RunSummary,
  runQueue,
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
