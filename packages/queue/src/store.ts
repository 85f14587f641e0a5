import { closeSync, existsSync, fstatSync, mkdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve as resolvePath } from 'node:path';
import { checkProcess, currentIdentity, openRegular, replaceFile, StateFileError } from '@oxvcs/durable';
import { LowSync } from 'lowdb';
import { type ConflictReason, GuardedFileSync, sweepTemps, WriteConflict } from './durable-file.js';
import { QueueError } from './errors.js';
import { acquireLock, type HeldLock, LockBusy, type LockHolder } from './file-lock.js';
import { decodeLine, entryLines, idOfLine, markLines, snapshotText } from './focus.js';
import {
  appendRecord,
  applyRecords,
  deadJournals,
  diffEntries,
  type IdIndex,
  indexOf,
  type JournalCursor,
  journalFile,
  journalStamp,
  readJournal,
  removeJournals,
  START,
  storedStamp,
} from './journal.js';
import { type LegacyReader, migrate, SCHEMA_VERSION } from './migrate.js';
import {
  aheadInLane,
  applyEnqueue,
  type EnqueueDecision,
  MIN_ID_PREFIX,
  pruneFinished,
  runOrder,
  shortId,
} from './plan.js';
import { isRunnerAlive } from './runner-identity.js';
import {
  emptyStats,
  generationOf,
  type OnDisk,
  onDisk,
  overviewFromSummary,
  overviewOf,
  type QueueOverview,
  type QueueStats,
  writeSummary,
} from './summary.js';
import type { EntryStatus, Operation, QueueEntry, QueueFile, QueueRules } from './types.js';

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
  /** The file lock has been busy for about a second: who holds it (pid, command), for a message. */
  | {
      readonly type: 'lock-waiting';
      readonly file: string;
      readonly holder?: LockHolder;
      readonly waitedMs: number;
    }
  | { readonly type: 'write-verified'; readonly file: string }
  | {
      readonly type: 'write-redone';
      readonly file: string;
      readonly reason: ConflictReason;
      readonly attempt: number;
    };

/** Options of {@link createQueue}. */
export interface QueueOptions<Op extends Operation = Operation> {
  /** The queue file (one per user, in the state directory). */
  readonly file: string;
  /** What the queue needs to know about the operations: lanes, priority, prerequisites, supersession. */
  readonly rules: QueueRules<Op>;
  /** Reads the entries of an unversioned (schema 1) file, the caller's legacy format. */
  readonly legacy?: LegacyReader<Op>;
  /** Clock. @default Date */
  readonly clock?: { now(): number };
  /** Attempts before an entry is dead-lettered. @default 10 */
  readonly defaultMaxAttempts?: number;
  /** Attempts kept in an entry's history. @default 10 */
  readonly historyLimit?: number;
  /**
   * Finished entries (done, superseded, expired) are removed on the next write once they finished
   * this long ago, in ms. Failed entries stay until the user retries or removes them.
   * @default 604800000 (7 days)
   */
  readonly retainFinishedMs?: number;
  /**
   * At most this many finished entries are kept (the oldest go first), so the file, and with it the
   * cost of every write, stays small however much is replayed (every write rewrites the whole file:
   * 1,000 finished entries make a replayed operation cost about 2.5 times as much as none, 200 about
   * the same). @default 200
   */
  readonly maxFinishedEntries?: number;
  /** How long to wait for another process's file lock, in ms. @default 15000 */
  readonly lockWaitMs?: number;
  /**
   * A lock whose holder may still be alive (a live pid, another machine) is taken over once it is
   * this old, or has been watched unchanged this long, in ms. A holder on this machine whose
   * process is gone is taken over at once. @default 10000
   */
  readonly staleLockMs?: number;
  /**
   * What this process is doing, recorded in the queue file lock while it holds it, so that another
   * process waiting for it can say whom it waits for (e.g. `oxenvcs queue sync`).
   */
  readonly command?: string;
  /** Lock and write diagnostics; see {@link QueueStoreEvent}. */
  readonly onEvent?: (event: QueueStoreEvent) => void;
  /**
   * Entries per page of the summary file (`<file>.summary`) a status page ({@link Queue.overview}
   * with a `limit`) reads instead of the whole queue; 0: no summary. @default 50
   */
  readonly summaryPageSize?: number;
  /**
   * The summary is kept only while the queue has at least this many entries: below, reading the
   * whole file costs less than keeping a summary on every write. @default 5000
   */
  readonly summaryMinEntries?: number;
}

