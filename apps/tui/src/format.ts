import type { LockState } from '@oxvcs/engine';

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

/** Pads or truncates to exactly `width` characters. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text.padEnd(width);
  return `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** The lock line of the header. */
export function lockLine(lock: LockState | undefined, now: number): string {
  if (!lock) return 'Lock: unknown';
  switch (lock.state) {
    case 'unlocked':
      return `Lock: free${lock.lastHolder ? ` (last: ${lock.lastHolder})` : ''}`;
    case 'held-by-you':
      return `Lock: YOURS, ${span(Date.parse(lock.lease.expiresAt) - now)} left (token ${lock.lease.fencingToken})`;
    case 'held-by-other':
      return `Lock: held by ${lock.lease.holder}, ${span(Date.parse(lock.lease.expiresAt) - now)} left${lock.lease.comment ? ` "${lock.lease.comment}"` : ''}`;
    case 'expired':
      return `Lock: expired (${lock.yours ? 'yours' : lock.lease.holder})`;
    case 'broken':
      return `Lock: BROKEN by ${lock.brokenBy}${lock.reason ? `: ${lock.reason}` : ''}`;
    case 'corrupt':
      return `Lock: record invalid${lock.writtenBy ? ` (by ${lock.writtenBy})` : ''} (break with force)`;
  }
}
