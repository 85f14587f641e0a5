// Types and helpers of the lower layers that apps need to render results (apps import only the engine).
export { type Grant, type HeartbeatEvent, type Lease, LockError, type LockState } from '@oxvcs/locks';
export { OxenError } from '@oxvcs/oxen';
export {
  describeOperation,
  type EntryStatus,
  type Operation,
  type PreviewStep,
  type QueueEntry,
  QueueError,
  type QueueStats,
  type RunEvent,
  type RunSummary,
  type StoredError,
} from '@oxvcs/queue';
export { type ConnectivityResult, classify, isOxvcsError, type RetryEvent } from '@oxvcs/retry';
export {
  type Config,
  type ConfigOverrides,
  DEFAULT_CONFIG,
  loadConfig,
  type Paths,
  resolvePaths,
} from './config.js';
export {
  createEngine,
  type Engine,
  type EngineEvent,
  type EngineOptions,
  type LockStatusReport,
  type Outcome,
  type SyncReport,
} from './engine.js';
export { EngineError, type EngineErrorCode } from './errors.js';
export { createExecutors, type ExecutorDeps, remoteNameFor } from './executors.js';
export { holderIdentity, type ProjectInfo, resolveProject } from './project.js';
export { type GrantNote, type HeartbeatNote, stateFiles } from './state.js';
