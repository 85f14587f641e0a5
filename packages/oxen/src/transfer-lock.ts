import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, linkSync, openSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { identify, isRunning, readText, replaceFile, writeAll, writeNewFile } from '@oxvcs/durable';
import { OxenError } from './errors.js';

/**
 * One working copy, one oxen transfer at a time. `oxen push`, `pull` and `fetch` rewrite the
 * local `.oxen` store and refs; two at once (or a second one started while an earlier one,
 * orphaned by a SIGKILLed caller, still runs) can corrupt them. The claim is a file in the
 * repository's `.oxen` folder naming the process that runs the transfer; it is created
 * exclusively (a hard link of a complete temp file, so no reader ever sees half a record), and a
 * claim whose process is gone is stale and replaced.
 */
export const TRANSFER_LOCK_FILE = 'oxvcs-transfer.json';

/** What the claim file holds. */
export interface TransferRecord {
  /** Random id of this claim. */
  readonly id: string;
  /** The oxen command: `push`, `pull` or `fetch`. */
  readonly command: string;
  /** Host of the processes below; pids of another host cannot be checked from here. */
  readonly host: string;
  /** The process that claimed the working copy (the one running this wrapper). */
  readonly ownerPid: number;
  /** Its start time as the kernel keeps it (`@oxvcs/durable`'s process identity). */
  readonly ownerStart?: string;
  /** The oxen child (or the `script` that runs it under a terminal), once spawned. */
  readonly pid?: number;
  /** The child's start time, as for the owner. */
  readonly pidStart?: string;
  /** When the claim was made (ISO 8601). */
  readonly startedAt: string;
}

/** A held claim: record the child once spawned, release when it has ended. */
export interface TransferClaim {
  readonly file: string;
  /** Records the child's pid (and start time), so the claim outlives this process while the child runs. */
  setChild(pid: number): void;
  /** Removes the claim file if it is still ours. Safe to call twice. */
  release(): void;
}

/** A claim from another host is trusted for this long, then treated as stale. */
const FOREIGN_CLAIM_MS = 24 * 60 * 60 * 1000;

/** The repository root at or above `from` (the folder holding `.oxen`), or undefined. */
export function findOxenRoot(from: string): string | undefined {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, '.oxen'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

const optional = <K extends string>(key: K, value: string | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, string>>;

/** Whether the process a record names may still be transferring. */
function holderAlive(record: TransferRecord, now: number): boolean {
  if (record.host !== hostname()) return now - Date.parse(record.startedAt) < FOREIGN_CLAIM_MS;
  if (record.pid !== undefined) return isRunning({ pid: record.pid, ...optional('start', record.pidStart) });
  return isRunning({ pid: record.ownerPid, ...optional('start', record.ownerStart) });
}

/** Modified in the last 5 s. */
function isFresh(file: string): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs < 5000;
  } catch {
    return false;
  }
}

function parseRecord(text: string): TransferRecord | undefined {
  try {
    const record = JSON.parse(text) as TransferRecord;
    return typeof record.id === 'string' && Number.isInteger(record.ownerPid) ? record : undefined;
  } catch {
    return undefined;
  }
}

/** The claim's text; a FIFO or folder at its path is refused at once, never waited on. */
const readClaim = (file: string): string | undefined => readText(file);

/** Creates `file` holding `text` only if it does not exist; false when it does. */
function createExclusive(file: string, text: string, id: string): boolean {
  const temp = `${file}.${id}.tmp`;
  writeNewFile(temp, text);
  try {
    linkSync(temp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
    // A file system without hard links: an exclusive create, written right after.
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (inner) {
      if ((inner as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw inner;
    }
    try {
      writeAll(fd, text);
    } finally {
      closeSync(fd);
    }
    return true;
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // Already gone.
    }
  }
}

/** Moves a stale claim out of the way, unless another process replaced it since we read `seen`. */
function removeStale(file: string, seen: string, id: string): void {
  const aside = `${file}.${id}.stale`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (readText(aside) !== seen) {
    // A fresh claim slipped in between our read and the rename: put it back.
    try {
      linkSync(aside, file);
    } catch {
      // Someone claimed the slot meanwhile; theirs stands.
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // Already gone.
  }
}

function inProgress(record: TransferRecord, root: string, file: string): OxenError {
  const pid = record.pid ?? record.ownerPid;
  const where = record.host === hostname() ? `pid ${pid}` : `pid ${pid} on ${record.host}`;
  return new OxenError(
    'TRANSFER_IN_PROGRESS',
    `Another oxen ${record.command} (${where}, started ${record.startedAt}) is still running in ${root}; wait for it to finish (or stop it), then try again.`,
    { file },
  );
}

/**
 * Claims the working copy at or above `cwd` for `oxen <command>`. Throws TRANSFER_IN_PROGRESS
 * (transient) when a transfer whose process is still alive holds it; replaces a stale claim.
 * Resolves to undefined outside a repository (oxen itself then reports that).
 */
export function claimTransfer(cwd: string, command: string): TransferClaim | undefined {
  const root = findOxenRoot(cwd);
  if (!root) return undefined;
  const file = join(root, '.oxen', TRANSFER_LOCK_FILE);
  const id = randomUUID();
  let record: TransferRecord = {
    id,
    command,
    host: hostname(),
    ownerPid: process.pid,
    ...optional('ownerStart', identify()?.start),
    startedAt: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(file, JSON.stringify(record), id)) {
      let held = true;
      const ours = () => parseRecord(readClaim(file) ?? '')?.id === id;
      return {
        file,
        setChild(pid) {
          if (!held || !ours()) return;
          record = { ...record, pid, ...optional('pidStart', identify(pid)?.start) };
          replaceFile(file, JSON.stringify(record), { token: id });
        },
        release() {
          if (!held) return;
          held = false;
          try {
            if (ours()) unlinkSync(file);
          } catch {
            // Gone already, or unreadable: nothing of ours to remove.
          }
        },
      };
    }
    const seen = readClaim(file);
    if (seen === undefined) continue;
    const existing = parseRecord(seen);
    if (existing && holderAlive(existing, Date.now())) throw inProgress(existing, root, file);
    if (!existing && isFresh(file)) {
      // Unreadable and new: a claim being written without hard links. Not ours to judge yet.
      throw new OxenError(
        'TRANSFER_IN_PROGRESS',
        `Another oxen transfer is starting in ${root}; wait a moment, then try again.`,
        { file },
      );
    }
    removeStale(file, seen, id);
  }
  throw new OxenError(
    'TRANSFER_IN_PROGRESS',
    `Could not claim ${root} for oxen ${command}: other transfers keep claiming it; try again.`,
    { file },
  );
}
