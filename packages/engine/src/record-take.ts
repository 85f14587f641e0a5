import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LockManager } from '@oxvcs/locks';
import { claimTransfer, type OxenCli } from '@oxvcs/oxen';
import { classify, isRetryable } from '@oxvcs/retry';
import { EngineError } from './errors.js';
import { refuseWhileHeld } from './operations/push.js';
import {
  cutOffAt,
  filesUnder,
  loadTake,
  partMessage,
  planTake,
  saveTake,
  type TakeFile,
  type TakePart,
} from './take.js';

/** What `commitTake` recorded. */
export interface TakeReport {
  readonly message: string;
  readonly partBytes: number;
  /** The commits, first to last (the project document is in the last). */
  readonly parts: ReadonlyArray<TakePart & { readonly commit: string; readonly message: string }>;
  readonly bytes: number;
  readonly files: number;
  /** Parts holding a single file over the part size: a push cut inside one re-sends it whole. */
  readonly oversized: readonly number[];
  /** The lock could not be checked (the remote unreachable): the take was recorded anyway. */
  readonly lockUnchecked?: boolean;
  /**
   * Paths oxen lists as changed that are not on disk as listed (a name with a line break shows on
   * two lines), or new files deleted while the take was recorded: not in the take.
   */
  readonly leftOut?: readonly string[];
  /**
   * Nothing was left to record of a take cut off while recorded (the branch ends at its `part` of
   * `parts`): it now ends there, so a push sends it. No commit was made (`parts` is empty).
   */
  readonly ended?: { readonly part: number; readonly parts: number };
}

/** Paths passed to one `oxen add` (argument lists stay well under the system's limit). */
const ADD_BATCH = 100;

/**
 * Stages the project's changes and records them as size-bounded commits, `MSG (part i of n)`,
 * the project document last; refused (LockError HELD) while someone else holds a lock covering
 * `key`. Changes staged before are part 1, as they are. The record is noted before the first
 * commit and after each (a take cut off is refused by push until recorded whole); run again with
 * the same message and nothing left to record, it ends such a take where it was cut (`ended`).
 * Offline, the lock cannot be read: committing is local and the push is checked again when it
 * runs, so the take is recorded.
 */
export async function commitTake(
  deps: { readonly cli: OxenCli; readonly locks: LockManager; readonly root: string; readonly key: string },
  options: { readonly message: string; readonly partBytes: number; readonly signal?: AbortSignal },
): Promise<TakeReport> {
  // One take, push or pull at a time in a working copy (OxenError TRANSFER_IN_PROGRESS otherwise):
  // two takes recorded at once would interleave their parts, and a push would note its progress in
  // a take record being rewritten. A take killed midway leaves a claim whose process is gone,
  // which the next one replaces.
  const claim = claimTransfer(deps.root, 'commit');
  try {
    return await recordTake(deps, options);
  } finally {
    claim?.release();
  }
}

