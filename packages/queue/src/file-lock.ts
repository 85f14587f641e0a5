import {
  closeSync,
  existsSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { checkProcess, identify, writeAll, writeNewFile } from '@oxvcs/durable';

/** Who holds a queue file lock, as recorded in the lock file itself. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** The holder's start time as the kernel keeps it (see `@oxvcs/durable`): a reused pid is not the holder. */
  readonly start?: string;
  /** What the holder is doing (a command line, clipped), for whoever waits for it. */
  readonly command?: string;
  /** Random per acquisition: tells this holding apart from any other by the same process. */
  readonly token: string;
  /** When it was taken, in ms since the epoch on the holder's clock. */
  readonly acquiredAt: number;
}

/**
 * What is found at the lock path: a lock of ours with its holder, or something without a readable
 * holder (the empty directory an older version made with proper-lockfile, or a torn write).
 * `id` names this one holding: the token, or the inode when there is no holder record.
 */
export type LockObservation =
  | { readonly kind: 'held'; readonly holder: LockHolder; readonly mtimeMs: number; readonly id: string }
  | { readonly kind: 'unknown'; readonly mtimeMs: number; readonly id: string };

/** What {@link assessLock} decides about a lock someone else holds. */
export type LockVerdict =
  | { readonly action: 'take-over'; readonly reason: 'holder-dead' | 'stale' }
  /** `live`: the holder is a verified, working process of this machine: it is never taken over. */
  | { readonly action: 'wait'; readonly live?: true };

/** Facts {@link assessLock} decides on; all I/O is done by the caller. */
export interface LockFacts {
  readonly observation: LockObservation;
  /** Wall clock now, ms (comparable with file mtimes). */
  readonly now: number;
  /** How long this same holding (same `id`) has been watched unchanged, on a monotonic clock. */
  readonly watchedMs: number;
  readonly staleMs: number;
  /** This machine's host name and process id. */
  readonly host: string;
  readonly pid: number;
  /** True when `token` is a lock this very process holds right now. */
  readonly holdsHere: (token: string) => boolean;
  /** True when the holder is this very process (same pid and start time). */
  readonly isSelf: (holder: LockHolder) => boolean;
  /**
   * How the holder's process is: `running` (the very process recorded, same pid and start time),
   * `stopped` (SIGSTOP: alive, doing nothing), or `gone` (no such process, a zombie, or a reused pid).
   */
  readonly processOf: (holder: LockHolder) => 'running' | 'stopped' | 'gone';
}

/**
 * Decides whether a lock held by someone else may be taken over. A holder on this machine whose
 * process is gone is dead at once, whatever the lock's time says. A holder on this machine that is
 * verifiably the process that took the lock (its start time recorded and matching) and is not
 * stopped is working, however long it takes (a write of a very large queue): it is never taken
 * over, and the caller waits (`live`). Anything else (a stopped process, a record without a start
 * time from an older version, another machine, no holder record) may or may not be working: it is
 * stale only once its time is `staleMs` old, or once it has been watched unchanged for `staleMs`
 * (so a time in the future, after the clock was set back, never blocks until the clock catches up).
 */
export function assessLock(facts: LockFacts): LockVerdict {
  const { observation: seen } = facts;
  if (seen.kind === 'held' && seen.holder.host === facts.host) {
    const { token } = seen.holder;
    // This very process: dead unless it still holds it (a worker thread shares the pid, so only the
    // main thread may judge; node:worker_threads is loaded only on this rare path). Anyone else,
    // including a previous process that had our pid (containers reuse low pids): by its identity.
    if (facts.isSelf(seen.holder)) {
      if (process.getBuiltinModule('node:worker_threads').isMainThread && !facts.holdsHere(token))
        return { action: 'take-over', reason: 'holder-dead' };
    } else {
      const state = facts.processOf(seen.holder);
      if (state === 'gone') return { action: 'take-over', reason: 'holder-dead' };
      if (state === 'running' && seen.holder.start !== undefined) return { action: 'wait', live: true };
    }
  }
  if (facts.now - seen.mtimeMs >= facts.staleMs || facts.watchedMs >= facts.staleMs) {
    return { action: 'take-over', reason: 'stale' };
  }
  return { action: 'wait' };
}

