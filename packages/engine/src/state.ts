import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NOT_A_FILE_NAMES, readText, replaceFile, StateFileError } from '@oxvcs/durable';
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
  readonly expiresAt: string;
  readonly holder: string;
  readonly ttlMs: number;
  readonly updatedAt: string;
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
