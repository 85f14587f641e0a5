export {
  type CliResult,
  createOxenCli,
  killAllOxenChildren,
  type LogEntry,
  type OxenCli,
  type OxenCliOptions,
  type OxenStatus,
  parseProgressLine,
  type RunOptions,
  type TransferOptions,
  type TransferProgress,
} from './cli.js';
export { clipServerText } from './clip.js';
export {
  findRepositoryRoot,
  oxenConfigDir,
  readAuthToken,
  readOxenUserName,
  readRepositoryRemote,
  readTomlFile,
  removeAuthToken,
  writeAuthToken,
} from './config.js';
export {
  type ConnectivityChecker,
  type ConnectivityCheckerOptions,
  type ConnectivityOptions,
  type ConnectivityReason,
  type ConnectivityResult,
  type ConnectivityState,
  checkConnectivity,
  createConnectivityChecker,
} from './connectivity.js';
export { OxenError, type OxenErrorCode, type OxenErrorDetails, type OxenProblem } from './errors.js';
export {
  type Author,
  type Branch,
  type CallOptions,
  type Commit,
  createOxenHub,
  type OxenHub,
  type OxenHubOptions,
  type Repository,
  type ServerFacts,
} from './hub.js';
export { compareVersions, parseRemoteUrl, type RemoteRef, redactUrl } from './remote.js';
export { claimTransfer, type TransferClaim, type TransferRecord } from './transfer-lock.js';
