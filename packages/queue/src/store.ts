import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { LowSync } from 'lowdb';
import { DataFileSync } from 'lowdb/node';
import { QueueError } from './errors.js';
import { migrate, SCHEMA_VERSION } from './migrate.js';
import { applyEnqueue, compareForRun, type EnqueueDecision } from './plan.js';
import { type EntryStatus, type Operation, priorityOf, type QueueEntry, type QueueFile } from './types.js';

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
  /** A lock older than this whose holder stopped refreshing it is stale and taken over, in ms. @default 10000 */
  readonly staleLockMs?: number;
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
  /** Runs `fn` on the entries under the file lock and writes the result (for runners). */
  transact<T>(fn: (entries: QueueEntry[]) => T): Promise<T>;
  /** Entries left `running` by a process that died → pending, marked to verify first. */
  recover(): Promise<QueueEntry[]>;
}

// Loaded on first write: read-only commands (queue status) never pay for them.
let writers:
  | Promise<{ lock: typeof import('proper-lockfile').lock; ulid: (now: number) => string }>
  | undefined;
const loadWriters = () =>
  (writers ??= Promise.all([import('proper-lockfile'), import('ulid')]).then(
    ([lockfile, { monotonicFactory }]) => ({
      lock: lockfile.default.lock,
      ulid: monotonicFactory(),
    }),
  ));

/** True when `pid` is a live process on this machine. */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Opens (lazily) the queue in `file`. Nothing is read until the first call. */
export function createQueue(options: QueueOptions): Queue {
  const { file } = options;
  const clock = options.clock ?? Date;
  const historyLimit = options.historyLimit ?? 10;
  const defaultMaxAttempts = options.defaultMaxAttempts ?? 10;
  const lockWaitMs = options.lockWaitMs ?? 15_000;
  const staleLockMs = options.staleLockMs ?? 10_000;
  // Compact JSON (not JSONFile's pretty print): half the bytes to parse and write on every change.
  // Sync adapter (temp file + rename, atomic): every write already holds the cross-process lock,
  // and a sync write of ~300 KB is 5× faster here than Node's chunked async writeFile.
  const db = new LowSync<QueueFile>(
    new DataFileSync<QueueFile>(file, { parse: JSON.parse, stringify: JSON.stringify }),
    {
      version: SCHEMA_VERSION,
      entries: [],
    },
  );

  // The parsed file, keyed by inode, size and mtime: every write replaces the file (new inode),
  // so an unchanged key means nobody wrote since we last read or wrote it ourselves.
  let cache: { key: string; data: QueueFile } | undefined;
  // Synchronous like the read itself: an async stat would start libuv's thread pool (~2 ms of a
  // short command's start-up) for a call that takes microseconds.
  const fileKey = () => {
    const s = statSync(file, { bigint: true, throwIfNoEntry: false });
    return s ? `${s.ino}:${s.size}:${s.mtimeNs}` : 'absent';
  };

  const load = async (): Promise<QueueEntry[]> => {
    const key = fileKey();
    if (cache && cache.key === key) {
      db.data = cache.data;
      return db.data.entries;
    }
    cache = undefined;
    try {
      db.read();
    } catch (error) {
      if (error instanceof SyntaxError) {
        const content = readFileSync(file);
        // node:crypto takes ~10 ms to load; only this rare path needs it.
        const { createHash } = await import('node:crypto');
        const quarantine = `${file}.corrupt-${createHash('sha256').update(content).digest('hex').slice(0, 8)}`;
        if (!existsSync(quarantine)) copyFileSync(file, quarantine);
        throw new QueueError(
          'CORRUPT',
          `The queue file ${file} is not valid JSON (${error.message}); a copy is kept at ${quarantine}. Repair or move the file away, then run again.`,
          { cause: error, file, quarantine },
        );
      }
      throw new QueueError(
        'UNREADABLE',
        `Cannot read the queue file ${file}: ${(error as Error).message}; check its permissions.`,
        { cause: error, file },
      );
    }
    db.data = migrate(db.data, file);
    cache = { key, data: db.data };
    return db.data.entries;
  };

  const withLock = async <T>(fn: () => Promise<T>): Promise<T> => {
    mkdirSync(dirname(file), { recursive: true });
    let release: () => Promise<void>;
    try {
      release = await (await loadWriters()).lock(file, {
        realpath: false,
        stale: staleLockMs,
        update: Math.max(1000, Math.floor(staleLockMs / 2)),
        retries: {
          retries: Math.ceil(lockWaitMs / 40),
          minTimeout: 5,
          maxTimeout: 60,
          factor: 1.3,
          randomize: true,
        },
        onCompromised: () => {
          // Another process took the lock over as stale: our write may race it; the next
          // read-modify-write re-reads the file, so nothing is lost but this step's ordering.
        },
      });
    } catch (error) {
      throw new QueueError(
        'LOCK_TIMEOUT',
        `Another oxenvcs process has held the queue file ${file} for over ${Math.round(lockWaitMs / 1000)} s; try again in a moment.`,
        { cause: error, file },
      );
    }
    try {
      return await fn();
    } finally {
      await release().catch(() => {});
    }
  };

  const transact = <T>(fn: (entries: QueueEntry[]) => T): Promise<T> =>
    withLock(async () => {
      const entries = await load();
      let result: T;
      try {
        result = fn(entries);
        db.data = { version: SCHEMA_VERSION, entries };
        db.write();
      } catch (error) {
        cache = undefined; // fn may have changed entries in place before failing
        throw error;
      }
      cache = { key: fileKey(), data: db.data };
      return result;
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
      const id = (await loadWriters()).ulid(now);
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
        if (entry.status === 'running' && entry.runner && alive(entry.runner.pid)) {
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
        const live = entries.filter((e) => e.status === 'running' && e.runner && alive(e.runner.pid));
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
          if (e.status !== 'running' || (e.runner && alive(e.runner.pid))) continue;
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
