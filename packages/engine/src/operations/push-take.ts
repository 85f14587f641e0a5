import type { TransferProgress } from '@oxvcs/oxen';
import { EngineError } from '../errors.js';
import { type AlreadyThere, nextProgress, type ProgressCounts, partsWhole } from '../push-progress.js';
import { cutOffAt, DEFAULT_PART_BYTES, loadTake, noteTake, type TakeRecord } from '../take.js';
import type { PushOp, PushResume, PushUnresumable, RunDeps } from './types.js';

/**
 * The project's last recorded take, when its push has not finished and the branch's head is its
 * last part (one local `oxen log`; none once the take is on the remote, so a push of an
 * up-to-date branch starts no process of its own). Refuses (EngineError TAKE_INCOMPLETE) a
 * branch that ends inside a take whose recording was cut off: its head lacks the rest of the
 * project, and a push would make that the remote's head.
 */
export async function headTake(op: PushOp, deps: RunDeps): Promise<TakeRecord | undefined> {
  const take = loadTake(op.projectDir, op.branch);
  const last = take?.parts.at(-1);
  if (!take || take.pushed || (!last && !take.recording)) return undefined;
  const [head] = await deps.cliFor(op.projectDir).log(1, op.branch);
  const cut = head && cutOffAt(take, head);
  if (cut !== undefined && take.recording)
    throw new EngineError(
      'TAKE_INCOMPLETE',
      `Not pushing: the take "${take.message}" was cut off while it was recorded, so ${op.branch} ends at part ${cut} of ${take.recording.parts} without the rest of the project; run \`oxenvcs commit -m "${take.message}"\` to record the rest, then push.`,
      { part: cut, parts: take.recording.parts },
    );
  return head?.id === last?.commit ? take : undefined;
}

/**
 * How much of `take` is already on the remote, by `POST …/commits/missing`, with the parts still
 * missing; undefined when the question fails (the push itself then says what is wrong).
 */
export async function resumeFacts(
  op: PushOp,
  deps: RunDeps,
  take: TakeRecord,
  signal: AbortSignal,
): Promise<(PushResume & { readonly missing: ReadonlySet<string> }) | undefined> {
  try {
    const missing = new Set(
      await deps.hubFor(op.remote).missingCommits(
        take.parts.map((p) => p.commit),
        { signal },
      ),
    );
    const present = take.parts.filter((p) => !missing.has(p.commit));
    return {
      partsTotal: take.parts.length,
      partsPresent: present.length,
      bytesTotal: take.parts.reduce((n, p) => n + p.bytes, 0),
      bytesPresent: present.reduce((n, p) => n + p.bytes, 0),
      missing,
    };
  } catch {
    return undefined;
  }
}

/**
 * Follows one push: turns oxen's frames into steady progress (see {@link nextProgress}), notes in
 * the take how many of its parts are on the remote as they complete (for `queue status`), and
 * tells once when something it sends cannot resume midway (a part over the budget, or commits not
 * recorded as parts that are larger than a part would be).
 */
export function followPush(
  op: PushOp,
  deps: RunDeps,
  take: TakeRecord | undefined,
  missing: ReadonlySet<string> | undefined,
): {
  readonly onProgress: (frame: TransferProgress) => void;
  /** After a push that succeeded with `head` as the local head oxen reported (progress ends whole). */
  readonly finished: (head: string | undefined) => void;
} {
  const last = take?.parts.at(-1)?.commit;
  // Without a commits/missing answer, every part counts as still to send.
  const sending = take?.parts.filter((p) => !missing || missing.has(p.commit)) ?? [];
  const there = take?.parts.filter((p) => missing && !missing.has(p.commit)) ?? [];
  const sendingFiles = sending.reduce((n, p) => n + p.files, 0);
  const before: AlreadyThere = {
    bytes: there.reduce((n, p) => n + p.bytes, 0),
    files: there.reduce((n, p) => n + p.files, 0),
  };
  const budget = deps.partBytes?.() ?? DEFAULT_PART_BYTES;
  let shown: ProgressCounts | undefined;
  let whole = -1;
  let told = false;
  const tell = (fact: PushUnresumable) => {
    told = true;
    deps.unresumable?.(op, fact);
  };
  const note = (parts: number, bytes: number, pushed = false) => {
    if (last)
      noteTake(op.projectDir, last, {
        ...(pushed ? { pushed } : {}),
        onRemote: { parts, bytes, at: new Date().toISOString() },
      });
  };
  // The remote's answer, when there is one, is the best fact.
  if (missing) note(there.length, before.bytes);
  if (take) {
    const over = take.parts.flatMap((p, i) =>
      sending.includes(p) && p.bytes > take.partBytes ? [{ index: i + 1, bytes: p.bytes }] : [],
    );
    if (over.length > 0)
      tell({
        recorded: true,
        parts: over.map((p) => p.index),
        bytes: Math.max(...over.map((p) => p.bytes)),
        partBytes: take.partBytes,
      });
  }
  return {
    onProgress(frame) {
      if (!take && !told && frame.bytesTotal !== undefined && frame.bytesTotal > budget)
        tell({ recorded: false, bytes: frame.bytesTotal, partBytes: budget });
      shown = nextProgress(shown, frame, before);
      deps.progress?.(op, { phase: frame.phase, ...shown });
      if (!take || !last || frame.filesDone === undefined) return;
      // Oxen counts the files of every commit it sends: more than the parts hold means commits
      // outside the take go first (an earlier take, plain commits), and its count says nothing of
      // these parts.
      if (frame.filesTotal === undefined || frame.filesTotal > sendingFiles) return;
      const now = partsWhole(sending, frame.filesDone);
      if (now <= whole) return;
      whole = now;
      note(there.length + now, before.bytes + sending.slice(0, now).reduce((n, p) => n + p.bytes, 0));
    },
    finished(head) {
      // oxen's last frame may be drawn before its end (at most 20 a second): a push that succeeded
      // sent everything, so what was shown ends whole.
      if (shown?.bytesTotal !== undefined) {
        shown = {
          ...shown,
          bytesDone: shown.bytesTotal,
          ...(shown.filesTotal !== undefined ? { filesDone: shown.filesTotal } : {}),
        };
        deps.progress?.(op, { phase: 'push', ...shown });
      }
      if (!take || head !== last) return;
      note(
        take.parts.length,
        take.parts.reduce((n, p) => n + p.bytes, 0),
        true,
      );
    },
  };
}

/**
 * After a push of `op.branch` that succeeded with a head past the project's last take recorded on
 * that branch (plain commits made on top of it): the take is below what was pushed, so on the
 * remote, and later pushes and `queue status` no longer describe it. Best effort, as `noteTake`.
 */
export function noteTakeBelowPushed(op: PushOp): void {
  const take = loadTake(op.projectDir, op.branch);
  const last = take?.parts.at(-1);
  if (!take || !last || take.pushed || take.recording || take.branch !== op.branch) return;
  noteTake(op.projectDir, last.commit, {
    pushed: true,
    onRemote: {
      parts: take.parts.length,
      bytes: take.parts.reduce((n, p) => n + p.bytes, 0),
      at: new Date().toISOString(),
    },
  });
}
