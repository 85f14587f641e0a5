import { closeSync, openSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type QueueEntry, storedStamp } from '@oxvcs/queue';
import { readState, writeState } from './state.js';

/**
 * What the user has been told of failed and expired queue entries: the marker file `away.json` in
 * the state folder. Entries that finished before `seenAt` (less a margin) count as seen; those
 * that finished near or after it are told apart by their keys in `told`.
 */
export interface SeenMarker {
  /** When the user last looked (ISO 8601): a command's report, `queue status`, the TUI. */
  readonly seenAt: string;
  /** Keys (`id@finished`) of the failures already told that finished within the margin of `seenAt` or after it. */
  readonly told: readonly string[];
  /** The queue file as it was when read for this look: while it stays so, there is nothing new. */
  readonly queue?: { readonly mtimeMs: number; readonly size: number };
}

/**
 * How far before `seenAt` finished entries are still told apart by key: a write by another
 * process that had finished its entry just before the user looked but reached the disk just after
 * is still reported, and a command's report is never suppressed by a clock step of a few seconds.
 */
export const AWAY_MARGIN_MS = 60_000;

/** The marker file in the state folder. */
export const awayFile = (stateDir: string): string => join(stateDir, 'away.json');

type Finished = Pick<QueueEntry, 'id' | 'status' | 'completedAt' | 'history' | 'enqueuedAt'>;

const finishedAt = (e: Finished): number => Date.parse(e.completedAt ?? e.history.at(-1)?.at ?? e.enqueuedAt);
const keyOf = (e: Finished) => `${e.id}@${e.completedAt ?? e.history.at(-1)?.at ?? e.enqueuedAt}`;
const isDead = (e: Finished) => e.status === 'failed' || e.status === 'expired';

/**
 * The failed and expired entries the user has not been told about, oldest first (pure). Without a
 * marker (the user never looked) every one is. A retried entry that fails again is new: its key
 * carries when it finished.
 */
export function unseenFailures<E extends Finished>(entries: readonly E[], marker?: SeenMarker): E[] {
  const since = marker ? Date.parse(marker.seenAt) - AWAY_MARGIN_MS : Number.NEGATIVE_INFINITY;
  const told = new Set(marker?.told ?? []);
  return entries
    .filter((e) => isDead(e) && !(finishedAt(e) <= since) && !told.has(keyOf(e)))
    .sort((a, b) => finishedAt(a) - finishedAt(b));
}

/**
 * The marker once the user has seen every failure in `entries` (read from the queue file as
 * `queue` describes it), at `now` (pure).
 */
export function markSeen(
  entries: readonly Finished[],
  now: number,
  queue?: { readonly mtimeMs: number; readonly size: number },
): SeenMarker {
  const floor = now - AWAY_MARGIN_MS;
  return {
    seenAt: new Date(now).toISOString(),
    told: entries.filter((e) => isDead(e) && !(finishedAt(e) <= floor)).map(keyOf),
    ...(queue ? { queue: { mtimeMs: queue.mtimeMs, size: queue.size } } : {}),
  };
}

/** How many of the newest failed entries a status page is asked for, as candidates (see below). */
const PAGE = 50;

/** Options of {@link whileAway}. */
export interface WhileAwayOptions<E extends Finished = QueueEntry> {
  /**
   * The queue: its file and entries, and (when it has one) its status page, whose counts and
   * newest failed entries spare reading every entry when they hold every candidate.
   */
  readonly queue: {
    readonly file: string;
    list(): Promise<E[]>;
    overview?(options: { readonly limit: number }): Promise<{
      readonly stats: { readonly failed: number; readonly expired: number };
      readonly entries: readonly E[];
    }>;
  };
  /** The marker file ({@link awayFile}). */
  readonly file: string;
  /** Ids of entries the caller already showed as they failed: recorded as seen, not returned. */
  readonly shown?: readonly string[];
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * The failed and expired entries of every project that the user has not been told about, oldest
 * first; all of them (and `shown`) are then recorded as seen, so each is reported once. A queue
 * file unchanged since the user last looked (same modification time and size) is not read at all.
 */
export async function whileAway<E extends Finished>(options: WhileAwayOptions<E>): Promise<E[]> {
  // One look at a time, across processes: two commands started together tell a failure once.
  return withMarkerLock(`${options.file}.lock`, () => look(options));
}

/** How long a look waits for another; after it, telling twice beats not telling. */
const LOCK_WAIT_MS = 2000;
/** A lock file this old was left by a process that died mid-look. */
const LOCK_STALE_MS = 10_000;

async function withMarkerLock<T>(lock: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let held = false;
  while (!held) {
    try {
      closeSync(openSync(lock, 'wx'));
      held = true;
    } catch (error) {
      // Not a lock we could make (a read-only folder): look without it.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') break;
      let age = 0;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue; // gone meanwhile: try again at once
      }
      if (age > LOCK_STALE_MS) rmSync(lock, { force: true });
      else if (Date.now() > deadline) break;
      else await new Promise((resolve) => setTimeout(resolve, 15));
    }
  }
  try {
    return await fn();
  } finally {
    if (held) rmSync(lock, { force: true });
  }
}

async function look<E extends Finished>(options: WhileAwayOptions<E>): Promise<E[]> {
  const now = (options.now ?? Date.now)();
  // Taken before the read: a write that lands meanwhile changes it, so the next look reads again.
  const file = storedStamp(options.queue.file);
  // No queue file: nothing ever failed (and none is made here).
  if (!file) return [];
  // A marker that cannot be read (a folder in its place, no permission) is as none: everything
  // not yet told is told rather than nothing.
  let marker: SeenMarker | undefined;
  try {
    marker = readState<SeenMarker | undefined>(options.file, undefined);
  } catch {
    marker = undefined;
  }
  const valid =
    marker && typeof marker.seenAt === 'string' && Array.isArray(marker.told) ? marker : undefined;
  if (valid?.queue && valid.queue.mtimeMs === file.mtimeMs && valid.queue.size === file.size) return [];
  const entries = await candidates(options.queue);
  const shown = new Set(options.shown ?? []);
  const unseen = unseenFailures(entries, valid).filter((e) => !shown.has(e.id));
  try {
    writeState(options.file, markSeen(entries, now, file));
  } catch {
    // Told again next time rather than not told now.
  }
  return unseen;
}

/**
 * Every failed and expired entry, with as little reading as the queue allows: none when its page
 * counts none, the page's newest failed ones when they are all there is, else every entry.
 */
async function candidates<E extends Finished>(queue: WhileAwayOptions<E>['queue']): Promise<readonly E[]> {
  if (!queue.overview) return queue.list();
  const page = await queue.overview({ limit: PAGE });
  if (page.stats.failed + page.stats.expired === 0) return [];
  const failed = page.entries.filter((e) => e.status === 'failed');
  if (page.stats.expired === 0 && failed.length === page.stats.failed) return failed;
  return queue.list();
}
