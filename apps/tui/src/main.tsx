import { appendFileSync } from 'node:fs';
import { createEngine, type EngineEvent, loadConfig } from '@oxvcs/engine';
import { render } from 'ink';
import { App } from './App.js';
import { errorText } from './format.js';

/** Options of {@link startTui}. */
export interface TuiOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly project?: string;
  readonly remote?: string;
  /** Append debug lines to this file (never to the console). */
  readonly debugLog?: string;
  /** `--no-auto-sync`: never sync on its own, only on `s` (else config `queue.auto_sync`). */
  readonly noAutoSync?: boolean;
}

/** Runs `fn`; what the engine or Oxen refused is thrown again in the TUI's words. */
function wordRefusal<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw new Error(errorText(error), { cause: error });
  }
}

/** Starts the full-screen TUI on the process's terminal; resolves when the user quits. */
export async function startTui(options: TuiOptions): Promise<void> {
  const listeners = new Set<(event: EngineEvent) => void>();
  const engine = wordRefusal(() =>
    createEngine({
      cwd: options.cwd,
      env: options.env,
      command: 'oxenvcs-tui',
      ...(options.project ? { project: options.project } : {}),
      ...(options.remote ? { remote: options.remote } : {}),
      // Engine calls never sync first: the TUI runs its syncs itself (on `s`, and when the network
      // comes back), so that each one shows its progress.
      overrides: { queue: { auto_sync: false } },
      onEvent: (event) => {
        for (const listener of listeners) listener(event);
      },
    }),
  );
  // Fail before taking the screen when there is no project or the config is bad.
  const project = wordRefusal(() => engine.project());
  const heartbeat = engine.config.lock.auto_renew;
  // The user's own `queue.auto_sync` (the engine above has it overridden).
  const autoSync =
    !options.noAutoSync && loadConfig({ env: options.env, projectRoot: project.root }).queue.auto_sync;
  const log = options.debugLog
    ? (line: string) => appendFileSync(options.debugLog!, `${new Date().toISOString()} ${line}\n`)
    : undefined;
  const restore = () => process.stdout.write('\u001b[?1049l\u001b[?25h');
  const instance = render(
    <App
      engine={engine}
      heartbeat={heartbeat}
      autoSync={autoSync}
      subscribe={(listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      }}
      {...(log ? { log } : {})}
    />,
    // A real terminal is interactive even when CI is set (Ink would otherwise only print the last frame).
    {
      alternateScreen: true,
      exitOnCtrlC: true,
      patchConsole: true,
      interactive: Boolean(process.stdout.isTTY),
    },
  );
  const crash = (error: unknown) => {
    instance.unmount();
    restore();
    process.stderr.write(`oxenvcs-tui crashed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  };
  process.once('uncaughtException', crash);
  process.once('unhandledRejection', crash);
  process.once('SIGTERM', () => instance.unmount());
  try {
    await instance.waitUntilExit();
  } finally {
    restore();
  }
  // The queue was on screen while the TUI was open: what failed meanwhile has been seen.
  await engine.whileAway().catch(() => undefined);
}
