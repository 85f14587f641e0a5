import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve as resolvePath } from 'node:path';
import {
  type ConflictReason,
  currentIdentity,
  type FileVersion,
  readVersion,
  sweepTemps,
  WriteConflict,
  writeGuarded,
} from './durable-file.js';
import { QueueError } from './errors.js';
import { acquireLock, type HeldLock, isProcessAlive, LockBusy, type LockHolder } from './file-lock.js';
import { migrate, SCHEMA_VERSION } from './migrate.js';
import { applyEnqueue, compareForRun, type EnqueueDecision } from './plan.js';
import { type EntryStatus, type Operation, priorityOf, type QueueEntry, type QueueFile } from './types.js';

/**
 * What the store reports about its file lock and its writes: diagnostics, never needed to use it.
 * `lock-acquired` says how long the lock took and whether it was taken over (from a dead holder
 * on this machine at once, or from a possibly live one after `staleLockMs`); `write-verified`
 * comes when a write has been checked (lock still ours, file unchanged) and is about to replace
 * the file; `write-redone` when a write was not committed because the lock was taken over
 * meanwhile, and is being redone on a fresh read.
 */
export type QueueStoreEvent =
  | {
      readonly type: 'lock-acquired';
      readonly file: string;
      readonly waitedMs: number;
      readonly takeover?: { readonly reason: 'holder-dead' | 'stale'; readonly holder?: LockHolder };
    }
  | { readonly type: 'write-verified'; readonly file: string }
  | {
      readonly type: 'write-redone';
      readonly file: string;
      readonly reason: ConflictReason;
      readonly attempt: number;
    };

/** Options of {@link createQueue}. */
export interface QueueOptions {
  /** The queue file (one per user, in the state directory). */
  readonly file: string;
  /** Clock. @default Date */
  readonly clock?: { now(): number };
  /** Attempts before an entry is dead-lettered. @default 10 */
  readonly defaultMaxAttempts?: number;
  /** Attempts kept in an entry's history. @default 10 */
  readonly historyLimit?: number;
  /** How long to wait for another process's file lock, in ms. @default 15000 */
  readonly lockWaitMs?: number;
  /**
   * A lock whose holder may still be alive (a live pid, another machine) is taken over once it is
   * this old, or has been watched unchanged this long, in ms. A holder on this machine whose
   * process is gone is taken over at once. @default 10000
   */
  readonly staleLockMs?: number;
  /** Lock and write diagnostics; see {@link QueueStoreEvent}. */
  readonly onEvent?: (event: QueueStoreEvent) => void;
}

/** What to enqueue. */
export interface EnqueueInput {
  readonly operation: Operation;
  /** Stable key; generated when omitted. */
  readonly idempotencyKey?: string;
  readonly maxAttempts?: number;
  /** Absolute expiry (ISO), or `ttlMs` from now. */
  readonly expiresAt?: string;
  readonly ttlMs?: number;
  readonly notBefore?: string;
}

/** Filters for {@link Queue.list}. */
export interface ListFilter {
  readonly status?: EntryStatus | readonly EntryStatus[];
  readonly kind?: Operation['kind'];
  readonly projectDir?: string;
  /** Case-insensitive text in the description, id, kind or project. */
  readonly text?: string;
}

/** Counts per status. */
export type QueueStats = Record<EntryStatus, number> & { total: number };

