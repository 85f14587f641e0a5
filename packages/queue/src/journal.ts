import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { openRegular, StateFileError, writeAll } from '@oxvcs/durable';
import type { Operation, QueueEntry } from './types.js';

/**
 * The journal beside a queue snapshot: what changed since the snapshot was written, one line per
 * transaction, so that a state change costs what it changes instead of a rewrite of the whole file.
 *
 * - The snapshot (`queue.json`) names its generation, a token made afresh at every snapshot. Its
 *   journal is `queue.json.journal-<generation>`: a journal of another generation is dead.
 * - A record is one line: `{"g":generation,"seq":n,"w":writer,"set":[entries],"del":[ids]}`, or a
 *   seal `{"g":…,"seq":n,"w":…,"seal":true}` that ends the journal (a snapshot of the next
 *   generation follows). Only lines ended by a newline count; a line that is not JSON (a torn
 *   write, a full disk) is skipped.
 * - **The first record of each sequence number wins.** Records are applied in order, the one
 *   with `seq` 1, then 2, …; any other (an older writer's, a duplicate number) is ignored, and
 *   nothing counts after a seal. A writer appends its record numbered one past what it read,
 *   fsyncs, then reads back: it committed only if its own record is the one that counts at that
 *   number. That is a compare-and-swap on the sequence number, true even for a writer that was
 *   paused while holding the file lock and resumed after another took it over.
 * - Every record starts with `!\n`: a torn line left before it (its writer killed or refused by a
 *   full disk, whatever it said) cannot join the record into a line that parses.
 */

/** A record of the journal. */
export interface JournalRecord<Op extends Operation = Operation> {
  readonly g: string;
  readonly seq: number;
  /** The writer (unique per attempt): how a writer knows the record that counts is its own. */
  readonly w: string;
  /** Entries added or replaced (by id). */
  readonly set?: readonly QueueEntry<Op>[];
  /** Ids of entries removed. */
  readonly del?: readonly string[];
  readonly seal?: true;
}

/** How far a journal has been read. */
export interface JournalCursor {
  /** Bytes read up to the last complete line. */
  readonly offset: number;
  /** The sequence number of the last record that counts (0: none). */
  readonly seq: number;
  /** A seal counts: nothing more can be appended. */
  readonly sealed: boolean;
  /** The journal file's inode when read (undefined: no file yet). */
  readonly ino?: number;
  /** Its size when read. */
  readonly size: number;
}

/** What identifies the journal as read (for the summary file): inode and size, or `none`. */
export const journalStamp = (cursor: JournalCursor) =>
  cursor.ino === undefined ? 'none' : `${cursor.ino}:${cursor.size}`;

export const START: JournalCursor = { offset: 0, seq: 0, sealed: false, size: 0 };

/** The journal file of the snapshot of `generation`. */
export const journalFile = (file: string, generation: string) => `${file}.journal-${generation}`;

/**
 * Journal files beside `file` of generations other than `keep` (dead: left by a crash or a
 * compaction); every journal file when `keep` is undefined.
 */
export function deadJournals(file: string, keep: string | undefined): string[] {
  const prefix = `${basename(file)}.journal-`;
  const dir = dirname(file);
  return readdirSync(dir)
    .filter((name) => name.startsWith(prefix) && name !== `${prefix}${keep}`)
    .map((name) => join(dir, name));
}

/**
 * Parses the complete lines of `bytes` (the journal from `cursor.offset` on) after `cursor`:
 * the records that count, in order, and the cursor after them. Stops at a seal.
 */
export function parseRecords<Op extends Operation>(
  bytes: Buffer,
  generation: string,
  cursor: JournalCursor,
): { records: JournalRecord<Op>[]; cursor: JournalCursor } {
  const records: JournalRecord<Op>[] = [];
  let { seq, sealed } = cursor;
  let at = 0;
  while (!sealed) {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) break;
    const line = bytes.subarray(at, end);
    at = end + 1;
    // Quick rejections before a parse: the separator line `!`, blank lines.
    if (line.length < 2 || line[0] !== 0x7b) continue;
    let record: JournalRecord<Op>;
    try {
      record = JSON.parse(line.toString('utf8')) as JournalRecord<Op>;
    } catch {
      continue;
    }
    if (record === null || typeof record !== 'object' || record.g !== generation || record.seq !== seq + 1)
      continue;
    seq += 1;
    if (record.seal) sealed = true;
    else records.push(record);
  }
  return { records, cursor: { ...cursor, offset: cursor.offset + at, seq, sealed } };
}