/** Options of {@link acquireLock}. */
export interface AcquireOptions {
  /** The lock file (`<queue file>.lock`). */
  readonly path: string;
  /** Give up after waiting this long, ms, for a holder that is not verifiably working (see {@link assessLock}). */
  readonly waitMs: number;
  /** A possibly live holder is taken over after this long, ms. */
  readonly staleMs: number;
  /** What the holder is doing, recorded in the lock for whoever waits (e.g. `oxenvcs queue sync`). */
  readonly command?: string;
  /** Called once when the lock has been busy for about a second, with the holder seen then. */
  readonly onWaiting?: (holder: LockHolder | undefined, waitedMs: number) => void;
  /** Stops waiting (throws the signal's reason). */
  readonly signal?: AbortSignal;
}

/** How an acquisition went, for events and error messages. */
export interface Acquired {
  readonly lock: HeldLock;
  /** Time spent waiting for other holders, ms. */
  readonly waitedMs: number;
  /** Set when the lock was taken over from someone else. */
  readonly takeover?: { readonly reason: 'holder-dead' | 'stale'; readonly holder?: LockHolder };
}

/** A lock this process holds. */
export interface HeldLock {
  readonly path: string;
  readonly token: string;
  /** True while the lock file still names this holding (it may have been taken over as stale). */
  held(): boolean;
  /** Removes the lock file if it still names this holding. */
  release(): void;
}

/** Why {@link acquireLock} gave up: the last holder seen, for the caller's message. */
export class LockBusy extends Error {
  override readonly name = 'LockBusy';
  /** The last holding seen. */
  readonly observation: LockObservation | undefined;
  /** How many different holdings were seen while waiting. */
  readonly holdings: number;
  readonly waitedMs: number;
  constructor(observation: LockObservation | undefined, holdings: number, waitedMs: number) {
    super('The lock stayed busy.');
    this.observation = observation;
    this.holdings = holdings;
    this.waitedMs = waitedMs;
  }
}

const heldHere = new Set<string>();
const HOST = hostname();

