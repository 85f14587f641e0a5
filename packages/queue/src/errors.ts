import type { NotAFileKind } from '@oxvcs/durable';
import { type ErrorKind, OxvcsError } from '@oxvcs/retry';

/** Codes of {@link QueueError}. */
export type QueueErrorCode =
  /** The file is not a queue: `problem` says how (facts `file`, `detail`, `quarantine`). */
  | 'CORRUPT'
  /** The file could not be read (facts `file`, `detail`: the system's words). */
  | 'UNREADABLE'
  /** A newer schema than this version knows (facts `file`, `schemaVersion`, `knownVersion`). */
  | 'SCHEMA_TOO_NEW'
  /** No entry matches (fact `id`; empty: no id was given). */
  | 'NOT_FOUND'
  /** A prefix matches several entries (facts `id`, `matches`, `candidates`). */
  | 'AMBIGUOUS_ID'
  /** An id prefix shorter than {@link MIN_ID_PREFIX} (facts `id`, `minimum`). */
  | 'ID_TOO_SHORT'
  /** An entry with this idempotency key is queued already (fact `idempotencyKey`). */
  | 'DUPLICATE'
  /** The entry cannot be changed as asked: `problem` says why (facts `entryId`, `entryStatus`, `runnerPid`). */
  | 'INVALID_STATE'
  /** Another process kept the file lock: `problem` says who (facts `waitedMs`, `holderPid`, `holderHost`, `holderCommand`, `aheadMs`). */
  | 'LOCK_TIMEOUT'
  /** The file or its folder cannot be written (facts `file`, `folder`, `errno`, `detail`). */
  | 'NOT_WRITABLE'
  /** Something other than a regular file stands at the path (facts `file`, `kind`). */
  | 'NOT_A_FILE'
  /** The lock kept being taken over before a write could commit (facts `file`, `attempts`). */
  | 'WRITE_CONFLICT';

/**
 * What exactly went wrong, for the codes that have several cases (the apps word each one).
 *
 * - CORRUPT: `not-json`; `not-an-object` (no object at the top); `bad-version` (`schemaVersion`
 *   is not a whole number ≥ 1); `no-entries` (no `entries` list); `no-version` (an unversioned
 *   file and no legacy reader).
 * - LOCK_TIMEOUT: `unnamed` (the lock file names no process: an older version's?);
 *   `taken-in-turn` (several processes held it one after another, the last `holderPid`);
 *   `held-here` (one process on this machine, still running, held it all along); `held-elsewhere`
 *   (one process on another machine, `holderHost`).
 * - INVALID_STATE: `running` (a live process, `runnerPid`, runs the entry now); `stopped` (that
 *   process is stopped, suspended); `not-retryable` (only failed or expired entries are retried;
 *   `entryStatus`).
 */
export type QueueProblem =
  | 'not-json'
  | 'not-an-object'
  | 'bad-version'
  | 'no-entries'
  | 'no-version'
  | 'unnamed'
  | 'taken-in-turn'
  | 'held-here'
  | 'held-elsewhere'
  | 'running'
  | 'stopped'
  | 'not-retryable';

/**
 * The facts a {@link QueueError} may carry (which ones, by code: see {@link QueueErrorCode}): its
 * own fields, and the cause.
 */
export type QueueErrorFacts = { readonly cause?: unknown } & Partial<
  Omit<QueueError, keyof OxvcsError | 'code'>
>;

/**
 * Every failure of the queue: a code, a `problem` where a code has several cases, and the facts a
 * caller needs to say what happened and what to do. The message states the code and facts for
 * logs; the words a person reads are the apps'.
 */
export class QueueError extends OxvcsError {
  override readonly name = 'QueueError';
  readonly code: QueueErrorCode;
  /** `transient` for a busy lock or a write that kept being taken over; `permanent` otherwise. */
  override readonly retryKind: ErrorKind;
  readonly problem?: QueueProblem;
  /** The queue file concerned. */
  readonly file?: string;
  /** Where a corrupt file was copied (CORRUPT `not-json`; absent: no copy could be kept). */
  readonly quarantine?: string;
  /** The parser's or the system's own words (CORRUPT `not-json`, UNREADABLE, NOT_WRITABLE). */
  readonly detail?: string;
  /** The id or prefix asked for (NOT_FOUND, AMBIGUOUS_ID, ID_TOO_SHORT). */
  readonly id?: string;
  /** The fewest characters an id prefix must have (ID_TOO_SHORT). */
  readonly minimum?: number;
  /** Ids matching an ambiguous prefix (the first 20), and how many matched in all. */
  readonly candidates?: readonly string[];
  readonly matches?: number;
  /** The schema version found (SCHEMA_TOO_NEW; CORRUPT `bad-version`: whatever was there). */
  readonly schemaVersion?: unknown;
  /** The newest schema version this version reads (SCHEMA_TOO_NEW). */
  readonly knownVersion?: number;
  /** The key of the entry already queued (DUPLICATE). */
  readonly idempotencyKey?: string;
  /** The entry concerned, its status, and the process running it (INVALID_STATE). */
  readonly entryId?: string;
  readonly entryStatus?: string;
  readonly runnerPid?: number;
  /** The lock file concerned. */
  readonly lock?: string;
  /** How long this process waited for the lock, in ms (LOCK_TIMEOUT). */
  readonly waitedMs?: number;
  /** The process holding the lock last, its machine and what it was doing (LOCK_TIMEOUT). */
  readonly holderPid?: number;
  readonly holderHost?: string;
  readonly holderCommand?: string;
  /** How far in the future the lock is dated, in ms, when over a second (LOCK_TIMEOUT). */
  readonly aheadMs?: number;
  /** The folder that cannot be written, and the system's error code (NOT_WRITABLE). */
  readonly folder?: string;
  readonly errno?: string;
  /** What stands at the path instead of a regular file (NOT_A_FILE). */
  readonly kind?: NotAFileKind;
  /** Writes tried before giving up (WRITE_CONFLICT). */
  readonly attempts?: number;

  constructor(code: QueueErrorCode, facts: QueueErrorFacts = {}) {
    const { cause, ...rest } = facts;
    super(factsMessage(code, rest), cause === undefined ? undefined : { cause });
    this.code = code;
    this.retryKind = code === 'LOCK_TIMEOUT' || code === 'WRITE_CONFLICT' ? 'transient' : 'permanent';
    Object.assign(this, rest);
  }
}

/** The message of a queue error: its code, its problem and its facts, for a log ("CORRUPT (not-json): file=…"). */
function factsMessage(code: QueueErrorCode, facts: Omit<QueueErrorFacts, 'cause'>): string {
  const { problem, ...rest } = facts;
  const shown = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
  return `Queue ${code}${problem ? ` (${problem})` : ''}${shown ? `: ${shown}` : ''}.`;
}
