import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import {
  checkProcess,
  identify,
  NOT_A_FILE_NAMES,
  type ProcessCheck,
  type ProcessIdentity,
  readText,
  replaceFile,
  StateFileError,
  writeAll,
} from '@oxvcs/durable';
import type { LockState } from '@oxvcs/locks';
import { EngineError } from './errors.js';

/** Reads a small JSON state file, or `fallback` when it does not exist. */
export function readState<T>(file: string, fallback: T): T {
  try {
    const text = readText(file);
    return text === undefined ? fallback : (JSON.parse(text) as T);
  } catch (error) {
    if (error instanceof SyntaxError) return fallback; // caches only: the remote is the truth
    if (error instanceof StateFileError) throw stateNotAFile(error);
    throw new EngineError(
      'STATE_UNREADABLE',
      `Cannot read ${file}: ${(error as Error).message}; check its permissions.`,
      {
        cause: error,
        file,
      },
    );
  }
}

/**
 * Writes a small JSON state file whole or not at all (see `replaceFile`: a full disk throws
 * ENOSPC and leaves the previous version); `secret` files are mode 0600 in a 0700 folder.
 */
export function writeState(file: string, value: unknown, secret = false): void {
  mkdirSync(dirname(file), { recursive: true, ...(secret ? { mode: 0o700 } : {}) });
  try {
    replaceFile(file, JSON.stringify(value, null, 2), secret ? { mode: 0o600 } : {});
  } catch (error) {
    throw error instanceof StateFileError ? stateNotAFile(error) : error;
  }
}

/**
 * Changes a small JSON state file that several processes share (grant notes, the breaker, lock
 * notes): read, `change`, and write whole (`writeState`), under a lock file beside it
 * (`<file>.lock`, created exclusively and naming its holder), so that two commands noting
 * different locks at once both keep their note. Errors are those of `writeState`.
 */
export function updateState<T>(file: string, fallback: T, change: (current: T) => T): void {
  mkdirSync(dirname(file), { recursive: true });
  const release = holdStateLock(`${file}.lock`);
  try {
    writeState(file, change(readState(file, fallback)));
  } finally {
    release();
  }
}

/** A state-file lock held this long is taken over: its read-modify-write takes milliseconds. */
export const STATE_LOCK_STALE_MS = 10_000;

/** What a process finds in a state file's lock: who holds it (if it says), and for how long. */
export interface StateLockFacts {
  /** The holder the lock file names; absent when it names none (being written, or foreign). */
  readonly holder?: ProcessIdentity;
  /** How long the lock file has existed, ms. */
  readonly ageMs: number;
  /** This machine's host name. */
  readonly host: string;
  /** The holder's process, checked by identity (only asked for a holder on this host). */
  readonly processOf: (holder: ProcessIdentity) => ProcessCheck;
}

/**
 * Whether to wait for a state file's lock or take it over (pure): a holder on this host whose
 * process is gone is taken over at once; any lock held longer than {@link STATE_LOCK_STALE_MS}
 * (a holder stopped or on another machine) after that.
 */
export function stateLockVerdict(facts: StateLockFacts): 'wait' | 'take-over' {
  if (facts.holder && facts.holder.host === facts.host && facts.processOf(facts.holder) === 'gone')
    return 'take-over';
  return facts.ageMs > STATE_LOCK_STALE_MS ? 'take-over' : 'wait';
}

const HOST = hostname();
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Takes a state file's lock (synchronously: the callers are synchronous); returns its release. */
function holdStateLock(lock: string): () => void {
  const mine = JSON.stringify(identify());
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(lock, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (fd !== undefined) {
      try {
        writeAll(fd, mine);
      } finally {
        closeSync(fd);
      }
      return () => rmSync(lock, { force: true });
    }
    let facts: { holder?: ProcessIdentity; ageMs: number };
    let seen: number;
    try {
      const stat = statSync(lock);
      seen = stat.ino;
      const ageMs = Date.now() - stat.mtimeMs;
      let holder: ProcessIdentity | undefined;
      try {
        holder = JSON.parse(readFileSync(lock, 'utf8')) as ProcessIdentity;
      } catch {
        // Being written, or not ours: judged by its age alone.
      }
      facts = { ageMs, ...(holder && typeof holder.pid === 'number' ? { holder } : {}) };
    } catch {
      continue; // released meanwhile: try again at once
    }
    if (stateLockVerdict({ ...facts, host: HOST, processOf: checkProcess }) === 'take-over') {
      // Only the lock judged: another process may have taken it over and made its own meanwhile.
      try {
        if (statSync(lock).ino === seen) rmSync(lock, { force: true });
      } catch {
        // Gone already.
      }
      continue;
    }
    Atomics.wait(pause, 0, 0, 5);
  }
}