/** What to enqueue. */
export interface EnqueueInput<Op extends Operation = Operation> {
  readonly operation: Op;
  /** Stable key; generated when omitted. */
  readonly idempotencyKey?: string;
  readonly maxAttempts?: number;
  /** Absolute expiry (ISO), or `ttlMs` from now; the earlier of the two when both are given. */
  readonly expiresAt?: string;
  readonly ttlMs?: number;
  readonly notBefore?: string;
  /**
   * The operation may already have taken effect (a direct attempt did not finish): its executor
   * checks first, and supersession rules can tell it from one never tried.
   */
  readonly verifyFirst?: boolean;
}

/** Filters for {@link Queue.list}. */
export interface ListFilter {
  readonly status?: EntryStatus | readonly EntryStatus[];
  readonly kind?: string;
  /** Only entries of this scope ({@link QueueRules.scope}). */
  readonly scope?: string;
  /** Case-insensitive text in the id, kind, scope or status. */
  readonly text?: string;
}

export type { QueueOverview, QueueStats } from './summary.js';

/** A durable operation queue in one JSON file. Every read-modify-write holds a cross-process file lock. */
export interface Queue<Op extends Operation = Operation> {
  readonly file: string;
  readonly rules: QueueRules<Op>;
  enqueue(input: EnqueueInput<Op>): Promise<EnqueueDecision<Op> & { entry: QueueEntry<Op> }>;
  /**
   * Entries: running, then pending in the order a sync runs them (each project in enqueue order),
   * then the rest newest first. Reads without taking the lock.
   */
  list(filter?: ListFilter): Promise<QueueEntry<Op>[]>;
  /**
   * A status page in one read: the scope's counts, its first `limit` running and pending entries
   * in run order, its finished ones, and how many unfinished entries other scopes have.
   */
  overview(options?: { readonly scope?: string; readonly limit?: number }): Promise<QueueOverview<Op>>;
  /**
   * By full id, a prefix of it, or the short id shown ({@link shortId}) or any prefix of that;
   * case-insensitive; a prefix has at least {@link MIN_ID_PREFIX} characters (ID_TOO_SHORT).
   * NOT_FOUND, or AMBIGUOUS_ID with the candidates.
   */
  get(idOrPrefix: string): Promise<QueueEntry<Op>>;
  /**
   * The entries a run would still perform before `operation` if it were enqueued now, in its lane
   * (see {@link aheadInLane}); a command run directly while any are left would overtake them.
   * Reads without taking the lock.
   */
  ahead(operation: Op): Promise<QueueEntry<Op>[]>;
  /** Removes one entry; NOT_FOUND when nothing matched. */
  remove(idOrPrefix: string): Promise<QueueEntry<Op>>;
  /** Puts a failed or expired entry back to pending with fresh attempts. */
  retry(idOrPrefix: string): Promise<QueueEntry<Op>>;
  /** Removes done and superseded entries; returns how many. */
  clearDone(): Promise<number>;
  /** Removes every entry (but those running in a live process); returns how many. */
  clearAll(): Promise<number>;
  /**
   * Removes the entries of one scope (every scope without `scope`): finished ones (done,
   * superseded, expired), or with `all` every one but those running; returns how many. A clear
   * that finds nothing to remove writes nothing (and takes no lock).
   */
  clear(options: { readonly scope?: string; readonly all?: boolean }): Promise<number>;
  stats(): Promise<QueueStats>;
  /**
   * Runs `fn` on the entries under the file lock and writes the result (for runners). `fn` may run
   * more than once (when the lock was taken over before the write could commit, it is redone on a
   * fresh read), so it must only change `entries` and return a value. `entries` are shallow copies:
   * change an entry by assigning its fields, and replace a nested value (history, runner, reason,
   * operation) instead of changing it in place, or the change is not seen (what changed is found by
   * comparing each entry's fields). Finished entries past their retention are pruned before the
   * write; a transaction that changes nothing writes nothing.
   */
  transact<T>(fn: (entries: QueueEntry<Op>[]) => T): Promise<T>;
  /** Entries left `running` by a process that died → pending, marked to verify first. */
  recover(): Promise<QueueEntry<Op>[]>;
  /**
   * A cheap mark of the stored queue (file stats only, nothing parsed) that changes with every
   * write: a follower re-reads only when it changed. `none` when there is no queue file.
   */
  stamp(): string;
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

/** Text only the line of a finished entry contains (a focused write must see them all: a prune may be due). */
const FINISHED_TEXT = ['"status":"done"', '"status":"superseded"', '"status":"expired"'];

/** Attempts of one write whose lock keeps being taken over before it gives up. */
const WRITE_ATTEMPTS = 5;

/** Ids listed with AMBIGUOUS_ID at most. */
const MAX_CANDIDATES = 20;

const DAY = 86_400_000;

/** The snapshot as read: its generation (none before schema 4), identity, size and entries. */
interface Snapshot<Op extends Operation> {
  readonly generation?: string;
  readonly identity: string;
  readonly size: number;
  readonly entries: QueueEntry<Op>[];
  /** Where each entry is in `entries`. */
  readonly index: IdIndex;
}

/** The queue as read: the snapshot with its journal applied, and how far the journal was read. */
interface State<Op extends Operation> extends Snapshot<Op> {
  readonly journal: JournalCursor;
}

/**
 * A journal is compacted into a new snapshot once it would grow past half the snapshot's size (or
 * this, for small queues): each byte of a change is then written about three times in all, however
 * large the queue.
 */
const JOURNAL_MIN = 64 * 1024;

/** A generation token: unique per snapshot written (time, process, randomness), hex. */
const newGeneration = () =>
  `${Date.now().toString(16)}${process.pid.toString(16).padStart(6, '0')}${Math.floor(Math.random() * 2 ** 32)
    .toString(16)
    .padStart(8, '0')}`;

/** Opens (lazily) the queue in `file`. Nothing is read until the first call. */
export function createQueue<Op extends Operation>(options: QueueOptions<Op>): Queue<Op> {
  const { rules } = options;
  const { file } = options;
  const clock = options.clock ?? Date;
  const historyLimit = options.historyLimit ?? 10;
  const defaultMaxAttempts = options.defaultMaxAttempts ?? 10;
  const lockWaitMs = options.lockWaitMs ?? 15_000;
  const staleLockMs = options.staleLockMs ?? 10_000;
  const retention = {
    retainMs: options.retainFinishedMs ?? 7 * DAY,
    maxFinished: options.maxFinishedEntries ?? 200,
  };
  const emit = options.onEvent ?? (() => {});
  const folder = dirname(file);
  const lockPath = `${file}.lock`;

  // Bytes to data: a file that is not JSON is quarantined (a copy kept beside it) and refused.
  const parse = (bytes: Buffer): QueueFile<Op> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      // Loaded only on this rare path: node:crypto costs a cold `queue status` ~10 ms.
      const { createHash } = process.getBuiltinModule('node:crypto');
      const quarantine = `${file}.corrupt-${createHash('sha256').update(bytes).digest('hex').slice(0, 8)}`;
      // Kept already by an earlier run (same content, same name); else copied whole, or not at all
      // (a read-only folder, a full disk).
      let kept = existsSync(quarantine);
      try {
        if (!kept) replaceFile(quarantine, bytes);
        kept = true;
      } catch {
        kept = existsSync(quarantine);
      }
      throw new QueueError('CORRUPT', {
        cause: error,
        problem: 'not-json',
        file,
        detail: (error as Error).message,
        ...(kept ? { quarantine } : {}),
      });
    }
    return migrate(parsed, file, options.legacy);
  };
  // The head of the snapshot names its generation, a token made afresh at every snapshot: its
  // journal is named by it, the summary file says which version it describes, and a reader that
  // has the same generation and file identity in memory does not read the rest again.
  const stringify = (entries: readonly QueueEntry<Op>[], generation: string) =>
    snapshotText(entries, generation, SCHEMA_VERSION);
  const summaryPath = `${file}.summary`;
  const pageSize = options.summaryPageSize ?? 50;
  const summaryMin = options.summaryMinEntries ?? 5000;
  /** Keeps the summary of `entries`, the version `version` names; never fails what called it. */
  const summarise = (entries: readonly QueueEntry<Op>[], version: OnDisk | undefined) => {
    if (pageSize <= 0 || version === undefined) return;
    try {
      if (entries.length >= summaryMin)
        writeSummary(summaryPath, rules, entries, version, clock.now(), pageSize);
      else rmSync(summaryPath, { force: true });
    } catch {
      // A cache: a status page reads the queue file itself.
    }
  };

  /**
   * The queue as stored: the snapshot, and the journal of its generation applied. The last state
   * read or written by this process is kept: an unchanged snapshot (same identity and generation)
   * is not read again, and only the journal's new lines are.
   */
  let known: State<Op> | undefined;

  const readSnapshot = (): Snapshot<Op> => {
    let fd: number | undefined;
    try {
      fd = openRegular(file);
    } catch (error) {
      if (error instanceof StateFileError) throw notAFile(error);
      throw unreadable(error);
    }
    if (fd === undefined) return { identity: 'absent', entries: [], index: new Map(), size: 0 };
    try {
      const stats = fstatSync(fd, { bigint: true });
      const identity = `${stats.ino}:${stats.size}:${stats.mtimeNs}`;
      const head = Buffer.alloc(96);
      const n = readSync(fd, head, 0, head.length, 0);
      const generation = generationOf(head.subarray(0, n), SCHEMA_VERSION);
      if (known && generation !== undefined && known.generation === generation && known.identity === identity)
        return known;
      const data = parse(readFileSync(fd));
      return {
        identity,
        entries: data.entries,
        index: indexOf(data.entries),
        size: Number(stats.size),
        ...(generation !== undefined ? { generation } : {}),
      };
    } catch (error) {
      if (error instanceof QueueError) throw error;
      throw unreadable(error);
    } finally {
      closeSync(fd);
    }
  };

  /** Reads the queue (no lock needed: snapshot and journal lines are each whole). */
  const readState = (): State<Op> => {
    for (let attempt = 1; ; attempt += 1) {
      const snapshot = readSnapshot();
      const { generation } = snapshot;
      if (generation === undefined) {
        known = { ...snapshot, journal: START };
        return known;
      }
      // Updated in place with the entries (the state it described is replaced).
      const { index } = snapshot;
      const from = snapshot === known ? known.journal : START;
      let read: ReturnType<typeof readJournal<Op>>;
      try {
        read = readJournal<Op>(journalFile(file, generation), generation, from);
      } catch (error) {
        if (error instanceof StateFileError) throw notAFile(error);
        throw unreadable(error);
      }
      // Read from its start again only from the snapshot's own entries.
      if (read && from !== START && read.cursor.ino !== from.ino) {
        known = undefined;
        continue;
      }
      if (!read && from.seq > 0) {
        // Its journal gone: a compaction made a new snapshot since (read that one).
        known = undefined;
        continue;
      }
      if (!read && attempt < 5 && currentIdentity(file) !== snapshot.identity) continue;
      known = {
        ...snapshot,
        entries: read ? applyRecords(snapshot.entries, index, read.records) : snapshot.entries,
        index,
        journal: read?.cursor ?? START,
      };
      return known;
    }
  };

  const load = async (): Promise<QueueEntry<Op>[]> => readState().entries;

  /**
   * The part of the queue a focused write needs (see focus.ts), as read under the file lock: the
   * entries whose line contains one of `needles`, the finished ones (a prune may be due), and those
   * the journal changed, with the journal applied, in the queue's order. Undefined when a whole
   * read is needed or costs nothing more: this process holds the version on disk already, or the
   * file is absent, not in the one-entry-a-line layout, or a line to decode is not JSON (the whole
   * read judges the file, and reports what is wrong with it).
   */
  const readFocused = (needles: readonly string[]): State<Op> | undefined => {
    let fd: number | undefined;
    try {
      fd = openRegular(file);
    } catch {
      return undefined;
    }
    if (fd === undefined) return undefined;
    try {
      const stats = fstatSync(fd, { bigint: true });
      const identity = `${stats.ino}:${stats.size}:${stats.mtimeNs}`;
      if (known?.identity === identity) return undefined;
      const bytes = readFileSync(fd);
      const generation = generationOf(bytes.subarray(0, 96), SCHEMA_VERSION);
      if (generation === undefined) return undefined;
      const text = bytes.toString('utf8');
      const lines = entryLines(text, generation, SCHEMA_VERSION);
      if (!lines) return undefined;
      const read = readJournal<Op>(journalFile(file, generation), generation, START);
      const touched = new Set<string>();
      for (const record of read?.records ?? []) {
        for (const e of record.set ?? []) touched.add(e.id);
        for (const id of record.del ?? []) touched.add(id);
      }
      const marks = new Uint8Array(lines.starts.length);
      markLines(text, lines, [...needles, ...FINISHED_TEXT], marks);
      const part: QueueEntry<Op>[] = [];
      for (let i = 0; i < marks.length; i++) {
        const [start, end] = [lines.starts[i]!, lines.ends[i]!];
        if (marks[i] === 0 && touched.size > 0) {
          const id = idOfLine(text, start, end);
          if (id === undefined || touched.has(id)) marks[i] = 1;
        }
        if (marks[i] === 0) continue;
        const entry = decodeLine<Op>(text, start, end);
        if (!entry) return undefined;
        part.push(entry);
      }
      const index = indexOf(part);
      return {
        identity,
        generation,
        size: Number(stats.size),
        entries: read ? applyRecords(part, index, read.records) : part,
        index,
        journal: read?.cursor ?? START,
      };
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  };

  const unreadable = (error: unknown) =>
    new QueueError('UNREADABLE', { cause: error, file, detail: (error as Error).message });

  const notAFile = (error: StateFileError): QueueError =>
    new QueueError('NOT_A_FILE', { cause: error, file: error.file, kind: error.kind });

  const notWritable = (error: unknown): unknown => {
    if (error instanceof StateFileError) return notAFile(error);
    const errno = (error as NodeJS.ErrnoException | undefined)?.code;
    if (error instanceof QueueError || typeof errno !== 'string' || !errno.startsWith('E')) return error;
    return new QueueError('NOT_WRITABLE', {
      cause: error,
      file,
      folder,
      errno,
      detail: (error as Error).message,
    });
  };

  const busy = (error: LockBusy): QueueError => {
    const seen = error.observation;
    const facts = { cause: error, file, lock: lockPath, waitedMs: error.waitedMs };
    if (seen?.kind !== 'held') return new QueueError('LOCK_TIMEOUT', { ...facts, problem: 'unnamed' });
    const { pid, host, command } = seen.holder;
    const holder = {
      ...facts,
      holderPid: pid,
      holderHost: host,
      ...(command ? { holderCommand: command } : {}),
    };
    if (error.holdings > 1) return new QueueError('LOCK_TIMEOUT', { ...holder, problem: 'taken-in-turn' });
    const ahead = seen.mtimeMs - Date.now();
    return new QueueError('LOCK_TIMEOUT', {
      ...holder,
      problem: host === hostname() ? 'held-here' : 'held-elsewhere',
      ...(ahead > 1000 ? { aheadMs: Math.round(ahead) } : {}),
    });
  };

  const takeLock = async (): Promise<HeldLock> => {
    try {
      mkdirSync(folder, { recursive: true });
      const acquired = await acquireLock({
        path: lockPath,
        waitMs: lockWaitMs,
        staleMs: staleLockMs,
        ...(options.command ? { command: options.command } : {}),
        onWaiting: (holder, waitedMs) =>
          emit({ type: 'lock-waiting', file, waitedMs, ...(holder ? { holder } : {}) }),
      });
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

  // Read-modify-write under the file lock. The transaction works on copies of the entries; what it
  // changed is appended to the journal as one record (see journal.ts: the record counts only if it
  // is the first at its sequence number, which the writer reads back after its fsync), or, once the
  // journal has grown to half the snapshot (or the change cannot be a record), the journal is
  // sealed and a new snapshot written through lowdb with a guarded adapter: it commits only if,
  // right before its rename, the lock still names this holding and the snapshot is the version
  // read; a holder that took the lock over has also swept this writer's temp file away, so a
  // writer paused past that check cannot rename either. Either way nothing is overwritten: the
  // step is redone on a fresh read.
  // `pure`: `fn` never changes an entry object in place (it replaces, adds or removes entries), so
  // it gets the entries as read, and an entry is changed exactly when its object is another.
  // `focus`: the text every entry `fn`'s result depends on contains (see focus.ts); then, when this
  // process has not read the queue yet, only those entries (and finished ones, and those the journal
  // changed) are decoded, and the change is appended to the journal. Whenever that is not enough (a
  // prune is due, the journal is full, the file is not in the one-entry-a-line layout), `fn` runs
  // again on the whole queue.
  const update = <T>(fn: (data: QueueFile<Op>) => T, pure = false, focus?: readonly string[]): Promise<T> =>
    oneAtATime(resolvePath(lockPath), async () => {
      attempts: for (let attempt = 1; ; attempt += 1) {
        const lock = await takeLock();
        try {
          try {
            sweepTemps(file, lock.token);
          } catch (error) {
            throw notWritable(error);
          }
          let part = focus && attempt === 1 ? readFocused(focus) : undefined;
          for (;;) {
            const state = part ?? readState();
            const before = state.entries;
            const copies = pure ? undefined : new Map<QueueEntry<Op>, number>();
            const data: QueueFile<Op> = {
              version: SCHEMA_VERSION,
              entries: copies
                ? before.map((e, i) => {
                    const copy = { ...e };
                    copies.set(copy, i);
                    return copy;
                  })
                : before.slice(),
            };
            const result = fn(data);
            const pruned = pruneFinished(rules, data.entries, clock.now(), retention);
            if (part && pruned) {
              part = undefined;
              continue;
            }
            const after = pruned ?? data.entries;
            const diff = diffEntries(before, state.index, copies, after);
            if (diff && diff.set.length === 0 && diff.del.length === 0) return result;
            const writer = `${lock.token}.${attempt}`;
            const conflict = (reason: ConflictReason) => {
              if (attempt >= WRITE_ATTEMPTS) {
                throw new QueueError('WRITE_CONFLICT', { file, lock: lockPath, attempts: attempt });
              }
              emit({ type: 'write-redone', file, reason, attempt });
            };
            const { generation } = state;
            const journal = generation === undefined ? undefined : journalFile(file, generation);
            const record =
              diff && journal && !state.journal.sealed
                ? { g: generation!, seq: state.journal.seq + 1, w: writer, set: diff.set, del: diff.del }
                : undefined;
            const small =
              record !== undefined &&
              state.journal.size + JSON.stringify(record).length <= Math.max(JOURNAL_MIN, state.size / 2);
            if (part && !small) {
              part = undefined;
              continue;
            }
            try {
              if (!lock.held()) {
                conflict('lock-lost');
                continue attempts;
              }
              if (small) {
                // Checked (the lock still ours): about to commit, as a snapshot's rename would.
                emit({ type: 'write-verified', file });
                if (!appendRecord(journal!, record, state.journal)) {
                  conflict('file-changed');
                  continue attempts;
                }
                if (part) {
                  // Only part of the queue was read: the next read reads it whole.
                  known = undefined;
                  return result;
                }
                // What every reader now reads, applied here as they apply it.
                const read = readJournal<Op>(journal!, generation!, state.journal);
                known = {
                  ...state,
                  entries: applyRecords(before, state.index, read?.records ?? [record]),
                  journal: read?.cursor ?? state.journal,
                };
                return result;
              }
              // A new snapshot: the journal sealed first (no record can count after it), then written whole.
              if (journal && !state.journal.sealed) {
                const seal = { g: generation!, seq: state.journal.seq + 1, w: writer, seal: true as const };
                if (!appendRecord(journal, seal, state.journal)) {
                  conflict('file-changed');
                  continue attempts;
                }
              }
              const next = newGeneration();
              const adapter = new GuardedFileSync<QueueFile<Op>>(file, {
                parse,
                stringify: (data) => stringify(data.entries, next),
                basedOn: state.identity,
                guard: {
                  token: lock.token,
                  held: () => lock.held(),
                  onVerified: () => emit({ type: 'write-verified', file }),
                },
              });
              const db = new LowSync<QueueFile<Op>>(adapter, { version: SCHEMA_VERSION, entries: after });
              db.write();
              const identity = adapter.version!.identity;
              known = {
                generation: next,
                identity,
                entries: after,
                index: indexOf(after),
                size: Number(identity.split(':')[1]),
                journal: START,
              };
            } catch (error) {
              if (!(error instanceof WriteConflict)) throw notWritable(error);
              conflict(error.reason);
              continue attempts;
            }
            // Journals of older generations are dead now; best effort (a reader ignores them).
            try {
              removeJournals(deadJournals(file, known.generation));
            } catch {
              // Left for the next snapshot.
            }
            summarise(after, onDisk(file, SCHEMA_VERSION));
            return result;
          }
        } finally {
          lock.release();
        }
      }
    });

  const transact = <T>(fn: (entries: QueueEntry<Op>[]) => T): Promise<T> =>
    update((data) => fn(data.entries));

  /** Removes the entries `remove` selects; a first read without the lock writes nothing when none are. */
  const removeWhere = async (remove: (e: QueueEntry<Op>) => boolean): Promise<number> => {
    if (!(await load()).some(remove)) return 0;
    return update((data) => {
      const keep = data.entries.filter((e) => !remove(e));
      const removed = data.entries.length - keep.length;
      data.entries = keep;
      return removed;
    }, true);
  };

  const resolve = (entries: QueueEntry<Op>[], idOrPrefix: string): QueueEntry<Op> => {
    const needle = idOrPrefix.trim().toUpperCase();
    if (!needle) throw new QueueError('NOT_FOUND', { id: idOrPrefix });
    const exact = entries.find((e) => e.id.toUpperCase() === needle);
    if (exact) return exact;
    if (needle.length < MIN_ID_PREFIX) {
      throw new QueueError('ID_TOO_SHORT', { id: idOrPrefix, minimum: MIN_ID_PREFIX });
    }
    // The id shown is the short id (the ULID's random tail, as its time part is shared by entries
    // made close together): a prefix of it selects, and so does a prefix of the full id.
    const matches = entries.filter((e) => {
      const id = e.id.toUpperCase();
      return id.startsWith(needle) || (needle.length <= 8 && id.slice(-8).startsWith(needle));
    });
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) {
      throw new QueueError('NOT_FOUND', { id: idOrPrefix });
    }
    const candidates = matches.slice(0, MAX_CANDIDATES).map((e) => e.id);
    throw new QueueError('AMBIGUOUS_ID', { id: idOrPrefix, candidates, matches: matches.length });
  };

  const queue: Queue<Op> = {
    file,
    rules,
    async enqueue(input) {
      const now = clock.now();
      const id = (await loadUlid())(now);
      const op = input.operation;
      const ttlExpiry = input.ttlMs !== undefined ? new Date(now + input.ttlMs).toISOString() : undefined;
      // The earlier of the two (ISO strings of one format compare as times).
      const given = input.expiresAt === undefined ? undefined : new Date(input.expiresAt).toISOString();
      const expiresAt = [given, ttlExpiry].filter((t) => t !== undefined).sort()[0];
      const incoming: QueueEntry<Op> = {
        id,
        idempotencyKey: input.idempotencyKey ?? `${op.kind}:${id}`,
        operation: op,
        priority: rules.priority?.(op) ?? 0,
        enqueuedAt: new Date(now).toISOString(),
        attempts: 0,
        maxAttempts: input.maxAttempts ?? defaultMaxAttempts,
        status: 'pending',
        history: [],
        ...(input.notBefore ? { notBefore: input.notBefore, notBeforeReason: 'backoff' as const } : {}),
        ...(expiresAt ? { expiresAt } : {}),
        ...(input.verifyFirst ? { verifyFirst: true } : {}),
      };
      // What the decision depends on: the entries of the incoming one's scope (its lane is among
      // them) and any with its key. A scope the rules do not name as a field: the whole queue.
      const field = rules.scopeField;
      const scope = rules.scope(op);
      // Only a string scope has one text (an absent field has none to search for).
      const focus =
        field !== undefined && typeof scope === 'string' && (op as Record<string, unknown>)[field] === scope
          ? [
              `${JSON.stringify(field)}:${JSON.stringify(scope)}`,
              `"idempotencyKey":${JSON.stringify(incoming.idempotencyKey)}`,
            ]
          : undefined;
      const decision = await update(
        (data) => {
          const { entries: next, decision } = applyEnqueue(rules, data.entries, incoming, now);
          if (decision.outcome !== 'duplicate') data.entries = next;
          return decision;
        },
        true,
        focus,
      );
      if (decision.outcome === 'duplicate' || !decision.entry) {
        throw new QueueError('DUPLICATE', { idempotencyKey: incoming.idempotencyKey });
      }
      return decision as EnqueueDecision<Op> & { entry: QueueEntry<Op> };
    },
    async list(filter = {}) {
      const entries = await load();
      const statuses =
        filter.status === undefined ? undefined : new Set(([] as EntryStatus[]).concat(filter.status));
      const text = filter.text?.toLowerCase();
      const selected = entries.filter((e) => {
        if (statuses && !statuses.has(e.status)) return false;
        if (filter.kind && e.operation.kind !== filter.kind) return false;
        if (filter.scope !== undefined && rules.scope(e.operation) !== filter.scope) return false;
        if (text) {
          const hay = `${e.id} ${e.operation.kind} ${rules.scope(e.operation)} ${e.status}`.toLowerCase();
          if (!hay.includes(text)) return false;
        }
        return true;
      });
      const active = (e: QueueEntry<Op>) => e.status === 'running' || e.status === 'pending';
      const finished = selected
        .filter((e) => !active(e))
        .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
      // The run order is a property of the whole queue (lanes, what runs, what is held): computed
      // on every entry, then restricted to those selected.
      let ordered: QueueEntry<Op>[] = [];
      if (finished.length < selected.length) {
        const chosen = selected.length === entries.length ? undefined : new Set(selected);
        ordered = runOrder(rules, entries, clock.now());
        if (chosen) ordered = ordered.filter((e) => chosen.has(e));
      }
      return ordered.concat(finished).map((e) => ({ ...e }));
    },
    async overview(options = {}) {
      const { scope, limit } = options;
      const now = clock.now();
      if (limit !== undefined && pageSize > 0) {
        // The version on disk first, then the summary: a page as of that version, as a full read
        // would have given then.
        const disk = onDisk(file, SCHEMA_VERSION);
        const page = overviewFromSummary<Op>(summaryPath, disk, now, scope, limit);
        if (page) return page;
        const state = readState();
        const { entries } = state;
        // Out of date (a version written without it, a journal line since, or an entry come due):
        // made again here, from what was read, if that is still what is on disk. Safe without the
        // lock: a version it does not describe has another generation, stamp or journal.
        const after = onDisk(file, SCHEMA_VERSION);
        if (
          after &&
          after.generation === state.generation &&
          after.journal === journalStamp(state.journal) &&
          after.stamp.size === state.size
        )
          summarise(entries, after);
        return overviewOf(rules, entries, now, scope, limit);
      }
      return overviewOf(rules, await load(), now, scope, limit);
    },
    async get(idOrPrefix) {
      return { ...resolve(await load(), idOrPrefix) };
    },
    async ahead(operation) {
      return aheadInLane(rules, await load(), operation, clock.now()).map((e) => ({ ...e }));
    },
    remove(idOrPrefix) {
      return update((data) => {
        const entry = resolve(data.entries, idOrPrefix);
        if (entry.status === 'running' && entry.runner && isRunnerAlive(entry.runner)) {
          throw new QueueError('INVALID_STATE', {
            problem: checkProcess(entry.runner) === 'stopped' ? 'stopped' : 'running',
            entryId: entry.id,
            entryStatus: entry.status,
            runnerPid: entry.runner.pid,
          });
        }
        data.entries = data.entries.filter((e) => e !== entry);
        return entry;
      });
    },
    retry(idOrPrefix) {
      return transact((entries) => {
        const entry = resolve(entries, idOrPrefix);
        if (entry.status !== 'failed' && entry.status !== 'expired') {
          throw new QueueError('INVALID_STATE', {
            problem: 'not-retryable',
            entryId: entry.id,
            entryStatus: entry.status,
          });
        }
        entry.status = 'pending';
        entry.attempts = 0;
        delete entry.notBefore;
        delete entry.notBeforeReason;
        delete entry.reason;
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
      return removeWhere((e) => e.status === 'done' || e.status === 'superseded');
    },
    clearAll() {
      return removeWhere((e) => !(e.status === 'running' && isRunnerAlive(e.runner)));
    },
    clear({ scope, all = false }) {
      return removeWhere(
        (e) =>
          (scope === undefined || rules.scope(e.operation) === scope) &&
          e.status !== 'running' &&
          (all || e.status === 'done' || e.status === 'superseded' || e.status === 'expired'),
      );
    },
    async stats() {
      const entries = await load();
      const stats = emptyStats();
      for (const e of entries) stats[e.status] += 1;
      stats.total = entries.length;
      return stats;
    },
    transact,
    stamp() {
      const stamp = storedStamp(file);
      return stamp ? `${stamp.mtimeMs}:${stamp.size}` : 'none';
    },
    recover() {
      return transact((entries) =>
        recoverInterrupted(entries, new Date(clock.now()).toISOString(), historyLimit),
      );
    },
  };
  return queue;
}

/**
 * Entries left `running` by a process that is gone → pending, marked to verify the remote first
 * (their operation may or may not have taken effect). Changes `entries` in place; returns copies of
 * those recovered.
 */
export function recoverInterrupted<Op extends Operation>(
  entries: QueueEntry<Op>[],
  at: string,
  historyLimit: number,
): QueueEntry<Op>[] {
  const recovered: QueueEntry<Op>[] = [];
  for (const e of entries) {
    if (e.status !== 'running' || isRunnerAlive(e.runner)) continue;
    e.status = 'pending';
    e.verifyFirst = true;
    e.reason = { code: 'interrupted' };
    e.history = [...e.history, { at, outcome: 'interrupted' as const, durationMs: 0 }].slice(-historyLimit);
    delete e.runner;
    recovered.push({ ...e });
  }
  return recovered;
}
