import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { clipServerText } from '@oxvcs/oxen';

/** What a desktop notification did. */
export type NotifyResult =
  /** Handed to the desktop's notifier (it shows it, or not, as the user set it up). */
  | { readonly sent: true; readonly via: 'osascript' | 'notify-send' }
  /** Not sent: turned off by config (`ui.notifications = false`), or no notifier on this machine. */
  | { readonly sent: false; readonly why: 'off' | 'unavailable' | 'failed' };

/** Starts a program with arguments (no shell); resolves when it has started, rejects if it cannot. */
export type Spawner = (file: string, args: readonly string[]) => Promise<void>;

/** Options of {@link createNotifier}. */
export interface NotifierOptions {
  /** `ui.notifications` of the configuration. @default true */
  readonly enabled?: boolean;
  /** Where to look for the notifier programs: the `PATH` of this environment. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** `darwin` uses `osascript`; every other platform `notify-send`. @default process.platform */
  readonly platform?: NodeJS.Platform;
  /** Test seam: runs the notifier. @default a detached `child_process.spawn` that is not waited for */
  readonly spawn?: Spawner;
}

/** Sends desktop notifications (the apps word them). */
export interface Notifier {
  /** Shows `title` and `body` (each one line, clipped; no secrets: they go on a command line). */
  notify(title: string, body: string): Promise<NotifyResult>;
}

/** The first executable `name` on `PATH`, or undefined. */
export function findOnPath(
  name: string,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** The AppleScript that shows its two arguments: the text never becomes script source. */
const APPLESCRIPT = [
  '-e',
  'on run argv',
  '-e',
  'display notification (item 2 of argv) with title (item 1 of argv)',
  '-e',
  'end run',
];

/** The notifier's command line: `osascript` on macOS, `notify-send` elsewhere. */
export function notifierCommand(
  platform: NodeJS.Platform,
  program: string,
  title: string,
  body: string,
): { file: string; args: string[] } {
  return platform === 'darwin'
    ? { file: program, args: [...APPLESCRIPT, title, body] }
    : // `--` so a text starting with `-` is never read as an option.
      { file: program, args: ['--app-name=oxenvcs', '--', title, body] };
}

const defaultSpawn: Spawner = async (file, args) => {
  // Loaded only when a notification is sent: most commands never send one.
  const { spawn } = await import('node:child_process');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(file, [...args], { stdio: 'ignore', detached: true });
    child.once('error', reject);
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
};

/**
 * Creates a desktop notifier: macOS `osascript`, Linux (and other) `notify-send`, when present on
 * `PATH`; nothing when turned off by config or when neither exists. Texts are passed as arguments,
 * never through a shell; each is made one terminal-safe line of at most 200 characters.
 */
export function createNotifier(options: NotifierOptions = {}): Notifier {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const spawn = options.spawn ?? defaultSpawn;
  return {
    async notify(title, body) {
      if (options.enabled === false) return { sent: false, why: 'off' };
      const via = platform === 'darwin' ? 'osascript' : 'notify-send';
      const program = findOnPath(via, env);
      if (!program) return { sent: false, why: 'unavailable' };
      const { file, args } = notifierCommand(
        platform,
        program,
        clipServerText(title, 200),
        clipServerText(body, 200),
      );
      try {
        await spawn(file, args);
        return { sent: true, via };
      } catch {
        return { sent: false, why: 'failed' };
      }
    },
  };
}
