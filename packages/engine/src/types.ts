import type { Grant, HeartbeatEvent, LockState, YourBreak } from '@oxvcs/locks';
import type { ConnectivityResult } from '@oxvcs/oxen';
import type {
  PreviewStep as GenericPreviewStep,
  Queue as GenericQueue,
  RunEvent as GenericRunEvent,
  QueueStats,
  RunSummary,
} from '@oxvcs/queue';
import type { RetryEvent } from '@oxvcs/retry';
import type { Config, ConfigOverrides, Paths } from './config.js';
import type { GuardReport, GuardStatus } from './guard.js';
import type { NotifyResult } from './notify.js';
import type { Operation, OxvcsEntry } from './operations/index.js';
import type { PushUnresumable } from './operations/types.js';
import type { ProjectInfo } from './project.js';
import type { TakeReport } from './record-take.js';
import type { GrantNote, HeartbeatNote, SeenNote } from './state.js';
import type { LockWaitOptions } from './wait-turn.js';

// The engine's public types, in one module: what the apps call (`Engine`), what it reports
// (`EngineEvent`) and what its verbs return. The implementation is split by noun (`verbs/`).

/** A queue entry of an oxvcs operation. */
export type QueueEntry = OxvcsEntry;
/** The queue of oxvcs operations. */
export type Queue = GenericQueue<Operation>;
/** A step of a dry run. */
export type PreviewStep = GenericPreviewStep<Operation>;
/** Progress of a replay. */
export type RunEvent = GenericRunEvent<Operation>;

/**
 * What an enqueue did: `added`; `cancelled` (a release met its pending acquisition, never tried:
 * both cancelled); `collapsed` (it replaced the same request queued last, pending); `expired` (a
 * renewal of a lease that has already ended: stored expired, it will not run).
 */
export type QueuedOutcome = 'added' | 'cancelled' | 'collapsed' | 'expired';

/**
 * Why an operation was queued instead of run, as a code and facts (the apps word it):
 * - `offline`: the remote is unreachable;
 * - `resting`: `origin` failed repeatedly, and its circuit breaker rests it for up to `restMs`;
 * - `behind`: `count` unfinished entries of this project, queued before it, must run first
 *   (`operations`: their descriptions, each once);
 * - `deadline`: `origin` did not finish within `timeoutMs`; it may have taken effect, so the replay checks first;
 * - `gave-up`: a retryable failure outlasted the retries (`detail`: what the last one was).
 */
export type QueuedReason =
  | { readonly code: 'offline' }
  | { readonly code: 'resting'; readonly origin: string; readonly restMs: number }
  | { readonly code: 'behind'; readonly count: number; readonly operations: readonly string[] }
  | { readonly code: 'deadline'; readonly origin: string; readonly timeoutMs: number }
  | { readonly code: 'gave-up'; readonly detail: string };

/** Everything the engine reports while it works; apps render these, the engine never prints. */
export type EngineEvent =
  | { readonly type: 'connectivity'; readonly result: ConnectivityResult }
  | { readonly type: 'auto-sync'; readonly pending: number }
  | { readonly type: 'sync'; readonly event: RunEvent }
  | { readonly type: 'retry'; readonly operation: string; readonly event: RetryEvent }
  | {
      readonly type: 'queued';
      readonly entry: QueueEntry;
      readonly reason: QueuedReason;
      readonly enqueued: QueuedOutcome;
    }
  | { readonly type: 'heartbeat'; readonly event: HeartbeatEvent }
  /** A push or pull moving data: oxen's own counts (bytes and files, totals when known). */
  | {
      readonly type: 'transfer';
      readonly operation: 'push' | 'pull';
      readonly progress: {
        readonly bytesDone?: number;
        readonly bytesTotal?: number;
        readonly filesDone?: number;
        readonly filesTotal?: number;
      };
    }
  /** A push re-run after a cut: how much of the recorded take the remote already has. */
  | {
      readonly type: 'push-resume';
      readonly partsTotal: number;
      readonly partsPresent: number;
      readonly bytesTotal: number;
      readonly bytesPresent: number;
    }
  /** A push sends something that cannot resume midway if cut (told once per push run). */
  | ({ readonly type: 'push-unresumable' } & PushUnresumable)
  /**
   * Another process (`pid`, doing `command`) holds the queue file's lock and is working: this one
   * waits for it however long it takes (a very large queue), and says so after about a second.
   */
  | {
      readonly type: 'queue-busy';
      /** The process writing it; absent when the lock file names none (a crash of an older version, or foreign content). */
      readonly pid?: number;
      readonly command?: string;
      /** The lock file. */
      readonly lock: string;
    }
  /**
   * A cache this machine keeps (grant notes, the breaker, a keep-alive note) could not be written
   * (a full disk: `errno` ENOSPC); what happened on the remote stands, this machine's note of it
   * does not. Said once per file per process.
   */
  | { readonly type: 'cache-not-saved'; readonly file: string; readonly errno?: string }
  /** The read-only guard (`lock.read_only_guard`) changed the project's files, or could not. */
  | { readonly type: 'guard'; readonly report: GuardReport }
  /** Oxen's auth config holding our token is readable by other users: used, but say `chmod 600`. */
  | { readonly type: 'auth-file-readable'; readonly file: string; readonly mode: number };