/** A state path that holds a FIFO, a folder, a device or a link: said at once, never blocked on. */
export function stateNotAFile(error: StateFileError): EngineError {
  return new EngineError(
    'STATE_NOT_A_FILE',
    `${error.file} is ${NOT_A_FILE_NAMES[error.kind]}, not a regular file; move it away${error.kind === 'symlink' ? ' (state files must be regular files; to keep the state elsewhere, set OXENVCS_HOME)' : ''}, then run again.`,
    { cause: error, file: error.file },
  );
}

/** What we last knew of a lease we hold (a cache; the remote is the truth). */
export interface GrantNote {
  readonly fencingToken: number;
  /** When the lease ends, on the remote's clock. */
  readonly expiresAt: string;
  readonly holder: string;
  readonly ttlMs: number;
  readonly updatedAt: string;
  /**
   * When the lease ends on this machine's clock, as far as this machine can tell: the earlier of
   * `expiresAt` and the note's own time plus what the remote said was left of the lease (its end
   * minus its last renewal). Offline judgements use it (see {@link noteEndsMs}): a clock a week
   * behind would otherwise keep a lease that ended "live" for a week. Notes written by older
   * versions lack it.
   */
  readonly localEndsAt?: string;
}

/**
 * When a noted lease ends, in ms on this machine's clock: its `localEndsAt`, or its `expiresAt`
 * for a note written without one. NaN when the note holds no time.
 */
export function noteEndsMs(note: Pick<GrantNote, 'expiresAt' | 'localEndsAt'>): number {
  return Date.parse(note.localEndsAt ?? note.expiresAt);
}

/**
 * The {@link GrantNote.localEndsAt} of a lease noted now (`nowMs`, this machine's clock). Never
 * later than `expiresAt`: a grant read back long after its renewal (a lost answer resolved later)
 * has less left than its renewal said, and a clock running ahead can only make the lease look
 * shorter, the safe side.
 */
export function localEnd(lease: { expiresAt: string; lastHeartbeat: string }, nowMs: number): string {
  const end = Date.parse(lease.expiresAt);
  const left = end - Date.parse(lease.lastHeartbeat);
  if (!Number.isFinite(end)) return lease.expiresAt;
  return new Date(Number.isFinite(left) ? Math.min(end, nowMs + Math.max(0, left)) : end).toISOString();
}

/** The lock as this machine last read it from the remote (anyone's), for `lock status` offline. */
export interface SeenNote {
  readonly state: LockState;
  /** When it was read (this machine's clock). */
  readonly at: string;
}

/** Heartbeat health published by a running `lock heartbeat` (or the TUI) for other processes. */
export interface HeartbeatNote {
  readonly remote: string;
  readonly key: string;
  readonly state: 'healthy' | 'jeopardy' | 'lost' | 'stopped';
  readonly failures: number;
  /** The keep-alive process: pid, host and start time (`@oxvcs/durable`; older notes: pid only). */
  readonly pid: number;
  readonly host?: string;
  readonly start?: string;
  readonly updatedAt: string;
  readonly expiresAt?: string;
  /** Why it stopped (`lost`: broken, taken over, or the lease ended before a renewal got through). */
  readonly reason?: string;
  /** When the next renewal is due (a running keep-alive in good health). */
  readonly nextRenewalAt?: string;
  /** When the holder last saw this note (a lost keep-alive is reported once). */
  readonly seenAt?: string;
}

/** The engine's state files under the state directory. */
export function stateFiles(stateDir: string) {
  return {
    queue: join(stateDir, 'queue.json'),
    grants: join(stateDir, 'grants.json'),
    seen: join(stateDir, 'lock-seen.json'),
    breaksSeen: join(stateDir, 'breaks-seen.json'),
    breaker: join(stateDir, 'breaker.json'),
    heartbeat: join(stateDir, 'heartbeat.json'),
    heartbeats: join(stateDir, 'heartbeats'),
    lockKeys: join(stateDir, 'lock-keys'),
    chains: join(stateDir, 'chains'),
  };
}

/** `remote#key`, the index of grant notes. */
export const grantId = (remote: string, key: string) => `${remote}#${key}`;
