import { type Grant, LockError, type LockManager } from '@oxvcs/locks';
import {
  type OxenCli,
  OxenError,
  type OxenHub,
  readRepositoryRemote,
  type TransferProgress,
} from '@oxvcs/oxen';
import type { Executors, Operation } from '@oxvcs/queue';
import type { GrantNote } from './state.js';

/** What the executors need from the engine. */
export interface ExecutorDeps {
  hubFor(remoteUrl: string): OxenHub;
  /** The lock manager for a remote, as `holder` (default: this user). */
  locksFor(remoteUrl: string, holder?: string): LockManager;
  cliFor(projectDir: string): OxenCli;
  grant(remote: string, key: string): GrantNote | undefined;
  noteGrant(remote: string, key: string, grant: Grant | undefined): void;
  /** Progress of a push or pull, as oxen reports it. */
  progress?(op: Operation, progress: TransferProgress): void;
}

/** The name of `remoteUrl` in the project's Oxen config (the CLI pushes to names, not URLs). */
export function remoteNameFor(projectDir: string, remoteUrl: string): string {
  const configured = readRepositoryRemote(projectDir);
  if (configured.url.replace(/\/+$/, '') === remoteUrl.replace(/\/+$/, '')) return configured.name;
  throw new OxenError(
    'NO_REMOTE',
    `${remoteUrl} is not the remote configured in ${projectDir}; add it with: oxen config --set-remote origin ${remoteUrl}`,
  );
}

/** A grant is flat (strings, numbers, booleans), so it is kept whole as the entry's result. */
const grantFacts = (g: Grant): Record<string, string | number | boolean> => ({ ...g });

/**
 * Executors for every queued kind, used for direct runs and replays alike. Each runs against the
 * operation's own project and remote; `verifyFirst` (a replay after an interruption, or a retry)
 * checks the remote's real state before acting; a push refuses to run under a lock we no longer hold.
 */
export function createExecutors(deps: ExecutorDeps): Executors {
  return {
    async 'acquire-lock'(op, ctx) {
      // The nonce makes the manager recognise a grant an interrupted attempt already obtained.
      const grant = await deps.locksFor(op.remote, op.holder).acquire(op.key, {
        ttlMs: op.ttlMs,
        nonce: ctx.entry.idempotencyKey,
        signal: ctx.signal,
        ...(op.comment ? { comment: op.comment } : {}),
      });
      deps.noteGrant(op.remote, op.key, grant);
      return grantFacts(grant);
    },
    async 'renew-lock'(op, ctx) {
      const token = op.fencingToken ?? deps.grant(op.remote, op.key)?.fencingToken;
      const grant = await deps.locksFor(op.remote, op.holder).renew(op.key, {
        ttlMs: op.ttlMs,
        nonce: ctx.entry.idempotencyKey,
        signal: ctx.signal,
        ...(token !== undefined ? { fencingToken: token } : {}),
      });
      deps.noteGrant(op.remote, op.key, grant);
      return grantFacts(grant);
    },
    async 'release-lock'(op, ctx) {
      const token = op.fencingToken ?? deps.grant(op.remote, op.key)?.fencingToken;
      const result = await deps.locksFor(op.remote, op.holder).release(op.key, {
        nonce: ctx.entry.idempotencyKey,
        signal: ctx.signal,
        ...(token !== undefined ? { fencingToken: token } : {}),
      });
      deps.noteGrant(op.remote, op.key, undefined);
      return { released: result.released, was: result.previous.state };
    },
    async push(op, ctx) {
      const key = op.lockKey ?? '.';
      const locks = deps.locksFor(op.remote);
      // Anyone else's live lease on this key, a folder containing it, or one inside it blocks the
      // push: a push of the project would carry a change to a folder someone else is editing.
      const [blocker] = await locks.blockers(key, { signal: ctx.signal });
      if (blocker) {
        const what = (k: string) => (k === '.' ? 'this project' : k);
        throw new LockError(
          'HELD',
          `Not pushing: ${blocker.holder} holds the lock on ${what(blocker.key)} until ${blocker.expiresAt}; pushing could overwrite their work.`,
          {
            key,
            holder: blocker.holder,
            expiresAt: blocker.expiresAt,
            ...(blocker.key !== key ? { heldKey: blocker.key } : {}),
          },
        );
      }
      if (op.fencingToken !== undefined)
        await locks.assertFencing(key, op.fencingToken, { signal: ctx.signal });
      const cli = deps.cliFor(op.projectDir);
      if (ctx.verifyFirst) {
        const [local] = await cli.log(1, op.branch);
        const remote = await deps.hubFor(op.remote).findBranch(op.branch, { signal: ctx.signal });
        if (local && remote?.commit_id === local.id) return { upToDate: true, commit: local.id };
      }
      const result = await cli.push(remoteNameFor(op.projectDir, op.remote), op.branch, {
        signal: ctx.signal,
        onProgress: (p) => deps.progress?.(op, p),
      });
      return { upToDate: result.upToDate, ...(result.commit ? { commit: result.commit } : {}) };
    },
    async pull(op, ctx) {
      await deps.cliFor(op.projectDir).pull(remoteNameFor(op.projectDir, op.remote), op.branch, {
        signal: ctx.signal,
        onProgress: (p) => deps.progress?.(op, p),
      });
      return { pulled: op.branch };
    },
    async 'sync-comments'(op, ctx) {
      // Review comments live in the repository. Fetch only their branch: a plain `oxen fetch`
      // downloads every remote branch, lock tickets and scratch branches included, and fails when
      // a ticket is cleaned up mid-fetch (audit #3).
      const cli = deps.cliFor(op.projectDir);
      const current = await cli.currentBranch();
      const branch = op.branch ?? current;
      if (!branch) return { fetched: false, reason: 'HEAD is detached and the operation names no branch' };
      if (branch !== current) {
        await cli.fetch({ branch, signal: ctx.signal });
        return { fetched: true, branch };
      }
      // `oxen fetch -b B` points the local branch B at the remote's head and leaves the files as
      // they are: on the checked-out branch that would strand the working copy (local commits
      // dropped from the branch, or the remote's changes showing as local reverts). So it is never
      // fetched: equal heads leave nothing to download, different ones are pull's job.
      const remote = await deps.hubFor(op.remote).findBranch(branch, { signal: ctx.signal });
      if (!remote) return { fetched: false, branch, reason: 'the branch is not on the remote' };
      const [local] = await cli.log(1, branch);
      if (local?.id === remote.commit_id) return { fetched: true, branch, upToDate: true };
      return {
        fetched: false,
        branch,
        reason: 'the checked-out branch differs from the remote; pull updates it',
      };
    },
  };
}