/** A durable operation queue in one JSON file. Every read-modify-write holds a cross-process file lock. */
export interface Queue {
  readonly file: string;
  enqueue(input: EnqueueInput): Promise<EnqueueDecision & { entry: QueueEntry }>;
  /** Entries, pending ones in run order first, then the rest newest first. Reads without taking the lock. */
  list(filter?: ListFilter): Promise<QueueEntry[]>;
  /** By full id or unique prefix (case-insensitive); NOT_FOUND or AMBIGUOUS_ID (with candidates). */
  get(idOrPrefix: string): Promise<QueueEntry>;
  /** Removes one entry; NOT_FOUND when nothing matched. */
  remove(idOrPrefix: string): Promise<QueueEntry>;
  /** Puts a failed or expired entry back to pending with fresh attempts. */
  retry(idOrPrefix: string): Promise<QueueEntry>;
  /** Removes done and superseded entries; returns how many. */
  clearDone(): Promise<number>;
  /** Removes every entry; returns how many. */
  clearAll(): Promise<number>;
  stats(): Promise<QueueStats>;
  /**
   * Runs `fn` on the entries under the file lock and writes the result (for runners). `fn` may run
   * more than once (when the lock was taken over before the write could commit, it is redone on a
   * fresh read), so it must only change `entries` and return a value.
   */
  transact<T>(fn: (entries: QueueEntry[]) => T): Promise<T>;
  /** Entries left `running` by a process that died → pending, marked to verify first. */
  recover(): Promise<QueueEntry[]>;
}

// Loaded on first enqueue: read-only commands (queue status) never pay for it.
let ulidFactory: Promise<(now: number) => string> | undefined;
const loadUlid = () => (ulidFactory ??= import('ulid').then(({ monotonicFactory }) => monotonicFactory()));

/** Writes of one file by one process run one at a time (the file lock is between processes). */
const inProcess = new Map<string, Promise<unknown>>();
function oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const run = (inProcess.get(key) ?? Promise.resolve()).then(fn, fn);
  const tail = run.then(
    () => {},
    () => {},
  );
  inProcess.set(key, tail);
  void tail.then(() => {
    if (inProcess.get(key) === tail) inProcess.delete(key);
  });
  return run;
}

/** Attempts of one write whose lock keeps being taken over before it gives up. */
const WRITE_ATTEMPTS = 5;

const seconds = (ms: number) => (ms < 10_000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000)));

