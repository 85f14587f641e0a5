import type { OxvcsEntry } from './types.js';

/**
 * An acquisition of lock `key` on `remote` waits among `entries` (a project's pending and running
 * entries): see {@link carriedGrant}.
 */
export const acquisitionWaits = (entries: readonly OxvcsEntry[], remote: string, key: string): boolean =>
  entries.some(
    (e) =>
      e.operation.kind === 'acquire-lock' &&
      e.operation.key === key &&
      e.operation.remote === remote &&
      (e.status === 'pending' || e.status === 'running'),
  );

/**
 * The grant a release, renewal or push of lock `key` carries (its fencing token): the one this
 * machine noted, unless an acquisition of the same lock waits in the project's queue. Behind a
 * queued acquisition it carries none: it acts on the lease that acquisition will be granted (the
 * queue holds it back if the acquisition fails), not on the last one noted, which may have ended
 * long ago.
 */
export const carriedGrant = <N>(
  entries: readonly OxvcsEntry[],
  remote: string,
  key: string,
  note: N | undefined,
): N | undefined => (acquisitionWaits(entries, remote, key) ? undefined : note);
