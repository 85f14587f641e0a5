import type { ConnectivityReason } from '@oxvcs/oxen';
import { OxvcsError } from '@oxvcs/retry';
import type { InputField, InputProblemCode } from './input.js';

/** Codes of {@link EngineError}. */
export type EngineErrorCode =
  | 'CONFIG_INVALID'
  /** Input refused: with `field` and, from the shared rules, `problem` (and `limit`, `value`). */
  | 'INVALID_INPUT'
  /** A queued entry's project folder is gone (or no longer an Oxen repository): `project`. */
  | 'PROJECT_GONE'
  | 'STATE_UNREADABLE'
  /** A FIFO, folder, device or symbolic link stands where a state file belongs. */
  | 'STATE_NOT_A_FILE'
  /**
   * A command that needs the remote (lock list, lock break) while it is unreachable: `origin`,
   * `operation` (the verb, e.g. `lock-status`) and, when the check said why, `connectivity`.
   */
  | 'OFFLINE'
  /** A command that needs the remote did not finish within its deadline: `origin`, `operation`, `timeoutMs`. */
  | 'DEADLINE'
  /** A keep-alive (`pid`) already renews this lock (`key`) on this machine. */
  | 'KEEPALIVE_RUNNING'
  /** `commit` found no change to record. */
  | 'NOTHING_TO_COMMIT'
  /**
   * A push refused because the branch ends inside a take whose recording was cut off (killed or
   * failed between parts): `part` of `parts`, the rest of the project not committed yet.
   */
  | 'TAKE_INCOMPLETE'
  /** `lock acquire --wait --max-wait`: the wait ran out before the lock was yours (`waitedMs`, `maxWaitMs`); the line was left. */
  | 'WAIT_ENDED';

/** Failures of the engine's own: configuration, input, state files. */
export class EngineError extends OxvcsError {
  override readonly name = 'EngineError';
  readonly code: EngineErrorCode;
  override readonly retryKind = 'permanent' as const;
  /** The file concerned, when there is one. */
  readonly file?: string;
  /** The configuration key or input field concerned. */
  readonly field?: string;
  /** What is wrong with the input (INVALID_INPUT from the shared rules of `input.ts`). */
  readonly problem?: InputProblemCode;
  /** The bound the input broke, in characters (`too-long`). */
  readonly limit?: number;
  /** The input as given (its first 80 characters). */
  readonly value?: string;
  /** The repository a folder was found inside (`inside-repository`). */
  readonly repository?: string;
  /** The project folder concerned (PROJECT_GONE). */
  readonly project?: string;
  /** WAIT_ENDED: how long the wait lasted, and how long it was allowed to. */
  readonly waitedMs?: number;
  readonly maxWaitMs?: number;
  /** The bounds of an `out-of-range` input. */
  readonly min?: number;
  readonly max?: number;
  /** KEEPALIVE_RUNNING: the keep-alive's process and the lock key it renews. */
  readonly pid?: number;
  readonly key?: string;
  /** OFFLINE, DEADLINE: the remote's origin and the verb that needed it (`lock-status`…). */
  readonly origin?: string;
  readonly operation?: string;
  /** DEADLINE: the deadline it ran out of. */
  readonly timeoutMs?: number;
  /** OFFLINE: why the remote was judged unreachable. */
  readonly connectivity?: ConnectivityReason;
  /** TAKE_INCOMPLETE: the part the branch ends at, and how many the take was planned as. */
  readonly part?: number;
  readonly parts?: number;

  constructor(
    code: EngineErrorCode,
    message: string,
    details: {
      cause?: unknown;
      file?: string;
      field?: InputField | (string & {});
      problem?: InputProblemCode;
      limit?: number;
      value?: string;
      repository?: string;
      project?: string;
      waitedMs?: number;
      maxWaitMs?: number;
      min?: number;
      max?: number;
      pid?: number;
      key?: string;
      origin?: string;
      operation?: string;
      timeoutMs?: number;
      connectivity?: ConnectivityReason;
      part?: number;
      parts?: number;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    const { cause: _c, ...facts } = details;
    for (const [k, v] of Object.entries(facts))
      if (v !== undefined && v !== '') Object.assign(this, { [k]: v });
  }
}
