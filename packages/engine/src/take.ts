import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * Recording a take as commit-sized checkpoints. Oxen 0.54 resumes a cut push only at commit
 * boundaries (a commit the server has whole is skipped, every other is sent again in full), so a
 * take recorded as size-bounded parts re-sends at most about one part after a cut.
 */

/** Default part size: 200 MB, ten parts for a 2 GB take. */
export const DEFAULT_PART_BYTES = 200_000_000;

/** A changed file of the take: its path in the repository and its size (0 when removed). */
export interface TakeFile {
  readonly path: string;
  readonly bytes: number;
  /** Removed from the working copy (staged as a removal). */
  readonly removed?: boolean;
}

/** One commit of a take. */
export interface TakePart {
  /** 1-based. */
  readonly index: number;
  readonly paths: readonly string[];
  readonly bytes: number;
  /** True when a single file alone is over the part size: this part cannot resume midway. */
  readonly oversized: boolean;
}

/**
 * The project document: what Logic opens, so it is recorded last and the branch head is a whole
 * project whenever the branch moves. In a `.logicx` package, everything outside its `Media/` and
 * `Audio Files/` folders (`Alternatives/…/ProjectData`, `Resources/`, metadata); elsewhere, files
 * named `ProjectData` or ending in `.logicx`, `.band` or `.song`.
 */
export function isProjectDocument(path: string): boolean {
  const inPackage = /(^|\/)[^/]+\.logicx\/(.*)$/.exec(path);
  if (inPackage) return !/^(Media|Audio Files)\//.test(inPackage[2]!);
  return /(^|\/)ProjectData$|\.(logicx|band|song)$/i.test(path);
}

/**
 * Splits a take into parts of at most `partBytes` (a single larger file makes a part of its own):
 * media first, in path order, then the project document and removals, so nothing of the document
 * is recorded before the last media file. Pure.
 */