/** Reads the journal `path` on from `cursor` (undefined when the file is not there). */
export function readJournal<Op extends Operation>(
  path: string,
  generation: string,
  cursor: JournalCursor,
): { records: JournalRecord<Op>[]; cursor: JournalCursor } | undefined {
  const fd = openRegular(path);
  if (fd === undefined) return undefined;
  try {
    const { ino, size } = fstatSync(fd);
    // Another file than the one read before (removed and made again by a late writer): read whole.
    const from = cursor.ino === undefined || cursor.ino === ino ? cursor : START;
    const bytes = readRange(fd, from.offset, size);
    return parseRecords<Op>(bytes, generation, { ...from, ino, size });
  } finally {
    closeSync(fd);
  }
}

function readRange(fd: number, from: number, to: number): Buffer {
  const length = Math.max(0, to - from);
  const bytes = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, bytes, done, length - done, from + done);
    if (n <= 0) break;
    done += n;
  }
  return bytes.subarray(0, done);
}

const APPEND =
  constants.O_RDWR |
  constants.O_APPEND |
  constants.O_CREAT |
  (constants.O_NOFOLLOW ?? 0) |
  (constants.O_NONBLOCK ?? 0);

/**
 * Appends `record` to the journal and reads back whether it counts (see the rules above): true
 * when it is the record at its sequence number, false when another writer's record or a seal got
 * there first (nothing of this writer's counts then). Durable when it returns true. Throws on a
 * write error (ENOSPC: the disk is full; the torn line left behind never counts).
 */
export function appendRecord(path: string, record: JournalRecord, after: JournalCursor): boolean {
  const line = Buffer.from(`!\n${JSON.stringify(record)}\n`);
  let fd: number;
  try {
    fd = openSync(path, APPEND, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EISDIR' || code === 'ENXIO' || code === 'EMLINK') {
      // Not a regular file: named as the readers name it.
      const fd = openRegular(path);
      if (fd !== undefined) closeSync(fd);
    }
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new StateFileError(path, 'other');
    const created = stats.size === 0;
    writeAll(fd, line);
    fsyncSync(fd);
    // A new file is durable only once its folder is.
    if (created) syncFolder(dirname(path));
    // Read back from where this writer's view ended: which record counts at its number?
    const from = after.ino === undefined || after.ino === stats.ino ? after : START;
    const { size } = fstatSync(fd);
    const { records, cursor } = parseRecords(readRange(fd, from.offset, size), record.g, from);
    if (cursor.seq < record.seq) return false;
    if (record.seal) return cursor.sealed && cursor.seq === record.seq && records.length === 0;
    return records.length > 0 && records[0]!.w === record.w && records[0]!.seq === record.seq;
  } finally {
    closeSync(fd);
  }
}

function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems cannot fsync a folder.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Removes dead journals; best effort (they are ignored anyway). */
export function removeJournals(paths: readonly string[]): void {
  for (const path of paths) rmSync(path, { force: true });
}

/** Where each entry is in a list, by id. */
export type IdIndex = Map<string, number>;

/** The index of `entries`. */
export function indexOf(entries: readonly { readonly id: string }[]): IdIndex {
  const index: IdIndex = new Map();
  for (let i = 0; i < entries.length; i++) index.set(entries[i]!.id, i);
  return index;
}

/**
 * Applies records to `entries` as every reader does: a replaced entry keeps its place, a new one
 * goes last, a removed one leaves. Returns a new list; `index` (the index of `entries`) is updated
 * in place to describe it.
 */