/** Opens (lazily) the queue in `file`. Nothing is read until the first call. */
export function createQueue(options: QueueOptions): Queue {
  const { file } = options;
  const clock = options.clock ?? Date;
  const historyLimit = options.historyLimit ?? 10;
  const defaultMaxAttempts = options.defaultMaxAttempts ?? 10;
  const lockWaitMs = options.lockWaitMs ?? 15_000;
  const staleLockMs = options.staleLockMs ?? 10_000;
  const emit = options.onEvent ?? (() => {});
  const folder = dirname(file);
  const lockPath = `${file}.lock`;

  // The last version parsed, kept by its bytes: an unchanged file is not parsed again. (Inode,
  // size and mtime are not enough: inodes are reused and mtimes are coarse, so two versions can
  // share them.)
  let cache: { bytes: Buffer; data: QueueFile } | undefined;

  const read = (): FileVersion => {
    try {
      return readVersion(file);
    } catch (error) {
      throw new QueueError(
        'UNREADABLE',
        `Cannot read the queue file ${file}: ${(error as Error).message}; check its permissions.`,
        { cause: error, file },
      );
    }
  };

  const parse = async ({ bytes }: FileVersion): Promise<QueueFile> => {
    if (!bytes) return { version: SCHEMA_VERSION, entries: [] };
    if (cache?.bytes.equals(bytes)) return cache.data;
    cache = undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      // node:crypto takes ~10 ms to load; only this rare path needs it.
      const { createHash } = await import('node:crypto');
      const quarantine = `${file}.corrupt-${createHash('sha256').update(bytes).digest('hex').slice(0, 8)}`;
      let kept = true;
      try {
        writeFileSync(quarantine, bytes, { flag: 'wx' });
      } catch (copyError) {
        // Kept already by an earlier run (same content, same name), or the folder is read-only.
        kept = (copyError as NodeJS.ErrnoException).code === 'EEXIST';
      }
      throw new QueueError(
        'CORRUPT',
        kept
          ? `The queue file ${file} is not valid JSON (${(error as Error).message}); a copy is kept at ${quarantine}. Repair or move the file away, then run again.`
          : `The queue file ${file} is not valid JSON (${(error as Error).message}), and no copy could be kept beside it. Repair or move the file away, then run again.`,
        { cause: error, file, ...(kept ? { quarantine } : {}) },
      );
    }
    const data = migrate(parsed as QueueFile, file);
    cache = { bytes, data };
    return data;
  };

  const load = async (): Promise<QueueEntry[]> => (await parse(read())).entries;

  const notWritable = (error: unknown): unknown => {
    const errno = (error as NodeJS.ErrnoException | undefined)?.code;
    if (error instanceof QueueError || typeof errno !== 'string' || !errno.startsWith('E')) return error;
    const facts = { cause: error, file, folder, errno };
    const message =
      errno === 'EACCES' || errno === 'EPERM'
        ? `Cannot write in the queue folder ${folder}: permission denied; make it writable for this user (chmod u+w "${folder}"), then run again.`
        : errno === 'EROFS'
          ? `Cannot write in the queue folder ${folder}: it is on a read-only file system; put the state folder on a writable disk, then run again.`
          : errno === 'ENOSPC' || errno === 'EDQUOT'
            ? `Cannot write the queue file ${file}: the disk is full; free some space, then run again.`
            : errno === 'ENOTDIR' || errno === 'EEXIST'
              ? `Cannot write the queue file ${file}: ${folder} or a folder above it is a file, not a folder; move that file away, then run again.`
              : `Cannot write the queue file ${file} (${(error as Error).message}); check the folder ${folder}, then run again.`;
    return new QueueError('NOT_WRITABLE', message, facts);
  };

  const busy = (error: LockBusy): QueueError => {
    const seen = error.observation;
    const waited = seconds(error.waitedMs);
    const facts = { cause: error, file, lock: lockPath };
    if (seen?.kind !== 'held') {
      return new QueueError(
        'LOCK_TIMEOUT',
        `The queue file ${file} has been locked for over ${waited} s by ${lockPath}, which names no process (left by an older oxenvcs?); if no oxenvcs is running, delete it, then run again.`,
        facts,
      );
    }
    const { pid, host } = seen.holder;
    const holderFacts = { ...facts, holderPid: pid, holderHost: host };
    if (error.holdings > 1) {
      return new QueueError(
        'LOCK_TIMEOUT',
        `Other oxenvcs processes kept the queue file ${file} busy for ${waited} s (last process ${pid} on ${host}); try again in a moment.`,
        holderFacts,
      );
    }
    const ahead = seen.mtimeMs - Date.now();
    const here = host === hostname();
    const future =
      ahead > 1000
        ? `; the lock is dated ${seconds(ahead)} s in the future, so ${here ? 'the clock was set back' : 'the two clocks disagree'}`
        : '';
    return new QueueError(
      'LOCK_TIMEOUT',
      here
        ? `Process ${pid} on this machine, still running, has held the queue file ${file} for over ${waited} s${future}; wait for it to finish or end it, then run again.`
        : `Process ${pid} on ${host} has held the queue file ${file} for over ${waited} s${future}; if that machine no longer runs oxenvcs, delete ${lockPath}, then run again.`,
      holderFacts,
    );
  };

  const takeLock = async (): Promise<HeldLock> => {
    try {
      mkdirSync(folder, { recursive: true });
      const acquired = await acquireLock({ path: lockPath, waitMs: lockWaitMs, staleMs: staleLockMs });
      emit({
        type: 'lock-acquired',
        file,
        waitedMs: acquired.waitedMs,
        ...(acquired.takeover ? { takeover: acquired.takeover } : {}),
      });
      return acquired.lock;
    } catch (error) {
      throw error instanceof LockBusy ? busy(error) : notWritable(error);
    }
  };

  // Read-modify-write under the file lock. The write commits only if, right before its rename,
  // the lock still names this holding and the file is the version read; a holder that took the
  // lock over has also swept this writer's temp file away, so a writer paused past that check
  // cannot rename either. Either way nothing is overwritten: the step is redone on a fresh read.
  const transact = <T>(fn: (entries: QueueEntry[]) => T): Promise<T> =>
    oneAtATime(resolvePath(lockPath), async () => {
      for (let attempt = 1; ; attempt += 1) {
        const lock = await takeLock();
        try {
          try {
            sweepTemps(file, lock.token);
          } catch (error) {
            throw notWritable(error);
          }
          const version = read();
          const data = await parse(version);
          const { entries } = data;
          // fn changes entries in place: the cache holds them again only once they are written.
          cache = undefined;
          const result = fn(entries);
          const next: QueueFile = { version: SCHEMA_VERSION, entries };
          const text = JSON.stringify(next);
          try {
            writeGuarded({
              file,
              text,
              token: lock.token,
              check: () =>
                !lock.held()
                  ? 'lock-lost'
                  : currentIdentity(file) !== version.identity
                    ? 'file-changed'
                    : undefined,
              onVerified: () => emit({ type: 'write-verified', file }),
            });
          } catch (error) {
            if (!(error instanceof WriteConflict)) throw notWritable(error);
            if (attempt >= WRITE_ATTEMPTS) {
              throw new QueueError(
                'WRITE_CONFLICT',
                `The queue file ${file} was not written: its lock was taken over ${attempt} times while this process was paused (nothing was overwritten); run again.`,
                { cause: error, file, lock: lockPath },
              );
            }
            emit({ type: 'write-redone', file, reason: error.reason, attempt });
            continue;
          }
          cache = { bytes: Buffer.from(text), data: next };
          return result;
        } finally {
          lock.release();
        }
      }
    });

  const resolve = (entries: QueueEntry[], idOrPrefix: string): QueueEntry => {
    const needle = idOrPrefix.trim().toUpperCase();
    if (!needle)
      throw new QueueError('NOT_FOUND', 'No entry id given; run `oxenvcs queue status` to see ids.');
    const exact = entries.find((e) => e.id === needle);
    if (exact) return exact;
    // Short ids are shown as the last 8 characters (the random part), lower-case; accept both ends.
    const matches = entries.filter((e) => e.id.startsWith(needle) || e.id.endsWith(needle));
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) {
      throw new QueueError(
        'NOT_FOUND',
        `No queue entry matches "${idOrPrefix}"; run \`oxenvcs queue status\` to see ids.`,
      );
    }
    const candidates = matches.map((e) => e.id);
    throw new QueueError(
      'AMBIGUOUS_ID',
      `"${idOrPrefix}" matches ${matches.length} entries (${candidates.map((c) => c.slice(-8).toLowerCase()).join(', ')}); give more characters.`,
      { candidates },
    );
  };

  const queue: Queue = {
    file,
    async enqueue(input) {
      const now = clock.now();
      const id = (await loadUlid())(now);
      const expiresAt =
        input.expiresAt ??
        (input.ttlMs !== undefined ? new Date(now + input.ttlMs).toISOString() : undefined);
      const op = input.operation;
      const leaseEnd = op.kind === 'renew-lock' ? op.leaseExpiresAt : undefined;
      const effectiveExpiry = leaseEnd && (!expiresAt || leaseEnd < expiresAt) ? leaseEnd : expiresAt;
      const incoming: QueueEntry = {
        id,
        idempotencyKey: input.idempotencyKey ?? `${op.kind}:${id}`,
        operation: op,
        priority: priorityOf(op.kind),
        enqueuedAt: new Date(now).toISOString(),
        attempts: 0,
        maxAttempts: input.maxAttempts ?? defaultMaxAttempts,
        status: 'pending',
        history: [],
        ...(input.notBefore ? { notBefore: input.notBefore, notBeforeReason: 'backoff' as const } : {}),
        ...(effectiveExpiry ? { expiresAt: effectiveExpiry } : {}),
      };
      const decision = await transact((entries) => {
        const { entries: next, decision } = applyEnqueue(entries, incoming, now);
        if (decision.outcome !== 'duplicate') entries.splice(0, entries.length, ...next);
        return decision;
      });
      if (decision.outcome === 'duplicate' || !decision.entry) {
        throw new QueueError(
          'DUPLICATE',
          `An entry with idempotency key "${incoming.idempotencyKey}" is already queued.`,
        );
      }
      return decision as EnqueueDecision & { entry: QueueEntry };
    },
    async list(filter = {}) {
      const entries = await load();
      const statuses =
        filter.status === undefined ? undefined : new Set(([] as EntryStatus[]).concat(filter.status));
      const text = filter.text?.toLowerCase();
      const selected = entries.filter((e) => {
        if (statuses && !statuses.has(e.status)) return false;
        if (filter.kind && e.operation.kind !== filter.kind) return false;
        if (filter.projectDir && e.operation.projectDir !== filter.projectDir) return false;
        if (text) {
          const hay =
            `${e.id} ${e.operation.kind} ${e.operation.projectDir} ${e.status} ${e.statusReason ?? ''}`.toLowerCase();
          if (!hay.includes(text)) return false;
        }
        return true;
      });
      const rank = (e: QueueEntry) => (e.status === 'running' ? 0 : e.status === 'pending' ? 1 : 2);
      return selected
        .map((e) => ({ ...e }))
        .sort((a, b) => {
          const r = rank(a) - rank(b);
          if (r !== 0) return r;
          if (rank(a) < 2) return compareForRun(a, b);
          return a.id < b.id ? 1 : -1;
        });
    },
    async get(idOrPrefix) {
      return { ...resolve(await load(), idOrPrefix) };
    },
    remove(idOrPrefix) {
      return transact((entries) => {
        const entry = resolve(entries, idOrPrefix);
        if (entry.status === 'running' && entry.runner && isProcessAlive(entry.runner.pid)) {
          throw new QueueError(
            'INVALID_STATE',
            `Entry ${entry.id.slice(-8).toLowerCase()} is running right now; wait for it or stop the sync first.`,
            { entryId: entry.id },
          );
        }
        entries.splice(entries.indexOf(entry), 1);
        return entry;
      });
    },
    retry(idOrPrefix) {
      return transact((entries) => {
        const entry = resolve(entries, idOrPrefix);
        if (entry.status !== 'failed' && entry.status !== 'expired') {
          throw new QueueError(
            'INVALID_STATE',
            `Entry ${entry.id.slice(-8).toLowerCase()} is ${entry.status}; only failed or expired entries can be retried.`,
            { entryId: entry.id },
          );
        }
        entry.status = 'pending';
        entry.attempts = 0;
        delete entry.notBefore;
        delete entry.notBeforeReason;
        delete entry.statusReason;
        delete entry.completedAt;
        // A retried entry gets a fresh expiry window of the same length it had.
        if (entry.expiresAt) {
          const window = Date.parse(entry.expiresAt) - Date.parse(entry.enqueuedAt);
          entry.expiresAt = new Date(clock.now() + Math.max(window, 60_000)).toISOString();
        }
        return { ...entry };
      });
    },
    clearDone() {
      return transact((entries) => {
        const keep = entries.filter((e) => e.status !== 'done' && e.status !== 'superseded');
        const removed = entries.length - keep.length;
        entries.splice(0, entries.length, ...keep);
        return removed;
      });
    },
    clearAll() {
      return transact((entries) => {
        const live = entries.filter(
          (e) => e.status === 'running' && e.runner && isProcessAlive(e.runner.pid),
        );
        const removed = entries.length - live.length;
        entries.splice(0, entries.length, ...live);
        return removed;
      });
    },
    async stats() {
      const entries = await load();
      const stats: QueueStats = {
        pending: 0,
        running: 0,
        done: 0,
        failed: 0,
        expired: 0,
        superseded: 0,
        total: entries.length,
      };
      for (const e of entries) stats[e.status] += 1;
      return stats;
    },
    transact,
    recover() {
      return transact((entries) => {
        const recovered: QueueEntry[] = [];
        const at = new Date(clock.now()).toISOString();
        for (const e of entries) {
          if (e.status !== 'running' || (e.runner && isProcessAlive(e.runner.pid))) continue;
          e.status = 'pending';
          e.verifyFirst = true;
          e.statusReason = 'Interrupted while running; the remote will be checked before it is replayed.';
          e.history = [...e.history, { at, outcome: 'interrupted' as const, durationMs: 0 }].slice(
            -historyLimit,
          );
          delete e.runner;
          recovered.push({ ...e });
        }
        return recovered;
      });
    },
  };
  return queue;
}
