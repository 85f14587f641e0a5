import { OxvcsError } from '@oxvcs/retry';

/** What stands at a state file's path instead of a regular file. */
export type NotAFileKind = 'fifo' | 'directory' | 'device' | 'socket' | 'symlink' | 'other';

/** Codes of {@link StateFileError}. */
export type StateFileErrorCode = 'NOT_A_FILE';

/**
 * A state file's path holds something that is not a regular file (a FIFO, a folder, a device, a
 * symbolic link). Nothing was read or written: a FIFO would block forever, and replacing a link
 * would leave what its target holds behind.
 */
export class StateFileError extends OxvcsError {
  override readonly name = 'StateFileError';
  readonly code: StateFileErrorCode;
  readonly file: string;
  readonly kind: NotAFileKind;
  override readonly retryKind = 'permanent' as const;

  constructor(file: string, kind: NotAFileKind) {
    super(`${file} is a ${kind === 'other' ? 'special file' : kind}, not a regular file.`);
    this.code = 'NOT_A_FILE';
    this.file = file;
    this.kind = kind;
  }
}
