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
  /** A command that needs the remote (lock list, lock break) while it is unreachable. */
  | 'OFFLINE'
  /** A command that needs the remote did not finish within its deadline. */
  | 'DEADLINE'
  /** A keep-alive already renews this lock on this machine. */
  | 'KEEPALIVE_RUNNING'
  /** `commit` found no change to record. */
  | 'NOTHING_TO_COMMIT'
  /** `lock acquire --wait --max-wait`: the wait ran out before the lock was yours (`waitedMs`); the line was left. */
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
  /** WAIT_ENDED: how long the wait lasted. */
  readonly waitedMs?: number;

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
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    const { cause: _c, ...facts } = details;
    for (const [k, v] of Object.entries(facts))
      if (v !== undefined && v !== '') Object.assign(this, { [k]: v });
  }
}
