import { Builtins, Cli, type CommandClass } from 'clipanion';
import type { CliContext } from './context.js';
import { EXIT, safeText } from './output.js';

// Written in by the bundler at build time (rolldown.config.mjs `transform.define`).
declare const __OXVCS_CLI_VERSION__: string | undefined;

/**
 * The package version, shown by `--version`: package.json's, so `changeset version` bumps it. The
 * executable's bundle has it written in at build time; tests on source and dist/ read package.json.
 */
export const VERSION: string =
  typeof __OXVCS_CLI_VERSION__ === 'string'
    ? __OXVCS_CLI_VERSION__
    : (
        JSON.parse(
          process
            .getBuiltinModule('node:fs')
            .readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
        ) as { version: string }
      ).version;

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
  commit: { '': async () => (await import('./commands/commit.js')).CommitCommand },
  push: { '': async () => (await import('./commands/transfer.js')).PushCommand },
  pull: { '': async () => (await import('./commands/transfer.js')).PullCommand },
  auth: {
    login: async () => (await import('./commands/auth/login.js')).AuthLoginCommand,
    status: async () => (await import('./commands/auth/status.js')).AuthStatusCommand,
    logout: async () => (await import('./commands/auth/logout.js')).AuthLogoutCommand,
  },
};

const group = (name: string | undefined) =>
  name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;

/** A group of subcommands (`lock`, `queue`, `auth`), as opposed to a command (`push`). */
const isGroup = (name: string | undefined) => {
  const g = group(name);
  return g !== undefined && !Object.hasOwn(g, '');
};

/** The commands a command line needs: the one it names, else its group, else all of them. */
function loadersFor(args: readonly string[] | undefined): Loader[] {
  const all = () => Object.values(COMMANDS).flatMap((g) => Object.values(g));
  if (!args) return all();
  const words = args[0] === 'help' ? args.slice(1) : args;
  const [first, second = ''] = words;
  if ((first === '--version' || first === '-v') && words.length === 1) return [];
  const g = group(first);
  if (!g) return all();
  const only = g[''] ?? (Object.hasOwn(g, second) ? g[second] : undefined);
  return only ? [only] : Object.values(g);
}

/**
 * Names for option values in usage text (`--timeout HOURS`). Clipanion 3 prints every value as
 * `#0` and has no setting for it, so the names are put in where clipanion builds usage lines.
 */
const VALUE_NAMES: Readonly<Record<string, string>> = {
  '--project': 'DIR',
  '--remote': 'URL',
  '--timeout': 'HOURS',
  '--comment': 'TEXT',
  '--reason': 'TEXT',
  '--message': 'MESSAGE',
  '--part-size': 'SIZE',
  '--max-wait': 'DURATION',
};
const nameValues = (text: string) =>
  text.replace(/(--[a-z][a-z-]*) #0\b/g, (all, name: string) =>
    VALUE_NAMES[name] ? `${name} ${VALUE_NAMES[name]}` : all,
  );

/**
 * Clipanion's `Cli`, with option values named and the options every command takes (`--json`,
 * `--project`…) listed once under "Global options" rather than on every line of the overview.
 */
class OxenvcsCli extends Cli<CliContext> {
  #globals: { definition: string; description: string }[] | undefined;

