import { rmSync } from 'node:fs';
import { identify, isRunning, signalProcess } from '@oxvcs/durable';
import {
  createLockManager,
  EXPIRY_MARGIN_MS,
  type Grant,
  type Lease,
  LockError,
  type LockManager,
  type LockState,
  loadMachineId,
  MAX_TEXT,
  startHeartbeat,
  type YourBreak,
} from '@oxvcs/locks';
import {
  clipServerText,
  createOxenCli,
  createOxenHub,
  type OxenCli,
  type OxenHub,
  oxenConfigDir,
  parseRemoteUrl,
  readAuthToken,
  removeAuthToken,
  writeAuthToken,
} from '@oxvcs/oxen';
import { previewRun, type QueueEntry, type RunSummary, runQueue } from '@oxvcs/queue';
import {
  type BreakerState,
  type CircuitBreaker,
  type ConnectivityChecker,
  type ConnectivityResult,
  classify,
  createCircuitBreaker,
  createConnectivityChecker,
  createRetryBudget,
  isRetryable,
  type RetryPolicy,
  retry,
  TRANSFER_POLICY,
} from '@oxvcs/retry';
import type { Core, Engine, Outcome, QueuedOutcome } from './engine.js';
import { EngineError } from './errors.js';
import { checkName, checkText, refuse } from './input.js';
import { fileChainCache, fileKeyStore, heartbeatFile } from './lock-state.js';
import { QUEUED_RECHECK_MS } from './operations/acquire-lock.js';
import { executorsFor, type Operation, RULES, type RunDeps, specOf } from './operations/index.js';
import { holderIdentity } from './project.js';
import {
  type GrantNote,
  grantId,
  type HeartbeatNote,
  readState,
  type SeenNote,
  writeState,
} from './state.js';
import { waitTurn } from './wait-turn.js';

/** The engine's network half: everything that talks to the remote or the oxen CLI. */
export type Online = Pick<
  Engine,
  | 'connectivity'
  | 'lockAcquire'
  | 'lockRelease'
  | 'lockRenew'
  | 'lockStatus'
  | 'lockList'
  | 'lockBreak'
  | 'heartbeat'
  | 'keepAlive'
  | 'stopKeepAlive'
  | 'markKeepAlive'
  | 'push'
  | 'pull'
  | 'commitTake'
  | 'sync'
  | 'authLogin'
  | 'authStatus'
  | 'authLogout'
>;

const HOUR = 3_600_000;
/** Error codes of a connection that was never made, so no request was sent on it. */
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

/** Where a command asking a keep-alive to stop says who it is (`{by}`), beside the keep-alive's note. */
const stopFileOf = (note: string) => note.replace(/\.json$/, '.stop.json');

/** The lock state a HELD error tells (someone else's live lease), or undefined for any other error. */
function heldState(key: string, error: unknown): LockState | undefined {
  if (!(error instanceof LockError) || error.code !== 'HELD') return undefined;
  const { holder, machineId, acquiredAt, expiresAt, fencingToken, comment, heldKey, lastRenewedAt } = error;
  if (!holder || !acquiredAt || !expiresAt || fencingToken === undefined) return undefined;
  const lease: Lease = {
    key: heldKey ?? key,
    lockId: '',
    holder,
    machineId: machineId ?? '',
    acquiredAt,
    expiresAt,
    lastHeartbeat: lastRenewedAt ?? acquiredAt,
    ttlMs: Math.max(0, Date.parse(expiresAt) - Date.parse(lastRenewedAt ?? acquiredAt)),
    ...(error.keptAlive ? { keptAlive: true as const } : {}),
    fencingToken,
    ticket: 0,
    ...(comment ? { comment } : {}),
  };
  return { state: 'held-by-other', key, lease };
}
const DAY = 24 * HOUR;

/**
 * Builds the network half of the engine. Loaded on first use, so that commands that only read the
 * queue (`queue status`) never load the lock manager, the HTTP client or the oxen CLI adapter.
 */
