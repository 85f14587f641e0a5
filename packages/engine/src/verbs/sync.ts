import { previewRun } from '@oxvcs/queue';
import { RULES } from '../operations/index.js';
import type { Verb } from '../session.js';

// The sync verbs: whether the remote answers, and replaying the queue.

/** `Engine.connectivity`. */
export const connectivity: Verb<'connectivity'> = (s, force) => s.connectivity(force);

/** `Engine.sync`. */
export const sync: Verb<'sync'> = async (s, o = {}) => {
  const root = o.allProjects ? undefined : s.projectIfAny()?.root;
  const all = await s.getQueue().list();
  const entries = root ? all.filter((e) => e.operation.projectDir === root) : all;
  // One project: its remote's connectivity first. Every project: the runner judges each
  // remote on its own, so one remote that is down never holds back another.
  const conn = root ? await s.connectivity(true) : undefined;
  if (o.dryRun) {
    return {
      ...(conn ? { connectivity: conn } : {}),
      preview: previewRun(RULES, entries, Date.now(), { force: o.force ?? true }),
    };
  }
  if (conn?.state === 'offline') return { connectivity: conn };
  return {
    ...(conn ? { connectivity: conn } : {}),
    summary: await s.runSync(o.signal, o.force ?? true, root),
  };
};
