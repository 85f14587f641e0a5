import {
  type Engine,
  type EngineEvent,
  type GuardReport,
  MAX_LEASE_HOURS,
  MIN_LEASE_HOURS,
  type QueuedReason,
  type QueueEntry,
  shortId,
} from '@oxvcs/engine';
import { Command, Option, UsageError } from 'clipanion';
import { awayLines } from './away.js';
import type { CliContext } from './context.js';
import { engineErrorWords } from './engine-words.js';
import { lockErrorWords } from './lock-words.js';
import { createUi, EXIT, humanText, jsonLine, safeText, type Ui } from './output.js';
import { oxenErrorWords } from './oxen-words.js';
import { type QueueFacts, queueErrorWords } from './queue-words.js';
import { type Describe, type InputFacts, inputSaysAll, queuedWords, renderEvent } from './render.js';
import { grantedAfterWaiting } from './waiting.js';

/** What a command returns: one report serving both human output and `--json`. */
export interface Report {
  readonly exitCode?: number;
  /** The `--json` body (without `ok`, added here). */
  readonly data: Record<string, unknown>;
  /** Human output. */
  readonly human: () => void;
}

/** `--timeout`'s description in help: the unit and the engine's bounds (1 minute to 30 days). */
export const TIMEOUT_RANGE = `hours, from ${MIN_LEASE_HOURS.toFixed(4)} (1 minute) to ${MAX_LEASE_HOURS} (30 days)`;

/** Parses a number of hours for `--timeout` (1 minute to 30 days); a usage error otherwise. */
export function parseHours(value: string | undefined, flag = '--timeout'): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const shown = safeText(value);
  // Plain decimals only: `0x10` or `1e3` are not how anyone writes hours.
  if (!/^\s*\d+(\.\d+)?\s*$|^\s*\.\d+\s*$/.test(value) || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`${flag} must be a positive number of hours (got "${shown}"), e.g. ${flag} 4`);
  }
  if (n < MIN_LEASE_HOURS)
    throw new UsageError(
      `${flag} must be at least ${MIN_LEASE_HOURS.toFixed(4)} hours (1 minute), or the lease would lapse before it could be renewed (got "${shown}")`,
    );
  if (n > MAX_LEASE_HOURS)
    throw new UsageError(`${flag} must be at most ${MAX_LEASE_HOURS} hours (30 days) (got "${shown}")`);
  return n;
}

/** What a failed system call was doing, in words ("write", "create the folder"…). */
const SYSCALL_VERBS: Readonly<Record<string, string>> = {
  open: 'open',
  read: 'read',
  write: 'write',
  mkdir: 'create the folder',
  rename: 'replace',
  unlink: 'remove',
  rmdir: 'remove the folder',
  scandir: 'list the folder',
  stat: 'read',
  lstat: 'read',
  copyfile: 'copy',
  chmod: 'change the permissions of',
  spawn: 'start',
};

/** What to do about a failed system call, by its error code. */
const SYSTEM_ADVICE: Readonly<Record<string, string>> = {
  ENOSPC: 'the disk is full; free some space and run the command again',
  EDQUOT: 'your disk quota is used up; free some space and run the command again',
  EACCES: 'permission denied; fix the permissions, or set OXENVCS_HOME to a folder you own',
  EPERM: 'the operation is not permitted; fix the permissions, or set OXENVCS_HOME to a folder you own',
  EROFS: 'the file system is read-only; set OXENVCS_HOME to a folder on a writable disk',
  EMFILE: 'too many files are open; close some programs (or raise `ulimit -n`) and run the command again',
  ENFILE: 'the system has too many files open; close some programs and run the command again',
  ENOENT: 'it does not exist; check the path (and --project, OXENVCS_HOME)',
  ENOTDIR: 'part of that path is a file, not a folder; check the path (and OXENVCS_HOME)',
  EISDIR: 'it is a folder where a file was expected; move it away or check the path',
  EEXIST: 'something is already there; move it away and run the command again',
  EIO: 'the disk reported an input/output error; check the disk and run the command again',
  EBUSY: 'it is in use by another program; close that program and run the command again',
};

type ErrorShape = {
  name?: string;
  code?: unknown;
  message?: string;
  path?: unknown;
  syscall?: unknown;
  cause?: unknown;
  oxvcs?: unknown;
};

/** `--json` of a command queued online behind its project's unfinished entries: what it waits for. */
export function behindJson(outcome: {
  readonly behind?: readonly { readonly id: string; readonly kind: string }[];
}) {
  return outcome.behind
    ? { behind: outcome.behind.map((e) => ({ id: e.id, shortId: shortId(e.id), kind: e.kind })) }
    : {};
}

