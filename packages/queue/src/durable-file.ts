import {
  closeSync,
  fstatSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** One version of a file: its bytes and an identity that changes whenever the file is replaced. */
export interface FileVersion {
  /** Inode, size and mtime, or `absent`. */
  readonly identity: string;
  /** The content; undefined when there is no file. */
  readonly bytes: Buffer | undefined;
}

const identityOf = (s: { ino: bigint; size: bigint; mtimeNs: bigint }) => `${s.ino}:${s.size}:${s.mtimeNs}`;

/** Reads `file` and the identity of exactly the version read (stat of the open descriptor). */
export function readVersion(file: string): FileVersion {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { identity: 'absent', bytes: undefined };
    throw error;
  }
  try {
    const identity = identityOf(fstatSync(fd, { bigint: true }));
    return { identity, bytes: readFileSync(fd) };
  } finally {
    closeSync(fd);
  }
}

/** The identity of the version of `file` on disk now. */
export function currentIdentity(file: string): string {
  const s = statSync(file, { bigint: true, throwIfNoEntry: false });
  return s ? identityOf(s) : 'absent';
}

/** Why a guarded write did not replace the file; nothing was written in any case. */
export type ConflictReason = 'lock-lost' | 'file-changed' | 'fenced';

/** Thrown by {@link writeGuarded} when the write must be redone on a fresh read. */
export class WriteConflict extends Error {
  override readonly name = 'WriteConflict';
  readonly reason: ConflictReason;
  constructor(reason: ConflictReason) {
    super(`The write was not committed (${reason}).`);
    this.reason = reason;
  }
}

/** The temp file a writer holding `token` replaces `file` from. */
export const tempFileFor = (file: string, token: string) =>
  join(dirname(file), `.${basename(file)}.${token}.tmp`);

/**
 * Removes every temp file beside `file` (`.<name>.*.tmp`) except those of `keepToken`: temp files
 * of writers that were killed, and, crucially, the temp file of a writer whose lock was taken over
 * while it was paused. Once that file is gone, the paused writer's rename fails (ENOENT) instead of
 * replacing a newer version. Called by the new holder right after taking the lock, before reading.
 */
export function sweepTemps(file: string, keepToken: string): void {
  const dir = dirname(file);
  const prefix = `.${basename(file)}.`;
  for (const name of readdirSync(dir)) {
    if (name.startsWith(prefix) && name.endsWith('.tmp') && !name.includes(keepToken)) {
      rmSync(join(dir, name), { recursive: true, force: true });
    }
  }
}

/** Options of {@link writeGuarded}. */
export interface GuardedWrite {
  readonly file: string;
  readonly text: string;
  /** The writer's lock token (names its temp file). */
  readonly token: string;
  /** Checked after the temp file is durable and right before the rename; a reason stops the write. */
  readonly check: () => ConflictReason | undefined;
  /** Called once the check has passed, just before the rename. */
  readonly onVerified?: () => void;
}

/**
 * Replaces `file` with `text` so that no crash can leave it torn or empty, and so that the write
 * is on disk when this returns: temp file written and fsynced, checked, renamed over the file,
 * then the folder fsynced (the rename itself is durable). Throws {@link WriteConflict} when the
 * check fails or the temp file was swept away by a holder that took the lock over.
 */
export function writeGuarded(write: GuardedWrite): void {
  const { file, text, token } = write;
  const temp = tempFileFor(file, token);
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const reason = write.check();
  if (reason) {
    rmSync(temp, { force: true });
    throw new WriteConflict(reason);
  }
  write.onVerified?.();
  try {
    renameSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new WriteConflict('fenced');
    throw error;
  }
  syncFolder(dirname(file));
}

function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (error) {
    // Some platforms and file systems cannot fsync a folder (Windows, some network mounts);
    // the rename is then as durable as the system makes it.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'ENOTSUP') throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
