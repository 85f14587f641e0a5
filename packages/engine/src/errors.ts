import { OxvcsError } from '@oxvcs/retry';

/** Codes of {@link EngineError}. */
export type EngineErrorCode =
  | 'CONFIG_INVALID'
  | 'INVALID_INPUT'
  | 'STATE_UNREADABLE'
  /** A FIFO, folder, device or symbolic link stands where a state file belongs. */
  | 'STATE_NOT_A_FILE'
  /** A command that needs the remote (lock list, lock break) while it is unreachable. */
  | 'OFFLINE'
  /** A command that needs the remote did not finish within its deadline. */
  | 'DEADLINE'
  /** A keep-alive already renews this lock on this machine. */
  | 'KEEPALIVE_RUNNING';

/** Failures of the engine's own: configuration, input, state files. */
export class EngineError extends OxvcsError {
  override readonly name = 'EngineError';
  readonly code: EngineErrorCode;
  override readonly retryKind = 'permanent' as const;
  /** The file concerned, when there is one. */
  readonly file?: string;
  /** The configuration key or input field concerned. */
  readonly field?: string;

  constructor(
    code: EngineErrorCode,
    message: string,
    details: { cause?: unknown; file?: string; field?: string } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.file) this.file = details.file;
    if (details.field) this.field = details.field;
  }
}
