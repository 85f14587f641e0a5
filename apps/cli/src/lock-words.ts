/** Lock failures the CLI words itself: the library gives the code and the facts. */

/** The facts of a `LockError` as the CLI receives it (structurally, not by class). */
interface LockFacts {
  readonly name?: string;
  readonly code?: string;
  readonly message?: string;
  readonly key?: string;
  readonly expiresAt?: string;
  readonly fencingToken?: number;
  readonly brokenBy?: string;
  readonly ticket?: string;
  readonly inLine?: boolean;
  readonly force?: boolean;
  readonly endedAgoMs?: number;
  readonly freeForMs?: number;
}

const what = (key: string | undefined) => (key === undefined || key === '.' ? 'this project' : key);

/**
 * What to run next after a lock failure, by its code and facts (the library names no command),
 * with its separator; '' when the library's sentence is complete.
 */
function nextStep(e: LockFacts): string {
  switch (e.code) {
    case 'HELD':
      if (e.inLine) return '; wait your turn with `oxenvcs lock acquire --wait`';
      if (!e.force) return '';
      return e.endedAgoMs === undefined
        ? '; pass --force to break it anyway'
        : ': break it then, or pass --force now';
    case 'CORRUPT_RECORD':
      return '; replace it with `oxenvcs lock break --force`';
    case 'TABLE_FULL':
      // A full line: nothing to release, only to wait until someone ahead is done.
      if (e.inLine) return '; try again once someone in it has had their turn or left';
      return '; release locks nobody needs (`oxenvcs lock list`) or use shorter comments';
    case 'LOST':
      if (e.freeForMs !== undefined) return '; run `oxenvcs lock acquire` to take it again';
      return e.ticket === undefined ? '' : '; run `oxenvcs lock status` and try again';
    default:
      return '';
  }
}

/**
 * The words for a lock failure whose wording belongs to the CLI (it names commands), or undefined
 * to keep the library's message. KEY_LOST: the lease is yours, from this machine, but its key is
 * gone from the state folder (deleted, or restored from an older backup). Others: the library's
 * sentence of facts, then what to run next.
 */
export function lockErrorWords(e: LockFacts): string | undefined {
  if (e.name !== 'LockError') return undefined;
  if (e.code === 'KEY_LOST')
    return `Your lock on ${what(e.key)}${e.fencingToken === undefined ? '' : ` (fencing token ${e.fencingToken})`} is still in the lock table until ${e.expiresAt ?? 'it expires'}, but this machine's key for it is missing from the state folder (was it deleted or restored from a backup?), so this machine can no longer renew or release it; run \`oxenvcs lock break --force\` to take it over, or wait until it expires.`;
  const next = nextStep(e);
  return next && typeof e.message === 'string' ? `${e.message.replace(/[.;:]?$/, '')}${next}.` : undefined;
}
