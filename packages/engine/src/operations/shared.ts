import type { Grant } from '@oxvcs/locks';
import { type EnqueueRule, type Facts, shortId } from '@oxvcs/queue';
import type { Operation, OxvcsEntry } from './types.js';

/** The last path segment of a POSIX or Windows path (`/music/My Song/` → `My Song`). */
export function lastSegment(dir: string): string {
  // Plain scanning: this runs for every row of a 1,000-entry `queue status` in a cold process,
  // where a regex split and two arrays per row cost milliseconds.
  let end = dir.length;
  while (end > 0 && (dir[end - 1] === '/' || dir[end - 1] === '\\')) end -= 1;
  const start = Math.max(dir.lastIndexOf('/', end - 1), dir.lastIndexOf('\\', end - 1)) + 1;
  return dir.slice(start, end) || dir;
}

/** `Album/Song 1` for a key inside the project, `Album` for the whole project (`.`). */
export const lockTarget = (op: { projectDir: string; key: string }) => {
  const project = lastSegment(op.projectDir);
  return op.key && op.key !== '.' ? `${project}/${op.key}` : project;
};

/** A grant is flat (strings, numbers, booleans), so it is kept whole as the entry's result. */
export const grantFacts = (g: Grant): Facts => ({ ...g });

/** Facts of a lock or Oxen failure worth keeping with a dead-lettered entry. */
const FACT_KEYS = [
  'holder',
  'acquiredAt',
  'expiresAt',
  'comment',
  'fencingToken',
  'status',
  'brokenBy',
  'reason',
  'heldKey',
] as const;

/** The facts of `error` a user may need (who holds the lock, until when, the HTTP status). */
export function errorFacts(error: unknown): Record<string, unknown> | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const facts: Record<string, unknown> = {};
  for (const key of FACT_KEYS) {
    const value = (error as Record<string, unknown>)[key];
    if (value !== undefined) facts[key] = value;
  }
  return facts;
}

/**
 * Collapse of an identical request: when the last pending entry of the lane asks for the same
 * thing (`same`), the new one adds nothing (a push or pull acts on the branch as it is when it
 * runs), so it is stored superseded by that entry. Only the last one: with anything between them,
 * the later position may matter (a lock taken or given back, a pull before the push).
 */
export function collapseIntoLast(
  pending: readonly OxvcsEntry[],
  same: (other: Operation) => boolean,
): EnqueueRule | undefined {
  const last = pending.at(-1);
  if (!last || !same(last.operation)) return undefined;
  return {
    outcome: 'collapsed',
    incoming: {
      status: 'superseded',
      supersededBy: last.id,
      reason: { code: 'same-as-queued', facts: { entry: shortId(last.id) } },
    },
  };
}