export function applyRecords<Op extends Operation>(
  entries: readonly QueueEntry<Op>[],
  index: IdIndex,
  records: readonly JournalRecord<Op>[],
): QueueEntry<Op>[] {
  let list = entries.slice();
  for (const record of records) {
    if (record.del && record.del.length > 0) {
      const gone = new Set(record.del);
      list = list.filter((e) => !gone.has(e.id));
      index.clear();
      for (let i = 0; i < list.length; i++) index.set(list[i]!.id, i);
    }
    for (const e of record.set ?? []) {
      const at = index.get(e.id);
      if (at === undefined) {
        index.set(e.id, list.length);
        list.push(e);
      } else list[at] = e;
    }
  }
  return list;
}

/**
 * What a transaction changed, as a record's `set` and `del`: `before` is what was read (`index` its
 * index), `copies` maps each shallow copy handed to the transaction to its place in `before`
 * (undefined: the transaction got the entries themselves and replaced any it changed), and `after`
 * is what the transaction left. Undefined when the order after is not the one
 * {@link applyRecords} would give (then a whole snapshot is written instead). An entry is changed
 * when any of its own fields is another value than before: a transaction changes an entry by
 * assigning its fields, and replaces a nested value (history, runner, reason…) rather than
 * changing it in place, so no entry needs to be serialized to find what changed.
 */
export function diffEntries<Op extends Operation>(
  before: readonly QueueEntry<Op>[],
  index: IdIndex,
  copies: ReadonlyMap<QueueEntry<Op>, number> | undefined,
  after: readonly QueueEntry<Op>[],
): { set: QueueEntry<Op>[]; del: string[] } | undefined {
  const set: QueueEntry<Op>[] = [];
  const kept = new Uint8Array(before.length);
  let last = -1;
  let added: Set<string> | undefined;
  for (const e of after) {
    let at = copies?.get(e);
    const copy = at !== undefined;
    // Another object: a replacement of the entry with its id, or a new entry.
    if (at === undefined) at = index.get(e.id);
    if (at === undefined) {
      added ??= new Set();
      if (added.has(e.id)) return undefined;
      added.add(e.id);
      set.push(e);
      continue;
    }
    // Kept entries stay in their order, before every new one.
    if (added || at <= last || kept[at]) return undefined;
    last = at;
    kept[at] = 1;
    if (copy ? changed(before[at]!, e) : e !== before[at]) set.push(e);
  }
  const del: string[] = [];
  for (let i = 0; i < before.length; i++) if (!kept[i]) del.push(before[i]!.id);
  return { set, del };
}

function changed(a: object, b: object): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let count = 0;
  for (const k in x) {
    if (x[k] !== y[k] || !Object.hasOwn(y, k)) return true;
    count += 1;
  }
  for (const _ in y) count -= 1;
  return count !== 0;
}

/**
 * The entries stored in a queue file as every reader sees them: the snapshot with its journal
 * applied (no lock, no migration, no checks: for tools and tests that look at a queue file).
 */
export function readStoredEntries<Op extends Operation = Operation>(file: string): QueueEntry<Op>[] {
  const fd = openRegular(file);
  if (fd === undefined) return [];
  let snapshot: { generation?: string; entries: QueueEntry<Op>[] };
  try {
    const { size } = fstatSync(fd);
    snapshot = JSON.parse(readRange(fd, 0, size).toString('utf8'));
  } finally {
    closeSync(fd);
  }
  const { generation } = snapshot;
  if (typeof generation !== 'string') return snapshot.entries;
  const read = readJournal<Op>(journalFile(file, generation), generation, START);
  return read ? applyRecords(snapshot.entries, indexOf(snapshot.entries), read.records) : snapshot.entries;
}

/**
 * What changes whenever the queue stored in `file` changes, from stats alone: the latest
 * modification time and the total size of the snapshot and its journals (a journal only grows, a
 * new snapshot is a new file). Undefined when there is no queue file.
 */
export function storedStamp(file: string): { readonly mtimeMs: number; readonly size: number } | undefined {
  let stamp: { mtimeMs: number; size: number };
  try {
    const { mtimeMs, size } = statSync(file);
    stamp = { mtimeMs, size };
  } catch {
    return undefined;
  }
  for (const journal of deadJournals(file, undefined)) {
    try {
      const { mtimeMs, size } = statSync(journal);
      stamp = { mtimeMs: Math.max(stamp.mtimeMs, mtimeMs), size: stamp.size + size };
    } catch {
      // Removed meanwhile.
    }
  }
  return stamp;
}
