import { OxvcsError } from '@oxvcs/retry';

/** Codes of {@link QueueError}. */
export type QueueErrorCode =
  | 'CORRUPT'
  | 'UNREADABLE'
  | 'SCHEMA_TOO_NEW'
  | 'NOT_FOUND'
  | 'AMBIGUOUS_ID'
  | 'DUPLICATE'
  | 'INVALID_STATE'
  | 'LOCK_TIMEOUT'
  | 'INVALID_OPERATION';

/** Every failure of the queue. */
export class QueueError extends OxvcsError {
  override readonly name = 'QueueError';
  readonly code: QueueErrorCode;
  override readonly retryKind = 'permanent' as const;
  /** The queue file concerned. */
  readonly file?: string;
  /** Where a corrupt file was copied. */
  readonly quarantine?: string;
  /** Ids matching an ambiguous prefix. */
  readonly candidates?: readonly string[];
  /** The entry concerned. */
  readonly entryId?: string;

  constructor(
    code: QueueErrorCode,
    message: string,
    details: {
      cause?: unknown;
      file?: string;
      quarantine?: string;
      candidates?: readonly string[];
      entryId?: string;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    const { cause: _c, ...facts } = details;
    Object.assign(this, facts);
  }
}