export function planTake(files: readonly TakeFile[], partBytes: number): TakePart[] {
  const byPath = (a: TakeFile, b: TakeFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  const last = files.filter((f) => f.removed || isProjectDocument(f.path)).sort(byPath);
  const media = files.filter((f) => !f.removed && !isProjectDocument(f.path)).sort(byPath);
  const groups: TakeFile[][] = [];
  let current: TakeFile[] = [];
  let size = 0;
  // One stream, media then the document: the document shares the last media part when it fits.
  for (const file of [...media, ...last]) {
    if (current.length > 0 && size + file.bytes > partBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(file);
    size += file.bytes;
  }
  if (current.length > 0) groups.push(current);
  return groups.map((group, i) => ({
    index: i + 1,
    paths: group.map((f) => f.path),
    bytes: group.reduce((n, f) => n + f.bytes, 0),
    oversized: group.some((f) => f.bytes > partBytes),
  }));
}

/** The commit message of part `index` of `count`: `MSG (part i of n)`; one part keeps `MSG`. */
export const partMessage = (message: string, index: number, count: number) =>
  count === 1 ? message : `${message} (part ${index} of ${count})`;

/**
 * The part (1-based) of a take cut off while it was recorded that `head` (a branch's last commit)
 * is, when it is one before the last planned: such a head is part of the project without the rest
 * (its document is recorded last). By its id among the parts recorded, or by its message (the
 * command may have been killed after a commit and before noting it). Pure.
 */
export function cutOffAt(
  take: TakeRecord,
  head: { readonly id: string; readonly message: string },
): number | undefined {
  const planned = take.recording?.parts;
  if (planned === undefined) return undefined;
  const byId = take.parts.findIndex((p) => p.commit === head.id) + 1;
  const suffix = head.message.startsWith(`${take.message} (part `)
    ? /^\(part (\d+) of (\d+)\)$/.exec(head.message.slice(take.message.length + 1))
    : null;
  const byMessage = suffix && Number(suffix[2]) === planned ? Number(suffix[1]) : 0;
  const part = byId || byMessage;
  return part > 0 && part < planned ? part : undefined;
}

/** A take as recorded: its parts' commits and sizes (`.oxen/oxvcs-take.json`). */
export interface TakeRecord {
  readonly message: string;
  /** The branch it was recorded on (absent in records of older versions). */
  readonly branch?: string;
  readonly partBytes: number;
  readonly parts: ReadonlyArray<{ readonly commit: string; readonly bytes: number; readonly files: number }>;
  /**
   * Set while the take is being recorded (the number of parts planned), removed once its last part
   * is a commit: a record that still has it after the command ended was cut off between parts, and
   * a branch ending at one of its parts lacks the rest of the project (see {@link cutOffAt}).
   */
  readonly recording?: { readonly parts: number };
  /** Its push finished (the remote branch is its last part): later pushes do not look it up. */
  readonly pushed?: boolean;
  /**
   * What its pushes found on the remote, at least: how many parts, and their bytes, as of `at`
   * (ISO time). Told by `queue status` for a push that stopped partway.
   */
  readonly onRemote?: { readonly parts: number; readonly bytes: number; readonly at: string };
}

const takeFile = (projectDir: string) => join(projectDir, '.oxen', 'oxvcs-take.json');

/**
 * A stamp of the project's take record that changes whenever the record is written (each write
 * replaces the file): one stat, for a caller that polls it ('' when there is none).
 */
export function takeStamp(projectDir: string): string {
  const st = statSync(takeFile(projectDir), { throwIfNoEntry: false });
  return st ? `${st.ino}:${st.mtimeMs}:${st.size}` : '';
}

/** Keeps the last recorded take beside the repository, for the resume report of its push. */
export function saveTake(projectDir: string, take: TakeRecord): void {
  const file = takeFile(projectDir);
  try {
    writeFileSync(`${file}.tmp`, JSON.stringify(take));
    renameSync(`${file}.tmp`, file);
  } catch (error) {
    // A full disk leaves a partial temp file: not left inside the repository. What failed is
    // what is reported, even when the temp path cannot be cleared (not a file).
    try {
      rmSync(`${file}.tmp`, { force: true });
    } catch {}
    throw error;
  }
}

/**
 * Notes what a push learnt of the take `commit` ends (its last part's commit): a take recorded
 * since is left alone. Best effort: a note that cannot be written is only a report missing.
 */
export function noteTake(
  projectDir: string,
  commit: string,
  note: Pick<TakeRecord, 'pushed' | 'onRemote'>,
): void {
  const take = loadTake(projectDir);
  if (take?.parts.at(-1)?.commit !== commit) return;
  try {
    saveTake(projectDir, { ...take, ...note });
  } catch {
    // The push itself is what counts.
  }
}

/** A count or size as the record holds it: a whole number, 0 or more. */
const whole = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/**
 * Whether `value` has the shape of a {@link TakeRecord}: what the push and `queue status` read
 * from it is sized and counted by its numbers, so a record corrupted or edited by hand is checked
 * whole before it is believed. Pure.
 */
export function isTakeRecord(value: unknown): value is TakeRecord {
  if (!isObject(value) || typeof value.message !== 'string') return false;
  if (typeof value.partBytes !== 'number' || !(value.partBytes > 0)) return false;
  if (value.branch !== undefined && typeof value.branch !== 'string') return false;
  const { parts, recording, pushed, onRemote } = value;
  if (!Array.isArray(parts)) return false;
  const part = (p: unknown) =>
    isObject(p) &&
    typeof p.commit === 'string' &&
    /^[0-9a-f]+$/.test(p.commit) &&
    whole(p.bytes) &&
    whole(p.files);
  if (!parts.every(part)) return false;
  if (
    recording !== undefined &&
    !(isObject(recording) && whole(recording.parts) && recording.parts >= parts.length)
  )
    return false;
  if (pushed !== undefined && typeof pushed !== 'boolean') return false;
  return (
    onRemote === undefined ||
    (isObject(onRemote) &&
      whole(onRemote.parts) &&
      onRemote.parts <= parts.length &&
      whole(onRemote.bytes) &&
      typeof onRemote.at === 'string')
  );
}

/**
 * The last recorded take of `projectDir`, if any: a file that does not parse, or whose content is
 * not a take's (see {@link isTakeRecord}), counts as none; with `branch`, one recorded on another
 * branch counts as none too (a take recorded after the branch was switched is not its push's).
 */
export function loadTake(projectDir: string, branch?: string): TakeRecord | undefined {
  const file = takeFile(projectDir);
  if (!existsSync(file)) return undefined;
  try {
    const take: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!isTakeRecord(take)) return undefined;
    return branch === undefined || take.branch === undefined || take.branch === branch ? take : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The files under `dir` (a path inside `root`, `''` for the root), `.oxen` left out: real oxen
 * lists an untracked folder as the folder, so its files are found here. Symbolic links are not
 * followed (one to a parent folder would loop; one outside would bring in what is not the project's).
 */
export function filesUnder(root: string, dir: string): TakeFile[] {
  const full = join(root, dir);
  const stat = lstatSync(full, { throwIfNoEntry: false });
  if (!stat) return [];
  if (stat.isFile()) return [{ path: dir, bytes: stat.size }];
  if (!stat.isDirectory()) return [];
  const out: TakeFile[] = [];
  for (const entry of readdirSync(full, { withFileTypes: true })) {
    if (entry.name === '.oxen') continue;
    out.push(...filesUnder(root, dir ? `${dir}/${entry.name}` : entry.name));
  }
  return out;
}