  /** Options that every registered command takes (none when fewer than two commands are registered). */
  private globals(): { definition: string; description: string }[] {
    if (this.#globals) return this.#globals;
    const lists = [...this.registrations.entries()]
      .filter(([command]) => command.usage !== undefined)
      .map(([, { index }]) => super.getUsageByIndex(index, { detailed: true, inlineOptions: false }).options);
    const [first = [], ...rest] = lists;
    this.#globals =
      lists.length < 2
        ? []
        : first
            .filter((o) => rest.every((list) => list.some((p) => p.definition === o.definition)))
            .map((o) => ({ definition: nameValues(o.definition), description: o.description }));
    return this.#globals;
  }

  /** Removes the global options from a one-line usage (`oxenvcs lock acquire [--json] …`). */
  private withoutGlobals(text: string): string {
    let out = text;
    for (const { definition } of this.globals()) out = out.split(` [${definition}]`).join('');
    return out;
  }

  protected override getUsageByIndex(n: number, opts?: { detailed?: boolean; inlineOptions?: boolean }) {
    const { usage, options } = super.getUsageByIndex(n, opts);
    const named = nameValues(usage);
    return {
      usage: opts?.inlineOptions === false ? named : this.withoutGlobals(named),
      options: options.map((o) => ({ ...o, definition: nameValues(o.definition) })),
    };
  }

  override usage(
    command?: Parameters<Cli<CliContext>['usage']>[0],
    opts?: Parameters<Cli<CliContext>['usage']>[1],
  ): string {
    const text = super.usage(command, opts);
    const globals = this.globals();
    if (command || globals.length === 0) return text;
    const format = this.format(opts?.colored);
    const width = Math.max(...globals.map((o) => o.definition.length));
    const lines = globals.map((o) => `  ${format.bold(o.definition.padEnd(width))}    ${o.description}`);
    return `${text}\n${format.header('Global options (every command takes them)')}\n\n${lines.join('\n')}\n`;
  }

  override error(error: unknown, opts?: Parameters<Cli<CliContext>['error']>[1]): string {
    return this.withoutGlobals(nameValues(super.error(error, opts)));
  }
}

/**
 * Builds the `oxenvcs` command line: every command, or (given the arguments) only what those
 * arguments need.
 */
export async function buildCli(args?: readonly string[]): Promise<Cli<CliContext>> {
  const cli = new OxenvcsCli({
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

const HELP = new Set(['-h', '--help']);

/**
 * What a command line asks help for, if it does: the overview (`oxenvcs`, `oxenvcs --help`,
 * `oxenvcs help`), a group's commands (`oxenvcs lock`, `oxenvcs lock --help`, `oxenvcs help lock`),
 * one command's help (`oxenvcs help lock acquire`), or an unknown name (`oxenvcs help grab`).
 */
function helpRequest(
  args: readonly string[],
):
  | { kind: 'overview' }
  | { kind: 'group'; name: string; json: boolean }
  | { kind: 'command'; args: string[] }
  | { kind: 'unknown'; name: string }
  | undefined {
  const json = args.includes('--json');
  const rest = args.filter((a) => a !== '--json');
  if (rest.length === 0) return json ? undefined : { kind: 'overview' };
  if (rest.length === 1 && HELP.has(rest[0] ?? '')) return { kind: 'overview' };
  if (rest[0] === 'help') {
    const words = rest.slice(1).filter((a) => !HELP.has(a));
    if (words.length === 0) return { kind: 'overview' };
    if (words.length === 1 && isGroup(words[0])) return { kind: 'group', name: words[0] ?? '', json };
    const g = group(words[0]);
    if (g && (Object.hasOwn(g, '') || Object.hasOwn(g, words[1] ?? '')))
      return { kind: 'command', args: [...words, '--help'] };
    // An `auth` argument may be a token typed by mistake: never echoed.
    return { kind: 'unknown', name: words[0] === 'auth' ? 'auth …' : safeText(words.join(' ')) };
  }
  if (isGroup(rest[0]) && rest.slice(1).every((a) => HELP.has(a)))
    return { kind: 'group', name: rest[0] ?? '', json: json && rest.length === 1 };
  return undefined;
}

/**
 * Runs `oxenvcs` with `args` in `context` and resolves to the exit code. Usage errors exit 2
 * (clipanion's own default would be 1 on stdout); the entry point alone sets `process.exitCode`.
 */
export async function runCli(args: string[], context: CliContext): Promise<number> {
  const usageFailure = (message: string) => {
    if (args.includes('--json'))
      context.stdout.write(
        `${JSON.stringify({ ok: false, error: { name: 'UsageError', code: 'USAGE', message }, exitCode: EXIT.USAGE })}\n`,
      );
    else context.stderr.write(`${message}\n`);
    return EXIT.USAGE;
  };
  const help = helpRequest(args);
  if (help?.kind === 'group' && help.json) {
    const names = Object.keys(COMMANDS[help.name] ?? {}).join(', ');
    return usageFailure(`\`oxenvcs ${help.name}\` needs a command: ${names}.`);
  }
  if (help?.kind === 'unknown')
    return usageFailure(`Unknown command "${help.name}"; run \`oxenvcs help\` for the list of commands.`);
  const cli = await buildCli(help?.kind === 'command' ? help.args : args);
  if (help?.kind === 'overview' || help?.kind === 'group') {
    const text = cli.usage(null);
    context.stdout.write(
      help.kind === 'group' ? text.replace('$ oxenvcs <command>', `$ oxenvcs ${help.name} <command>`) : text,
    );
    context.stdout.write(`\n${EXIT_CODES_HELP}\n`);
    return EXIT.OK;
  }
  let command: ReturnType<typeof cli.process>;
  try {
    command = cli.process(help?.kind === 'command' ? help.args : args, context);
  } catch (error) {
    const text = usageText(args, cli.error(error, { colored: false }));
    if (!args.includes('--json')) {
      context.stderr.write(text);
      return EXIT.USAGE;
    }
    const first = text.trim().split('\n')[0] ?? '';
    return usageFailure(args[0] === 'auth' ? `${first} ${text.trim().split('\n').at(-1)}` : first);
  }
  return cli.run(command, context);
}
