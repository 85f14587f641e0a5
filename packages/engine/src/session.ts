import type { Grant, LockManager, LockState, YourBreak } from '@oxvcs/locks';
import { createLockManager, loadMachineId } from '@oxvcs/locks';
import {
  type ConnectivityChecker,
  type ConnectivityResult,
  createConnectivityChecker,
  createOxenCli,
  createOxenHub,
  type OxenCli,
  type OxenHub,
  oxenConfigDir,
  parseRemoteUrl,
  readAuthToken,
} from '@oxvcs/oxen';
import { type QueueEntry, type RunSummary, runQueue } from '@oxvcs/queue';
import {
  type BreakerState,
  type CircuitBreaker,
  classify,
  createCircuitBreaker,
  createRetryBudget,
  isRetryable,
  type RetryPolicy,
  retry,
  TRANSFER_POLICY,
} from '@oxvcs/retry';
import type { Core } from './core.js';
import { EngineError } from './errors.js';
import { checkName, inputError, refuse } from './input.js';
import { isLeaseHours, MAX_LEASE_HOURS, MIN_LEASE_HOURS } from './lease.js';
import { fileChainCache, fileKeyStore } from './lock-state.js';
import { QUEUED_RECHECK_MS } from './operations/acquire-lock.js';
import { carriedGrant } from './operations/behind-acquisition.js';
import { executorsFor, type Operation, type RunDeps, specOf } from './operations/index.js';
import { holderIdentity, type ProjectInfo } from './project.js';
import {
  type GrantNote,
  grantId,
  localEnd,
  noteEndsMs,
  readState,
  type SeenNote,
  updateState,
  writeState,
} from './state.js';
import type { Engine, Outcome, QueuedOutcome, QueuedReason } from './types.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** How long a remote whose breaker opened is rested before one request is let through. */
const BREAKER_REST_MS = 30_000;
/** Error codes of a connection that was never made, so no request was sent on it. */
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

/**
 * The services the network verbs share (internal): clients per remote, retry policies and the
 * breaker, deadlines, the notes this machine keeps of locks, and run-or-queue. Loaded on first use,
 * so that commands that only read the queue (`queue status`) never load the lock manager, the HTTP
 * client or the oxen CLI adapter.
 */
export interface Session extends Core {
  /** Oxen's config folder (the auth file). */
  readonly configDir: () => string;
  /** The API token for `host`, if oxen's auth file has one (a readable file is said once). */
  readonly tokenFor: (host: string) => string | undefined;
  readonly hubFor: (remoteUrl: string) => OxenHub;
  /** The lock manager of a remote, as `holder` (default: this user). */
  readonly locksFor: (remoteUrl: string, holder?: string) => LockManager;
  readonly cliFor: (projectDir: string) => OxenCli;
  /** The remote's connectivity (cached for `connectivity.cache_seconds` unless `force`). */
  readonly connectivity: (force?: boolean) => Promise<ConnectivityResult>;
  /** The last connectivity result, if one was taken. */
  readonly lastConnectivity: () => ConnectivityResult | undefined;
  /** What an operation's own answer says of the remote: it answered, so it is online (no probe). */
  readonly answered: (origin: string) => ConnectivityResult;
  /** Writes a cache file; a failure (a full disk) is said once per file, never thrown. */
  readonly saveCache: (file: string, value: unknown) => void;
  /** This machine's notes of its grants, by `grantId`. */
  readonly grants: () => Record<string, GrantNote>;
  readonly noteGrant: (remote: string, key: string, grant: Grant | undefined) => void;
  /** Keeps what the remote said of a lock (anyone's), for `lock status` offline. */
  readonly noteSeen: (remote: string, key: string, state: LockState) => void;
  /**
   * The break of your lease that `state` tells, if it was not told before (each break is told
   * once); `mark`: it is being told now.
   */
  readonly breakNews: (remote: string, key: string, state: LockState, mark: boolean) => YourBreak | undefined;
  /** Our last note of a grant of `key`, if its lease has not ended. */
  readonly liveGrant: (remote: string, key: string) => GrantNote | undefined;
  /**
   * The grant a release, renewal or push of the project's lock carries: `note`, unless an
   * acquisition of the lock waits in the project's queue (`carriedGrant`).
   */
  readonly grantToCarry: (p: ProjectInfo, note: GrantNote | undefined) => Promise<GrantNote | undefined>;
  /** Lock operations run directly must end within one request timeout (then they queue). */
  readonly interactiveMs: () => number;
  /** A lease length in ms from hours (default `lock.timeout_hours`), refused outside the bounds. */
  readonly ttlFrom: (hours: number | undefined) => number;
  /**
   * Replays the queue (the project `projectDir`'s entries, or every project's), each remote on its
   * own; `force` runs entries waiting out a backoff.
   */
  readonly runSync: (signal?: AbortSignal, force?: boolean, projectDir?: string) => Promise<RunSummary>;
  /**
   * Online commands first replay what this project has pending (config `queue.auto_sync`): the
   * summary, the connectivity when offline, or nothing when there was nothing to replay.
   */
  readonly autoSync: () => Promise<RunSummary | ConnectivityResult | undefined>;
  /**
   * A command that needs the remote and cannot be queued (status, list, break): the quick offline
   * check first, then retries within one request timeout; OFFLINE or DEADLINE say what happened
   * (with `operation`, e.g. `lock-status`, as a fact).
   */
  readonly needsRemote: <T>(operation: string, fn: (signal: AbortSignal) => Promise<T>) => Promise<T>;
  /** The heart of offline mode: run `op` now when we can, queue it when we cannot. */
  readonly runOrQueue: <T extends Record<string, unknown>>(op: Operation) => Promise<Outcome<T>>;
  /**
   * The branch a push or pull is for (typed, else the checked-out one) and the project, refused
   * (INVALID_INPUT) before anything is run or queued when either name could not safely reach oxen.
   */
  readonly transferTarget: (branch?: string) => Promise<{ p: ProjectInfo; branch: string }>;
  /** The project around the working directory, if there is one with a remote. */
  readonly projectIfAny: () => ProjectInfo | undefined;
}

