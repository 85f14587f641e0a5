import { spawn } from 'node:child_process';
import { closeSync, constants, fstatSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Engine } from '@oxvcs/engine';

/**
 * Starts `oxenvcs lock heartbeat` for the current lock as a detached process of its own session:
 * it outlives the terminal (closing it, or the shell being killed) and writes to its log in the
 * state folder. One per lock per machine: nothing is started when one already runs.
 */
export async function startKeepAlive(
  engine: Engine,
  argv: { project?: string; remote?: string },
): Promise<{ started: boolean; pid?: number; log: string }> {
  const current = await engine.keepAlive();
  if (current.running)
    return { started: false, ...(current.note ? { pid: current.note.pid } : {}), log: current.log };
  mkdirSync(dirname(current.log), { recursive: true, mode: 0o700 });
  const log = openLog(current.log);
  const bin = process.argv[1] ?? '';
  const args = [
    bin,
    'lock',
    'heartbeat',
    ...(argv.project ? ['--project', argv.project] : []),
    ...(argv.remote ? ['--remote', argv.remote] : []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: engine.project().root,
    detached: true,
    stdio: ['ignore', log, log],
    // Background: it writes to a log nobody watches, so it tells nothing "while you were away".
    env: { ...process.env, NO_COLOR: '1', OXENVCS_BACKGROUND: '1' },
  });
  closeSync(log);
  child.unref();
  if (child.pid) await engine.markKeepAlive(child.pid);
  return { started: true, ...(child.pid ? { pid: child.pid } : {}), log: current.log };
}

/**
 * Opens the keep-alive's log for appending (mode 0600). A link is not followed (the log would be
 * appended to whatever it points to) and a FIFO is not waited on: both are refused, naming the path.
 */
function openLog(file: string): number {
  const flags =
    constants.O_WRONLY |
    constants.O_APPEND |
    constants.O_CREAT |
    (constants.O_NOFOLLOW ?? 0) |
    (constants.O_NONBLOCK ?? 0);
  let fd: number;
  try {
    fd = openSync(file, flags, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENXIO' || code === 'EISDIR') throw notAFile(file);
    throw error;
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw notAFile(file);
  }
  return fd;
}

const notAFile = (file: string) =>
  Object.assign(
    new Error(
      `The keep-alive log ${file} is not a regular file (a link, a named pipe or a folder); move it away, then run again.`,
    ),
    // Shaped as a state-file error of the packages, so the CLI says it in one line (exit 1).
    { name: 'StateFileError', code: 'NOT_A_FILE', oxvcs: true, file },
  );
