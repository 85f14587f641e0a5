import { stripVTControlCharacters } from 'node:util';
import type { EntryReason, LockState } from '@oxvcs/engine';

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is matched
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// OSC / DCS / SOS / PM / APC strings in their C1 form (stripVTControlCharacters knows the 7-bit ones).
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is matched
const C1_STRINGS = /[\u0090\u0098\u009d-\u009f][\s\S]*?(?:\u0007|\u001b\\|\u009c|$)/g;

/**
 * Text from another user, a record, a server or the queue file made safe for the terminal: escape
 * sequences removed (a title change, a screen clear…), tabs and line breaks turned into spaces,
 * every other control character and bidirectional override removed. Ink writes text as it is.
 */
export function safe(text: string): string {
  CONTROLS.lastIndex = 0;
  if (!CONTROLS.test(text)) return text;
  CONTROLS.lastIndex = 0;
  return stripVTControlCharacters(text.replace(C1_STRINGS, '')).replace(CONTROLS, (c) =>
    c === '\t' || c === '\n' || c === '\r' ? ' ' : '',
  );
}

/** "45s", "5m", "2h 3m", "3d 4h". */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

/** Terminal-safe, then padded or truncated to exactly `width` characters. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  const clean = safe(text);
  if (clean.length <= width) return clean.padEnd(width);
  return `${clean.slice(0, Math.max(0, width - 1))}…`;
}

/** The lock line of the header (terminal-safe). */
export function lockLine(lock: LockState | undefined, now: number): string {
  if (!lock) return 'Lock: unknown';
  switch (lock.state) {
    case 'unlocked':
      return `Lock: free${lock.lastHolder ? ` (last: ${safe(lock.lastHolder)})` : ''}`;
    case 'held-by-you':
      return `Lock: YOURS, ${span(Date.parse(lock.lease.expiresAt) - now)} left (token ${lock.lease.fencingToken})`;
    case 'held-by-other':
      return `Lock: held by ${safe(lock.lease.holder)}, ${span(Date.parse(lock.lease.expiresAt) - now)} left${lock.lease.comment ? ` "${safe(lock.lease.comment)}"` : ''}`;
    case 'expired':
      return `Lock: expired ${span(now - Date.parse(lock.lease.expiresAt))} ago (${lock.yours ? 'yours' : safe(lock.lease.holder)})`;
    case 'broken':
      return `Lock: BROKEN by ${safe(lock.brokenBy)}${lock.reason ? `: ${safe(lock.reason)}` : ''}`;
    case 'corrupt':
      return `Lock: record invalid${lock.writtenBy ? ` (by ${safe(lock.writtenBy)})` : ''} (break with force)`;
  }
}

/**
 * The footer's key hints, fitted to `width`: the least used hints go first, so `? help` and
 * `q quit` are always shown (the status on the left is shortened last).
 */
export function footer(status: string, syncing: boolean, width: number): string {
  const hints = [
    syncing ? 'x cancel' : 's sync',
    'r retry',
    'l lock',
    'd remove',
    'c clear',
    '/ filter',
    '? help',
    'q quit',
  ];
  // Dropped first to last when the line is too long.
  const dropOrder = ['c clear', '/ filter', 'd remove', 'l lock', 'r retry'];
  const line = (shown: string[]) => `${status} · ${shown.join(' · ')}`;
  let shown = hints;
  for (const hint of dropOrder) {
    if (line(shown).length <= width) break;
    shown = shown.filter((h) => h !== hint);
  }
  const tail = ` · ${shown.join(' · ')}`;
  if (status.length + tail.length <= width) return `${status}${tail}`;
  const room = width - tail.length;
  return room > 1 ? `${status.slice(0, room - 1)}…${tail}` : tail.slice(3).slice(-width);
}

/** Why an entry has its status, in the TUI's short words (the queue stores a code and facts). */
export function reasonText(reason: EntryReason | undefined): string {
  if (!reason) return '';
  const f = reason.facts ?? {};
  const fact = (name: string) => safe(String(f[name] ?? ''));
  switch (reason.code) {
    case 'will-retry':
      return `will retry: ${fact('reason')}`;
    case 'gave-up':
      return `gave up after ${fact('attempts')} attempts: ${fact('reason')}`;
    case 'failed':
    case 'note':
      return fact(reason.code === 'note' ? 'text' : 'reason');
    case 'expired':
      return `expired at ${fact('expiresAt')} before it could run`;
    case 'interrupted':
      return 'interrupted; the remote is checked before it is replayed';
    case 'cancelled-by-release':
      return `cancelled by release ${fact('entry')}`;
    case 'cancelled-with-acquire':
      return `cancelled with the pending acquisition ${fact('entry')}`;
    case 'same-as-queued':
      return `not needed: ${fact('entry')} does the same`;
    case 'lease-ended':
      return `the lease ended at ${fact('at')}`;
    default:
      return safe(reason.code);
  }
}
