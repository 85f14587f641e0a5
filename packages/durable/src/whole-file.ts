import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type NotAFileKind, StateFileError } from './errors.js';

/** One version of a file, as read: its bytes and an identity that changes whenever it is replaced. */
export interface FileVersion {
  /** Inode, size and mtime of exactly the version read, or `absent`. */
  readonly identity: string;
  /** The content; undefined when there is no file. */
  readonly bytes: Buffer | undefined;
}

type StatLike = { ino: bigint; size: bigint; mtimeNs: bigint };
const identityOf = (s: StatLike) => `${s.ino}:${s.size}:${s.mtimeNs}`;

const kindOf = (
  s: Pick<
    Stats,
    'isFIFO' | 'isDirectory' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket' | 'isSymbolicLink'
  >,
): NotAFileKind =>
  s.isFIFO()
    ? 'fifo'
    : s.isDirectory()
      ? 'directory'
      : s.isCharacterDevice() || s.isBlockDevice()
        ? 'device'
        : s.isSocket()
          ? 'socket'
          : s.isSymbolicLink()
            ? 'symlink'
            : 'other';

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. O_NOFOLLOW: a
// link is refused, not followed (see StateFileError). Both are 0 where the platform lacks them.
const OPEN_READ = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0);
const OPEN_READ_FOLLOW = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** Options of the readers. */
export interface ReadOptions {
  /**
   * Follow a symbolic link to a regular file (for files the user keeps, like a config file a
   * dotfiles manager links into place); state files this package writes never follow one.
   * @default false
   */
  readonly followLinks?: boolean;
}

/**
 * Opens `file` for reading if it is a regular file; undefined when there is none. Anything else at
 * the path (FIFO, folder, device, socket, symbolic link) throws {@link StateFileError} at once,
 * without blocking and without touching it. The caller closes the descriptor.
 */
export function openRegular(file: string, options: ReadOptions = {}): number | undefined {
  let fd: number;
  try {
    fd = openSync(file, options.followLinks ? OPEN_READ_FOLLOW : OPEN_READ);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // ELOOP/EMLINK: a symbolic link met O_NOFOLLOW; EISDIR/ENXIO: a folder or a socket.
    if (code === 'ELOOP' || code === 'EISDIR' || code === 'ENXIO' || code === 'EMLINK') {
      throw new StateFileError(file, kindOf(lstatSync(file)));
    }
    throw error;
  }
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    closeSync(fd);
    throw new StateFileError(file, kindOf(stats));
  }
  return fd;
}

/**
 * Reads `file` if it is a regular file, with the identity of exactly the version read; a missing
 * file reads as `absent`; anything else throws {@link StateFileError} (see {@link openRegular}).
 */
export function readVersion(file: string, options: ReadOptions = {}): FileVersion {
  const fd = openRegular(file, options);
  if (fd === undefined) return { identity: 'absent', bytes: undefined };
  try {
    return { identity: identityOf(fstatSync(fd, { bigint: true })), bytes: readFileSync(fd) };
  } finally {
    closeSync(fd);
  }
}

/** Reads `file` as UTF-8 text if it is a regular file; undefined when absent (see {@link readVersion}). */
export function readText(file: string, options: ReadOptions = {}): string | undefined {
  return readVersion(file, options).bytes?.toString('utf8');
}

/**
 * Throws {@link StateFileError} when something other than a regular file stands at `file`; a
 * missing file is fine. Called before a path is replaced, so a link or a FIFO is never silently
 * swapped for a regular file.
 */
export function assertReplaceable(file: string): void {
  let stats: Stats;
  try {
    stats = lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isFile()) throw new StateFileError(file, kindOf(stats));
}

/**
 * Writes all of `data` at the descriptor's position, looping over short writes (write(2) may
 * write less than asked, as on a nearly full disk; the next call then fails with ENOSPC).
 */
export function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let done = 0;
  while (done < bytes.length) {
    const n = writeSync(fd, bytes, done, bytes.length - done);
    // A write that makes no progress without an error: treated as the disk refusing more.
    if (n <= 0) throw diskFull(`wrote ${done} of ${bytes.length} bytes`);
    done += n;
  }
}

/**
 * Writes `data` to `file` (created or truncated; no fsync, no rename), every byte; on a failure
 * (a full disk: ENOSPC) the file is removed, so no torn copy is left for a reader. For side files
 * that are hard-linked into place whole (lock records), where {@link replaceFile} is not the tool.
 */
export function writeNewFile(file: string, data: string | Uint8Array): void {
  const fd = openSync(file, 'w');
  try {
    writeAll(fd, data);
  } catch (error) {
    closeSync(fd);
    rmSync(file, { force: true });
    throw error;
  }
  closeSync(fd);
}

const diskFull = (detail: string) =>
  Object.assign(new Error(`No space left on device (${detail})`), { code: 'ENOSPC', errno: -28 });

/** Options of {@link replaceFile}. */
export interface ReplaceOptions {
  /** File mode of a new file (0o600 for secrets). @default 0o666 (less the umask) */
  readonly mode?: number;
  /**
   * Names the temp file (`.<name>.<token>.tmp` beside the file) so that a holder of a lock can
   * sweep temp files of others; random when omitted.
   */
  readonly token?: string;
  /**
   * Called when the temp file is complete and durable, right before the rename; a thrown error
   * stops the write (the temp file is removed, the old file stays).
   */
  readonly beforeRename?: () => void;
  /** What to throw instead of ENOENT when the temp file was swept away before the rename. */
  readonly onSwept?: () => Error;
}

/** The temp file a writer with `token` replaces `file` from. */
export const tempFileFor = (file: string, token: string) =>
  join(dirname(file), `.${basename(file)}.${token}.tmp`);

let counter = 0;
const randomToken = () =>
  `${process.pid.toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * Replaces `file` with `data`, whole or not at all: the data goes to a temp file beside it
 * (every byte, looping over short writes), is fsynced and its size checked, then the temp file is
 * renamed over `file` and the folder fsynced, so the new version is on disk when this returns.
 * On any failure (a full disk: ENOSPC) the temp file is removed and the previous version of
 * `file` is left as it was. A symbolic link, FIFO or folder at `file` is refused
 * ({@link StateFileError}). Returns the identity the file has once replaced.
 */
export function replaceFile(file: string, data: string | Uint8Array, options: ReplaceOptions = {}): string {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  assertReplaceable(file);
  const temp = tempFileFor(file, options.token ?? randomToken());
  let identity: string;
  try {
    const fd = openSync(temp, 'w', options.mode ?? 0o666);
    try {
      writeAll(fd, bytes);
      fsyncSync(fd);
      const stats = fstatSync(fd, { bigint: true });
      // A file system that acknowledged less than was written (never trusted blindly).
      if (stats.size !== BigInt(bytes.length))
        throw diskFull(`${stats.size} of ${bytes.length} bytes on disk`);
      // A rename keeps inode, size and mtime: this is the identity the file has once replaced.
      identity = identityOf(stats);
    } finally {
      closeSync(fd);
    }
    options.beforeRename?.();
    try {
      renameSync(temp, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && options.onSwept) throw options.onSwept();
      throw error;
    }
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  syncFolder(dirname(file));
  return identity;
}

/** The identity of the version of `file` on disk now (`absent` when there is none). */
export function currentIdentity(file: string): string {
  try {
    return identityOf(lstatSync(file, { bigint: true }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw error;
  }
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
