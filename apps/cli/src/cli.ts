import { Builtins, Cli } from 'clipanion';
import { AuthLoginCommand } from './commands/auth/login.js';
import { AuthLogoutCommand } from './commands/auth/logout.js';
import { AuthStatusCommand } from './commands/auth/status.js';
import { LockAcquireCommand } from './commands/lock/acquire.js';
import { LockBreakCommand } from './commands/lock/break.js';
import { LockHeartbeatCommand } from './commands/lock/heartbeat.js';
import { LockListCommand } from './commands/lock/list.js';
import { LockReleaseCommand } from './commands/lock/release.js';
import { LockRenewCommand } from './commands/lock/renew.js';
import { LockStatusCommand } from './commands/lock/status.js';
import { QueueClearCommand } from './commands/queue/clear.js';
import { QueueRemoveCommand } from './commands/queue/remove.js';
import { QueueRetryCommand } from './commands/queue/retry.js';
import { QueueStatusCommand } from './commands/queue/status.js';
import { QueueSyncCommand } from './commands/queue/sync.js';
import { PullCommand, PushCommand } from './commands/transfer.js';
import type { CliContext } from './context.js';
import { EXIT } from './output.js';

/** The package version, shown by `--version`. */
export const VERSION = '0.1.0';

/** Builds the `oxenvcs` command line. */
export function buildCli(): Cli<CliContext> {
  const cli = new Cli<CliContext>({
    binaryName: 'oxenvcs',
    binaryLabel: 'oxenvcs — offline-safe locks and sync for Oxen projects',
    binaryVersion: VERSION,
    enableColors: false,
  });
  for (const command of [
    LockAcquireCommand,
    LockReleaseCommand,
    LockRenewCommand,
    LockStatusCommand,
    LockListCommand,
    LockBreakCommand,
    LockHeartbeatCommand,
    QueueStatusCommand,
    QueueSyncCommand,
    QueueClearCommand,
    QueueRemoveCommand,
    QueueRetryCommand,
    PushCommand,
    PullCommand,
    AuthLoginCommand,
    AuthStatusCommand,
    AuthLogoutCommand,
    Builtins.HelpCommand,
    Builtins.VersionCommand,
  ]) {
    // Builtins are typed for the base context; ours only adds `cwd`.
    cli.register(command as Parameters<typeof cli.register>[0]);
  }
  return cli;
}

/** Exit codes, as `--help` prints them. */
export const EXIT_CODES_HELP = `Exit codes: 0 done; 75 queued for later (the lock is NOT held yet, so \`oxenvcs lock acquire && edit\` is safe); 3 lock held by someone else; 2 usage; 1 other failure.`;

/**
 * Runs `oxenvcs` with `args` in `context` and resolves to the exit code. Usage errors exit 2
 * (clipanion's own default would be 1 on stdout); the entry point alone sets `process.exitCode`.
 */
export async function runCli(args: string[], context: CliContext): Promise<number> {
  const cli = buildCli();
  if (args.length === 0 || (args.length === 1 && (args[0] === '--help' || args[0] === '-h'))) {
    context.stdout.write(cli.usage(null));
    context.stdout.write(`\n${EXIT_CODES_HELP}\n`);
    return EXIT.OK;
  }
  let command: ReturnType<typeof cli.process>;
  try {
    command = cli.process(args, context);
  } catch (error) {
    context.stderr.write(cli.error(error, { colored: false }));
    return EXIT.USAGE;
  }
  return cli.run(command, context);
}
