import { checkProcess, identify, isRunning, type ProcessIdentity } from '@oxvcs/durable';
import type { QueueEntry } from './types.js';

type Runner = NonNullable<QueueEntry['runner']>;

/** This process as an entry's runner records it (pid, host and start time). */
export function runnerHere(): ProcessIdentity {
  return identify();
}

/**
 * True when `runner` is this very process: the same pid and start time (a process that had our pid
 * before us, as pid 1 in a container does after every restart, is not us).
 */
export function isRunnerHere(runner: Runner): boolean {
  return runner.pid === process.pid && checkProcess(runner) === 'running';
}

/** True while the process that runs an entry is alive (a reused pid is not; see `checkProcess`). */
export function isRunnerAlive(runner: Runner | undefined): boolean {
  return runner !== undefined && isRunning(runner);
}
