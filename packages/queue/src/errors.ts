import { type ErrorKind, OxvcsError } from '@oxvcs/retry';

/** Codes of {@link QueueError}. */
export type QueueErrorCode =
  | 'CORRUPT'
  | 'UNREADABLE'
  | 'SCHEMA_TOO_NEW'
  | 'NOT_FOUND'
  | 'AMBIGUOUS_ID'
  /** An id prefix shorter than {@link MIN_ID_PREFIX} (facts `id`, `minimum`). */
  | 'ID_TOO_SHORT'
  | 'DUPLICATE'
  | 'INVALID_STATE'
  | 'LOCK_TIMEOUT'
  | 'NOT_WRITABLE'
  | 'NOT_A_FILE'
  | 'WRITE_CONFLICT'
  | 'INVALID_OPERATION';

/** Every failure of the queue. */
export class QueueError extends OxvcsError {
  override readonly name = 'QueueError';
  readonly code: QueueErrorCode;
  /** `transient` for a busy lock or a write that kept being taken over; `permanent` otherwise. */
  override readonly retryKind: ErrorKind;
  /** The queue file concerned. */
  readonly file?: string;
  /** Where a corrupt file was copied. */
  readonly quarantine?: string;
  /** The id or prefix asked for (NOT_FOUND, AMBIGUOUS_ID). */
  readonly id?: string;
  /** The fewest characters an id prefix must have (ID_TOO_SHORT). */
  readonly minimum?: number;
  /** Ids matching an ambiguous prefix (the first 20). */
  readonly candidates?: readonly string[];
  /** The schema version found in a file too new to read (SCHEMA_TOO_NEW). */
  readonly schemaVersion?: number;
  /** The entry concerned. */
  readonly entryId?: string;
  /** The lock file concerned. */
  readonly lock?: string;
  /** The process holding the lock, and its machine (LOCK_TIMEOUT). */
  readonly holderPid?: number;
  readonly holderHost?: string;
  /** The folder that cannot be written, and the system's error code (NOT_WRITABLE). */
  readonly folder?: string;
  readonly errno?: string;

  constructor(
    code: QueueErrorCode,
    message: string,
    details: {
      cause?: unknown;
      file?: string;
      quarantine?: string;
      id?: string;
      candidates?: readonly string[];
      minimum?: number;
      schemaVersion?: number;
      entryId?: string;
      lock?: string;
      holderPid?: number;
      holderHost?: string;
      folder?: string;
      errno?: string;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.retryKind = code === 'LOCK_TIMEOUT' || code === 'WRITE_CONFLICT' ? 'transient' : 'permanent';
    const { cause: _c, ...facts } = details;
    Object.assign(this, facts);
  }
}
