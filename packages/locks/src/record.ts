import { clipServerText } from '@oxvcs/oxen';
import type { Waiter } from './line.js';

/** Lock vocabulary shared by the table, the manager and callers: who asks, leases, states, bounds. */

/** Who is asking. */
export interface Identity {
  readonly holder: string;
  readonly machineId: string;
}

/** Longest lease a record may carry: 30 days (the CLI's `--timeout` maximum is 720 hours). */
export const MAX_TTL_MS = 30 * 24 * 3_600_000;
/** Shortest lease the library grants: a second (the CLI asks for at least a minute). */
export const MIN_TTL_MS = 1000;
/** Longest free text (comment, break reason) a record may carry, in characters. */
export const MAX_TEXT = 500;
/** Longest identifier (holder, machine id, lock id, nonce, key) a record may carry. */
export const MAX_ID = 256;

/** A record's identifier: a non-empty string of at most {@link MAX_ID} characters, no control characters. */
export const isId = (v: unknown): v is string =>
  typeof v === 'string' &&
  v.length > 0 &&
  v.length <= MAX_ID &&
  // biome-ignore lint/suspicious/noControlCharactersInRegex: identifiers may not hold them
  !/[\u0000-\u001f\u007f-\u009f]/.test(v);

/** A record's optional time: absent, or a date string (at most 64 characters) that parses. */
export const isTime = (v: unknown): v is string | undefined =>
  v === undefined || (typeof v === 'string' && v.length <= 64 && Number.isFinite(Date.parse(v)));

/**
 * Free text from a record (comment, reason, author), made terminal-safe by the adapter's one
 * cleaner: escape sequences and control characters removed, one line, at most `max` characters.
 */
export function cleanText(value: string, max = MAX_TEXT): string {
  return clipServerText(value, max);
}

/**
 * A lease counts as over only this long after it ends on the server's clock: the `Date` header
 * has 1 s resolution and may lag by 1.5 s, and a takeover is confirmed on the commit clock anyway.
 */
export const EXPIRY_MARGIN_MS = 5_000;

/** A break of your lease, as the table still tells it after someone else took the lock. */
export interface YourBreak {
  /** Who broke it. */
  readonly by: string;
  /** Why, as they said. */
  readonly reason?: string;
  /** When (server time, ISO). */
  readonly at: string;
}

/**
 * The state of a lock as a user sees it, with who waits in line for it (live waiters on it and on
 * overlapping keys, first first) when anyone does.
 */
export type LockState = LockStateOnly & { readonly waiters?: readonly Waiter[] };

/** {@link LockState} without the line. */
export type LockStateOnly =
  | { readonly state: 'unlocked'; readonly key: string; readonly lastHolder?: string }
  | { readonly state: 'held-by-you'; readonly key: string; readonly lease: Lease }
  | {
      readonly state: 'held-by-other';
      readonly key: string;
      readonly lease: Lease;
      /** Your lease on this key was broken (by the holder or another) before this lease began. */
      readonly yourLeaseBroken?: YourBreak;
    }
  | {
      readonly state: 'expired';
      readonly key: string;
      readonly lease: Lease;
      readonly yours: boolean;
      /** As for `held-by-other`: your lease was broken before this (lapsed) one began. */
      readonly yourLeaseBroken?: YourBreak;
    }
  | {
      readonly state: 'broken';
      readonly key: string;
      readonly brokenBy: string;
      readonly reason?: string;
      readonly brokenAt: string;
    }
  | {
      readonly state: 'corrupt';
      readonly key: string;
      readonly ticket: number;
      /** Who made the unreadable record's commit (its author), when known. */
      readonly writtenBy?: string;
    };

/** A live or lapsed lease. */
export interface Lease {
  readonly key: string;
  readonly lockId: string;
  readonly holder: string;
  readonly machineId: string;
  readonly acquiredAt: string;
  readonly expiresAt: string;
  /** Last renewal (server time). */
  readonly lastHeartbeat: string;
  readonly ttlMs: number;
  readonly comment?: string;
  /** Last renewed by a keep-alive: its end keeps moving while the holder's machine is up. */
  readonly keptAlive?: true;
  readonly fencingToken: number;
  /** The top ticket number. */
  readonly ticket: number;
}
