import type { Verb } from '../session.js';
import { grantId } from '../state.js';

// The transfer verbs: send and fetch commits, and record a take as commits that resume.

/** `Engine.push`. */
export const push: Verb<'push'> = async (s, typed) => {
  const { p, branch } = await s.transferTarget(typed);
  // Fenced by the grant we hold now (none behind a queued acquisition: see `carriedGrant`).
  const note = await s.grantToCarry(p, s.grants()[grantId(p.remote.url, p.key)]);
  return s.runOrQueue({
    kind: 'push',
    projectDir: p.root,
    remote: p.remote.url,
    branch,
    lockKey: p.key,
    ...(note ? { fencingToken: note.fencingToken } : {}),
  });
};

/** `Engine.pull`. */
export const pull: Verb<'pull'> = async (s, typed) => {
  const { p, branch } = await s.transferTarget(typed);
  return s.runOrQueue({ kind: 'pull', projectDir: p.root, remote: p.remote.url, branch });
};

/** `Engine.commitTake`. */
export const commitTake: Verb<'commitTake'> = async (s, o) => {
  const p = s.getProject();
  const { commitTake: record } = await import('../record-take.js');
  return record(
    { cli: s.cliFor(p.root), locks: s.locksFor(p.remote.url), root: p.root, key: p.key },
    { message: o.message, partBytes: o.partBytes ?? s.getConfig().transfer.part_size_mb * 1e6 },
  );
};