const newToken = () =>
  `${process.pid.toString(36)}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

/** The temp-file names this module writes beside the lock; swept with the queue's other temp files. */
const sideFile = (path: string, token: string, role: 'new' | 'aside') =>
  join(dirname(path), `.${basename(path)}.${token}.${role}.tmp`);

/** A lock record is well under this size; a larger file at the lock path is not read. */
const MAX_RECORD_BYTES = 64 * 1024;

/** Reads what is at `path`; undefined when nothing is there. */
export function observeLock(path: string): LockObservation | undefined {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const unknown = {
    kind: 'unknown',
    mtimeMs: stats.mtimeMs,
    id: `inode ${stats.ino}`,
  } as const;
  // Not a lock record of ours (a folder, a FIFO, a file far larger than any record): never read.
  if (!stats.isFile() || stats.size > MAX_RECORD_BYTES) return unknown;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const holder = parseHolder(text);
  return holder ? { kind: 'held', holder, mtimeMs: stats.mtimeMs, id: holder.token } : unknown;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (
      typeof value.pid === 'number' &&
      typeof value.host === 'string' &&
      typeof value.token === 'string' &&
      typeof value.acquiredAt === 'number'
    ) {
      return {
        pid: value.pid,
        host: value.host,
        token: value.token,
        acquiredAt: value.acquiredAt,
        ...(typeof value.start === 'string' ? { start: value.start } : {}),
        ...(typeof value.command === 'string' ? { command: value.command.slice(0, 120) } : {}),
      };
    }
  } catch {
    // Torn or foreign content: judged as a holder we know nothing about.
  }
  return undefined;
}

const tokenAt = (path: string): string | undefined => {
  const seen = observeLock(path);
  return seen?.kind === 'held' ? seen.holder.token : undefined;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes the lock at `path`, an exclusive file naming its holder (pid, host, token). The file
 * appears whole (written aside, then hard-linked into place), so a holder record is never seen
 * half-written. Waits while a possibly live holder has it; takes over at once from a dead holder
 * on this machine, and after `staleMs` from anyone else, but never from a holder verified to be
 * working (it waits for that one however long it takes, until `signal`). Throws {@link LockBusy}
 * after `waitMs` of waiting for any other holder; file-system errors (a read-only folder…) are
 * thrown as they are, at once.
 */
export async function acquireLock(options: AcquireOptions): Promise<Acquired> {
  const { path, staleMs, waitMs } = options;
  const token = newToken();
  const candidate = sideFile(path, token, 'new');
  const started = performance.now();
  const self = identify();
  const command = options.command ? { command: options.command.slice(0, 120) } : {};
  let told = false;
  let delay = 2;
  let watching: { id: string; since: number } | undefined;
  let holdings = 0;
  let takeover: Acquired['takeover'];
  for (;;) {
    options.signal?.throwIfAborted();
    const record = JSON.stringify({ ...self, host: HOST, token, acquiredAt: Date.now(), ...command });
    if (create(path, candidate, record)) {
      heldHere.add(token);
      const waitedMs = performance.now() - started;
      return { lock: heldLock(path, token), waitedMs, ...(takeover ? { takeover } : {}) };
    }
    const seen = observeLock(path);
    if (!seen) continue; // released meanwhile
    const now = performance.now();
    // A holder that touches its lock (as older versions did) is watched afresh.
    const watchId = `${seen.id}@${seen.mtimeMs}`;
    if (watching?.id !== watchId) {
      watching = { id: watchId, since: now };
      holdings += 1;
    }
    const verdict = assessLock({
      observation: seen,
      now: Date.now(),
      watchedMs: now - watching.since,
      staleMs,
      host: HOST,
      pid: process.pid,
      holdsHere: (t) => heldHere.has(t),
      isSelf: (holder) => holder.pid === process.pid && checkProcess(holder) === 'running',
      processOf: checkProcess,
    });
    if (verdict.action === 'take-over') {
      if (removeIfSame(path, seen, token)) {
        takeover = {
          reason: verdict.reason,
          ...(seen.kind === 'held' ? { holder: seen.holder } : {}),
        };
      }
      continue;
    }
    const waitedMs = performance.now() - started;
    if (!told && waitedMs >= 1000) {
      told = true;
      options.onWaiting?.(seen.kind === 'held' ? seen.holder : undefined, waitedMs);
    }
    // A working holder is waited for as long as it works; any other only until waitMs.
    if (!verdict.live && waitedMs >= waitMs) {
      throw new LockBusy(seen, holdings, waitedMs);
    }
    await sleep(verdict.live ? delay : Math.min(delay * (0.5 + Math.random()), waitMs - waitedMs));
    delay = Math.min(delay * 1.5, 25);
  }
}

/**
 * Creates the lock file with `record` in it; false when it exists. The record is written aside and
 * hard-linked into place (written fresh each try, so the lock's mtime is the moment it was taken).
 * Errors of the folder itself (read-only, full…) are thrown as they are.
 */
function create(path: string, candidate: string, record: string): boolean {
  writeNewFile(candidate, record);
  try {
    linkSync(candidate, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // ENOENT: a holder swept our candidate away as a leftover; simply try again.
    if (code === 'ENOENT') return false;
    // A file system without hard links (the candidate was written, so the folder is writable):
    // exclusive create instead. A torn record is then possible, judged like an unknown holder.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EMLINK') {
      return createExclusive(path, record);
    }
    throw error;
  } finally {
    rmSync(candidate, { force: true });
  }
}

function createExclusive(path: string, record: string): boolean {
  try {
    const fd = openSync(path, 'wx');
    try {
      writeAll(fd, record);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Removes the lock at `path` if it is still the holding `seen` (two processes may judge the same
 * stale lock at once: the second must not remove the lock the first has just taken). The lock is
 * moved aside first, so the check and the removal cannot interleave with another taker; a lock
 * moved aside by mistake is put back unless someone has taken the path meanwhile.
 */
function removeIfSame(path: string, seen: LockObservation, token: string): boolean {
  const aside = sideFile(path, token, 'aside');
  try {
    renameSync(path, aside);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    throw error;
  }
  const moved = observeLock(aside);
  if (!moved || moved.id === seen.id) {
    rmSync(aside, { recursive: true, force: true });
    return true;
  }
  try {
    // A link never replaces what someone has put at the path since; a directory (an older
    // version's lock) cannot be linked and is renamed back only into an empty path.
    if (statSync(aside).isDirectory()) {
      if (!existsSync(path)) renameSync(aside, path);
    } else linkSync(aside, path);
  } catch {
    // Someone took the path meanwhile: the holder we moved has lost the lock, and its write,
    // which checks the lock before it commits, will start over.
  }
  rmSync(aside, { recursive: true, force: true });
  return false;
}

function heldLock(path: string, token: string): HeldLock {
  return {
    path,
    token,
    held: () => tokenAt(path) === token,
    release() {
      heldHere.delete(token);
      try {
        if (tokenAt(path) === token) unlinkSync(path);
      } catch {
        // Already gone or taken over: nothing of ours to remove.
      }
    },
  };
}
