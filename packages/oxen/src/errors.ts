import type { NotAFileKind } from '@oxvcs/durable';
import { type ErrorKind, OxvcsError } from '@oxvcs/retry';

/** Codes of {@link OxenError}. */
export type OxenErrorCode =
  | 'NETWORK'
  | 'TIMEOUT'
  | 'AUTH'
  | 'NOT_FOUND'
  | 'REPO_NOT_FOUND'
  | 'BRANCH_NOT_FOUND'
  | 'BRANCH_EXISTS'
  | 'COMMIT_NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'UPDATE_REQUIRED'
  | 'SERVER_TOO_OLD'
  | 'SERVER_ERROR'
  | 'BAD_REQUEST'
  | 'BAD_RESPONSE'
  | 'NON_FAST_FORWARD'
  | 'MERGE_CONFLICT'
  | 'NOTHING_TO_COMMIT'
  | 'NOT_CONFIGURED'
  | 'NOT_A_REPOSITORY'
  | 'NO_REMOTE'
  | 'REMOTE_URL_INVALID'
  | 'REVISION_NOT_FOUND'
  | 'CONFIG_INVALID'
  | 'AUTH_FILE_INSECURE'
  | 'CLI_NOT_FOUND'
  | 'CLI_FAILED'
  | 'CLI_OUT_OF_DATE'
  | 'MIGRATION_REQUIRED'
  | 'TRANSFER_IN_PROGRESS'
  | 'RESPONSE_TOO_LARGE'
  | 'REDIRECTED'
  /** The remote's TLS certificate is not trusted (self-signed, expired, wrong host…): a setting to fix, not a network to wait for. */
  | 'TLS_FAILED'
  /** The remote (or a proxy before it) answered with headers larger than an HTTP client accepts. */
  | 'HEADERS_TOO_LARGE'
  /**
   * The exchange broke HTTP's rules: an answer this client cannot parse (a malformed header, two
   * lengths, a switch of protocol), or a request header (the token?) with a character HTTP cannot carry.
   */
  | 'PROTOCOL_ERROR'
  /** The proxy in front of the remote refused the credentials it was given (407). */
  | 'PROXY_AUTH'
  /** The remote (or a proxy before it) refused a request body as too large (413, or actix's size-limit 400). */
  | 'PAYLOAD_TOO_LARGE';

const KIND: Record<OxenErrorCode, ErrorKind> = {
  NETWORK: 'transient',
  TIMEOUT: 'transient',
  SERVER_ERROR: 'transient',
  RATE_LIMITED: 'rate-limited',
  AUTH: 'auth',
  BRANCH_EXISTS: 'conflict',
  CONFLICT: 'conflict',
  NON_FAST_FORWARD: 'conflict',
  MERGE_CONFLICT: 'conflict',
  NOT_FOUND: 'permanent',
  REPO_NOT_FOUND: 'permanent',
  BRANCH_NOT_FOUND: 'permanent',
  COMMIT_NOT_FOUND: 'permanent',
  UPDATE_REQUIRED: 'permanent',
  SERVER_TOO_OLD: 'permanent',
  BAD_REQUEST: 'permanent',
  BAD_RESPONSE: 'permanent',
  NOTHING_TO_COMMIT: 'permanent',
  NOT_CONFIGURED: 'permanent',
  NOT_A_REPOSITORY: 'permanent',
  NO_REMOTE: 'permanent',
  REMOTE_URL_INVALID: 'permanent',
  REVISION_NOT_FOUND: 'permanent',
  CONFIG_INVALID: 'permanent',
  AUTH_FILE_INSECURE: 'permanent',
  CLI_NOT_FOUND: 'permanent',
  CLI_FAILED: 'permanent',
  CLI_OUT_OF_DATE: 'permanent',
  MIGRATION_REQUIRED: 'permanent',
  // Another oxen transfer still runs in this working copy: wait and try again.
  TRANSFER_IN_PROGRESS: 'transient',
  RESPONSE_TOO_LARGE: 'permanent',
  REDIRECTED: 'permanent',
  TLS_FAILED: 'permanent',
  HEADERS_TOO_LARGE: 'permanent',
  PROTOCOL_ERROR: 'permanent',
  PROXY_AUTH: 'permanent',
  PAYLOAD_TOO_LARGE: 'permanent',
};

/**
 * What is wrong, for the codes that say it as a fact: a config file (CONFIG_INVALID) is
 * `not-a-file` (see `fileKind`), `unreadable`, `missing`, `not-toml` (see `line`) or, for Oxen's
 * auth config, `not-auth-config` (its `host_configs` is not a list of tables); a remote URL
 * (REMOTE_URL_INVALID) is `not-a-url`, holds `credentials`, or is `not-a-repository-url` (not
 * `http(s)://host[:port]/<namespace>/<repo>`). Words are the caller's.
 */
export type OxenProblem =
  | 'not-a-file'
  | 'unreadable'
  | 'missing'
  | 'not-toml'
  | 'not-auth-config'
  | 'not-a-url'
  | 'credentials'
  | 'not-a-repository-url';

/**
 * Facts an {@link OxenError} may carry: its own fields (each documented there), the server-given
 * wait (`retryAfterMs`) and the cause.
 */
export type OxenErrorDetails = { readonly cause?: unknown } & Partial<
  Omit<OxenError, Exclude<keyof OxvcsError, 'retryAfterMs'>>
>;

/** Every failure of the Oxen adapter: one class, a string-union `code`, and the facts a caller needs. */
export class OxenError extends OxvcsError {
  override readonly name = 'OxenError';
  readonly code: OxenErrorCode;
  override readonly retryKind: ErrorKind;
  /** HTTP status of the answer. */
  readonly status?: number;
  /** The envelope's `status_message`. */
  readonly statusMessage?: string;
  /** The rich error's `error.type`, `title`, `detail`. */
  readonly errorType?: string;
  readonly title?: string;
  readonly detail?: string;
  /** `x-oxen-request-id` of the answer. */
  readonly requestId?: string;
  /** Method and URL of the request (never a token). */
  readonly request?: string;
  /** For SERVER_TOO_OLD: what the server runs and what we need. */
  readonly serverVersion?: string;
  readonly requiredVersion?: string;
  /** For CLI errors: the command's stderr (ANSI stripped) and exit code. */
  readonly stderr?: string;
  readonly exitCode?: number;
  /** A file the error is about (config, auth file). */
  readonly file?: string;
  /** What is wrong (CONFIG_INVALID, REMOTE_URL_INVALID). */
  readonly problem?: OxenProblem;
  /** For CONFIG_INVALID `not-toml`: the line the parser stopped at, when it says. */
  readonly line?: number;
  /** For CONFIG_INVALID `not-a-file`: what the path is instead (`fifo`, `directory`…). */
  readonly fileKind?: NotAFileKind;
  /** For REMOTE_URL_INVALID: the URL with any credentials hidden (`redactUrl`). */
  readonly url?: string;
  /** For NOT_A_REPOSITORY: the folder searched from (and above); for NO_REMOTE: the repository. */
  readonly directory?: string;
  /** For NO_REMOTE: the remote's name looked for. */
  readonly remoteName?: string;

  constructor(code: OxenErrorCode, message: string, details: OxenErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.retryKind = KIND[code];
    const { cause: _cause, ...facts } = details;
    Object.assign(this, facts);
  }
}
