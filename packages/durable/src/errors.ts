import { OxvcsError } from '@oxvcs/retry';

/** What stands at a state file's path instead of a regular file. */
export type NotAFileKind = 'fifo' | 'directory' | 'device' | 'socket' | 'symlink' | 'other';

/** What each {@link NotAFileKind} is called in a message ("… is a named pipe (FIFO), not a regular file"). */
export const NOT_A_FILE_NAMES: Readonly<Record<NotAFileKind, string>> = {
  fifo: 'a named pipe (FIFO)',
  directory: 'a folder',
  device: 'a device',
  socket: 'a socket',
  symlink: 'a symbolic link',
  other: 'a special file',
};

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
    super(`${file} is ${NOT_A_FILE_NAMES[kind]}, not a regular file.`);
    this.code = 'NOT_A_FILE';
    this.file = file;
    this.kind = kind;
  }
}
