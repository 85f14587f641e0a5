import type { Engine, EngineEvent, QueueEntry } from '@oxvcs/engine';
import { Command, Option, UsageError } from 'clipanion';
import type { CliContext } from './context.js';
import { createUi, EXIT, shortId, type Ui } from './output.js';
import { type Describe, renderEvent } from './render.js';

/** What a command returns: one report serving both human output and `--json`. */
export interface Report {
  readonly exitCode?: number;
  /** The `--json` body (without `ok`, added here). */
  readonly data: Record<string, unknown>;
  /** Human output. */
  readonly human: () => void;
}

/** Parses a positive number of hours for `--timeout`; a usage error otherwise. */
export function parseHours(value: string | undefined, flag = '--timeout'): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`${flag} must be a positive number of hours (got "${value}"), e.g. ${flag} 4`);
  }
  if (n > 24 * 30) throw new UsageError(`${flag} must be at most 720 hours (30 days) (got "${value}")`);
  return n;
}

/**
 * Base of every command: the global options, the engine, event rendering, and the one place
 * where errors become messages and exit codes (0 done, 75 queued, 3 held by someone else,
 * 2 usage, 1 other failure).
 */
export abstract class BaseCommand extends Command<CliContext> {
  json = Option.Boolean('--json', false, {
    description: 'Print one JSON object on stdout (stable shapes, see README)',
  });
  project = Option.String('--project', {
    description: 'Project folder (default: the repository around the working directory)',
  });
  remote = Option.String('--remote', { description: 'Remote URL to use instead of the repository’s' });
  verbose = Option.Boolean('--verbose', false, { description: 'Explain each step on stderr' });
  autoSync = Option.Boolean('--auto-sync', {
    description: 'Sync pending operations first (default from config; --no-auto-sync to skip)',
  });

  protected ui!: Ui;
  protected describe: Describe = (e) => e.operation.kind;

  protected abstract run(): Promise<Report>;

  /** The engine, loaded lazily so that `--version` and `--help` never load it. */
  protected async engine(): Promise<Engine> {
    const { createEngine, describeOperation } = await import('./engine.js');
    this.describe = (entry: QueueEntry) => describeOperation(entry.operation);
    const engine = createEngine({
      cwd: this.context.cwd,
      env: this.context.env as NodeJS.ProcessEnv,
      ...(this.project ? { project: this.project } : {}),
      ...(this.remote ? { remote: this.remote } : {}),
      ...(this.autoSync !== undefined ? { overrides: { queue: { auto_sync: this.autoSync } } } : {}),
      onEvent: (event: EngineEvent) => renderEvent(this.ui, event, this.describe),
    });
    // Config may switch colour and emoji off.
    if (!engine.config.ui.colour) this.ui.colour = false;
    if (!engine.config.ui.emoji) this.ui.emoji = false;
    return engine;
  }

  async execute(): Promise<number> {
    this.ui = createUi({
      stdout: this.context.stdout,
      stderr: this.context.stderr,
      env: this.context.env,
      json: this.json,
      verbose: this.verbose,
    });
    try {
      const report = await this.run();
      this.ui.clearProgress();
      if (this.json)
        this.ui.out(
          JSON.stringify({
            ok: (report.exitCode ?? 0) === 0 || report.exitCode === EXIT.QUEUED,
            ...report.data,
          }),
        );
      else this.ui.batch(report.human);
      return report.exitCode ?? EXIT.OK;
    } catch (error) {
      this.ui.clearProgress();
      return this.fail(error);
    }
  }

  private fail(error: unknown): number {
    const e = error as { name?: string; code?: string; message?: string; stack?: string } & Record<
      string,
      unknown
    >;
    const usage =
      error instanceof UsageError ||
      (e.name === 'EngineError' && e.code === 'INVALID_INPUT') ||
      (e.name === 'OxenError' && e.code === 'REMOTE_URL_INVALID');
    const exitCode = usage
      ? EXIT.USAGE
      : e.name === 'LockError' && e.code === 'HELD'
        ? EXIT.HELD
        : EXIT.FAILURE;
    const known = usage || (typeof e.code === 'string' && e.oxvcs === true);
    const message = known ? String(e.message) : `Unexpected error: ${e.message ?? String(error)}`;
    if (this.json) {
      const facts = Object.fromEntries(
        Object.entries(e).filter(
          ([k, v]) =>
            !['stack', 'cause', 'oxvcs', 'retryKind'].includes(k) && (typeof v !== 'object' || v === null),
        ),
      );
      this.ui.out(
        JSON.stringify({
          ok: false,
          error: {
            name: e.name ?? 'Error',
            code: e.code ?? (usage ? 'USAGE' : 'UNEXPECTED'),
            message,
            ...facts,
          },
          exitCode,
        }),
      );
    } else {
      this.ui.err(`${this.ui.mark('fail')} ${message}`);
      if (usage) this.ui.err(`  Run \`oxenvcs ${this.commandPath.join(' ')} --help\` for usage.`);
    }
    if (this.verbose && e.stack) this.ui.err(e.stack);
    return exitCode;
  }

  private get commandPath(): string[] {
    return ((this.constructor as typeof BaseCommand).paths?.[0] ?? []) as string[];
  }

  /** Human lines for a queued operation, shaped like the original design's. */
  protected renderQueued(entry: QueueEntry, reason: string, lines: string[]): void {
    const ui = this.ui;
    ui.err(`${ui.mark('warn')} ${reason} - operation queued`);
    ui.out('');
    ui.out(`  Queued: ${this.describe(entry)}`);
    for (const line of lines) ui.out(`  ${line}`);
    ui.out(`  Entry ID: ${shortId(entry.id)}`);
    ui.out('');
  }
}
