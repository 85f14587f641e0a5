import type { QueueEntry, Waiter, WaitProgress } from '@oxvcs/engine';
import { UsageError } from 'clipanion';
import { safeText, span } from './output.js';

/** Waiting in line for a lock, in words: the progress of `lock acquire --wait` and the line in `lock status`. */

/** 1st, 2nd, 3rd, 4th, 11th, 21st… */
export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix =
    tens >= 11 && tens <= 13 ? 'th' : n % 10 === 1 ? 'st' : n % 10 === 2 ? 'nd' : n % 10 === 3 ? 'rd' : 'th';
  return `${n}${suffix}`;
}

/** A local clock time: `12:10` today, else `2026-12-05 12:10`. */
export function clockTime(iso: string, now = Date.now()): string {
  const d = new Date(iso);
  if (!Number.isFinite(d.getTime())) return safeText(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return d.toDateString() === new Date(now).toDateString()
    ? time
    : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** The holder's name as people say it: `ada@laptop` → `ada`. */
const person = (holder: string) => safeText(holder.split('@')[0] || holder);

/** "Bob is waiting since 12:10 (1st in line)"; "you" for your own place. */
export function waiterLine(w: Waiter, me: { holder: string; machineId: string }, now = Date.now()): string {
  const mine = w.holder === me.holder && w.machineId === me.machineId;
  const who = mine ? 'You are' : `${person(w.holder)} is`;
  const on = w.key === '.' ? '' : ` for ${safeText(w.key)}`;
  return `${who} waiting${on} since ${clockTime(w.since, now)} (${ordinal(w.position)} in line)`;
}

/** "Waiting behind Ada (held since 12:10); you are 1st in line" */
export function waitingLine(p: WaitProgress, now = Date.now()): string {
  if (p.type === 'unreachable')
    return `Waiting in line; the remote cannot be reached right now (${safeText(p.reason)}), trying again`;
  const place = `you are ${ordinal(p.position)} in line`;
  if (!p.holder) {
    const first = p.waiters[0];
    return first && p.position > 1
      ? `Waiting behind ${person(first.holder)} (in line since ${clockTime(first.since, now)}); ${place}`
      : `Waiting for the lock; ${place}`;
  }
  const folder = p.heldKey
    ? `, who holds ${p.heldKey === '.' ? 'the whole project' : safeText(p.heldKey)}`
    : '';
  return `Waiting behind ${person(p.holder)}${folder} (held since ${p.heldSince ? clockTime(p.heldSince, now) : 'earlier'}); ${place}`;
}

/** "after waiting 3m" */
export const waitedWords = (ms: number) => `after waiting ${span(ms)}`;

/**
 * `--max-wait`: `90s`, `30m`, `2h`, `1h30m`, or a plain number of minutes. At most 30 days.
 * Returns milliseconds.
 */
export function parseWait(value: string, flag = '--max-wait'): number {
  const text = value.trim().toLowerCase();
  let ms: number | undefined;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 60_000;
  else {
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(d|h|m|s)/g)];
    if (parts.length > 0 && parts.map((m) => m[0]).join('') === text) {
      const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;
      ms = parts.reduce((sum, m) => sum + Number(m[1]) * unit[m[2] as keyof typeof unit], 0);
    }
  }
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0 || ms > 30 * 86_400_000) {
    throw new UsageError(
      `${flag} must be a duration from 1s to 30d such as 90s, 30m, 2h or 1h30m (a plain number is minutes); got "${safeText(value)}"`,
    );
  }
  return Math.round(ms);
}

/** A queued acquisition that waited in line and is now done: its turn came during a sync. */
export const grantedAfterWaiting = (entry: QueueEntry): boolean =>
  entry.status === 'done' && entry.operation.kind === 'acquire-lock' && entry.lastError?.code === 'WAITING';

/** The lock's name in a notification: the project folder's name, or the key of a folder lock. */
export const lockName = (p: { root: string; key: string }) =>
  safeText(p.key === '.' ? (p.root.split(/[\\/]/).filter(Boolean).pop() ?? p.root) : p.key);
