export {
  type CliResult,
  cliErrorFrom,
  createOxenCli,
  type LogEntry,
  type OxenCli,
  type OxenCliOptions,
  type OxenStatus,
} from './cli.js';
export {
  findRepositoryRoot,
  oxenConfigDir,
  readAuthToken,
  readRepositoryRemote,
  readTomlFile,
  removeAuthToken,
  writeAuthToken,
} from './config.js';
export { OxenError, type OxenErrorCode, type OxenErrorDetails } from './errors.js';
export {
  type Author,
  type Branch,
  type CallOptions,
  type Commit,
  type CommitPage,
  createOxenHub,
  type OxenHub,
  type OxenHubOptions,
  type Repository,
  type ServerFacts,
} from './hub.js';
export { compareVersions, parseRemoteUrl, type RemoteRef, redactUrl } from './remote.js';
