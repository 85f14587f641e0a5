import { NOT_A_FILE_NAMES, type QueueErrorCode, type QueueErrorFacts, shortId } from '@oxvcs/engine';

/** The facts of a `QueueError` as the CLI receives it (structurally, not by class). */
export type QueueFacts = Omit<QueueErrorFacts, 'cause'> & { readonly name?: string; readonly code?: string };

/** Seconds as a person reads them: one decimal under ten. */
const seconds = (ms: number) => (ms < 10_000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000)));

/** Where to find the ids a selector did not match (the queue's facts name no command). */
const SEE_IDS = 'run `oxenvcs queue status` to see ids';

/** A queue file that is not a queue, by how: what follows "The queue file <file>". */
function corruptWords(e: QueueFacts): string {
  const redo = 'repair or move the file away, then run again.';
  switch (e.problem) {
    case 'not-json':
      return e.quarantine
        ? `is not valid JSON (${e.detail}); a copy is kept at ${e.quarantine}. Repair or move the file away, then run again.`
        : `is not valid JSON (${e.detail}), and no copy could be kept beside it. Repair or move the file away, then run again.`;
    case 'not-an-object':
      return `is not a queue (no object at the top); ${redo}`;
    case 'bad-version':
      return `has an invalid schema version (${JSON.stringify(e.schemaVersion)}); ${redo}`;
    case 'no-entries':
      return `has no "entries" list; ${redo}`;
    default:
      return `has no schema version; ${redo}`;
  }
}

/** Another process kept the queue file's lock: who, for how long, and what to do. */
function busyWords(e: QueueFacts): string {
  const waited = seconds(e.waitedMs ?? 0);
  const { holderPid: pid, holderHost: host } = e;
  switch (e.problem) {
    case 'taken-in-turn':
      return `Other processes kept the queue file ${e.file} busy for ${waited} s (last process ${pid} on ${host}); try again in a moment.`;
    case 'held-here':
    case 'held-elsewhere': {
      const here = e.problem === 'held-here';
      const future =
        e.aheadMs === undefined
          ? ''
          : `; the lock is dated ${seconds(e.aheadMs)} s in the future, so ${here ? 'the clock was set back' : 'the two clocks disagree'}`;
      return here
        ? `Process ${pid} on this machine, still running, has held the queue file ${e.file} for over ${waited} s${future}; wait for it to finish or end it, then run again.`
        : `Process ${pid} on ${host} has held the queue file ${e.file} for over ${waited} s${future}; if that process no longer runs, delete ${e.lock}, then run again.`;
    }
    default:
      return `The queue file ${e.file} has been locked for over ${waited} s by ${e.lock}, which names no process (left by an older version?); if no process of this program is running, delete it, then run again.`;
  }
}

/** The queue file or its folder cannot be written, by the system's error code. */
function notWritableWords(e: QueueFacts): string {
  switch (e.errno) {
    case 'EACCES':
    case 'EPERM':
      return `Cannot write in the queue folder ${e.folder}: permission denied; make it writable for this user (chmod u+w "${e.folder}"), then run again.`;
    case 'EROFS':
      return `Cannot write in the queue folder ${e.folder}: it is on a read-only file system; put the state folder on a writable disk, then run again.`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `Cannot write the queue file ${e.file}: the disk is full; free some space, then run again.`;
    case 'ENOTDIR':
    case 'EEXIST':
      return `Cannot write the queue file ${e.file}: ${e.folder} or a folder above it is a file, not a folder; move that file away, then run again.`;
    default:
      return `Cannot write the queue file ${e.file} (${e.detail}); check the folder ${e.folder}, then run again.`;
  }
}

/** An entry that cannot be changed as asked: run by a live process, or not retryable. */
function invalidStateWords(e: QueueFacts): string {
  const entry = `Entry ${shortId(e.entryId ?? '')}`;
  const pid = e.runnerPid;
  switch (e.problem) {
    case 'stopped':
      return `${entry} is held by process ${pid}, which is stopped (suspended); resume it (kill -CONT ${pid}) or end it (kill ${pid}), then run again.`;
    case 'running':
      return `${entry} is being run by process ${pid} right now; wait for it, or stop that sync (Ctrl-C in its terminal, or kill ${pid}), then run again.`;
    default:
      return `${entry} is ${e.entryStatus}; only failed or expired entries can be retried.`;
  }
}

/**
 * The words for a queue failure (the queue gives the code, the case and the facts), or undefined
 * for anything that is not one. Every code is worded here: a new one fails to compile until it is.
 */
export function queueErrorWords(e: QueueFacts): string | undefined {
  if (e.name !== 'QueueError') return undefined;
  const code = e.code as QueueErrorCode;
  switch (code) {
    case 'CORRUPT':
      return `The queue file ${e.file} ${corruptWords(e)}`;
    case 'UNREADABLE':
      return `Cannot read the queue file ${e.file}: ${e.detail}; check its permissions.`;
    case 'SCHEMA_TOO_NEW':
      return `The queue file ${e.file} has schema version ${e.schemaVersion}, newer than the ${e.knownVersion} this version knows, so it was left unchanged; upgrade to use it.`;
    case 'NOT_FOUND':
      return e.id?.trim()
        ? `No queue entry matches "${e.id}"; ${SEE_IDS}.`
        : `No entry id given; ${SEE_IDS}.`;
    case 'ID_TOO_SHORT':
      return `"${e.id}" is too short to select an entry; give at least ${e.minimum} characters of its id; ${SEE_IDS}.`;
    case 'AMBIGUOUS_ID': {
      const matches = e.matches ?? e.candidates?.length ?? 0;
      const shown = (e.candidates ?? []).slice(0, 5).map(shortId).join(', ');
      const more = matches > 5 ? ` and ${matches - 5} more` : '';
      return `"${e.id}" matches ${matches} entries (${shown}${more}); give more characters.`;
    }
    case 'DUPLICATE':
      return `An entry with idempotency key "${e.idempotencyKey}" is already queued.`;
    case 'INVALID_STATE':
      return invalidStateWords(e);
    case 'LOCK_TIMEOUT':
      return busyWords(e);
    case 'NOT_WRITABLE':
      return notWritableWords(e);
    case 'NOT_A_FILE':
      return e.kind === 'symlink'
        ? `The queue file ${e.file} is a symbolic link; state files must be regular files (to keep the state elsewhere, point the state folder there instead): replace the link with the file it points to, then run again.`
        : `The queue file ${e.file} is ${NOT_A_FILE_NAMES[e.kind ?? 'other']}, not a regular file; move it away, then run again.`;
    case 'WRITE_CONFLICT':
      return `The queue file ${e.file} was not written: its lock was taken over ${e.attempts} times while this process was paused (nothing was overwritten); run again.`;
    default: {
      const unknown: never = code;
      return `The queue failed (${String(unknown)}).`;
    }
  }
}