/** Result of an operation that may have been queued instead of done. */
export type Outcome<T> =
  | { readonly status: 'done'; readonly result: T; readonly synced?: RunSummary }
  | {
      readonly status: 'queued';
      readonly entry: QueueEntry;
      readonly reason: QueuedReason;
      readonly enqueued: QueuedOutcome;
      /** For `collapsed`: the id of the identical entry this one replaced. */
      readonly replaces?: string;
      /**
       * Queued online behind entries of its project that had to run first (the command never
       * overtakes them): their ids and kinds.
       */
      readonly behind?: readonly { readonly id: string; readonly kind: string }[];
      readonly synced?: RunSummary;
    };

/** Options of {@link createEngine}. */
export interface EngineOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** `--project`: the project folder (the lock key is its path inside the repository). */
  readonly project?: string;
  /** `--remote`: a remote URL overriding the repository's. */
  readonly remote?: string;
  /** Flag-level config (highest precedence), e.g. `{ queue: { auto_sync: false } }`. */
  readonly overrides?: ConfigOverrides;
  readonly onEvent?: (event: EngineEvent) => void;
  /**
   * What this process is doing (e.g. `oxenvcs queue sync`), shown to another process that waits
   * for the queue file while this one holds it.
   */
  readonly command?: string;
  /** The oxen executable. @default 'oxen' */
  readonly oxenBin?: string;
}

/** `lock status` report. */
export interface LockStatusReport {
  readonly project: ProjectInfo;
  readonly connectivity: ConnectivityResult;
  /** The remote's view; absent when offline. */
  readonly state?: LockState;
  /** What we last knew locally (shown when offline). */
  readonly cached?: GrantNote;
  /**
   * Your lease was broken, and this is the first report that tells it (human output marks it
   * told: `markSeen`): who, when, why. Also in `state` (`yourLeaseBroken`, or the `broken` state)
   * for as long as the table keeps the note.
   */
  readonly brokenNews?: YourBreak;
  /** Offline: the lock as this machine last read it from the remote, whoever held it, and when. */
  readonly lastKnown?: SeenNote;
  /** The server's clock when `state` was read (its `Date` header, epoch ms), when it sent one. */
  readonly serverNow?: number;
  /**
   * How long after its end a lease still counts as held (`EXPIRY_MARGIN_MS` of `@oxvcs/locks`): the
   * server's clock and the commit clock may disagree by that much.
   */
  readonly expiryMarginMs: number;
  /** A heartbeat running in another process (or the TUI), and its health. */
  readonly heartbeat?: HeartbeatNote;
  /** Lock operations for this project still waiting in the queue. */
  readonly queued: readonly QueueEntry[];
  /** The read-only guard: on or off, and how many files it keeps read-only now. */
  readonly guard?: GuardStatus;
}

/** `queue sync` report. */
export interface SyncReport {
  /** The current project's remote (absent for a sync of every project). */
  readonly connectivity?: ConnectivityResult;
  readonly summary?: RunSummary;
  /** For a dry run: what would happen, in order. */
  readonly preview?: readonly PreviewStep[];
}