async function recordTake(
  deps: { readonly cli: OxenCli; readonly locks: LockManager; readonly root: string; readonly key: string },
  options: { readonly message: string; readonly partBytes: number; readonly signal?: AbortSignal },
): Promise<TakeReport> {
  const { cli, locks, root, key } = deps;
  let lockUnchecked = false;
  try {
    await refuseWhileHeld(locks, key, 'commit', options.signal);
  } catch (error) {
    if (!isRetryable(classify(error).kind)) throw error;
    lockUnchecked = true;
  }
  const status = await cli.status();
  const staged = new Set(status.staged);
  const strip = (p: string) => p.replace(/\/$/, '');
  // A name oxen's status cannot show on one line (a line break in it) is listed as a path that
  // is not there: told, not silently left out of the take.
  const leftOut: string[] = [...status.modified, ...status.untracked]
    .map(strip)
    .filter((p) => !staged.has(p) && !existsSync(join(root, p)));
  const untracked = status.untracked.flatMap((p) => filesUnder(root, strip(p)));
  const changed: TakeFile[] = [
    ...status.modified.flatMap((p) => filesUnder(root, strip(p))),
    ...untracked,
    ...status.removed.map((path) => ({ path, bytes: 0, removed: true })),
  ].filter((f) => !staged.has(f.path));
  if (changed.length === 0 && staged.size === 0) {
    const ended = await endCutOffTake(cli, root, status.branch, options.message);
    if (ended)
      return {
        message: options.message,
        partBytes: options.partBytes,
        parts: [],
        bytes: 0,
        files: 0,
        oversized: [],
        ended,
        ...(lockUnchecked ? { lockUnchecked } : {}),
      };
    throw new EngineError(
      'NOTHING_TO_COMMIT',
      leftOut.length > 0
        ? `Nothing to commit: oxen lists ${leftOut.length === 1 ? '1 change that is' : `${leftOut.length} changes that are`} not found on disk (${leftOut.map((p) => JSON.stringify(p)).join(', ')}), a file name with a line break, say; rename it and run the command again.`
        : 'Nothing to commit: the project has no changes since its last commit.',
    );
  }
  // Changes staged before this command (by hand, or by a take cut off between parts) are the
  // first commit as they are: a part of their own, so the parts planned after stay in the budget.
  const stagedFiles = [...staged].flatMap((p) => filesUnder(root, p));
  const first: TakePart[] =
    staged.size === 0
      ? []
      : [
          {
            index: 1,
            paths: stagedFiles.map((f) => f.path),
            bytes: stagedFiles.reduce((n, f) => n + f.bytes, 0),
            oversized: stagedFiles.some((f) => f.bytes > options.partBytes),
          },
        ];
  const parts: TakePart[] = [
    ...first,
    ...planTake(changed, options.partBytes).map((p) => ({ ...p, index: p.index + first.length })),
  ];
  const recorded: Array<TakePart & { commit: string; message: string }> = [];
  // Noted before the first commit and after each: a command killed between parts leaves a record
  // saying so, and a push refuses a branch that ends inside the take (see `cutOffAt`).
  const note = (done: boolean) =>
    saveTake(root, {
      message: options.message,
      ...(status.branch ? { branch: status.branch } : {}),
      partBytes: options.partBytes,
      parts: recorded.map((p) => ({ commit: p.commit, bytes: p.bytes, files: p.paths.length })),
      ...(done ? {} : { recording: { parts: parts.length } }),
    });
  if (parts.length > 1) note(false);
  // New files (oxen knows nothing of them) deleted since the plan, an autosave replaced say: left
  // out and told (`oxen add` fails on them); a tracked file gone is added as its removal.
  const fresh = new Set(untracked.map((f) => f.path));
  const sizes = new Map(changed.map((f) => [f.path, f.bytes]));
  const vanished: string[] = [];
  for (const planned of parts) {
    let part = planned;
    // The staged part is committed as it is staged (adding it again would take the working copy).
    if (part !== first[0]) {
      const gone = part.paths.filter((p) => fresh.has(p) && !existsSync(join(root, p)));
      if (gone.length > 0) {
        vanished.push(...gone);
        part = {
          ...part,
          paths: part.paths.filter((p) => !gone.includes(p)),
          bytes: part.bytes - gone.reduce((n, p) => n + (sizes.get(p) ?? 0), 0),
        };
      }
      for (let i = 0; i < part.paths.length; i += ADD_BATCH)
        await cli.add(part.paths.slice(i, i + ADD_BATCH));
    }
    const message = partMessage(options.message, part.index, parts.length);
    recorded.push({ ...part, message, commit: await cli.commit(message) });
    if (recorded.length < parts.length) note(false);
  }
  leftOut.push(...vanished);
  note(true);
  return {
    message: options.message,
    partBytes: options.partBytes,
    parts: recorded,
    bytes: recorded.reduce((n, p) => n + p.bytes, 0),
    files: recorded.reduce((n, p) => n + p.paths.length, 0),
    oversized: recorded.filter((p) => p.oversized).map((p) => p.index),
    ...(lockUnchecked ? { lockUnchecked } : {}),
    ...(leftOut.length > 0 ? { leftOut } : {}),
  };
}

/**
 * A take `message` cut off while recorded, the branch ending inside it, and nothing left to record
 * (its rest deleted since): it ends where it was cut, its record no longer recording, so that a
 * push (refused until then) sends what was recorded. Undefined for anything else.
 */
async function endCutOffTake(
  cli: OxenCli,
  root: string,
  branch: string,
  message: string,
): Promise<{ part: number; parts: number } | undefined> {
  const take = loadTake(root, branch || undefined);
  if (!take?.recording || take.message !== message) return undefined;
  const [head] = await cli.log(1);
  const part = head && cutOffAt(take, head);
  if (part === undefined) return undefined;
  const { recording, ...rest } = take;
  // The parts up to the head: one noted by its message alone is not in the record, so the record
  // is the parts recorded (a push sends the head whatever the record holds).
  saveTake(root, rest);
  return { part, parts: recording.parts };
}