/**
 * `--json` of a lock command that was queued: its `status` (@default 'queued'), why (worded), what
 * it waits behind, and its entry (with the operation's `kind` when asked).
 */
export function queuedJson(
  outcome: Parameters<typeof behindJson>[0] & { readonly entry: QueueEntry; readonly reason: QueuedReason },
  options: { readonly status?: string; readonly kind?: boolean } = {},
) {
  const { id, operation } = outcome.entry;
  return {
    status: options.status ?? 'queued',
    reason: queuedWords(outcome.reason),
    ...behindJson(outcome),
    entry: { id, shortId: shortId(id), ...(options.kind ? { kind: operation.kind } : {}) },
  };
}

/**
 * The one line shown for an error no oxvcs package described: a failed system call says what it
 * was doing, on which path, and what to do; anything else says which command failed and asks for
 * a bug report. `command` is the command line without its options (`oxenvcs lock status`).
 */
export function unexpectedFailure(error: unknown, command: string): { code: string; message: string } {
  // The system error may be the cause of a wrapper.
  for (
    let e = error as ErrorShape | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as ErrorShape, depth++
  ) {
    if (typeof e !== 'object') break;
    const code = typeof e.code === 'string' ? e.code : undefined;
    const advice = code ? SYSTEM_ADVICE[code] : undefined;
    if (!code || !advice) continue;
    const verb = typeof e.syscall === 'string' ? (SYSCALL_VERBS[e.syscall] ?? e.syscall) : 'use';
    const where = typeof e.path === 'string' ? safeText(e.path) : undefined;
    return {
      code,
      message: where
        ? `${command} could not ${verb} ${where}: ${advice}.`
        : `${command} failed (${code}): ${advice}.`,
    };
  }
  const e = error as ErrorShape;
  const what = safeText(e?.message ?? String(error)).replace(/\.$/, '');
  return {
    code: 'UNEXPECTED',
    message: `${command} failed unexpectedly (${what}); run it again with --verbose, and if it fails the same way, report a bug with that output.`,
  };
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
  noAutoSync = Option.Boolean('--no-auto-sync', false, {
    description: 'Do not replay pending operations first (default: config queue.auto_sync = true)',
  });

  protected ui!: Ui;
  protected describe: Describe = (e) => safeText(e.operation.kind);

  /**
   * Whether loading the engine first tells what failed or expired while the user was away. A
   * command that lists failures itself (`queue status`) says false and calls {@link tellAway}.
   */
  protected tellsAwayFirst = true;
  #engine: Engine | undefined;
  /** Ids of entries this command showed as they failed or expired (a sync's own lines). */
  readonly #shownLive: string[] = [];
  /** Queued acquisitions that waited in line and were granted by a sync this command ran. */
  readonly #granted: QueueEntry[] = [];
  /** What the read-only guard last did during this command (`guard` in `--json`). */
  protected guardReport: GuardReport | undefined;

  protected abstract run(): Promise<Report>;

  /**
   * Sees every engine event before it is rendered (a command that tracks what runs); true when the
   * command words the event itself, so the usual line is not printed.
   */
  protected observe(_event: EngineEvent): boolean {
    return false;
  }

  /** The engine, loaded lazily so that `--version` and `--help` never load it. */
  protected async engine(): Promise<Engine> {
    if (this.#engine) return this.#engine;
    const { createEngine, describeOperation } = await import('./engine.js');
    this.describe = (entry: QueueEntry) => safeText(describeOperation(entry.operation));
    const engine = createEngine({
      cwd: this.context.cwd,
      env: this.context.env as NodeJS.ProcessEnv,
      ...(this.project ? { project: this.project } : {}),
      ...(this.remote ? { remote: this.remote } : {}),
      ...(this.noAutoSync ? { overrides: { queue: { auto_sync: false } } } : {}),
      command: ['oxenvcs', ...this.commandPath].join(' '),
      onEvent: (event: EngineEvent) => {
        this.noteShown(event);
        if (event.type === 'guard') this.guardReport = event.report;
        if (
          event.type === 'sync' &&
          event.event.type === 'entry-done' &&
          grantedAfterWaiting(event.event.entry)
        )
          this.#granted.push(event.event.entry);
        if (!this.observe(event)) renderEvent(this.ui, event, this.describe);
      },
    });
    this.#engine = engine;
    // Config may switch colour and emoji off.
    if (!engine.config.ui.colour) this.ui.colour = false;
    if (!engine.config.ui.emoji) this.ui.emoji = false;
    if (this.tellsAwayFirst) await this.tellAway(engine);
    return engine;
  }

  /**
   * Whether failures from while the user was away are told (and so marked seen): in human output
   * only. `--json` output is read by a program, not the user, and a background keep-alive writes
   * to a log nobody reads: both leave them for the user's next command.
   */
  private get tellsAway(): boolean {
    return !this.json && this.context.env.OXENVCS_BACKGROUND !== '1';
  }

  /**
   * Tells, once, on stderr, what failed or expired in the queue (any project) since the user last
   * looked, with what to do; `listed`: ids this command's own output shows, only marked seen.
   */
  protected async tellAway(engine: Engine, listed?: ReadonlySet<string>): Promise<void> {
    if (!this.tellsAway) return;
    let missed: QueueEntry[];
    try {
      missed = await engine.whileAway();
    } catch (error) {
      // Never in the way of the command itself (a state folder it cannot write, say).
      if (this.verbose)
        this.ui.err(
          `${this.ui.mark('info')} Could not check the queue for what failed while you were away: ${safeText(queueErrorWords(error as QueueFacts) ?? (error as Error).message ?? String(error))}`,
        );
      return;
    }
    this.renderAway(listed ? missed.filter((e) => !listed.has(e.id)) : missed);
  }

  private renderAway(all: readonly QueueEntry[]): void {
    const about = this.aboutEntry()?.trim().toLowerCase();
    const entries = about
      ? all.filter((e) => !e.id.toLowerCase().startsWith(about) && !shortId(e.id).startsWith(about))
      : all;
    for (const line of awayLines(entries, this.describe))
      this.ui.err(`${this.ui.mark(line.mark)} ${line.text}`);
  }

  /**
   * A failure shown as it happened (a sync's line, or a command's entry stored expired as it was
   * queued: a renewal of a lease already over) is seen: not to be told again as missed.
   */
  private noteShown(event: EngineEvent): void {
    if (!this.tellsAway) return;
    if (event.type === 'queued' && event.enqueued === 'expired') {
      this.#shownLive.push(event.entry.id);
      return;
    }
    if (event.type !== 'sync') return;
    const e = event.event;
    if (e.type === 'entry-failed' || e.type === 'entry-expired') this.#shownLive.push(e.entry.id);
  }

  /** The entry id (or prefix) this command is about (`queue remove X`): not reported as missed. */
  protected aboutEntry(): string | undefined {
    return undefined;
  }

  /**
   * After a command that showed failures as they happened: records them as seen, and tells any
   * other failure that happened meanwhile (in another process) that would otherwise go unseen.
   */
  private async afterShown(): Promise<void> {
    const engine = this.#engine;
    if (!engine || this.#shownLive.length === 0 || !this.tellsAway) return;
    try {
      this.renderAway(await engine.whileAway({ shown: this.#shownLive }));
    } catch {
      // As in tellAway: the command's own result stands.
    }
  }

  /** A desktop notification for each queued acquisition whose turn in line came during this command. */
  private async notifyGranted(): Promise<void> {
    const engine = this.#engine;
    for (const entry of this.#granted.splice(0)) {
      await engine
        ?.notify(
          'Your turn: lock acquired',
          `${this.describe(entry)}: done after waiting in line; the lock is yours.`,
        )
        .catch(() => undefined);
    }
  }

  async execute(): Promise<number> {
    this.ui = createUi({
      stdout: this.context.stdout,
      stderr: this.context.stderr,
      env: this.context.env,
      json: this.json,
      verbose: this.verbose,
      // The background keep-alive writes to a log read later: each line says when it happened.
      stamp: this.context.env.OXENVCS_BACKGROUND === '1',
    });
    let code: number;
    try {
      const report = await this.run();
      this.ui.clearProgress();
      if (this.json)
        this.ui.out(
          jsonLine({
            ok: (report.exitCode ?? 0) === 0 || report.exitCode === EXIT.QUEUED,
            ...(this.guardReport ? { guard: this.guardReport } : {}),
            ...report.data,
          }),
        );
      else this.ui.batch(report.human);
      code = report.exitCode ?? EXIT.OK;
    } catch (error) {
      this.ui.clearProgress();
      code = this.fail(error);
    }
    await this.notifyGranted();
    await this.afterShown();
    return code;
  }

  private fail(error: unknown): number {
    const e = error as { name?: string; code?: string; message?: string; stack?: string } & Record<
      string,
      unknown
    >;
    const usage =
      error instanceof UsageError ||
      (e.name === 'EngineError' && e.code === 'INVALID_INPUT') ||
      (e.name === 'OxenError' && e.code === 'REMOTE_URL_INVALID') ||
      (e.name === 'LockError' && (e.code === 'INVALID_KEY' || e.code === 'INVALID_TTL')) ||
      (e.name === 'QueueError' &&
        (e.code === 'NOT_FOUND' || e.code === 'AMBIGUOUS_ID' || e.code === 'ID_TOO_SHORT'));
    // 3: someone else holds the lock (a non-holder's renew, release or heartbeat included).
    const exitCode = usage
      ? EXIT.USAGE
      : e.name === 'LockError' && (e.code === 'HELD' || e.code === 'NOT_HOLDER')
        ? EXIT.HELD
        : EXIT.FAILURE;
    const known = usage || (typeof e.code === 'string' && e.oxvcs === true);
    const unexpected = known ? undefined : unexpectedFailure(error, `oxenvcs ${this.commandPath.join(' ')}`);
    // Input the engine's rules refused, whose words say what to do: no usage hint after them.
    const refused =
      e.name === 'EngineError' && typeof e.problem === 'string' && inputSaysAll(e as unknown as InputFacts);
    const message =
      unexpected?.message ??
      lockErrorWords(e) ??
      oxenErrorWords(e) ??
      engineErrorWords(e) ??
      queueErrorWords(e) ??
      String(e.message);
    if (this.json) {
      const facts = Object.fromEntries(
        Object.entries(e).filter(
          ([k, v]) =>
            !['stack', 'cause', 'oxvcs', 'retryKind'].includes(k) && (typeof v !== 'object' || v === null),
        ),
      );
      this.ui.out(
        jsonLine({
          ok: false,
          error: {
            name: e.name ?? 'Error',
            ...facts,
            code: unexpected?.code ?? e.code ?? (usage ? 'USAGE' : 'UNEXPECTED'),
            message,
          },
          exitCode,
        }),
      );
    } else {
      // A lock refusal's times are on the server's clock: said against it, as `lock status` does.
      const now = typeof e.serverNow === 'number' ? e.serverNow : Date.now();
      this.ui.err(`${this.ui.mark('fail')} ${known ? humanText(message, now) : message}`);
      if (usage && e.name !== 'QueueError' && !refused)
        this.ui.err(`  Run \`oxenvcs ${this.commandPath.join(' ')} --help\` for usage.`);
    }
    if (this.verbose && e.stack) for (const line of e.stack.split('\n')) this.ui.err(line);
    return exitCode;
  }

  /**
   * When the lease this machine last held on the project ends (epoch ms), from the engine's local
   * note of its grants; undefined when there is none. Read before a renewal, it tells an extension
   * from a shortening.
   */
  protected leaseEnd(engine: Engine): number | undefined {
    try {
      const end = Date.parse(engine.knownLease()?.expiresAt ?? '');
      return Number.isFinite(end) ? end : undefined;
    } catch {
      return undefined;
    }
  }

  private get commandPath(): string[] {
    return ((this.constructor as typeof BaseCommand).paths?.[0] ?? []) as string[];
  }

  /**
   * Ends the process by SIGINT, as a shell expects of Ctrl-C (status 130): the command's own
   * SIGINT `listener` is removed first, so that the signal's default action ends it.
   */
  protected endBySigint(listener: () => void): void {
    process.off('SIGINT', listener);
    process.kill(process.pid, 'SIGINT');
  }

  /**
   * The one ending of a command stopped by Ctrl-C: one line saying what was stopped and what that
   * leaves (with `--json`, an `INTERRUPTED` error on stdout), then, once that line is out, the
   * process ends by SIGINT ({@link endBySigint}). What it returns never settles: a command that
   * awaits it goes no further (no failure is reported after that line; the signal ends it).
   */
  protected endInterrupted(message: string, listener: () => void): Promise<never> {
    this.ui.clearProgress();
    if (this.json)
      this.ui.out(
        jsonLine({
          ok: false,
          error: { name: 'Interrupted', code: 'INTERRUPTED', message },
          exitCode: EXIT.INTERRUPTED,
        }),
      );
    else this.ui.err(`${this.ui.mark('warn')} ${message}`);
    const stream = this.json ? this.context.stdout : this.context.stderr;
    stream.write('', () => this.endBySigint(listener));
    return new Promise<never>(() => {});
  }

  /** Human lines for a queued operation, shaped like the original design's. */
  protected renderQueued(entry: QueueEntry, reason: QueuedReason, lines: string[]): void {
    const ui = this.ui;
    ui.err(`${ui.mark('warn')} ${humanText(queuedWords(reason)).replace(/\.$/, '')} - operation queued`);
    ui.out('');
    ui.out(`  Queued: ${this.describe(entry)}`);
    for (const line of lines) ui.out(`  ${line}`);
    ui.out(`  Entry ID: ${shortId(entry.id)}`);
    ui.out('');
  }
}
