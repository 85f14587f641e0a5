import { awayFile, whileAway as unseen } from '../away.js';
import type { LocalVerb } from '../core.js';

// The queue verbs: the queue as it stands on this machine (none loads the network half), and what
// failed while the user was away.

/** `Engine.queueStatus`. */
export const queueStatus: LocalVerb<'queueStatus'> = async (c, o = {}) => {
  const root = o.allProjects ? undefined : c.rootIfAny();
  const view = await c.getQueue().overview({
    ...(root ? { scope: root } : {}),
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
  });
  return {
    stats: view.stats,
    entries: [...view.entries],
    scope: root ? { projectDir: root } : ('all' as const),
    others: view.elsewhere,
    omitted: view.omitted,
  };
};

/** `Engine.queueRemove`. */
export const queueRemove: LocalVerb<'queueRemove'> = (c, id) => c.getQueue().remove(id);

/** `Engine.queueRetry`. */
export const queueRetry: LocalVerb<'queueRetry'> = (c, id) => c.getQueue().retry(id);

/** `Engine.queueClear`. */
export const queueClear: LocalVerb<'queueClear'> = async (c, o) => {
  const root = o.allProjects ? undefined : c.rootIfAny();
  if (!root) return o.all ? c.getQueue().clearAll() : c.getQueue().clearDone();
  return c.getQueue().clear({ scope: root, all: o.all });
};

/** `Engine.whileAway`. */
export const whileAway: LocalVerb<'whileAway'> = (c, o = {}) =>
  unseen({ queue: c.getQueue(), file: awayFile(c.stateDir), ...(o.shown ? { shown: o.shown } : {}) });
