import type { QueueEntry } from '@oxvcs/engine';
import { shortId } from '@oxvcs/engine';
import { type Describe, entryReason } from './render.js';

/** How many entries the report names one by one; the rest are counted. */
export const AWAY_NAMED = 5;

/** One line of the report, and the mark it is shown with. */
export interface AwayLine {
  readonly mark: 'fail' | 'warn' | 'info';
  readonly text: string;
}

/** What to do about an entry that failed or expired while the user was away. */
function advice(entry: QueueEntry): string {
  const id = shortId(entry.id);
  // The reason already says what to do: a renewal no longer needed (see `entryReason`). Decided by
  // the codes, never by the text, which may quote another user's comment.
  const codes = [entry.lastError?.code, ...(entry.lastError?.chain ?? []).map((l) => l.code)];
  if (entry.operation.kind === 'renew-lock' && entry.status === 'failed' && codes.includes('STALE_TOKEN'))
    return '';
  if (entry.status === 'expired' && entry.operation.kind === 'renew-lock')
    return ` — take the lock again with \`oxenvcs lock acquire\` there if you still need it, and remove this entry with \`oxenvcs queue remove ${id}\``;
  return ` — retry it with \`oxenvcs queue retry ${id}\` or remove it with \`oxenvcs queue remove ${id}\``;
}

/**
 * The report of queued operations that failed or expired while the user was away: one line per
 * entry (what, its id, why, what to do), at most {@link AWAY_NAMED}, then a count of the rest.
 * Terminal-safe: the description and the reason are (`describe`, {@link entryReason}).
 */
export function awayLines(entries: readonly QueueEntry[], describe: Describe, now = Date.now()): AwayLine[] {
  const lines = entries.slice(0, AWAY_NAMED).map((e): AwayLine => {
    const failed = e.status === 'failed';
    const reason = entryReason(e, failed ? 'failed' : 'too old to run', now).replace(/\.$/, '');
    return {
      mark: failed ? 'fail' : 'warn',
      text: `${failed ? 'Failed' : 'Expired'} while you were away: ${describe(e)} (${shortId(e.id)}): ${reason}${advice(e)}`,
    };
  });
  const rest = entries.length - lines.length;
  if (rest > 0)
    lines.push({
      mark: 'info',
      text: `…and ${rest} more failed or expired while you were away; \`oxenvcs queue status --all-projects\` lists them.`,
    });
  return lines;
}
