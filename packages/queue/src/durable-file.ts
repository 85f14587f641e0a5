import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { currentIdentity, type FileVersion, readVersion, replaceFile } from '@oxvcs/durable';
import type { SyncAdapter } from 'lowdb';

export { currentIdentity, type FileVersion, readVersion };

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
 * Replaces `file` with `data`, whole or not at all (see `replaceFile` of `@oxvcs/durable`: every
 * byte written, fsynced and its size checked, renamed, the folder fsynced; a full disk throws
 * ENOSPC and leaves the previous version), provided the check passes right before the rename.
 * Throws {@link WriteConflict} when the check fails or the temp file was swept away by a holder
 * that took the lock over. Returns the identity of the version written.
 */
export function writeGuarded(write: GuardedWrite): string {
  return replaceFile(write.file, write.data, {
    token: write.token,
    beforeRename: () => {
      const reason = write.check();
      if (reason) throw new WriteConflict(reason);
      write.onVerified?.();
    },
    onSwept: () => new WriteConflict('fenced'),
  });
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
  /**
   * The identity of the version the writer's data was made from, when it was read by other means
   * than this adapter: a write then commits only over that version.
   */
  readonly basedOn?: string;
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
    if (options.basedOn !== undefined) this.#version = { identity: options.basedOn, bytes: undefined };
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