/** A verb of the network half: `Engine[V]` with the session first. */
export type Verb<V extends keyof Engine> = Engine[V] extends (...args: infer A) => infer R
  ? (session: Session, ...args: A) => R
  : never;

/** The session of one invocation, over its core. */
export function createSession(core: Core): Session {
  const { options, emit, files, getProject, getConfig, getQueue } = core;
  let checker: ConnectivityChecker | undefined;
  const hubs = new Map<string, OxenHub>();
  const managers = new Map<string, LockManager>();
  const configDir = () => oxenConfigDir(options.env);
  let warnedReadable = false;
  const tokenFor = (host: string) =>
    readAuthToken(host, configDir(), ({ file, mode }) => {
      if (warnedReadable) return;
      warnedReadable = true;
      emit({ type: 'auth-file-readable', file, mode });
    });
  const hubFor = (remoteUrl: string) => {
    let hub = hubs.get(remoteUrl);
    if (!hub) {
      const ref = parseRemoteUrl(remoteUrl);
      const token = tokenFor(ref.host);
      hub = createOxenHub({
        remoteUrl,
        timeoutMs: getConfig().connectivity.request_timeout_ms,
        ...(token ? { token } : {}),
      });
      hubs.set(remoteUrl, hub);
    }
    return hub;
  };
  /** Lock operations run directly must end within one request timeout (then they queue). */
  const interactiveMs = () => getConfig().connectivity.request_timeout_ms;
  const claimDeadlineMs = () => Math.round(interactiveMs() * 0.8);
  const claimPatienceMs = () => 10 * claimDeadlineMs();
  /**
   * The overall deadline of a lock change run directly: the claim patience plus one request
   * timeout. Only a remote that answers (with other people's progress) can use the patience: a
   * hung one fails its first request at the request timeout, and no retry is started after
   * `interactiveMs`, so it still queues within about one request timeout.
   */
  const lockDeadlineMs = () => claimPatienceMs() + interactiveMs();
  // This user and machine, without a project: a sync typed outside any project replays each entry
  // for its own project, and the lock manager needs only the remote and who asks.
  let machineId: string | undefined;
  const locksFor = (remoteUrl: string, holder?: string) => {
    const who = holder ?? holderIdentity(options.env);
    const id = `${remoteUrl}|${who}`;
    let manager = managers.get(id);
    if (!manager) {
      machineId ??= loadMachineId(core.stateDir);
      manager = createLockManager({
        hub: hubFor(remoteUrl),
        identity: { holder: who, machineId },
        keys: fileKeyStore(files.lockKeys),
        cache: fileChainCache(files.chains, remoteUrl),
        // Lost ticket races are retried within the claim deadline, moved on (up to the patience)
        // while the races are lost to other people's changes: the team is getting through. The
        // command's deadline (lockDeadlineMs) covers the patience, so a busy table ends as granted
        // or as BUSY (exit 1), never as a queued "did not finish".
        claimDeadlineMs: claimDeadlineMs(),
        claimPatienceMs: claimPatienceMs(),
      });
      managers.set(id, manager);
    }
    return manager;
  };
  const cliFor = (projectDir: string): OxenCli =>
    createOxenCli({
      cwd: projectDir,
      env: options.env,
      ...(options.oxenBin ? { bin: options.oxenBin } : {}),
      networkTimeoutMs: getConfig().connectivity.transfer_timeout_seconds * 1000,
    });

  /**
   * Writes a cache (grant notes, the breaker, keep-alive notes) after the remote has changed: a
   * failure (a full disk) must not turn a change that happened into a failed command, nor stop a
   * keep-alive. It is said once per file (`cache-not-saved`), and the next write tries again.
   */
  const unsaved = new Set<string>();
  const cached = (file: string, write: () => void) => {
    try {
      write();
      unsaved.delete(file);
    } catch (error) {
      if (unsaved.has(file)) return;
      unsaved.add(file);
      const errno = (error as NodeJS.ErrnoException).code;
      emit({ type: 'cache-not-saved', file, ...(typeof errno === 'string' ? { errno } : {}) });
    }
  };
  const saveCache = (file: string, value: unknown) => cached(file, () => writeState(file, value));
  /** A cache several processes change (one entry each): changed under its lock (`updateState`). */
  const updateCache = <T>(file: string, fallback: T, change: (current: T) => T) =>
    cached(file, () => updateState(file, fallback, change));
  const grants = () => readState<Record<string, GrantNote>>(files.grants, {});
  const noteGrant = (remote: string, key: string, grant: Grant | undefined) =>
    updateCache<Record<string, GrantNote>>(files.grants, {}, (all) => {
      if (grant) {
        const now = Date.now();
        all[grantId(remote, key)] = {
          fencingToken: grant.fencingToken,
          expiresAt: grant.expiresAt,
          holder: grant.holder,
          ttlMs: grant.ttlMs,
          updatedAt: new Date(now).toISOString(),
          localEndsAt: localEnd(grant, now),
        };
      } else {
        delete all[grantId(remote, key)];
      }
      return all;
    });
  const noteSeen = (remote: string, key: string, state: LockState) =>
    updateCache<Record<string, SeenNote>>(files.seen, {}, (seen) => ({
      ...seen,
      [grantId(remote, key)]: { state, at: new Date().toISOString() },
    }));
  const breakNews = (remote: string, key: string, state: LockState, mark: boolean): YourBreak | undefined => {
    const broke: YourBreak | undefined =
      state.state === 'broken'
        ? { by: state.brokenBy, at: state.brokenAt, ...(state.reason ? { reason: state.reason } : {}) }
        : state.state === 'held-by-other' || state.state === 'expired'
          ? state.yourLeaseBroken
          : undefined;
    if (!broke) return undefined;
    const told = readState<Record<string, string>>(files.breaksSeen, {});
    const id = `${broke.at}|${broke.by}`;
    if (told[grantId(remote, key)] === id) return undefined;
    if (mark)
      updateCache<Record<string, string>>(files.breaksSeen, {}, (all) => ({
        ...all,
        [grantId(remote, key)]: id,
      }));
    return broke;
  };
  const deps = {
    hubFor,
    locksFor,
    cliFor,
    grant: (remote, key) => grants()[grantId(remote, key)],
    noteGrant,
    progress: (op: { kind: 'push' | 'pull' }, p: { phase?: unknown }) => {
      const { phase: _phase, ...progress } = p;
      emit({ type: 'transfer', operation: op.kind, progress });
    },
    resumed: (_op, resume) => emit({ type: 'push-resume', ...resume }),
    unresumable: (_op, fact) => emit({ type: 'push-unresumable', ...fact }),
    partBytes: () => getConfig().transfer.part_size_mb * 1e6,
  } satisfies RunDeps;
  const executors = executorsFor(deps);

  const lockPolicy = (): RetryPolicy => ({
    maxRetries: getConfig().retry.max_retries,
    initialDelayMs: getConfig().retry.initial_backoff_ms,
    maxDelayMs: getConfig().retry.max_backoff_ms,
  });
  // Transfers retry less often and wait longer: at most 3 retries, from the configured first delay
  // up to twice the configured cap (1 s → 30 s by default, as TRANSFER_POLICY).
  const policyFor = (op: Operation): RetryPolicy =>
    specOf(op).class === 'transfer'
      ? {
          ...TRANSFER_POLICY,
          maxRetries: Math.min(TRANSFER_POLICY.maxRetries, getConfig().retry.max_retries),
          initialDelayMs: getConfig().retry.initial_backoff_ms,
          maxDelayMs: 2 * getConfig().retry.max_backoff_ms,
        }
      : lockPolicy();

  const breakerFor = (origin: string): CircuitBreaker => {
    const saved = readState<Record<string, BreakerState>>(files.breaker, {})[origin];
    return createCircuitBreaker({
      failureThreshold: 5,
      halfOpenAfterMs: BREAKER_REST_MS,
      ...(saved ? { initialState: saved } : {}),
    });
  };
  const saveBreaker = (origin: string, breaker: CircuitBreaker) => {
    const next = breaker.toJSON();
    // Unchanged (closed, as after most commands): no lock, no write, no fsync on the way out.
    const saved = readState<Record<string, BreakerState>>(files.breaker, {})[origin];
    if (JSON.stringify(saved ?? { state: 'closed', consecutiveFailures: 0 }) === JSON.stringify(next)) return;
    updateCache<Record<string, BreakerState>>(files.breaker, {}, (all) => ({ ...all, [origin]: next }));
  };

  const connectivity = async (force = false) => {
    const p = getProject();
    if (!checker) {
      const token = tokenFor(p.remote.host);
      checker = createConnectivityChecker(p.remote.url, {
        timeoutMs: getConfig().connectivity.timeout_ms,
        cacheMs: getConfig().connectivity.cache_seconds * 1000,
        ...(token ? { token } : {}),
      });
    }
    const result = await checker.check(force);
    emit({ type: 'connectivity', result });
    return result;
  };

  /** Failures before a connection was made (refused, no such host, no route): nothing was sent. */
  const unsent = (error: unknown) => {
    let current: unknown = error;
    for (let depth = 0; current != null && depth < 8; depth++) {
      const code = (current as { code?: unknown }).code;
      if (typeof code === 'string' && CONNECT_FAILURES.has(code)) return true;
      current = (current as { cause?: unknown }).cause;
    }
    return false;
  };
  const answered = (origin: string): ConnectivityResult => {
    const result: ConnectivityResult = {
      state: 'online',
      reason: { code: 'requests-answered', origin },
      checkedAt: Date.now(),
    };
    emit({ type: 'connectivity', result });
    return result;
  };
  /**
   * Connectivity is judged from an operation's own requests, never by a probe before them: one
   * attempt runs, and only when it got no answer at all (refused, reset, no route: NETWORK) is the
   * health route asked, once, whether the remote is reachable. `offline` receives the result when
   * it is not, and the attempt then fails for good (an OFFLINE error), so nothing is retried
   * against a remote that is down. A request that timed out (a hung or slow remote, or a busy
   * machine) is left to the command's deadline: local CPU load never reads as "offline".
   */
  const guardOffline = async <T>(
    attempt: () => Promise<T>,
    offline: (result: ConnectivityResult, unsent: boolean) => void,
  ): Promise<T> => {
    try {
      return await attempt();
    } catch (error) {
      const e = error as { name?: unknown; code?: unknown };
      if (e.name !== 'OxenError' || e.code !== 'NETWORK') throw error;
      const result = await connectivity(true);
      if (result.state !== 'offline') throw error;
      offline(result, unsent(error));
      throw new EngineError('OFFLINE', `The remote is offline (${result.reason.code}).`, {
        cause: error,
        connectivity: result.reason,
      });
    }
  };

  const runSync = async (signal?: AbortSignal, force = false, projectDir?: string): Promise<RunSummary> =>
    runQueue<Operation>(getQueue(), {
      executors,
      // Lanes of different projects run side by side; lock operations of one repository share its
      // lock table, so they run one at a time (side by side they would only race for one ticket).
      concurrency: 8,
      exclusive: (op) => (op.kind.endsWith('-lock') ? `lock-table ${op.remote}` : undefined),
      retryPolicy: policyFor,
      budget: createRetryBudget(),
      force,
      ...(projectDir ? { scope: projectDir } : {}),
      ...(signal ? { signal } : {}),
      onEvent: (event) => emit({ type: 'sync', event }),
    });
  const projectIfAny = () => {
    try {
      return getProject();
    } catch {
      return undefined;
    }
  };

  /** Queues `op`; `tried`: a direct attempt ran and did not finish, so it may have taken effect. */
  const enqueue = async (
    op: Operation,
    nonce: string,
    reason: QueuedReason,
    tried = false,
  ): Promise<Extract<Outcome<never>, { status: 'queued' }>> => {
    const { ttlMs, expiresAt } = specOf(op).expiry(op, getConfig().queue.retention_days * DAY);
    // A queued acquisition waits its turn in line when it meets a held lock: each look is an
    // attempt, so its attempts are bounded by its expiry, not by the usual count.
    const waits = op.kind === 'acquire-lock';
    const { entry, outcome, affected } = await getQueue().enqueue({
      operation: waits ? { ...op, waitInLine: true } : op,
      idempotencyKey: nonce,
      ttlMs,
      ...(waits
        ? { maxAttempts: getConfig().queue.max_attempts + Math.ceil(ttlMs / QUEUED_RECHECK_MS) }
        : {}),
      ...(expiresAt ? { expiresAt } : {}),
      ...(tried ? { verifyFirst: true } : {}),
    });
    const enqueued = outcome as QueuedOutcome;
    const replaced = enqueued === 'collapsed' ? affected[0]?.id : undefined;
    emit({ type: 'queued', entry, reason, enqueued });
    return { status: 'queued', entry, reason, enqueued, ...(replaced ? { replaces: replaced } : {}) };
  };

  const autoSync = async (): Promise<RunSummary | ConnectivityResult | undefined> => {
    if (!getConfig().queue.auto_sync) return undefined;
    const p = getProject();
    // Only its own entries (another project's, or another remote's, wait for `queue sync`), one
    // attempt each, within one request timeout; what does not finish stays queued.
    const mine = (await getQueue().list({ status: 'pending', scope: p.root })).filter(
      (e) => e.operation.remote === p.remote.url,
    );
    if (mine.length === 0) return undefined;
    // Entries to replay: one question first (rather than failing each of them when offline).
    const conn = await connectivity();
    if (conn.state === 'offline') return conn;
    emit({ type: 'auto-sync', pending: mine.length });
    return runQueue<Operation>(getQueue(), {
      executors,
      retryPolicy: { maxRetries: 0 },
      scope: p.root,
      signal: AbortSignal.timeout(getConfig().connectivity.request_timeout_ms),
      onEvent: (event) => emit({ type: 'sync', event }),
    });
  };

  const needsRemote = async <T>(operation: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const p = getProject();
    const deadline = AbortSignal.timeout(interactiveMs());
    let offline: ConnectivityResult | undefined;
    try {
      return await retry(
        (_attempt, signal) =>
          guardOffline(
            () => fn(signal),
            (result) => {
              offline = result;
            },
          ),
        { ...lockPolicy(), deadlineMs: interactiveMs() },
        {
          signal: deadline,
          onEvent: (event) => emit({ type: 'retry', operation, event }),
        },
      );
    } catch (error) {
      const { origin } = p.remote;
      if (offline) {
        throw new EngineError('OFFLINE', `${origin} is unreachable; ${operation} needs the remote.`, {
          cause: error,
          origin,
          operation,
          connectivity: offline.reason,
        });
      }
      if (!deadline.aborted) throw error;
      throw new EngineError('DEADLINE', `${origin} did not answer ${operation} in time.`, {
        cause: error,
        origin,
        operation,
        timeoutMs: interactiveMs(),
      });
    }
  };

  /** Why a command waits behind `ahead` (unfinished entries of its project's lane): their count and descriptions. */
  const behind = (ahead: readonly QueueEntry<Operation>[]): QueuedReason => ({
    code: 'behind',
    count: ahead.length,
    operations: [...new Set(ahead.map((e) => specOf(e.operation).describe(e.operation)))],
  });

  const runOrQueue = async <T extends Record<string, unknown>>(op: Operation): Promise<Outcome<T>> => {
    const nonce = `${op.kind}:${globalThis.crypto.randomUUID()}`;
    const origin = parseRemoteUrl(op.remote).origin;
    const breaker = breakerFor(origin);
    if (breaker.state === 'open') {
      return enqueue(op, nonce, { code: 'resting', origin, restMs: BREAKER_REST_MS });
    }
    const replayed = await autoSync();
    if (replayed && 'state' in replayed) return enqueue(op, nonce, { code: 'offline' });
    const synced = replayed;
    // Never overtake what this project queued before: what the auto-sync could not finish (a take
    // still uploading, an entry waiting out a backoff, one another process is running) runs first,
    // and this command is queued behind it, in the order typed.
    const ahead = await getQueue().ahead(op);
    if (ahead.length > 0) {
      const queued = await enqueue(op, nonce, behind(ahead));
      return {
        ...queued,
        behind: ahead.map((e) => ({ id: e.id, kind: e.operation.kind })),
        ...(synced ? { synced } : {}),
      };
    }
    const spec = specOf(op);
    // A lock operation gets one overall deadline, so a hung remote makes it queue (exit 75)
    // within the connectivity timeout plus one request timeout; a transfer has its own timeout.
    const bounded = spec.class === 'lock';
    const overallMs = lockDeadlineMs();
    const deadline = bounded ? AbortSignal.timeout(overallMs) : undefined;
    const signal = deadline ?? new AbortController().signal;
    const policy = policyFor(op);
    // Offline, and whether any attempt may have reached the remote before it went away.
    let offline: { tried: boolean } | undefined;
    try {
      // The same run a replay makes, with the key the entry gets if this ends up queued.
      const result = (await retry(
        (attempt, attemptSignal) =>
          guardOffline(
            () =>
              spec.run(
                op,
                { idempotencyKey: nonce, verifyFirst: attempt > 1, signal: attemptSignal, attempt },
                deps,
              ),
            (_result, unsentHere) => {
              offline = { tried: attempt > 1 || !unsentHere };
            },
          ),
        bounded ? { ...policy, deadlineMs: interactiveMs() } : policy,
        {
          breaker,
          signal,
          onEvent: (event) => emit({ type: 'retry', operation: op.kind, event }),
        },
      )) as T;
      saveBreaker(origin, breaker);
      return { status: 'done', result: result ?? ({} as T), ...(synced ? { synced } : {}) };
    } catch (error) {
      saveBreaker(origin, breaker);
      if (offline) {
        // When an attempt may have reached the remote, the replay checks first.
        const queued = await enqueue(op, nonce, { code: 'offline' }, offline.tried);
        return { ...queued, ...(synced ? { synced } : {}) };
      }
      if (deadline?.aborted) {
        const queued = await enqueue(op, nonce, { code: 'deadline', origin, timeoutMs: overallMs }, true);
        return { ...queued, ...(synced ? { synced } : {}) };
      }
      const verdict = classify(error);
      if (isRetryable(verdict.kind)) {
        const queued = await enqueue(op, nonce, { code: 'gave-up', detail: verdict.reason }, true);
        return { ...queued, ...(synced ? { synced } : {}) };
      }
      throw error;
    }
  };

  const ttlFrom = (hours: number | undefined) => {
    const h = hours ?? getConfig().lock.timeout_hours;
    if (!isLeaseHours(h)) {
      throw inputError({
        field: 'timeout',
        problem: 'out-of-range',
        value: String(hours),
        min: MIN_LEASE_HOURS,
        max: MAX_LEASE_HOURS,
      });
    }
    return Math.round(h * HOUR);
  };

  const grantToCarry = async (p: ProjectInfo, note: GrantNote | undefined) =>
    carriedGrant(
      await getQueue().list({ status: ['pending', 'running'], scope: p.root, kind: 'acquire-lock' }),
      p.remote.url,
      p.key,
      note,
    );
  const liveGrant = (remote: string, key: string) => {
    const note = grants()[grantId(remote, key)];
    return note && noteEndsMs(note) > Date.now() ? note : undefined;
  };

  const transferTarget = async (branch?: string) => {
    const p = getProject();
    if (p.remoteName !== undefined) refuse(p.remoteName, checkName('remote-name', p.remoteName));
    if (branch !== undefined) return { p, branch: refuse(branch, checkName('branch', branch)) };
    const current = await cliFor(p.root).currentBranch();
    return { p, branch: refuse(current, checkName('branch', current)) };
  };

  return {
    ...core,
    configDir,
    tokenFor,
    hubFor,
    locksFor,
    cliFor,
    connectivity,
    lastConnectivity: () => checker?.last,
    answered,
    saveCache,
    grants,
    noteGrant,
    noteSeen,
    breakNews,
    liveGrant,
    grantToCarry,
    interactiveMs,
    ttlFrom,
    runSync,
    autoSync,
    needsRemote,
    runOrQueue,
    transferTarget,
    projectIfAny,
  };
}
