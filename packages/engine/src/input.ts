import { EngineError } from './errors.js';

/**
 * What the user typed that the engine refuses, and why, as a code and facts: the apps word it. One
 * home for the rules, used when a command is typed and again when a stored entry replays (an entry
 * queued by an older version that did not check is refused then, alone, never run as an option).
 */
export type InputProblemCode =
  /** Nothing given where a name is needed (`push ''`). */
  | 'empty'
  /** Starts with `-`: a program reading it would take it for an option (`push -- --delete`). */
  | 'option-like'
  /** Holds a control character (a newline, an escape). */
  | 'control-character'
  /** Longer than `limit` characters. */
  | 'too-long'
  /** A path leaving the repository (`..` as a part, or an absolute path): `pull ../../etc`. */
  | 'outside-repository'
  /** A path that must be absolute is relative (`OXENVCS_HOME=state`). */
  | 'relative'
  /** A folder that must not be inside an Oxen repository is (`repository`: the repository's root). */
  | 'inside-repository'
  /** A folder was asked for and a file was given (`--project Song.logicx/data`). */
  | 'not-a-folder'
  /** The folder does not exist in this copy (`--project` of someone else's folder, not pulled yet). */
  | 'no-such-folder'
  /** A number outside its bounds (`min`, `max`). */
  | 'out-of-range';

/**
 * Which input a problem is about: typed names and texts (checked by the rules below, also on
 * replay), and the project folder, holder name and lease length a command is set up with.
 */
export type InputField =
  | 'branch'
  | 'remote-name'
  | 'comment'
  | 'reason'
  | 'OXENVCS_HOME'
  | 'project'
  | 'OXENVCS_HOLDER'
  | 'timeout';

/** A refused input: the field, the problem, the value as given and, where one applies, the bound. */
export interface InputProblem {
  readonly field: InputField;
  readonly problem: InputProblemCode;
  readonly value: string;
  /** The longest allowed (`too-long`), in characters. */
  readonly limit?: number;
  /** The repository the value is inside (`inside-repository`), or outside of (`outside-repository`). */
  readonly repository?: string;
  /** The bounds of an `out-of-range` number. */
  readonly min?: number;
  readonly max?: number;
}

/**
 * The longest branch or remote name accepted, in characters: a name is a file name in the
 * repository's `.oxen` folder, and file systems allow 255 bytes for one.
 */
export const MAX_NAME_LENGTH = 255;

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * A branch or remote name as oxen receives it: refused when empty, `-`-leading, holding a control
 * character, longer than {@link MAX_NAME_LENGTH}, or a path leaving the repository (a part `..`, a
 * leading `/` or `\`, a drive letter): oxen keeps a branch as a file under `.oxen`.
 */
export function checkName(field: 'branch' | 'remote-name', value: string): InputProblem | undefined {
  if (value.trim() === '') return { field, problem: 'empty', value };
  if (value.startsWith('-')) return { field, problem: 'option-like', value };
  if (CONTROL.test(value)) return { field, problem: 'control-character', value };
  if (value.length > MAX_NAME_LENGTH) return { field, problem: 'too-long', value, limit: MAX_NAME_LENGTH };
  if (/^[/\\]|^[a-zA-Z]:/.test(value) || value.split(/[/\\]/).includes('..'))
    return { field, problem: 'outside-repository', value };
  return undefined;
}

/** Free text for a lock record (a comment, a break reason): at most `limit` characters. */
export function checkText(
  field: 'comment' | 'reason',
  value: string,
  limit: number,
): InputProblem | undefined {
  return value.length > limit ? { field, problem: 'too-long', value, limit } : undefined;
}

/** The error for a refused input: INVALID_INPUT with the problem's facts (the apps word it). */
export function inputError(p: InputProblem): EngineError {
  const bound = p.limit !== undefined ? `, at most ${p.limit}` : '';
  return new EngineError('INVALID_INPUT', `Invalid ${p.field}: ${p.problem}${bound}.`, {
    field: p.field,
    problem: p.problem,
    ...(p.limit !== undefined ? { limit: p.limit } : {}),
    ...(p.repository !== undefined ? { repository: p.repository } : {}),
    ...(p.min !== undefined ? { min: p.min } : {}),
    ...(p.max !== undefined ? { max: p.max } : {}),
    // Enough to recognise it: a 120 KB comment is not repeated in a `--json` error. A folder is
    // named whole: a clipped path names no folder.
    value: p.field === 'project' ? p.value : p.value.slice(0, 80),
  });
}

/** Throws {@link inputError} for the first problem found; returns `value` when there is none. */
export function refuse<T>(value: T, ...problems: ReadonlyArray<InputProblem | undefined>): T {
  const first = problems.find((p) => p !== undefined);
  if (first) throw inputError(first);
  return value;
}
