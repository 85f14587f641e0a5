// Types and helpers of the lower layers that apps need to render results (apps import only the engine).

export { isRunning, NOT_A_FILE_NAMES, type NotAFileKind } from '@oxvcs/durable';
export type {
  Grant,
  HeartbeatEvent,
  Lease,
  LockState,
  Waiter,
  YourBreak,
} from '@oxvcs/locks';
export type { ConnectivityReason, ConnectivityResult } from '@oxvcs/oxen';
export {
  type EntryReason,
  type EntryStatus,
  MIN_ID_PREFIX,
  QueueError,
  type QueueErrorCode,
  type QueueErrorFacts,
  type QueueProblem,
  type QueueStats,
  type RunSummary,
  type StoredError,
  shortId,
} from '@oxvcs/queue';
export { classify, isOxvcsError, type RetryEvent } from '@oxvcs/retry';
export { AWAY_MARGIN_MS, awayFile, markSeen, type SeenMarker, unseenFailures } from './away.js';
export {
  type Config,
  type ConfigOverrides,
  checkStateDir,
  DEFAULT_CONFIG,
  loadConfig,
  type Paths,
  resolvePaths,
} from './config.js';
export { createEngine } from './engine.js';
export { EngineError, type EngineErrorCode } from './errors.js';
export type {
  GuardFailure,
  GuardReason,
  GuardReport,
  GuardStatus,
} from './guard.js';
export {
  checkName,
  checkText,
  type InputField,
  type InputProblem,
  type InputProblemCode,
  MAX_NAME_LENGTH,
} from './input.js';
export {
  isLeaseHours,
  MAX_LEASE_HOURS,
  MAX_LEASE_MS,
  MIN_LEASE_HOURS,
  MIN_LEASE_MS,
} from './lease.js';
export {
  createNotifier,
  findOnPath,
  type Notifier,
  type NotifierOptions,
  type NotifyResult,
  notifierCommand,
} from './notify.js';
export {
  type AcquireLockOp,
  describeOperation,
  type EngineReasonCode,
  executorsFor,
  OPERATIONS,
  type Operation,
  type OperationKind,
  type OperationSpec,
  type OxvcsReasonCode,
  type PullOp,
  type PushOp,
  type PushResume,
  type PushUnresumable,
  type ReleaseLockOp,
  type RenewLockOp,
  RULES,
  type RunDeps,
  type SyncCommentsOp,
  specOf,
} from './operations/index.js';
export { holderIdentity, type ProjectInfo, resolveProject } from './project.js';
export type { TakeReport } from './record-take.js';
export { type GrantNote, type HeartbeatNote, type SeenNote, stateFiles } from './state.js';
export {
  cutOffAt,
  DEFAULT_PART_BYTES,
  isProjectDocument,
  isTakeRecord,
  loadTake,
  planTake,
  type TakeFile,
  type TakePart,
  type TakeRecord,
  takeStamp,
} from './take.js';
export type {
  Engine,
  EngineEvent,
  EngineOptions,
  LockStatusReport,
  Outcome,
  PreviewStep,
  Queue,
  QueuedOutcome,
  QueuedReason,
  QueueEntry,
  RunEvent,
  SyncReport,
} from './types.js';
export { type LockWaitOptions, type WaitedGrant, type WaitProgress, waitTurn } from './wait-turn.js';
