import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Grant } from '@oxvcs/locks';
import { type EnqueueRule, type EntryReason, type Facts, shortId } from '@oxvcs/queue';
import { EngineError } from '../errors.js';
import type { EngineReasonCode, Operation, OxvcsEntry } from './types.js';

/**
 * PROJECT_GONE when a queued entry's project folder is no longer an Oxen repository (deleted,
 * moved, a drive not mounted): the entry fails alone, whatever folder the sync was typed in.
 */
export function assertProjectThere(projectDir: string): void {
  if (projectDir && existsSync(join(projectDir, '.oxen'))) return;
  throw new EngineError(
    'PROJECT_GONE',
    `The project folder ${projectDir} is gone or is no longer an Oxen repository.`,
    { project: projectDir },
  );
}

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
  // What the CLI needs to say what to run next after a lock failure (the library names no command).
  'inLine',
  'force',
  'endedAgoMs',
  'freeForMs',
  'ticket',
] as const;

/** A reason of the engine's own: the compiler checks its code is one of {@link EngineReasonCode}. */
export const engineReason = (code: EngineReasonCode, facts: Facts): EntryReason<EngineReasonCode> => ({
  code,
  facts,
});

/** The reason stored with an entry whose run failed with one of the engine's own codes. */
export function failureReason(error: unknown): EntryReason<EngineReasonCode> | undefined {
  if (!(error instanceof EngineError)) return undefined;
  if (error.code === 'PROJECT_GONE') return { code: 'project-gone', facts: { project: error.project ?? '' } };
  if (error.code === 'INVALID_INPUT' && error.problem)
    return {
      code: 'invalid-input',
      facts: {
        field: error.field ?? '',
        problem: error.problem,
        ...(error.limit !== undefined ? { limit: error.limit } : {}),
      },
    };
  return undefined;
}

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
 * Collapse of an identical request: when the last entry of the lane (superseded ones aside) is the
 * same request (`same`), still pending, the new one replaces it: a push or pull acts on the branch
 * as it is when it runs, so one run does both, and the new entry keeps its own expiry and attempts.
 * Only the last one: with anything between them, even a finished entry (a failed acquisition the
 * older one waits behind), the later position may matter.
 */
export function collapseIntoLast(
  incoming: OxvcsEntry,
  lane: readonly OxvcsEntry[],
  same: (other: Operation) => boolean,
): EnqueueRule | undefined {
  const last = lane.findLast((e) => e.status !== 'superseded');
  if (last?.status !== 'pending' || !same(last.operation)) return undefined;
  return {
    outcome: 'collapsed',
    supersede: { ids: [last.id], reason: engineReason('replaced', { entry: shortId(incoming.id) }) },
  };
}
