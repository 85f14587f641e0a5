import {
  closeSync,
  constants,
  type Dirent,
  fchmodSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { checkProcess, identify, type ProcessIdentity, writeNewFile } from '@oxvcs/durable';
import { noteEndsMs, readState, writeState } from './state.js';
import type { Engine, EngineEvent, EngineOptions } from './types.js';

// node:crypto loaded on first use: a command that never hashes (queue status) does not pay for it.
const crypto = () => process.getBuiltinModule('node:crypto');

/**
 * The read-only guard (opt-in per repository, config `lock.read_only_guard`), as Git LFS does for
 * lockable files: while you do not hold a project's lock its files are read-only on disk, so an
 * application cannot save over a colleague's lock by accident. Only write bits the guard removed
 * itself are ever given back (recorded per file, with the mode it found), so a file the user made
 * read-only stays read-only; `.oxen/`, `.oxenvcs/` and the state folder are never touched; symbolic
 * links are never followed (nor changed).
 */

/** Why the guard changed the files (the apps word it). */
export type GuardReason =
  /** You were granted the lock. */
  | 'acquired'
  /** You hold it (a renewal, or a status that found it yours). */
  | 'held'
  /** You released it (or queued its release). */
  | 'released'
  /** You held it, and no longer do (broken, taken over, or the lease lapsed). */
  | 'lost'
  /** You do not hold it. */
  | 'not-held'
  /** `lock.read_only_guard` was turned off: what the guard made read-only is given back. */
  | 'guard-off';

/** One file the guard could not change, and why (`errno`, e.g. EPERM for a file of another user). */
export interface GuardFailure {
  /** Its path inside the project folder, `/`-separated. */
  readonly path: string;
  readonly errno: string;
}

/** What the guard did to a project's files (event `guard`, and `guard` in `--json`). */
export interface GuardReport {
  /** What the files were made: read-only (you do not hold the lock) or writable (you do). */
  readonly made: 'read-only' | 'writable';
  readonly reason: GuardReason;
  /** The project folder (what the lock covers). */
  readonly dir: string;
  /** Files whose mode this run changed. */
  readonly changed: number;
  /** Files the guard now keeps read-only (the ones it will make writable again on acquire). */
  readonly readOnly: number;
  /** Files it could not change: run the command again once their permissions allow it. */
  readonly failed: readonly GuardFailure[];
  /**
   * Its record in the state folder could not be read or written (`errno`, e.g. ENOSPC): it changed
   * nothing, so that no mode is ever lost.
   */
  readonly recordFailed?: string;
}

/** `lock status`: whether the guard is on, and how many files it keeps read-only now. */
export interface GuardStatus {
  readonly enabled: boolean;
  readonly readOnly: number;
}

/** A regular file of the project and its permission bits. */
export interface FileMode {
  readonly path: string;
  readonly mode: number;
}

/** The guard's record: the mode each file had before the guard took its write bits away. */
export type GuardRecord = Readonly<Record<string, number>>;

/** A mode change to make: `path` from `from` to `to`. */
export interface ModeChange {
  readonly path: string;
  readonly from: number;
  readonly to: number;
}

const WRITE_BITS = 0o222;

/**
 * Making files read-only (pure): every file with a write bit loses its write bits, and its mode is
 * recorded (a file the guard made read-only before and that is writable again, replaced by a save
 * or changed by hand, is recorded afresh). A file already read-only is left alone and not recorded,
 * so it stays read-only after acquire. Records of files that are gone are dropped.
 */
export function planReadOnly(
  files: readonly FileMode[],
  record: GuardRecord,
): { changes: ModeChange[]; record: Record<string, number> } {
  const next: Record<string, number> = {};
  const changes: ModeChange[] = [];
  for (const file of files) {
    if (file.mode & WRITE_BITS) {
      changes.push({ path: file.path, from: file.mode, to: file.mode & ~WRITE_BITS });
      next[file.path] = file.mode;
    } else if (record[file.path] !== undefined) {
      next[file.path] = record[file.path]!;
    }
  }
  return { changes, record: next };
}

/**
 * Making files writable (pure): each recorded file gets its recorded mode back, if its mode is still
 * the one the guard set; a file changed since (by hand, or replaced) is left as it is. `current`:
 * the present mode of each recorded file (absent: gone). The record is emptied.
 */
export function planWritable(current: ReadonlyMap<string, number>, record: GuardRecord): ModeChange[] {
  const changes: ModeChange[] = [];
  for (const [path, mode] of Object.entries(record)) {
    const now = current.get(path);
    if (now !== undefined && now === (mode & ~WRITE_BITS) && now !== mode)
      changes.push({ path, from: now, to: mode });
  }
  return changes;
}

/** Names never entered: Oxen's own folder anywhere, and ours at the repository root. */
const SKIP_ANYWHERE = new Set(['.oxen']);
const SKIP_AT_ROOT = new Set(['.oxen', '.oxenvcs']);

/**
 * The regular files under `dir` with their permission bits, never following a symbolic link, never
 * entering `.oxen/` (anywhere), `.oxenvcs/` (at the repository root) or the folders of `skip`.
 */
export function scanFiles(dir: string, root: string, skip: ReadonlySet<string>): FileMode[] {
  const out: FileMode[] = [];
  const walk = (folder: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return; // removed meanwhile, or not ours to read: nothing to guard there
    }
    for (const entry of entries) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (SKIP_ANYWHERE.has(entry.name) || (folder === root && SKIP_AT_ROOT.has(entry.name))) continue;
        if (skip.has(full)) continue;
        walk(full);
      } else if (entry.isFile()) {
        try {
          const st = lstatSync(full);
          if (st.isFile())
            out.push({ path: relative(dir, full).split(sep).join('/'), mode: st.mode & 0o7777 });
        } catch {
          // gone meanwhile
        }
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * Changes one file's mode without following a link: the file is opened with O_NOFOLLOW and
 * changed through its descriptor, so a file replaced by a link since the scan is refused (ELOOP).
 */
function chmodNoFollow(file: string, mode: number): void {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EINVAL' });
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

const errnoOf = (error: unknown) => {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'UNKNOWN';
};

/** Where the guard keeps its record of one project folder (in the state folder, never in the project). */
export const guardFile = (stateDir: string, dir: string) =>
  join(stateDir, 'guard', `${crypto().createHash('sha256').update(dir).digest('hex').slice(0, 24)}.json`);

/** A record lock whose holder cannot be checked (stopped, or of another host) is taken over after this. */
const RECORD_LOCK_STALE_MS = 30_000;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `fn` holding `<record>.lock`, so two processes guarding one folder at once (the TUI's poll
 * and a command) never lose a recorded mode to each other's read-modify-write. The lock file names
 * its holder (written aside, hard-linked into place whole); one whose process is gone is taken
 * over at once, a live one is waited for (its job is one pass over the folder).
 */
export function withRecordLock<T>(record: string, fn: () => T): T {
  const lock = `${record}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  const side = `${lock}.${process.pid}.${crypto().randomUUID().slice(0, 8)}`;
  writeNewFile(side, JSON.stringify(identify()));
  try {
    for (;;) {
      try {
        linkSync(side, lock);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      let holder: ProcessIdentity | undefined;
      let age = 0;
      try {
        holder = JSON.parse(readFileSync(lock, 'utf8')) as ProcessIdentity;
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      const state = holder.host === identify().host ? checkProcess(holder) : 'stopped';
      if (state === 'gone' || (state === 'stopped' && age > RECORD_LOCK_STALE_MS)) {
        rmSync(lock, { force: true });
        continue;
      }
      Atomics.wait(pause, 0, 0, 10);
    }
  } finally {
    rmSync(side, { force: true });
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

interface StoredRecord {
  readonly dir: string;
  readonly modes: Record<string, number>;
}

/** The guard of one project folder: its record file and the two moves. */
export interface Guard {
  /** The project folder. */
  readonly dir: string;
  /** Files the guard keeps read-only now (by its record). */
  readonly readOnly: () => number;
  /** Makes the files read-only, recording what it changed. */
  readonly lock: (reason: GuardReason) => GuardReport;
  /** Gives back the write bits the guard took (only those). */
  readonly unlock: (reason: GuardReason) => GuardReport;
}

/**
 * The guard of `dir` (inside the repository `root`). The record is written before any mode is
 * taken away, so an interruption never loses a mode to give back; a failure is reported (never
 * silent) and the next run picks up where this one stopped.
 */
export function createGuard(options: { dir: string; root: string; stateDir: string }): Guard {
  const { dir, root } = options;
  const file = guardFile(options.stateDir, dir);
  const load = (): Record<string, number> => {
    const stored = readState<StoredRecord | undefined>(file, undefined);
    return stored && stored.dir === dir ? { ...stored.modes } : {};
  };
  const save = (modes: Record<string, number>) => writeState(file, { dir, modes } satisfies StoredRecord);
  let stateReal: string;
  try {
    stateReal = realpathSync(options.stateDir);
  } catch {
    stateReal = resolve(options.stateDir);
  }
  const report = (
    made: GuardReport['made'],
    reason: GuardReason,
    changed: number,
    readOnly: number,
    failed: GuardFailure[],
  ): GuardReport => ({ made, reason, dir, changed, readOnly, failed });

  return {
    dir,
    readOnly: () => Object.keys(load()).length,
    lock: (reason) => withRecordLock(file, () => lockNow(reason)),
    unlock: (reason) => withRecordLock(file, () => unlockNow(reason)),
  };

  function lockNow(reason: GuardReason): GuardReport {
    const before = load();
    const plan = planReadOnly(scanFiles(dir, root, new Set([stateReal])), before);
    // Nothing to change and nothing gone: the record stands (a status every few seconds, from
    // the TUI, must not rewrite it each time).
    const same = plan.changes.length === 0 && Object.keys(plan.record).length === Object.keys(before).length;
    if (!same) save(plan.record);
    const failed: GuardFailure[] = [];
    let changed = 0;
    for (const change of plan.changes) {
      try {
        chmodNoFollow(join(dir, change.path), change.to);
        changed++;
      } catch (error) {
        failed.push({ path: change.path, errno: errnoOf(error) });
        // Not changed: nothing of it to give back (unless it was read-only by the guard before).
        if (before[change.path] === undefined) delete plan.record[change.path];
      }
    }
    if (failed.length > 0) save(plan.record);
    return report('read-only', reason, changed, Object.keys(plan.record).length, failed);
  }

  function unlockNow(reason: GuardReason): GuardReport {
    const record = load();
    if (Object.keys(record).length === 0) return report('writable', reason, 0, 0, []);
    const current = new Map<string, number>();
    for (const path of Object.keys(record)) {
      try {
        const st = lstatSync(join(dir, path));
        if (st.isFile()) current.set(path, st.mode & 0o7777);
      } catch {
        // gone
      }
    }
    const failed: GuardFailure[] = [];
    let changed = 0;
    const left: Record<string, number> = {};
    for (const change of planWritable(current, record)) {
      try {
        chmodNoFollow(join(dir, change.path), change.to);
        changed++;
      } catch (error) {
        failed.push({ path: change.path, errno: errnoOf(error) });
        left[change.path] = record[change.path]!;
      }
    }
    save(left);
    return report('writable', reason, changed, Object.keys(left).length, failed);
  }
}

/** What {@link guardLocks} needs of the engine's core. */
export interface GuardDeps {
  readonly options: EngineOptions;
  readonly stateDir: string;
  readonly emit: (event: EngineEvent) => void;
}

const isLockError = (error: unknown, ...codes: string[]) => {
  const e = error as { name?: unknown; code?: unknown };
  return e?.name === 'LockError' && typeof e.code === 'string' && codes.includes(e.code);
};

/**
 * Hooks the guard into the engine where the lock changes hands: acquire (writable), release
 * (read-only), renew and status (whichever the remote says), a keep-alive that lost the lock
 * (read-only), and a sync or pull (by this machine's note of its lease afterwards). Each change
 * is reported as a `guard` event. Nothing happens unless `lock.read_only_guard` is on, except
 * that turning it off gives back what it took, at the next lock command.
 */
export function guardLocks(engine: Engine, deps: GuardDeps): Engine {
  let guard: Guard | undefined;
  const guardOf = (): Guard | undefined => {
    if (guard) return guard;
    let p: ReturnType<Engine['project']>;
    try {
      p = engine.project();
    } catch {
      return undefined;
    }
    let dir = p.root;
    if (p.key !== '.' && deps.options.project) {
      try {
        dir = realpathSync(resolve(deps.options.cwd, deps.options.project));
      } catch {
        return undefined; // a folder this copy does not have: nothing on disk to guard
      }
    }
    guard = createGuard({ dir, root: realpathSync(p.root), stateDir: deps.stateDir });
    return guard;
  };
  /** Whether this machine's note says it holds a live lease on the project. */
  const noteLive = () => {
    try {
      const note = engine.knownLease();
      const end = note ? noteEndsMs(note) : Number.NaN;
      return Number.isFinite(end) && end > Date.now();
    } catch {
      return false;
    }
  };
  /**
   * Sets the files as `held` says and reports it; `lifted`: files a pull had made writable for its
   * run (see {@link lifting}), so that taking them back is not news and giving them is.
   */
  const apply = (held: boolean, reason: GuardReason, lifted = 0): GuardReport | undefined => {
    const g = guardOf();
    if (!g) return undefined;
    let result: GuardReport;
    try {
      if (!engine.config.lock.read_only_guard) {
        if (g.readOnly() === 0) return undefined;
        result = g.unlock('guard-off');
      } else {
        result = held ? g.unlock(reason) : g.lock(reason);
        const changed = held ? result.changed + lifted : Math.max(0, result.changed - lifted);
        result = { ...result, changed };
      }
    } catch (error) {
      // The record could not be read or written (a full disk): said, and the lock change stands.
      result = {
        made: held ? 'writable' : 'read-only',
        reason,
        dir: g.dir,
        changed: 0,
        readOnly: 0,
        failed: [],
        recordFailed: errnoOf(error),
      };
    }
    deps.emit({ type: 'guard', report: result });
    return result;
  };
  /**
   * Runs a pull (or a sync, which may replay one) with the guarded files writable: oxen writes over
   * a file in place, which a read-only file refuses. The guard comes back afterwards, whatever
   * happened, by this machine's note of its lease then (`reason`; `held` and `acquired`: writable).
   */
  const lifting = async <T>(run: () => Promise<T>, reason: () => GuardReason): Promise<T> => {
    const g = guardOf();
    let lifted = 0;
    if (g && engine.config.lock.read_only_guard) {
      try {
        lifted = g.unlock('held').changed;
      } catch {
        // The record cannot be read: the pull runs as things are, and the next apply says why.
      }
    }
    try {
      return await run();
    } finally {
      const why = reason();
      apply(why === 'held' || why === 'acquired', why, lifted);
    }
  };
  const onError = (wasLive: boolean) => (error: unknown) => {
    if (isLockError(error, 'HELD', 'NOT_HOLDER')) apply(false, wasLive ? 'lost' : 'not-held');
    throw error;
  };

  const { lockAcquire, lockRelease, lockRenew, lockStatus, heartbeat, sync, pull } = engine;
  return Object.assign(engine, {
    lockAcquire: async (o?: Parameters<Engine['lockAcquire']>[0]) => {
      const out = await lockAcquire(o).catch(onError(false));
      if (out.status === 'done') apply(true, 'acquired');
      else apply(noteLive(), noteLive() ? 'held' : 'not-held');
      return out;
    },
    lockRelease: async () => {
      const out = await lockRelease().catch(onError(noteLive()));
      apply(false, 'released');
      return out;
    },
    lockRenew: async (o?: Parameters<Engine['lockRenew']>[0]) => {
      const out = await lockRenew(o).catch(onError(noteLive()));
      if (out.status === 'done') apply(true, 'held');
      return out;
    },
    lockStatus: async (o?: Parameters<Engine['lockStatus']>[0]) => {
      const wasLive = noteLive();
      const report = await lockStatus(o);
      const held = report.state ? report.state.state === 'held-by-you' : noteLive();
      apply(held, held ? 'held' : wasLive ? 'lost' : 'not-held');
      let readOnly = 0;
      try {
        readOnly = guardOf()?.readOnly() ?? 0;
      } catch {
        // An unreadable record: the guard event has said so.
      }
      return { ...report, guard: { enabled: engine.config.lock.read_only_guard, readOnly } };
    },
    heartbeat: async (o: Parameters<Engine['heartbeat']>[0]) => {
      const end = await heartbeat(o);
      if (end === 'lost') apply(false, 'lost');
      return end;
    },
    sync: async (o?: Parameters<Engine['sync']>[0]) => {
      if (o?.dryRun) return sync(o);
      const wasLive = noteLive();
      return lifting(
        () => sync(o),
        () => (noteLive() ? (wasLive ? 'held' : 'acquired') : wasLive ? 'released' : 'not-held'),
      );
    },
    pull: async (branch?: string) =>
      lifting(
        () => pull(branch),
        () => (noteLive() ? 'held' : 'not-held'),
      ),
  } satisfies Partial<Engine>);
}
