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
import type { SyncAdapter } from 'lowdb';

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
  readonly data: string | Uint8Array;
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
 * check fails or the temp file was swept away by a holder that took the lock over. Returns the
 * identity of the version written.
 */
export function writeGuarded(write: GuardedWrite): string {
  const { file, data, token } = write;
  const temp = tempFileFor(file, token);
  const fd = openSync(temp, 'w');
  let identity: string;
  try {
    if (typeof data === 'string') writeSync(fd, data);
    else writeSync(fd, data);
    fsyncSync(fd);
    // A rename keeps inode, size and mtime: this is the identity the file has once replaced.
    identity = identityOf(fstatSync(fd, { bigint: true }));
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
  return identity;
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

/** What a {@link GuardedFileSync} checks before it replaces the file: the lock held while it read. */
export interface WriteGuard {
  /** The holder's lock token (names the temp file, which a new holder sweeps away). */
  readonly token: string;
  /** True while the lock still names this holding. */
  held(): boolean;
  /** Called once a write has been checked, right before its rename. */
  readonly onVerified?: () => void;
}

/** Options of {@link GuardedFileSync}. */
export interface GuardedFileOptions<T> {
  /** Bytes to data (may throw: a corrupt file). */
  readonly parse: (bytes: Buffer) => T;
  readonly stringify: (data: T) => string;
  /** The lock the writer holds; without it the adapter only reads. */
  readonly guard?: WriteGuard;
}

/**
 * A lowdb sync adapter (`new LowSync(adapter, defaultData)`) over one file, written durably and
 * guarded: `write` commits only if the file is still the version this adapter last read and the
 * guard's lock is still held, right before the rename (see {@link writeGuarded}); otherwise it
 * throws {@link WriteConflict} and nothing is written, so the caller redoes its read-modify-write
 * on a fresh read. A write of unchanged data writes nothing. Reads take no lock: a reader sees the
 * old or the new version whole.
 */
export class GuardedFileSync<T> implements SyncAdapter<T> {
  readonly file: string;
  readonly #options: GuardedFileOptions<T>;
  #version: FileVersion | undefined;

  constructor(file: string, options: GuardedFileOptions<T>) {
    this.file = file;
    this.#options = options;
  }

  /** The version last read or written by this adapter (bytes and identity). */
  get version(): FileVersion | undefined {
    return this.#version;
  }

  read(): T | null {
    const version = readVersion(this.file);
    this.#version = version;
    return version.bytes ? this.#options.parse(version.bytes) : null;
  }

  write(data: T): void {
    const { guard } = this.#options;
    const read = this.#version;
    if (!guard || !read) {
      throw new Error(`GuardedFileSync: ${this.file} must be read under a lock before it is written.`);
    }
    const bytes = Buffer.from(this.#options.stringify(data));
    if (read.bytes?.equals(bytes)) return;
    const { file } = this;
    const identity = writeGuarded({
      file,
      data: bytes,
      token: guard.token,
      check: () =>
        !guard.held() ? 'lock-lost' : currentIdentity(file) !== read.identity ? 'file-changed' : undefined,
      ...(guard.onVerified ? { onVerified: guard.onVerified } : {}),
    });
    this.#version = { identity, bytes };
  }
}
