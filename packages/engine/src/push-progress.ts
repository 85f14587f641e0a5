/**
 * A push's progress as shown, from oxen's own frames. Oxen 0.54's bar is not steady across a
 * push of several commits: its total grows by each commit's tree-node bytes as they are sent
 * (`inc_total_bytes`, `api/client/tree.rs:86-91`) and the bar is cleared after each commit's
 * nodes (`finish_and_clear`, `core/progress/sync_progress.rs:141-143`); a re-run after a cut
 * counts only the commits still missing. Pure functions: the push operation feeds them.
 */

/** Counts as oxen reports them (any may be missing from a frame). */
export interface ProgressCounts {
  readonly bytesDone?: number;
  readonly bytesTotal?: number;
  readonly filesDone?: number;
  readonly filesTotal?: number;
}

/** What is already on the remote before this run (a resumed take's parts): counted as done. */
export interface AlreadyThere {
  readonly bytes: number;
  readonly files: number;
}

const NONE: AlreadyThere = { bytes: 0, files: 0 };

/** `done` of `total`, never past it, and at least the share `prev` had reached. */
function steady(
  done: number | undefined,
  total: number | undefined,
  prevDone: number | undefined,
  prevTotal: number | undefined,
): { done?: number; total?: number } {
  let t = total === undefined ? prevTotal : Math.max(total, prevTotal ?? 0);
  let d = Math.max(done ?? 0, prevDone ?? 0);
  if (t !== undefined) {
    // A grown total must not pull the share shown back.
    if (prevDone !== undefined && prevTotal) d = Math.max(d, Math.ceil((prevDone / prevTotal) * t));
    // Counted past the total (node bytes over their estimate): the total meets what is done.
    t = Math.max(t, d);
  }
  if (done === undefined && prevDone === undefined) return t === undefined ? {} : { total: t };
  return { done: d, ...(t !== undefined ? { total: t } : {}) };
}

/**
 * The next progress to show after `frame`: totals only grow, the share done never goes back nor
 * past the whole, and what was already on the remote (`before`) is counted in, so a resumed push
 * shows the whole take (80 % at its start when 8 of 10 parts are there), not only what it sends.
 */
export function nextProgress(
  prev: ProgressCounts | undefined,
  frame: ProgressCounts,
  before: AlreadyThere = NONE,
): ProgressCounts {
  const plus = (n: number | undefined, k: number) => (n === undefined ? undefined : n + k);
  const bytes = steady(
    plus(frame.bytesDone, before.bytes),
    plus(frame.bytesTotal, before.bytes),
    prev?.bytesDone,
    prev?.bytesTotal,
  );
  const files = steady(
    plus(frame.filesDone, before.files),
    plus(frame.filesTotal, before.files),
    prev?.filesDone,
    prev?.filesTotal,
  );
  return {
    ...(bytes.done !== undefined ? { bytesDone: bytes.done } : {}),
    ...(bytes.total !== undefined ? { bytesTotal: bytes.total } : {}),
    ...(files.done !== undefined ? { filesDone: files.done } : {}),
    ...(files.total !== undefined ? { filesTotal: files.total } : {}),
  };
}

/**
 * How many of `sending` (the parts a push sends, in order, one in flight) are whole on the remote
 * once oxen counts `filesDone` of their files: a part is whole once a file of the next one is
 * done (oxen finishes a commit, its nodes and dir-hashes, before it starts the next). The last
 * part is whole only when the push ends. Files with the same content are sent once, so oxen may
 * count fewer than a part holds: this never counts a part that is not there.
 */
export function partsWhole(sending: readonly { readonly files: number }[], filesDone: number): number {
  let through = 0;
  let whole = 0;
  for (const part of sending.slice(0, -1)) {
    through += part.files;
    if (filesDone > through) whole++;
    else break;
  }
  return whole;
}
