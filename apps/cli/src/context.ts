import type { BaseContext } from 'clipanion';

/** Clipanion's context plus the working directory, so in-process tests can run anywhere. */
export interface CliContext extends BaseContext {
  readonly cwd: string;
}
