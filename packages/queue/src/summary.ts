import { closeSync, fstatSync, readSync, statSync } from 'node:fs';
import { openRegular, readText, replaceFile } from '@oxvcs/durable';
import { journalFile } from './journal.js';
import { runOrder } from './plan.js';
import type { EntryStatus, Operation, QueueEntry, QueueRules } from './types.js';

/** Counts per status. */
export type QueueStats = Record<EntryStatus, number> & { total: number };

/** What {@link Queue.overview} returns: a status page, from one read. */
export interface QueueOverview<Op extends Operation = Operation> {
  /** Counts of the scope asked for (every entry without a scope). */
  readonly stats: QueueStats;
  /**
   * With a `limit`: the scope's first `limit` running and pending entries in run order, then its
   * `limit` newest failed ones. Without: every running and pending entry in run order, then every
   * finished one (failed, done, expired, superseded), newest first.
   */
  readonly entries: readonly QueueEntry<Op>[];
  /** Running and pending entries of the scope left out by `limit`. */
  readonly omitted: number;
  /** Pending, running and failed entries of other scopes. */
  readonly elsewhere: number;
}

/** One scope's page, as the summary file keeps it. */
interface Page<Op extends Operation> {
  readonly stats: QueueStats;
  readonly active: QueueEntry<Op>[];
  readonly failed: QueueEntry<Op>[];
  /** Pending, running and failed entries. */
  readonly unfinished: number;
}

/**
 * The summary file beside the queue file: every scope's status page as of one version of the
 * queue file, named by that version's `generation` (a digest of its entries, written at the head of
 * the file). Only a status page reads it, and only when the queue file still has that generation
 * and no entry's not-before or expiry has come since (the run order depends on the time).
 */
interface Summary<Op extends Operation> {
  readonly generation: string;
  /** The queue file's size, modification time and inode when the summary was made. */
  readonly file: FileStamp;
  /** The journal's inode and size then (`none`: no journal). */
  readonly journal: string;
  /** When it was made (ISO): a reader whose clock is earlier does not trust it. */
  readonly madeAt: string;
  readonly pageSize: number;
  /** ISO: the first not-before or expiry after the summary was made; absent when none. */
  readonly validUntil?: string;
  readonly all: Page<Op>;
  readonly scopes: Record<string, Page<Op>>;
}

/** What identifies one version of the queue file on disk besides its generation. */
export interface FileStamp {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

/** The queue file on disk now: the generation at its head and its stamp (undefined if unreadable). */
export interface OnDisk {
  readonly generation: string;
  readonly stamp: FileStamp;
  /** The journal of that generation: inode and size, or `none`. */
  readonly journal: string;
}

/** Counts of nothing. */
export const emptyStats = (): QueueStats => ({
  pending: 0,
  running: 0,
  done: 0,
  failed: 0,
  expired: 0,
  superseded: 0,
  total: 0,
});

const newestFirst = (a: QueueEntry, b: QueueEntry) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** A scope's page: counts, the first `limit` unfinished in run order, the newest failed. */
function pageOf<Op extends Operation>(
  rules: QueueRules<Op>,
  entries: readonly QueueEntry<Op>[],
  now: number,
  limit: number,
): Page<Op> {
  const stats = emptyStats();
  const failed: QueueEntry<Op>[] = [];
  for (const e of entries) {
    stats[e.status] += 1;
    if (e.status === 'failed') failed.push(e);
  }
  stats.total = entries.length;
  return {
    stats,
    active: runOrder(rules, entries, now, limit),
    failed: failed.sort(newestFirst).slice(0, limit),
    unfinished: stats.pending + stats.running + stats.failed,
  };
}

/**
 * The status page of `scope` (every entry when undefined), computed from the entries: what
 * {@link Queue.overview} returns when the summary cannot answer.
 */
export function overviewOf<Op extends Operation>(
  rules: QueueRules<Op>,
  entries: readonly QueueEntry<Op>[],
  now: number,
  scope: string | undefined,
  limit: number | undefined,
): QueueOverview<Op> {
  const mine: QueueEntry<Op>[] = [];
  let elsewhere = 0;
  for (const e of entries) {
    if (scope === undefined || rules.scope(e.operation) === scope) mine.push(e);
    else if (e.status === 'pending' || e.status === 'running' || e.status === 'failed') elsewhere += 1;
  }
  // A scope's lanes are independent of the others', so its run order is the whole queue's
  // restricted to it: computed on its own entries, and only as far as the page goes.
  if (limit !== undefined) {
    const page = pageOf(rules, mine, now, limit);
    return {
      stats: page.stats,
      entries: page.active.concat(page.failed).map((e) => ({ ...e })),
      omitted: page.stats.pending + page.stats.running - page.active.length,
      elsewhere,
    };
  }
  const stats = emptyStats();
  const finished: QueueEntry<Op>[] = [];
  for (const e of mine) {
    stats[e.status] += 1;
    if (e.status !== 'pending' && e.status !== 'running') finished.push(e);
  }
  stats.total = mine.length;
  const active = runOrder(rules, mine, now);
  return {
    stats,
    entries: active.concat(finished.sort(newestFirst)).map((e) => ({ ...e })),
    omitted: 0,
    elsewhere,
  };
}

/** The generation written at the head of a queue file: `{"version":N,"generation":"…",`. */
const HEAD = /^\{"version":(\d+),"generation":"([0-9a-f]+)"/;

/** The generation at the head of `bytes` (a queue file's content), if it has one of `version`. */
export function generationOf(bytes: Uint8Array, version: number): string | undefined {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 96)).toString('latin1');
  const match = HEAD.exec(head);
  return match && Number(match[1]) === version ? match[2] : undefined;
}

