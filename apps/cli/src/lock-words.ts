/** Lock failures the CLI words itself: the library gives the code and the facts. */

/** The facts of a `LockError` as the CLI receives it (structurally, not by class). */
interface LockFacts {
  readonly name?: string;
  readonly code?: string;
  readonly key?: string;
  readonly expiresAt?: string;
  readonly fencingToken?: number;
}

const what = (key: string | undefined) => (key === undefined || key === '.' ? 'this project' : key);

/**
 * The words for a lock failure whose wording belongs to the CLI (it names commands), or undefined
 * to keep the library's message. KEY_LOST: the lease is yours, from this machine, but its key is
 * gone from the state folder (deleted, or restored from an older backup).
 */
export function lockErrorWords(e: LockFacts): string | undefined {
  if (e.name !== 'LockError') return undefined;
  switch (e.code) {
    case 'KEY_LOST':
      return `Your lock on ${what(e.key)}${e.fencingToken === undefined ? '' : ` (fencing token ${e.fencingToken})`} is still in the lock table until ${e.expiresAt ?? 'it expires'}, but this machine's key for it is missing from the state folder (was it deleted or restored from a backup?), so this machine can no longer renew or release it; run \`oxenvcs lock break --force\` to take it over, or wait until it expires.`;
    default:
      return undefined;
  }
}
