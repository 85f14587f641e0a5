import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
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
  const log = openSync(current.log, 'a', 0o600);
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