/** The queue file on disk now: its generation, from its first bytes, and its stamp, from one fstat. */
export function onDisk(file: string, version: number): OnDisk | undefined {
  let fd: number | undefined;
  try {
    fd = openRegular(file);
    if (fd === undefined) return undefined;
    const head = Buffer.alloc(96);
    const n = readSync(fd, head, 0, head.length, 0);
    const generation = generationOf(head.subarray(0, n), version);
    if (generation === undefined) return undefined;
    const { size, mtimeMs, ino } = fstatSync(fd);
    let journal = 'none';
    try {
      const j = statSync(journalFile(file, generation));
      journal = `${j.ino}:${j.size}`;
    } catch {
      // No journal yet.
    }
    return { generation, stamp: { size, mtimeMs, ino }, journal };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const sameStamp = (a: FileStamp, b: FileStamp) =>
  a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;

/**
 * Writes the summary of `entries`, the version of the queue file `version` names (its generation,
 * and the stamp it had on disk); best effort: a summary that cannot be written is not there.
 */
export function writeSummary<Op extends Operation>(
  path: string,
  rules: QueueRules<Op>,
  entries: readonly QueueEntry<Op>[],
  version: OnDisk,
  now: number,
  pageSize: number,
): void {
  const nowIso = new Date(now).toISOString();
  let validUntil: string | undefined;
  const byScope = new Map<string, QueueEntry<Op>[]>();
  for (const e of entries) {
    if (e.status === 'pending') {
      for (const t of [e.notBefore, e.expiresAt]) {
        if (t !== undefined && t > nowIso && (validUntil === undefined || t < validUntil)) validUntil = t;
      }
    }
    const scope = rules.scope(e.operation);
    const list = byScope.get(scope);
    if (list) list.push(e);
    else byScope.set(scope, [e]);
  }
  // No prototype: a scope may be called `__proto__` or `constructor`.
  const scopes: Record<string, Page<Op>> = Object.create(null);
  for (const [scope, list] of byScope) scopes[scope] = pageOf(rules, list, now, pageSize);
  const summary: Summary<Op> = {
    generation: version.generation,
    file: version.stamp,
    journal: version.journal,
    madeAt: nowIso,
    pageSize,
    ...(validUntil ? { validUntil } : {}),
    all: pageOf(rules, entries, now, pageSize),
    scopes,
  };
  try {
    // Its temp file is named like the queue's own, so a writer sweeps one a crash left behind.
    replaceFile(path, JSON.stringify(summary));
  } catch {
    // A cache: without it a status page reads the queue file itself.
  }
}

/**
 * The status page from the summary file, when it describes the queue file on disk now (same
 * generation, nothing due since) and its pages are long enough; undefined otherwise.
 */
export function overviewFromSummary<Op extends Operation>(
  path: string,
  disk: OnDisk | undefined,
  now: number,
  scope: string | undefined,
  limit: number,
): QueueOverview<Op> | undefined {
  if (disk === undefined) return undefined;
  let summary: Summary<Op>;
  try {
    const text = readText(path);
    if (text === undefined) return undefined;
    summary = JSON.parse(text) as Summary<Op>;
  } catch {
    return undefined;
  }
  const nowIso = new Date(now).toISOString();
  if (
    summary.generation !== disk.generation ||
    !summary.file ||
    !sameStamp(summary.file, disk.stamp) ||
    summary.journal !== disk.journal
  )
    return undefined;
  if (limit > summary.pageSize || !(summary.madeAt <= nowIso)) return undefined;
  if (summary.validUntil !== undefined && summary.validUntil <= nowIso) return undefined;
  const page =
    scope === undefined
      ? summary.all
      : Object.hasOwn(summary.scopes, scope)
        ? summary.scopes[scope]
        : undefined;
  const stats = page?.stats ?? emptyStats();
  const active = page?.active.slice(0, limit) ?? [];
  return {
    stats,
    entries: active.concat(page?.failed.slice(0, limit) ?? []),
    omitted: stats.pending + stats.running - active.length,
    elsewhere: scope === undefined ? 0 : summary.all.unfinished - (page?.unfinished ?? 0),
  };
}
