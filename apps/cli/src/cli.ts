import { Builtins, Cli, type CommandClass } from 'clipanion';
import type { CliContext } from './context.js';
import { EXIT } from './output.js';

/** The package version, shown by `--version`. */
export const VERSION = '0.1.0';

type Loader = () => Promise<CommandClass<CliContext>>;

/**
 * Every command, by path, in the order `--help` lists them. Each is loaded on demand:
 * `oxenvcs queue status` loads (and clipanion compiles) that one command, which keeps start-up
 * short; a partial or mistyped path loads its group or everything, so suggestions still work.
 */
const COMMANDS: Record<string, Record<string, Loader>> = {
  lock: {
    acquire: async () => (await import('./commands/lock/acquire.js')).LockAcquireCommand,
    release: async () => (await import('./commands/lock/release.js')).LockReleaseCommand,
    renew: async () => (await import('./commands/lock/renew.js')).LockRenewCommand,
    status: async () => (await import('./commands/lock/status.js')).LockStatusCommand,
    list: async () => (await import('./commands/lock/list.js')).LockListCommand,
    break: async () => (await import('./commands/lock/break.js')).LockBreakCommand,
    heartbeat: async () => (await import('./commands/lock/heartbeat.js')).LockHeartbeatCommand,
  },
  queue: {
    status: async () => (await import('./commands/queue/status.js')).QueueStatusCommand,
    sync: async () => (await import('./commands/queue/sync.js')).QueueSyncCommand,
    clear: async () => (await import('./commands/queue/clear.js')).QueueClearCommand,
    remove: async () => (await import('./commands/queue/remove.js')).QueueRemoveCommand,
    retry: async () => (await import('./commands/queue/retry.js')).QueueRetryCommand,
  },
  push: { '': async () => (await import('./commands/transfer.js')).PushCommand },
  pull: { '': async () => (await import('./commands/transfer.js')).PullCommand },
  auth: {
    login: async () => (await import('./commands/auth/login.js')).AuthLoginCommand,
    status: async () => (await import('./commands/auth/status.js')).AuthStatusCommand,
    logout: async () => (await import('./commands/auth/logout.js')).AuthLogoutCommand,
  },
};

/** The commands a command line needs: the one it names, else its group, else all of them. */
function loadersFor(args: readonly string[] | undefined): Loader[] {
  const all = () => Object.values(COMMANDS).flatMap((group) => Object.values(group));
  if (!args) return all();
  const [first = '', second = ''] = args;
  if ((first === '--version' || first === '-v') && args.length === 1) return [];
  const group = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (!group) return all();
  const only = group[''] ?? (Object.hasOwn(group, second) ? group[second] : undefined);
  return only ? [only] : Object.values(group);
}

/**
 * Builds the `oxenvcs` command line: every command, or (given the arguments) only what those
 * arguments need.
 */
export async function buildCli(args?: readonly string[]): Promise<Cli<CliContext>> {
  const cli = new Cli<CliContext>({
    binaryName: 'oxenvcs',
    binaryLabel: 'oxenvcs — offline-safe locks and sync for Oxen projects',
    binaryVersion: VERSION,
    enableColors: false,
  });
  const commands = await Promise.all(loadersFor(args).map((load) => load()));
  for (const command of [...commands, Builtins.HelpCommand, Builtins.VersionCommand]) {
    // Builtins are typed for the base context; ours only adds `cwd`.
    cli.register(command as Parameters<typeof cli.register>[0]);
  }
  return cli;
}

/** Exit codes, as `--help` prints them. */
export const EXIT_CODES_HELP = `Exit codes: 0 done; 75 queued for later (the lock is NOT held yet, so \`oxenvcs lock acquire && edit\` is safe); 3 lock held by someone else; 2 usage; 1 other failure.`;

/**
 * A usage error as shown: `auth` commands never echo an argument (it may be a token someone
 * typed on the command line), and credentials in any URL are hidden.
 */
function usageText(args: readonly string[], text: string): string {
  // Kept here, not imported from @oxvcs/oxen, so a usage error loads nothing more.
  if (args[0] !== 'auth') return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s"]*@/gi, '$1***@');
  return `${text.replace(/\("[^\n]*"\)/g, '(hidden)')}Tokens are never taken as arguments: pipe one in (\`printf %s "$TOKEN" | oxenvcs auth login\`) or type it at the prompt.\n`;
}

/**
 * Runs `oxenvcs` with `args` in `context` and resolves to the exit code. Usage errors exit 2
 * (clipanion's own default would be 1 on stdout); the entry point alone sets `process.exitCode`.
 */
export async function runCli(args: string[], context: CliContext): Promise<number> {
  const cli = await buildCli(args);
  if (args.length === 0 || (args.length === 1 && (args[0] === '--help' || args[0] === '-h'))) {
    context.stdout.write(cli.usage(null));
    context.stdout.write(`\n${EXIT_CODES_HELP}\n`);
    return EXIT.OK;
  }
  let command: ReturnType<typeof cli.process>;
  try {
    command = cli.process(args, context);
  } catch (error) {
    const text = usageText(args, cli.error(error, { colored: false }));
    if (args.includes('--json')) {
      const first = text.trim().split('\n')[0] ?? '';
      const message = args[0] === 'auth' ? `${first} ${text.trim().split('\n').at(-1)}` : first;
      context.stdout.write(
        `${JSON.stringify({ ok: false, error: { name: 'UsageError', code: 'USAGE', message }, exitCode: EXIT.USAGE })}\n`,
      );
    } else context.stderr.write(text);
    return EXIT.USAGE;
  }
  return cli.run(command, context);
}
