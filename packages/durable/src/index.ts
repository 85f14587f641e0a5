export { NOT_A_FILE_NAMES, type NotAFileKind, StateFileError, type StateFileErrorCode } from './errors.js';
export {
  checkProcess,
  identify,
  isRunning,
  type ProcessCheck,
  type ProcessIdentity,
  signalProcess,
} from './process-identity.js';
export {
  assertReplaceable,
  currentIdentity,
  type FileVersion,
  openRegular,
  type ReadOptions,
  type ReplaceOptions,
  readText,
  readVersion,
  replaceFile,
  writeAll,
  writeNewFile,
} from './whole-file.js';