/** The oxvcs core, shared by the CLI and the TUI. */
export interface Engine {
  readonly config: Config;
  readonly paths: Paths;
  readonly queue: Queue;
  /** The project (throws NOT_A_REPOSITORY / NO_REMOTE / REMOTE_URL_INVALID with what to do). */
  project(): ProjectInfo;
  connectivity(force?: boolean): Promise<ConnectivityResult>;
  /**
   * Takes the lock. With `wait`, waits its turn in line (first come, first served) until granted,
   * `maxWaitMs` (WAIT_ENDED) or abort; the grant then says `waited` and `waitedMs`. Offline, or
   * behind queued work, it is queued; a queued acquisition waits in line when replayed.
   */
  lockAcquire(options?: {
    ttlHours?: number;
    comment?: string;
    wait?: LockWaitOptions;
  }): Promise<Outcome<Grant & { waited?: boolean; waitedMs?: number }>>;
  lockRelease(): Promise<Outcome<{ released: boolean; previous: LockState['state'] }>>;
  lockRenew(options?: { ttlHours?: number }): Promise<Outcome<Grant>>;
  /** `markSeen`: the user is shown the report (a lost keep-alive is then not shown again). */
  lockStatus(options?: { markSeen?: boolean }): Promise<LockStatusReport>;
  lockList(): Promise<LockState[]>;
  lockBreak(options: { force: boolean; reason?: string }): Promise<{ broken: boolean; previous: LockState }>;
  /**
   * The background keep-alive of the current lock: its note (`heartbeats/<hash>.json`, written by
   * the running heartbeat) and the log file a detached one writes to.
   */
  keepAlive(): Promise<{ note?: HeartbeatNote; running: boolean; log: string }>;
  /** Records a just-started keep-alive's pid at once, so a second start finds it running. */
  markKeepAlive(pid: number): Promise<void>;
  /**
   * Stops the current lock's keep-alive (SIGTERM to its pid), if one runs; `by` (the command
   * asking, e.g. `oxenvcs lock release`) is left in its note, so that it says why it stopped.
   */
  stopKeepAlive(options?: { by?: string }): Promise<{ stopped: boolean; pid?: number }>;
  /** What this machine last knew of its lease on the current lock (a local note; the remote is the truth). */
  knownLease(): GrantNote | undefined;
  /**
   * A desktop notification (macOS `osascript`, elsewhere `notify-send`, when on `PATH`), unless
   * `ui.notifications = false`. The apps word it; never put a secret in it.
   */
  notify(title: string, body: string): Promise<NotifyResult>;
  /** Keeps the lock alive until `signal` aborts; resolves with the final heartbeat state. */
  heartbeat(options: { signal: AbortSignal; ttlHours?: number }): Promise<'lost' | 'stopped'>;
  push(branch?: string): Promise<Outcome<Record<string, unknown>>>;
  pull(branch?: string): Promise<Outcome<Record<string, unknown>>>;
  /**
   * Stages the project's changes and records them as commits of at most `partBytes` each
   * (default 200 MB), `MESSAGE (part i of n)`, the project document last, so a
   * cut push resumes at a part. Refused (LockError HELD) while someone else holds the lock.
   */
  commitTake(options: { message: string; partBytes?: number }): Promise<TakeReport>;
  /**
   * Replays the queue: the current project's entries, or with `allProjects` (or outside any
   * project) every project's, each remote on its own (one remote down never holds back another).
   */
  sync(options?: {
    dryRun?: boolean;
    signal?: AbortSignal;
    force?: boolean;
    allProjects?: boolean;
  }): Promise<SyncReport>;
  /**
   * The queue of the current project (inside one), or of every project (`allProjects`, or outside
   * any project); `others` counts the other projects' unfinished entries.
   */
  queueStatus(options?: { allProjects?: boolean; limit?: number }): Promise<{
    stats: QueueStats;
    /** Running and pending in run order (the first `limit`), then the finished ones, newest first. */
    entries: QueueEntry[];
    scope: { readonly projectDir: string } | 'all';
    others: number;
    /** Running and pending entries left out by `limit`. */
    omitted: number;
  }>;
  queueRemove(id: string): Promise<QueueEntry>;
  queueRetry(id: string): Promise<QueueEntry>;
  /** Removes finished entries (`all`: every entry) of the current project, or of every project. */
  queueClear(options: { all: boolean; allProjects?: boolean }): Promise<number>;
  authLogin(token: string): Promise<{ host: string; file: string }>;
  authStatus(): Promise<{
    host: string;
    hasToken: boolean;
    file: string;
    /** The auth file's permission bits when other users may read it (`chmod 600` fixes it). */
    readableByOthers?: { mode: number };
    connectivity?: ConnectivityResult;
    authenticated?: boolean;
  }>;
  authLogout(): Promise<{ host: string; removed: boolean }>;
  /**
   * Queued operations of every project that failed or expired since the user last looked, oldest
   * first; they are then recorded as seen (`away.json` in the state folder), so each is reported
   * once. `shown`: ids of entries the caller already showed as they failed (recorded, not returned).
   */
  whileAway(options?: { shown?: readonly string[] }): Promise<QueueEntry[]>;
}