export function createOnline(core: Core): Online {
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
        // Lost ticket races are retried until shortly before the command's own deadline, so a
        // busy table ends as BUSY (exit 1), not as a queued "did not finish".
        claimDeadlineMs: Math.round(interactiveMs() * 0.8),
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
  const saveCache = (file: string, value: unknown) => {
    try {
      writeState(file, value);
      unsaved.delete(file);
    } catch (error) {
      if (unsaved.has(file)) return;
      unsaved.add(file);
      const errno = (error as NodeJS.ErrnoException).code;
      emit({ type: 'cache-not-saved', file, ...(typeof errno === 'string' ? { errno } : {}) });
    }
  };
  const grants = () => readState<Record<string, GrantNote>>(files.grants, {});
  const noteGrant = (remote: string, key: string, grant: Grant | undefined) => {
    const all = grants();
    if (grant) {
      all[grantId(remote, key)] = {
        fencingToken: grant.fencingToken,
        expiresAt: grant.expiresAt,
        holder: grant.holder,
        ttlMs: grant.ttlMs,
        updatedAt: new Date().toISOString(),
      };
    } else {
      delete all[grantId(remote, key)];
    }
    saveCache(files.grants, all);
  };
  /** Keeps what the remote said of a lock (anyone's), for `lock status` offline. */
  const noteSeen = (remote: string, key: string, state: LockState) => {
    const seen = readState<Record<string, SeenNote>>(files.seen, {});
    seen[grantId(remote, key)] = { state, at: new Date().toISOString() };
    saveCache(files.seen, seen);
  };
  /**
   * The break of your lease that `state` tells, if it was not told before (each break is told once,
   * by who and when it happened); `mark`: it is being told now.
   */
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
    if (mark) saveCache(files.breaksSeen, { ...told, [grantId(remote, key)]: id });
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
      halfOpenAfterMs: 30_000,
      ...(saved ? { initialState: saved } : {}),
    });
  };
  const saveBreaker = (origin: string, breaker: CircuitBreaker) => {
    const all = readState<Record<string, BreakerState>>(files.breaker, {});
    all[origin] = breaker.toJSON();
    saveCache(files.breaker, all);
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
  /** What an operation's own answer says of the remote: it answered, so it is online (no probe). */
  const answered = (origin: string): ConnectivityResult => {
    const result: ConnectivityResult = {
      state: 'online',
      reason: `${origin} answered the command's own requests.`,
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
      throw new EngineError('OFFLINE', result.reason, { cause: error });
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
  /** The repository around the working directory (or `--project`), if there is one. */
  const rootIfAny = () => {
    try {
      return getProject().root;
    } catch {
      return undefined;
    }
  };

  /** Queues `op`; `tried`: a direct attempt ran and did not finish, so it may have taken effect. */
  const enqueue = async (
    op: Operation,
    nonce: string,
    reason: string,
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

  /**
   * Online commands first replay what this project has pending (config `queue.auto_sync`): only
   * its own entries (another project's, or another remote's, wait for `queue sync`), one attempt
   * each, within one request timeout; what does not finish stays queued.
   */
  const autoSync = async (): Promise<RunSummary | ConnectivityResult | undefined> => {
    if (!getConfig().queue.auto_sync) return undefined;
    const p = getProject();
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

  /**
   * A command that needs the remote and cannot be queued (status, list, break): the quick offline
   * check first, then retries within one request timeout; OFFLINE or DEADLINE say what happened.
   */
  const needsRemote = async <T>(
    operation: string,
    what: string,
    fn: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> => {
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
      if (offline) {
        throw new EngineError(
          'OFFLINE',
          `${p.remote.origin} is unreachable (${offline.reason}); ${what} needs the remote, so try again when you are back online.`,
          { cause: error },
        );
      }
      if (!deadline.aborted) throw error;
      throw new EngineError(
        'DEADLINE',
        `${p.remote.origin} did not answer ${what} within ${Math.round(interactiveMs() / 100) / 10} s; try again, or raise connectivity.request_timeout_ms.`,
        { cause: error },
      );
    }
  };

  /** Why a command waits behind `ahead` (unfinished entries of its project's lane). */
  const behindWords = (ahead: readonly QueueEntry<Operation>[]) => {
    const kinds = [...new Set(ahead.map((e) => specOf(e.operation).describe(e.operation)))];
    const shown = kinds.slice(0, 3).join(', ') + (kinds.length > 3 ? ` and ${kinds.length - 3} more` : '');
    return `${ahead.length === 1 ? 'An operation' : `${ahead.length} operations`} queued before it in this project must finish first (${shown}); \`oxenvcs queue sync\` runs them in order`;
  };

  /** Lock operations run directly must end within one request timeout (then they queue). */
  const interactiveMs = () => getConfig().connectivity.request_timeout_ms;

  /** The heart of offline mode: run now when we can, queue when we cannot. */
  const runOrQueue = async <T extends Record<string, unknown>>(op: Operation): Promise<Outcome<T>> => {
    const nonce = `${op.kind}:${globalThis.crypto.randomUUID()}`;
    const origin = parseRemoteUrl(op.remote).origin;
    const breaker = breakerFor(origin);
    if (breaker.state === 'open') {
      return enqueue(op, nonce, `${origin} failed repeatedly and is being rested for up to 30 s`);
    }
    const replayed = await autoSync();
    if (replayed && 'state' in replayed) return enqueue(op, nonce, 'Network is offline');
    const synced = replayed;
    // Never overtake what this project queued before: what the auto-sync could not finish (a take
    // still uploading, an entry waiting out a backoff, one another process is running) runs first,
    // and this command is queued behind it, in the order typed.
    const ahead = await getQueue().ahead(op);
    if (ahead.length > 0) {
      const queued = await enqueue(op, nonce, behindWords(ahead));
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
    const deadline = bounded ? AbortSignal.timeout(interactiveMs()) : undefined;
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
        const queued = await enqueue(op, nonce, 'Network is offline', offline.tried);
        return { ...queued, ...(synced ? { synced } : {}) };
      }
      if (deadline?.aborted) {
        const queued = await enqueue(
          op,
          nonce,
          `Gave up for now: ${origin} did not finish within ${Math.round(interactiveMs() / 100) / 10} s`,
          true,
        );
        return { ...queued, ...(synced ? { synced } : {}) };
      }
      const verdict = classify(error);
      if (isRetryable(verdict.kind)) {
        const queued = await enqueue(op, nonce, `Gave up for now: ${verdict.reason}`, true);
        return { ...queued, ...(synced ? { synced } : {}) };
      }
      throw error;
    }
  };

  const ttlFrom = (hours: number | undefined) => {
    const h = hours ?? getConfig().lock.timeout_hours;
    // A lease shorter than a minute ends before a renewal could keep it (the CLI says the same).
    if (!Number.isFinite(h) || h < 1 / 60 || h > 24 * 30) {
      throw new EngineError(
        'INVALID_INPUT',
        `The lock timeout must be from 1 minute (0.0167 hours) to 720 hours (got ${String(hours)}).`,
        { field: 'timeout' },
      );
    }
    return Math.round(h * HOUR);
  };

  /** An acquisition of `key` waits in this project's queue (pending or running). */
  const acquisitionQueued = async (root: string, remote: string, key: string) =>
    (await getQueue().list({ status: ['pending', 'running'], scope: root, kind: 'acquire-lock' })).some(
      (e) => e.operation.kind === 'acquire-lock' && e.operation.key === key && e.operation.remote === remote,
    );
  /** Our last note of a grant of `key`, if its lease has not ended. */
  const liveGrant = (remote: string, key: string) => {
    const note = grants()[grantId(remote, key)];
    return note && Date.parse(note.expiresAt) > Date.now() ? note : undefined;
  };

  /**
   * The branch a push or pull is for (typed, else the checked-out one) and the project, refused
   * (INVALID_INPUT) before anything is run or queued when either name could not safely reach oxen.
   */
  const transferTarget = async (branch?: string) => {
    const p = getProject();
    if (p.remoteName !== undefined) refuse(p.remoteName, checkName('remote-name', p.remoteName));
    if (branch !== undefined) return { p, branch: refuse(branch, checkName('branch', branch)) };
    const current = await cliFor(p.root).currentBranch();
    return { p, branch: refuse(current, checkName('branch', current)) };
  };

  return {
    connectivity,

    async lockAcquire(o = {}) {
      const p = getProject();
      if (!p.keyExists) {
        throw new EngineError(
          'INVALID_INPUT',
          `--project ${p.key}: no such folder here; give an existing folder inside the repository (pull it first if it is someone else's).`,
        );
      }
      const ttlMs = ttlFrom(o.ttlHours);
      // The record keeps at most MAX_TEXT characters: a longer comment is refused, not cut.
      if (o.comment !== undefined) refuse(o.comment, checkText('comment', o.comment, MAX_TEXT));
      const op: Operation = {
        kind: 'acquire-lock',
        projectDir: p.root,
        remote: p.remote.url,
        key: p.key,
        ttlMs,
        holder: p.holder,
        ...(o.comment ? { comment: o.comment } : {}),
      };
      // Waiting in line needs the remote now; offline, or behind this project's queued work, the
      // acquisition is queued as usual, and waits its turn in line when it is replayed.
      if (o.wait && (await connectivity()).state !== 'offline' && (await getQueue().ahead(op)).length === 0) {
        const grant = await waitTurn(
          {
            manager: locksFor(p.remote.url, p.holder),
            key: p.key,
            ttlMs,
            lookMs: interactiveMs(),
            ...(o.comment ? { comment: o.comment } : {}),
          },
          { pollMs: getConfig().lock.wait_poll_seconds * 1000, ...o.wait },
        );
        noteGrant(p.remote.url, p.key, grant);
        return { status: 'done', result: grant };
      }
      try {
        return await runOrQueue<Grant & Record<string, unknown>>(op);
      } catch (error) {
        // Told who holds it: `lock status` offline shows that as the last known state.
        const held = heldState(p.key, error);
        if (held) noteSeen(p.remote.url, p.key, held);
        throw error;
      }
    },

    async lockRelease() {
      const p = getProject();
      // A lease we still hold by our last note: the release gives it back (never cancelled). Behind
      // a queued acquisition it carries no token: it gives back what that acquisition is granted.
      const live = liveGrant(p.remote.url, p.key);
      const note = (await acquisitionQueued(p.root, p.remote.url, p.key)) ? undefined : live;
      const outcome = await runOrQueue<{ released: boolean; was: LockState['state'] }>({
        kind: 'release-lock',
        projectDir: p.root,
        remote: p.remote.url,
        key: p.key,
        holder: p.holder,
        ...(note ? { fencingToken: note.fencingToken } : {}),
        ...(live ? { whileHeld: true } : {}),
      });
      if (outcome.status !== 'done') return outcome;
      return { ...outcome, result: { released: outcome.result.released, previous: outcome.result.was } };
    },

    async lockRenew(o = {}) {
      const p = getProject();
      // Behind a queued acquisition it renews the lease that acquisition will grant, not the last
      // one this machine noted (which may have ended long ago).
      const note = (await acquisitionQueued(p.root, p.remote.url, p.key))
        ? undefined
        : grants()[grantId(p.remote.url, p.key)];
      const ttlMs = ttlFrom(o.ttlHours ?? (note ? note.ttlMs / HOUR : undefined));
      return runOrQueue<Grant & Record<string, unknown>>({
        kind: 'renew-lock',
        projectDir: p.root,
        remote: p.remote.url,
        key: p.key,
        holder: p.holder,
        ttlMs,
        ...(note ? { fencingToken: note.fencingToken, leaseExpiresAt: note.expiresAt } : {}),
      });
    },

    async lockStatus(o = {}) {
      const p = getProject();
      const replayed = await autoSync();
      const queued = (
        await getQueue().list({ status: ['pending', 'running', 'failed'], scope: p.root })
      ).filter((e) => specOf(e.operation).class === 'lock');
      const cached = grants()[grantId(p.remote.url, p.key)];
      const hbFile = heartbeatFile(files.heartbeats, p.remote.url, p.key);
      const hb = readState<HeartbeatNote | undefined>(hbFile, undefined);
      // A running keep-alive, or one that stopped because the lock was lost: shown until the user
      // has seen it once, and never beside a lease granted after it.
      const lostUnseen = hb?.state === 'lost' && !hb.seenAt && !(cached && cached.updatedAt > hb.updatedAt);
      const heartbeat = hb && (isRunning(hb) || lostUnseen) ? hb : undefined;
      if (o.markSeen && heartbeat && lostUnseen) {
        try {
          writeState(hbFile, { ...hb, seenAt: new Date().toISOString() });
        } catch {
          // Shown again next time.
        }
      }
      const base = {
        project: p,
        expiryMarginMs: EXPIRY_MARGIN_MS,
        queued,
        ...(cached ? { cached } : {}),
        ...(heartbeat ? { heartbeat } : {}),
      };
      // Offline: the lock as this machine last read it (anyone's), with when.
      const offline = (connectivity: ConnectivityResult) => {
        const lastKnown = readState<Record<string, SeenNote>>(files.seen, {})[grantId(p.remote.url, p.key)];
        return { ...base, connectivity, ...(lastKnown ? { lastKnown } : {}) };
      };
      if (replayed && 'state' in replayed) return offline(replayed);
      try {
        const { serverNow, ...state } = await needsRemote('lock-status', 'lock status', (signal) =>
          locksFor(p.remote.url).status(p.key, { signal }),
        );
        noteSeen(p.remote.url, p.key, state as LockState);
        const brokenNews = breakNews(p.remote.url, p.key, state as LockState, o.markSeen === true);
        return {
          ...base,
          connectivity: answered(p.remote.origin),
          state: state as LockState,
          ...(serverNow !== undefined ? { serverNow } : {}),
          ...(brokenNews ? { brokenNews } : {}),
        };
      } catch (error) {
        const e = error as { name?: unknown; code?: unknown };
        const last = checker?.last;
        if (e.name === 'EngineError' && e.code === 'OFFLINE' && last) return offline(last);
        throw error;
      }
    },

    async lockList() {
      const p = getProject();
      return needsRemote('lock-list', 'lock list', (signal) => locksFor(p.remote.url).list({ signal }));
    },

    async lockBreak(o) {
      const p = getProject();
      if (o.reason !== undefined) refuse(o.reason, checkText('reason', o.reason, MAX_TEXT));
      return needsRemote('lock-break', 'lock break', (signal) =>
        locksFor(p.remote.url).break(p.key, {
          force: o.force,
          signal,
          ...(o.reason ? { reason: o.reason } : {}),
        }),
      );
    },

    async heartbeat(o) {
      const p = getProject();
      const manager = locksFor(p.remote.url);
      const file = heartbeatFile(files.heartbeats, p.remote.url, p.key);
      const running = readState<HeartbeatNote | undefined>(file, undefined);
      if (
        running &&
        running.pid !== process.pid &&
        isRunning(running) &&
        (running.state === 'healthy' || running.state === 'jeopardy')
      ) {
        throw new EngineError(
          'KEEPALIVE_RUNNING',
          `A keep-alive (pid ${running.pid}) already renews the lock on ${p.key === '.' ? 'this project' : p.key}; stop it with \`oxenvcs lock heartbeat --stop\` first.`,
        );
      }
      // Started while offline: keep the lease we last saw alive from the cached grant, in
      // jeopardy, renewing as soon as the remote answers (never past the lease's end).
      let lease: Lease | undefined;
      let offline = false;
      try {
        const status = await manager.status(p.key, { signal: o.signal });
        if (status.state !== 'held-by-you') {
          const other =
            status.state === 'held-by-other' || status.state === 'expired' ? status.lease : undefined;
          throw new LockError(
            'NOT_HOLDER',
            `You do not hold the lock on ${p.key === '.' ? 'this project' : p.key} (${
              other
                ? `${status.state === 'expired' ? 'it expired; last held by' : 'held by'} ${other.holder}`
                : `it is ${status.state.replace(/-/g, ' ')}`
            }), so there is nothing to keep alive; acquire it first.`,
            { key: p.key, ...(other ? { holder: other.holder, expiresAt: other.expiresAt } : {}) },
          );
        }
        lease = status.lease;
      } catch (error) {
        const note = grants()[grantId(p.remote.url, p.key)];
        if (!isRetryable(classify(error).kind) || !note || Date.parse(note.expiresAt) <= Date.now())
          throw error;
        offline = true;
        const now = new Date().toISOString();
        lease = {
          key: p.key,
          lockId: '',
          holder: note.holder,
          machineId: getProject().machineId,
          acquiredAt: now,
          expiresAt: note.expiresAt,
          lastHeartbeat: now,
          ttlMs: note.ttlMs,
          fencingToken: note.fencingToken,
          ticket: 0,
        };
      }
      const ttlMs = o.ttlHours ? ttlFrom(o.ttlHours) : lease.ttlMs;
      // Renew at a third of the lease (etcd's keepalive), sooner when `renew_before_minutes` asks
      // for more margin; a lease shorter than that margin keeps the third.
      const beforeEnd = ttlMs - getConfig().lock.renew_before_minutes * 60_000;
      const configured = getConfig().lock.heartbeat_interval_seconds * 1000;
      const intervalMs =
        configured > 0
          ? Math.max(250, configured)
          : Math.max(1000, Math.floor(beforeEnd > 0 ? Math.min(ttlMs / 3, beforeEnd) : ttlMs / 3));
      const publish = (
        state: HeartbeatNote['state'],
        failures: number,
        expiresAt?: string,
        reason?: string,
      ) => {
        const note = {
          remote: p.remote.url,
          key: p.key,
          state,
          failures,
          ...identify(),
          updatedAt: new Date().toISOString(),
          ...(expiresAt ? { expiresAt } : {}),
          ...(state === 'healthy' ? { nextRenewalAt: new Date(Date.now() + intervalMs).toISOString() } : {}),
          ...(reason ? { reason: clipServerText(reason, 300) } : {}),
        } satisfies HeartbeatNote;
        saveCache(file, note);
        saveCache(files.heartbeat, note);
      };
      // A stop request left by an earlier keep-alive of this lock is not this one's.
      rmSync(stopFileOf(file), { force: true });
      publish(offline ? 'jeopardy' : 'healthy', offline ? 1 : 0, lease.expiresAt);
      let lastExpiry = lease.expiresAt;
      const hb = startHeartbeat(manager, {
        key: p.key,
        ttlMs,
        grant: { ...lease, alreadyHeld: true },
        intervalMs,
        signal: o.signal,
        ...(offline ? { initialFailures: 1 } : {}),
        onEvent: (event) => {
          if (event.type === 'renewed') {
            noteGrant(p.remote.url, p.key, event.grant);
            lastExpiry = event.grant.expiresAt;
            publish('healthy', 0, event.grant.expiresAt);
          } else if (event.type === 'jeopardy') publish('jeopardy', event.failures, lastExpiry);
          else if (event.type === 'lost') {
            const error = event.error as { message?: string } | undefined;
            publish('lost', 0, lastExpiry, error?.message ?? 'the lease ended before a renewal got through');
          } else {
            // Who asked it to stop (`lock release`, `lock heartbeat --stop`), if they said.
            const asked = readState<{ by?: string } | undefined>(stopFileOf(file), undefined)?.by;
            rmSync(stopFileOf(file), { force: true });
            publish('stopped', 0, lastExpiry, asked);
          }
          emit({ type: 'heartbeat', event });
        },
      });
      const end = await hb.done;
      return end === 'lost' ? 'lost' : 'stopped';
    },

    async keepAlive() {
      const p = getProject();
      const file = heartbeatFile(files.heartbeats, p.remote.url, p.key);
      const note = readState<HeartbeatNote | undefined>(file, undefined);
      const running =
        note !== undefined && isRunning(note) && (note.state === 'healthy' || note.state === 'jeopardy');
      return { ...(note ? { note } : {}), running, log: file.replace(/\.json$/, '.log') };
    },

    async markKeepAlive(pid) {
      const p = getProject();
      const note: HeartbeatNote = {
        remote: p.remote.url,
        key: p.key,
        state: 'healthy',
        failures: 0,
        // Its identity, not its pid alone: once it is gone, a process that reuses the pid is
        // neither reported as the keep-alive nor ever signalled.
        ...(identify(pid) ?? { pid }),
        updatedAt: new Date().toISOString(),
      };
      writeState(heartbeatFile(files.heartbeats, p.remote.url, p.key), note);
    },

    async stopKeepAlive(o = {}) {
      const { note, running } = await this.keepAlive();
      if (!note || !running || note.pid === process.pid) return { stopped: false };
      // Beside its note, which it rewrites at every renewal: the request is not overwritten.
      if (o.by) {
        const p = getProject();
        saveCache(stopFileOf(heartbeatFile(files.heartbeats, p.remote.url, p.key)), { by: o.by });
      }
      // Signalled only if it is still that very process (same start time): never a pid reused.
      if (!signalProcess(note, 'SIGTERM')) return { stopped: false };
      // It publishes `stopped` as it ends; wait briefly so the next command sees it.
      for (let i = 0; i < 40 && isRunning(note); i++) await new Promise((r) => setTimeout(r, 50));
      return { stopped: true, pid: note.pid };
    },

    async push(typed) {
      const { p, branch } = await transferTarget(typed);
      // A push queued behind a pending acquisition belongs to the lease that acquisition will
      // grant (the queue holds it back if the acquisition fails); otherwise it is fenced by the
      // grant we hold now.
      const note = (await acquisitionQueued(p.root, p.remote.url, p.key))
        ? undefined
        : grants()[grantId(p.remote.url, p.key)];
      return runOrQueue({
        kind: 'push',
        projectDir: p.root,
        remote: p.remote.url,
        branch,
        lockKey: p.key,
        ...(note ? { fencingToken: note.fencingToken } : {}),
      });
    },

    async commitTake(o) {
      const p = getProject();
      const { commitTake } = await import('./record-take.js');
      const { DEFAULT_PART_BYTES } = await import('./take.js');
      return commitTake(
        { cli: cliFor(p.root), locks: locksFor(p.remote.url), root: p.root, key: p.key },
        { message: o.message, partBytes: o.partBytes ?? DEFAULT_PART_BYTES },
      );
    },

    async pull(typed) {
      const { p, branch } = await transferTarget(typed);
      return runOrQueue({ kind: 'pull', projectDir: p.root, remote: p.remote.url, branch });
    },

    async sync(o = {}) {
      const root = o.allProjects ? undefined : rootIfAny();
      const all = await getQueue().list();
      const entries = root ? all.filter((e) => e.operation.projectDir === root) : all;
      // One project: its remote's connectivity first. Every project: the runner judges each
      // remote on its own, so one remote that is down never holds back another.
      const conn = root ? await connectivity(true) : undefined;
      if (o.dryRun) {
        return {
          ...(conn ? { connectivity: conn } : {}),
          preview: previewRun(RULES, entries, Date.now(), { force: o.force ?? true }),
        };
      }
      if (conn?.state === 'offline') return { connectivity: conn };
      return {
        ...(conn ? { connectivity: conn } : {}),
        summary: await runSync(o.signal, o.force ?? true, root),
      };
    },

    async authLogin(token) {
      const value = token.trim();
      if (!value || /\s/.test(value)) {
        throw new EngineError(
          'INVALID_INPUT',
          'The token is empty or contains spaces; paste the API token exactly as issued.',
          { field: 'token' },
        );
      }
      const host = getProject().remote.host;
      const file = writeAuthToken(host, value, configDir());
      return { host, file };
    },
    async authStatus() {
      const p = getProject();
      const file = `${configDir()}/auth_config.toml`;
      const hasToken = tokenFor(p.remote.host) !== undefined;
      const conn = await connectivity(true);
      if (conn.state !== 'online') return { host: p.remote.host, hasToken, file, connectivity: conn };
      try {
        await hubFor(p.remote.url).getRepository();
        return { host: p.remote.host, hasToken, file, connectivity: conn, authenticated: true };
      } catch (error) {
        if ((error as { code?: string }).code === 'AUTH')
          return { host: p.remote.host, hasToken, file, connectivity: conn, authenticated: false };
        throw error;
      }
    },
    async authLogout() {
      const host = getProject().remote.host;
      return { host, removed: removeAuthToken(host, configDir()) };
    },
  };
}
