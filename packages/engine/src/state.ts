import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EngineError } from './errors.js';

/** Reads a small JSON state file, or `fallback` when it does not exist. */
export function readState<T>(file: string, fallback: T): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    if (error instanceof SyntaxError) return fallback; // caches only: the remote is the truth
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

/** Writes a small JSON state file atomically (temp file + rename); `secret` files are mode 0600. */
export function writeState(file: string, value: unknown, secret = false): void {
  mkdirSync(dirname(file), { recursive: true, ...(secret ? { mode: 0o700 } : {}) });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2), secret ? { mode: 0o600 } : {});
  if (secret) chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** What we last knew of a lease we hold (a cache; the remote is the truth). */
export interface GrantNote {
  readonly fencingToken: number;
  readonly expiresAt: string;
  readonly holder: string;
  readonly ttlMs: number;
  readonly updatedAt: string;
}

/** Heartbeat health published by a running `lock heartbeat` (or the TUI) for other processes. */
export interface HeartbeatNote {
  readonly remote: string;
  readonly key: string;
  readonly state: 'healthy' | 'jeopardy' | 'lost' | 'stopped';
  readonly failures: number;
  readonly pid: number;
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
    breaker: join(stateDir, 'breaker.json'),
    heartbeat: join(stateDir, 'heartbeat.json'),
    heartbeats: join(stateDir, 'heartbeats'),
    lockKeys: join(stateDir, 'lock-keys'),
    chains: join(stateDir, 'chains'),
  };
}

/** `remote#key`, the index of grant notes. */
export const grantId = (remote: string, key: string) => `${remote}#${key}`;
