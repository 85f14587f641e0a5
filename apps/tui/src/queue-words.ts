import { NOT_A_FILE_NAMES, type QueueErrorCode, type QueueErrorFacts, shortId } from '@oxvcs/engine';

/** The facts of a `QueueError` as the TUI receives it (structurally, not by class). */
type QueueFacts = Omit<QueueErrorFacts, 'cause'> & { readonly name?: string; readonly code?: string };

/** Why a queue file is not a queue, in a few words. */
const CORRUPT_WHAT: Readonly<Record<string, string>> = {
  'not-json': 'is not valid JSON',
  'not-an-object': 'is not a queue',
  'bad-version': 'has an invalid schema version',
  'no-entries': 'has no entries list',
  'no-version': 'has no schema version',
};

/** Who kept the queue file's lock, in a few words. */
function holderWords(e: QueueFacts): string {
  if (e.problem === 'unnamed')
    return `${e.lock}, which names no process (delete it if nothing of oxenvcs runs)`;
  const command = e.holderCommand ? ` (${e.holderCommand})` : '';
  const where = e.problem === 'held-elsewhere' ? ` on ${e.holderHost}` : '';
  return e.problem === 'taken-in-turn'
    ? `other processes, the last ${e.holderPid}${command}`
    : `process ${e.holderPid}${command}${where}`;
}

/** The system's reason a queue file cannot be written, in a few words. */
const notWritable = (e: QueueFacts) =>
  e.errno === 'ENOSPC' || e.errno === 'EDQUOT'
    ? 'the disk is full'
    : e.errno === 'EACCES' || e.errno === 'EPERM'
      ? 'permission denied'
      : e.errno === 'EROFS'
        ? 'read-only file system'
        : (e.detail ?? e.errno ?? 'error');

/**
 * A queue failure in the TUI's short words (the queue gives the code, the case and the facts);
 * undefined for anything that is not one. Every code is worded: a new one fails to compile.
 */
export function queueErrorText(error: unknown): string | undefined {
  const e = error as QueueFacts | undefined;
  if (e?.name !== 'QueueError') return undefined;
  const code = e.code as QueueErrorCode;
  const entry = `Entry ${shortId(e.entryId ?? '')}`;
  switch (code) {
    case 'CORRUPT':
      return `The queue file ${e.file} ${CORRUPT_WHAT[e.problem ?? ''] ?? 'is not a queue'}${e.detail ? ` (${e.detail})` : ''}${e.quarantine ? `; a copy is at ${e.quarantine}` : ''}: repair or move it away.`;
    case 'UNREADABLE':
      return `Cannot read the queue file ${e.file}: ${e.detail}.`;
    case 'SCHEMA_TOO_NEW':
      return `The queue file ${e.file} has schema version ${e.schemaVersion}, newer than this version reads: upgrade.`;
    case 'NOT_FOUND':
    case 'ID_TOO_SHORT':
      return `No queue entry matches "${e.id ?? ''}".`;
    case 'AMBIGUOUS_ID':
      return `"${e.id}" matches ${e.matches ?? 'several'} entries.`;
    case 'DUPLICATE':
      return `An entry with key "${e.idempotencyKey}" is already queued.`;
    case 'INVALID_STATE':
      return e.problem === 'stopped'
        ? `${entry} is held by process ${e.runnerPid}, which is stopped: resume it (kill -CONT ${e.runnerPid}) or end it.`
        : e.problem === 'running'
          ? `${entry} is being run by process ${e.runnerPid} right now.`
          : `${entry} is ${e.entryStatus}: only failed or expired entries can be retried.`;
    case 'LOCK_TIMEOUT':
      return `The queue file was kept busy for ${Math.round((e.waitedMs ?? 0) / 1000)} s by ${holderWords(e)}; try again in a moment.`;
    case 'NOT_WRITABLE':
      return `Cannot write the queue file ${e.file}: ${notWritable(e)}.`;
    case 'NOT_A_FILE':
      return `The queue file ${e.file} is ${NOT_A_FILE_NAMES[e.kind ?? 'other']}, not a regular file: move it away.`;
    case 'WRITE_CONFLICT':
      return `The queue file ${e.file} was not written (its lock was taken over meanwhile); try again.`;
    default: {
      const unknown: never = code;
      return `The queue failed (${String(unknown)}).`;
    }
  }
}
