/** What a caller should do about a failure; see {@link classify}. */
export type ErrorKind = 'transient' | 'rate-limited' | 'permanent' | 'conflict' | 'auth' | 'cancelled';

/**
 * Base class of every error thrown by an `@oxvcs/*` package. Each subclass fixes `name` and a
 * string-union `code`, and may declare its own {@link ErrorKind} so that `classify` does not guess.
 */
export abstract class OxvcsError extends Error {
  /** Machine-readable code, stable across releases. */
  abstract readonly code: string;
  /** How `classify` treats this error; undefined lets it look at the cause chain. */
  readonly retryKind?: ErrorKind;
  /** Milliseconds the server asked us to wait, when it said. */
  readonly retryAfterMs?: number;
  /** Brand read by {@link isOxvcsError}. */
  readonly oxvcs = true as const;
}

/** Structural guard: true for any `@oxvcs/*` error, even across duplicated module copies. */
export function isOxvcsError(error: unknown): error is OxvcsError {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { oxvcs?: unknown; name?: unknown; code?: unknown };
  return candidate.oxvcs === true && typeof candidate.name === 'string' && typeof candidate.code === 'string';
}

/** Codes of {@link RetryError}. */
export type RetryErrorCode = 'CANCELLED' | 'CIRCUIT_OPEN';

/** Thrown by `retry` when it never reached `fn` (breaker open) or when it was cancelled. */
export class RetryError extends OxvcsError {
  override readonly name = 'RetryError';
  readonly code: RetryErrorCode;
  override readonly retryKind: ErrorKind;

  constructor(code: RetryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retryKind = code === 'CANCELLED' ? 'cancelled' : 'transient';
  }
}
