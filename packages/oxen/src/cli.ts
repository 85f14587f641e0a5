import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { clipServerText, hideUrlCredentials } from './clip.js';
import { OxenError, type OxenErrorCode } from './errors.js';
import { claimTransfer, type TransferClaim } from './transfer-lock.js';

/** Options of {@link createOxenCli}. */
export interface OxenCliOptions {
  /** The oxen executable. @default "oxen" (from PATH) */
  readonly bin?: string;
  /** Working directory: the project. */
  readonly cwd: string;
  /** Environment for the child. @default process.env (NO_COLOR=1 is always added) */
  readonly env?: NodeJS.ProcessEnv;
  /** Timeout for local commands, in ms. @default 60000 */
  readonly timeoutMs?: number;
  /** Timeout for push, pull and fetch (oxen itself never times out), in ms. @default 600000 */
  readonly networkTimeoutMs?: number;
  /**
   * The platform whose `script` gives oxen a terminal for progress: util-linux `script` on Linux,
   * BSD `script` on macOS and FreeBSD, none elsewhere. A seam for tests; hosts leave it alone.
   * @default process.platform
   */
  readonly platform?: NodeJS.Platform;
}

/** What a finished oxen command printed. */
export interface CliResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** `oxen status`, parsed. */
export interface OxenStatus {
  readonly branch: string;
  readonly commit?: string;
  readonly clean: boolean;
  readonly staged: readonly string[];
  readonly modified: readonly string[];
  readonly untracked: readonly string[];
  readonly removed: readonly string[];
}

/** One `oxen log` entry. */
export interface LogEntry {
  readonly id: string;
  readonly author: string;
  readonly date: string;
  readonly message: string;
}

/**
 * How far a push or pull has got, read from the progress bar oxen draws. Byte counts are parsed
 * from human-readable sizes (`1.20 MiB`), so they are exact below 1 KiB and within 0.5% above.
 */
export interface TransferProgress {
  /** `push` while uploading, `pull` while downloading (pull and fetch). */
  readonly phase: 'push' | 'pull';
  readonly bytesDone?: number;
  readonly bytesTotal?: number;
  readonly filesDone?: number;
  readonly filesTotal?: number;
}

/** Options of push, pull and fetch. */
export interface TransferOptions {
  /** Stops the transfer (its whole process group); the call rejects with an AbortError. */
  readonly signal?: AbortSignal;
  /**
   * Called as oxen's progress bar changes. oxen (indicatif) draws that bar only on a terminal, so
   * when this is given the child runs under a pseudo-terminal made by `script` (util-linux on
   * Linux, BSD on macOS); where there is none (Windows, busybox, no `script` on PATH) the transfer
   * runs as usual and this is never called. Exceptions it throws are ignored.
   */
  readonly onProgress?: (progress: TransferProgress) => void;
  /**
   * Environment for this one run, over the wrapper's (e.g. `OXEN_NUM_THREADS`, `OXEN_NUM_RETRIES`
   * for a push over a link that failed). Never a secret: oxen reads tokens from its own config.
   */
  readonly env?: Readonly<Record<string, string>>;
}

/** Options of {@link OxenCli.run}. */
export interface RunOptions extends TransferOptions {
  /** Use the network timeout. */
  readonly network?: boolean;
}

/**
 * A safe wrapper around the oxen CLI: argument arrays (never a shell), timeouts that kill the
 * process group, typed errors. No child outlives the call that started it: a timeout, an abort,
 * the host's SIGINT, SIGTERM or SIGHUP, or its exit kill the child's process group. A transfer
 * (push, pull, fetch) claims the working copy first (`.oxen/oxvcs-transfer.json`), so it never
 * starts while another one, even one orphaned by a SIGKILLed caller, still runs there.
 */
export interface OxenCli {
  run(args: readonly string[], options?: RunOptions): Promise<CliResult>;
  status(): Promise<OxenStatus>;
  branches(): Promise<{ current?: string; names: string[] }>;
  currentBranch(): Promise<string>;
  log(count?: number, revision?: string): Promise<LogEntry[]>;
  add(paths: readonly string[]): Promise<void>;
  /** Commits what is staged; resolves to the new commit id. */
  commit(message: string): Promise<string>;
  checkout(branch: string): Promise<void>;
  /** `oxen push REMOTE [BRANCH]`; `commit` is the local head oxen reports, `upToDate` when there was nothing to push. */
  push(
    remote?: string,
    branch?: string,
    options?: TransferOptions,
  ): Promise<{ upToDate: boolean; commit?: string }>;
  pull(remote?: string, branch?: string, options?: TransferOptions): Promise<void>;
  /**
   * `oxen fetch -b BRANCH`, or `oxen fetch` (every remote branch, lock tickets included) without
   * one. Oxen moves the local branch BRANCH to the remote's head without touching the files.
   */
  fetch(options?: TransferOptions & { readonly branch?: string }): Promise<void>;
  /** Kills the process groups of every oxen child this wrapper has running. */
  killAll(): void;
}

// ---------------------------------------------------------------------------------------------
// Classification

/** Maps an HTTP status oxen reports to an error code. */
function codeForStatus(status: number): OxenErrorCode {
  if (status === 401 || status === 403) return 'AUTH';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 408) return 'TIMEOUT';
  if (status >= 500) return 'SERVER_ERROR';
  if (status === 409) return 'CONFLICT';
  if (status === 404) return 'NOT_FOUND';
  if (status < 400) return 'BAD_RESPONSE';
  return 'BAD_REQUEST';
}

const PATTERNS: ReadonlyArray<[RegExp, OxenErrorCode]> = [
  // Every reqwest failure: no answer, or a connection cut while reading one.
  [/Network error:/, 'NETWORK'],
  [
    /Could not deserialize response from \[[^\]]*\]\n\s*40[13]\b|Err status \[40[13]\b|Authentication failed|Must supply valid API key/,
    'AUTH',
  ],
  [/Remote repository not found/, 'REPO_NOT_FOUND'],
  [/is behind remote commit/, 'NON_FAST_FORWARD'],
  [/merge conflict/i, 'MERGE_CONFLICT'],
  [/No changes to commit/, 'NOTHING_TO_COMMIT'],
  [/oxen not configured/, 'NOT_CONFIGURED'],
  [/No oxen repository found/, 'NOT_A_REPOSITORY'],
  [/Remote branch '.*' not found/, 'BRANCH_NOT_FOUND'],
  [/No remote named/, 'NO_REMOTE'],
  [/Revision not found/, 'REVISION_NOT_FOUND'],
];

/**
 * The message oxen failed with: the first line starting with `Error:` (oxen may print a version
 * warning or a migration notice before it), without its `Error:` prefixes (OxenUpdateRequired
 * carries its own); else the first line of output.
 */
function errorLine(text: string): string {
  const lines = text.split('\n');
  const line = lines.find((l) => l.startsWith('Error:')) ?? lines.find((l) => l.trim() !== '') ?? '';
  // The CLI echoes what it was given (branch names, server text): one safe line, bounded.
  return clipServerText(line.replace(/^(?:Error:\s*)+/, ''), 500);
}

/**
 * oxen's stderr as an error keeps it for diagnosis: never with escape sequences, bare carriage
 * returns or a URL's credentials, and only its last 4,000 characters (a run stopped after hours of
 * progress bars).
 */
function keptStderr(stderr: string): string {
  return stripVTControlCharacters(hideUrlCredentials(stderr.slice(-64_000)))
    .replace(/\r(?!\n)/g, '\n')
    .slice(-4000);
}

/** Maps a failed oxen run to a typed error by its `Error:` text (and `Err status [N …]`). */
export function cliErrorFrom(args: readonly string[], result: CliResult): OxenError {
  const text = result.stderr.trim() || result.stdout.trim();
  const details = { stderr: keptStderr(result.stderr), exitCode: result.exitCode };
  const command = `oxen ${args[0] ?? ''}`.trim();
  const deserialize = /Could not deserialize response from \[[^\]]*\]\n\s*(\d{3})([^\n]*)/.exec(text);
  const message = errorLine(text) + (deserialize ? `: ${deserialize[1]}${deserialize[2]}` : '');

  if (/Oxen CLI out of date/.test(text)) {
    const versions = /requires version >= ([^,\s]+), found version ([^\s]+?)\.?(?:\s|$)/.exec(text);
    return new OxenError(
      'CLI_OUT_OF_DATE',
      `${command} failed: this oxen CLI${versions ? ` (${versions[2]})` : ''} is older than the server accepts${versions ? ` (${versions[1]} or newer)` : ''}; upgrade the oxen CLI (https://docs.oxen.ai/getting-started/intro), then try again.`,
      { ...details, ...(versions ? { requiredVersion: versions[1]! } : {}) },
    );
  }
  if (/Migration required/.test(text)) {
    const steps = [...text.matchAll(/^\s*(oxen migrate up \S+ \S+)\s*$/gm)].map((m) => `\`${m[1]}\``);
    return new OxenError(
      'MIGRATION_REQUIRED',
      `${command} failed: this repository must be migrated before this oxen CLI can use it; run ${steps.length > 0 ? steps.join(' and ') : '`oxen migrate up <migration> .`'} in the project folder, then try again.`,
      details,
    );
  }
  const missing = /Remote branch '([^']*)' not found/.exec(text)?.[1];
  if (
    missing !== undefined &&
    args[0] === 'fetch' &&
    (!args.includes('-b') || missing.startsWith('oxvcs-'))
  ) {
    // Listed, then deleted before its turn (another client's lock cleanup): fetching again works.
    return new OxenError(
      'NETWORK',
      `${command} failed: the remote branch ${missing} was deleted while fetching; try again.`,
      details,
    );
  }
  const status = Number(deserialize?.[1] ?? /Err status \[(\d{3})/.exec(text)?.[1] ?? 0);
  const facts = status ? { ...details, status } : details;
  for (const [re, code] of PATTERNS) {
    if (re.test(text)) return new OxenError(code, `${command} failed: ${message}`, facts);
  }
  if (status) return new OxenError(codeForStatus(status), `${command} failed: ${message}`, facts);
  return new OxenError(
    'CLI_FAILED',
    `${command} failed with exit code ${result.exitCode}: ${message || '(no output)'}`,
    details,
  );
}

// ---------------------------------------------------------------------------------------------
// Progress

const SIZE = String.raw`(\d+(?:\.\d+)?) ?([KkMGTPE]?i?B)`;
const WITH_TOTALS = new RegExp(String.raw`🐂 (push|pull) \((\d+)/(\d+) files\).*?${SIZE}/${SIZE}\s*$`, 'u');
const WITHOUT_TOTALS = new RegExp(String.raw`🐂 (push|pull) \((\d+) files ${SIZE}\)\s*$`, 'u');

function bytesOf(value: string, unit: string): number {
  const power = 'KMGTPE'.indexOf(unit[0]!.toUpperCase()) + 1;
  return Math.round(Number(value) * (unit.includes('i') ? 1024 : 1000) ** power);
}

/**
 * Parses one frame of oxen's progress bar (control characters already removed):
 * `⠁ 🐂 push (2/5 files) [00:00:01] [🌾🐂➖] 1.20 MiB/4.00 MiB` (known totals: indicatif
 * HumanBytes, binary units) or `⠁ 🐂 pull (3 files 1.2 MB)` (no totals yet: bytesize).
 */
export function parseProgressLine(line: string): TransferProgress | undefined {
  const full = WITH_TOTALS.exec(line);
  if (full) {
    return {
      phase: full[1] as 'push' | 'pull',
      filesDone: Number(full[2]),
      filesTotal: Number(full[3]),
      bytesDone: bytesOf(full[4]!, full[5]!),
      bytesTotal: bytesOf(full[6]!, full[7]!),
    };
  }
  const partial = WITHOUT_TOTALS.exec(line);
  if (partial) {
    return {
      phase: partial[1] as 'push' | 'pull',
      filesDone: Number(partial[2]),
      bytesDone: bytesOf(partial[3]!, partial[4]!),
    };
  }
  return undefined;
}

/** Feeds terminal output in, calls `emit` for every progress frame that changed something. */
function progressReader(emit: (progress: TransferProgress) => void): (chunk: string) => void {
  let pending = '';
  let last = '';
  const consider = (segment: string) => {
    const progress = parseProgressLine(stripVTControlCharacters(segment));
    if (!progress) return;
    const key = JSON.stringify(progress);
    if (key === last) return;
    last = key;
    try {
      emit(progress);
    } catch {
      // A failing observer must not break the transfer.
    }
  };
  return (chunk) => {
    const segments = (pending + chunk).split(/[\r\n]/);
    pending = segments.pop() ?? '';
    for (const segment of segments) consider(segment);
    // A frame is written without a line end; a cut-off one cannot match (its last size lacks a unit).
    consider(pending);
  };
}

/** What a terminal showed, as lines: progress frames dropped, each line as last redrawn. */
function terminalText(raw: string): string {
  return stripVTControlCharacters(raw)
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((line) => {
      let shown = line.slice(line.lastIndexOf('\r') + 1);
      // An error printed right after a bar that was never cleared.
      const at = shown.indexOf('Error:');
      if (at > 0 && parseProgressLine(shown.slice(0, at))) shown = shown.slice(at);
      return parseProgressLine(shown) ? '' : shown;
    })
    .filter((line, i, all) => line !== '' || (i > 0 && all[i - 1] !== ''))
    .join('\n');
}

/**
 * Which `script` gives oxen a terminal: util-linux (`script -q -e -c LINE FILE`), BSD (macOS and
 * FreeBSD: `script -q FILE COMMAND...`, no `-c`, and no `-e` on the macOS releases before 2025), or
 * none.
 */
type ScriptFlavour = 'util-linux' | 'bsd' | 'none';

const flavours = new Map<string, ScriptFlavour>();
/**
 * The `script` on PATH, probed once per platform and PATH. `--version` is harmless everywhere:
 * util-linux prints its name, BSD getopt refuses the option before opening any file.
 */
function scriptFlavour(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): ScriptFlavour {
  if (platform === 'win32') return 'none';
  const key = `${platform}\0${env.PATH ?? ''}`;
  let flavour = flavours.get(key);
  if (flavour === undefined) {
    const probe = spawnSync('script', ['--version'], {
      env,
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (probe.error) flavour = 'none';
    else if ((probe.stdout ?? '').includes('util-linux')) flavour = 'util-linux';
    // OpenBSD's and NetBSD's `script` take `-c` but no command words; busybox's has no `-e`.
    else flavour = platform === 'darwin' || platform === 'freebsd' ? 'bsd' : 'none';
    flavours.set(key, flavour);
  }
  return flavour;
}

/**
 * How to start `sh -c LINE` under `script`'s pseudo-terminal. Both flavours exit with the shell's
 * status (BSD: the signal number when it was killed by one); both put it in a session of its own
 * whose controlling terminal is the pty, so killing `script` (its master side closing) hangs up
 * that session and oxen gets SIGHUP.
 */
function scriptCommand(
  flavour: 'util-linux' | 'bsd',
  line: string,
): { args: string[]; stdin: 'ignore' | 'pipe' } {
  if (flavour === 'util-linux') return { args: ['-q', '-e', '-c', line, '/dev/null'], stdin: 'ignore' };
  // BSD `script` runs its command words itself (execvp), so the shell is named here. Its stdin is a
  // pipe left open, never written: at end of input BSD `script` types ^D into the pty, which the
  // terminal echoes as "^D" in front of oxen's first line (and old ones stop reading the pty there).
  return { args: ['-q', '/dev/null', '/bin/sh', '-c', line], stdin: 'pipe' };
}

// ---------------------------------------------------------------------------------------------
// Children: registry and the host's exit paths

interface LiveChild {
  readonly child: ChildProcess;
  readonly claim: TransferClaim | undefined;
  /** Kills the child's process group; its call rejects as cancelled (an AbortError). */
  stop(): void;
}
const live = new Set<LiveChild>();
const HOST_SIGNALS: readonly NodeJS.Signals[] =
  process.platform === 'win32' ? ['SIGINT', 'SIGTERM'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];

function killGroup(child: ChildProcess): void {
  try {
    // Its own process group (detached): oxen and anything it started.
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/**
 * Kills the process groups of every oxen child started by any {@link OxenCli} in this process and
 * releases their transfer claims. The wrapper calls it itself on the host's exit and on SIGINT,
 * SIGTERM and SIGHUP; a host that handles those signals itself may call it from its handler.
 */
export function killAllOxenChildren(): void {
  for (const entry of live) {
    entry.stop();
    // A SIGKILLed child runs no more code: its claim can go now, before the host exits.
    entry.claim?.release();
  }
}

const onHostExit = () => killAllOxenChildren();
const onHostSignal = (signal: NodeJS.Signals) => {
  killAllOxenChildren();
  // Ours was the only listener, so the host relied on the default action: terminate by the
  // signal. Step aside and deliver it again. A host with listeners of its own decides itself.
  if (process.listenerCount(signal) === 1) {
    unhookHost();
    process.kill(process.pid, signal);
  }
};
let hooked = false;
function hookHost(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', onHostExit);
  for (const signal of HOST_SIGNALS) process.on(signal, onHostSignal);
}
function unhookHost(): void {
  if (!hooked) return;
  hooked = false;
  process.off('exit', onHostExit);
  for (const signal of HOST_SIGNALS) process.off(signal, onHostSignal);
}

const TRANSFERS = new Set(['push', 'pull', 'fetch']);

/**
 * The checked-out branch as oxen keeps it: `.oxen/HEAD` holds the head ref, a branch name, or a
 * commit id when detached (liboxen `RefReader::read_head_ref`, `core/refs/ref_reader.rs`). Read
 * here, it saves starting `oxen branch --show-current` (one process per push or pull); undefined
 * (ask oxen) when the file is missing or names a commit rather than a branch.
 */
export function headBranch(cwd: string): string | undefined {
  let head: string;
  try {
    head = readFileSync(join(cwd, '.oxen', 'HEAD'), 'utf8').trim();
  } catch {
    return undefined;
  }
  // Oxen's commit ids are 32 hex digits (xxh3-128); a branch name has no white space.
  if (head === '' || /\s/.test(head) || /^[0-9a-f]{32}$/.test(head)) return undefined;
  return head;
}

/** Creates an {@link OxenCli} bound to a project directory. */
export function createOxenCli(options: OxenCliOptions): OxenCli {
  const bin = options.bin ?? 'oxen';
  const timeoutMs = options.timeoutMs ?? 60_000;
  const networkTimeoutMs = options.networkTimeoutMs ?? 600_000;
  const platform = options.platform ?? process.platform;
  const baseEnv = { ...(options.env ?? process.env), NO_COLOR: '1' };
  const mine = new Set<LiveChild>();

  const run: OxenCli['run'] = (args, runOptions = {}) =>
    new Promise((resolve, reject) => {
      const limit = runOptions.network ? networkTimeoutMs : timeoutMs;
      let claim: TransferClaim | undefined;
      try {
        claim = TRANSFERS.has(args[0] ?? '') ? claimTransfer(options.cwd, args[0]!) : undefined;
      } catch (error) {
        reject(
          error instanceof OxenError
            ? error
            : new OxenError(
                'CLI_FAILED',
                `Could not record oxen ${args[0]} in the .oxen folder of ${options.cwd}: ${(error as Error).message}; check that it is writable.`,
                { cause: error },
              ),
        );
        return;
      }
      const onProgress = runOptions.onProgress;
      const env = runOptions.env ? { ...baseEnv, ...runOptions.env } : baseEnv;
      const flavour = onProgress === undefined ? 'none' : scriptFlavour(platform, env);
      const terminal = flavour !== 'none';
      // Own process group, so a timeout kills oxen and anything it started. Under a terminal,
      // oxen's stdout goes to fd 3 and its stderr (where the bar is drawn) to the terminal; the
      // shell line holds no caller data: the executable and arguments travel in the environment.
      const spawnChild = (): ChildProcess => {
        if (flavour === 'none')
          return spawn(bin, [...args], {
            cwd: options.cwd,
            env,
            detached: true,
            stdio: ['ignore', 'pipe', 'pipe'],
          });
        const line = `exec "$OXVCS_OXEN_BIN"${args.map((_, i) => ` "$OXVCS_OXEN_ARG_${i}"`).join('')} 1>&3`;
        const command = scriptCommand(flavour, line);
        return spawn('script', command.args, {
          cwd: options.cwd,
          env: {
            ...env,
            // util-linux runs the line with $SHELL.
            SHELL: '/bin/sh',
            OXVCS_OXEN_BIN: bin,
            ...Object.fromEntries(args.map((a, i) => [`OXVCS_OXEN_ARG_${i}`, a])),
          },
          detached: true,
          stdio: [command.stdin, 'pipe', 'pipe', 'pipe'],
        });
      };
      let child: ChildProcess;
      try {
        child = spawnChild();
      } catch (error) {
        claim?.release();
        reject(new OxenError('CLI_FAILED', `Could not start ${bin}: ${String(error)}`, { cause: error }));
        return;
      }
      let reason: 'timeout' | 'abort' | undefined;
      const kill = (why: 'timeout' | 'abort') => {
        reason = why;
        killGroup(child);
      };
      const entry: LiveChild = { child, claim, stop: () => kill('abort') };
      live.add(entry);
      mine.add(entry);
      hookHost();
      const forget = () => {
        live.delete(entry);
        mine.delete(entry);
        claim?.release();
        if (live.size === 0) unhookHost();
      };
      if (child.pid) claim?.setChild(child.pid);
      const outStream = (terminal ? child.stdio[3] : child.stdout) as Readable;
      const errStream = child.stderr as Readable;
      const termStream = terminal ? (child.stdout as Readable) : undefined;
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const term: Buffer[] = [];
      const readProgress = onProgress ? progressReader(onProgress) : undefined;
      // Drain every pipe always: an undrained pipe deadlocks a chatty child.
      outStream.on('data', (c: Buffer) => out.push(c));
      errStream.on('data', (c: Buffer) => {
        err.push(c);
        if (!terminal) readProgress?.(c.toString('utf8'));
      });
      termStream?.on('data', (c: Buffer) => {
        term.push(c);
        readProgress?.(c.toString('utf8'));
      });
      const timer = setTimeout(() => kill('timeout'), limit);
      const onAbort = () => kill('abort');
      if (runOptions.signal?.aborted) onAbort();
      else runOptions.signal?.addEventListener('abort', onAbort, { once: true });
      child.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        runOptions.signal?.removeEventListener('abort', onAbort);
        forget();
        reject(
          error.code === 'ENOENT'
            ? new OxenError(
                'CLI_NOT_FOUND',
                `The oxen executable "${bin}" was not found; install Oxen or put it on PATH.`,
                { cause: error },
              )
            : new OxenError('CLI_FAILED', `Could not start ${bin}: ${error.message}`, { cause: error }),
        );
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        runOptions.signal?.removeEventListener('abort', onAbort);
        forget();
        const stdout = stripVTControlCharacters(Buffer.concat(out).toString('utf8'));
        const stderr = terminal
          ? [terminalText(Buffer.concat(term).toString('utf8')), Buffer.concat(err).toString('utf8')]
              .filter((s) => s.trim() !== '')
              .join('\n')
          : stripVTControlCharacters(Buffer.concat(err).toString('utf8'));
        if (reason === 'abort') {
          reject(
            Object.assign(new Error(`oxen ${args[0]} was cancelled.`), {
              name: 'AbortError',
              cause: runOptions.signal?.reason,
            }),
          );
          return;
        }
        if (reason === 'timeout') {
          reject(
            new OxenError(
              'TIMEOUT',
              `oxen ${args[0]} did not finish within ${Math.round(limit / 1000)} s and was stopped; the remote may be unreachable.`,
              { stderr: keptStderr(stderr) },
            ),
          );
          return;
        }
        // The shell under `script` could not find oxen.
        if (terminal && code === 127 && /not found/.test(stderr)) {
          reject(
            new OxenError(
              'CLI_NOT_FOUND',
              `The oxen executable "${bin}" was not found; install Oxen or put it on PATH.`,
              { stderr: keptStderr(stderr) },
            ),
          );
          return;
        }
        resolve({ stdout, stderr, exitCode: code ?? 1 });
      });
    });

  const ok = async (args: readonly string[], runOptions: RunOptions = {}) => {
    const result = await run(args, runOptions);
    if (result.exitCode !== 0) throw cliErrorFrom(args, result);
    return result;
  };

  return {
    run,
    async status() {
      // `--print_all`: oxen 0.54 cuts each list at 10 entries ("... and N others") without it
      // (`liboxen/src/model/staged_data.rs`, `__collapse_outputs`).
      const { stdout } = await ok(['status', '--print_all']);
      const lines = stdout.split('\n');
      const head = /^On branch (\S+)(?: -> (\S+))?/.exec(lines[0] ?? '');
      const sections: Record<string, string[]> = { staged: [], modified: [], untracked: [], removed: [] };
      let current: string | undefined;
      let dirs = false;
      for (const line of lines.slice(1)) {
        // A line not indented is a section's title; one this does not read ends the one before.
        if (/^\S/.test(line)) {
          current = /^Files to be committed/.test(line)
            ? 'staged'
            : /^Modified files/.test(line)
              ? 'modified'
              : /^Untracked (Files|Directories)/.test(line)
                ? 'untracked'
                : /^Removed Files/.test(line)
                  ? 'removed'
                  : undefined;
          dirs = /^Untracked Directories/.test(line);
        } else if (current && /^\s+\S/.test(line) && !/^ {2}\(use "oxen /.test(line)) {
          // Only oxen's indent and label go: a name may begin or end with spaces. A folder is
          // `path (N items)`, padded to the longest.
          const bare = line.replace(/^ {2}/, '');
          // Labels only where oxen prints them: an untracked file may be named "modified: x".
          const entry = current === 'untracked' ? bare : bare.replace(/^(modified|removed|new file): /, '');
          sections[current]!.push(dirs ? entry.replace(/ +\(\d+ items?\)$/, '') : entry);
        }
      }
      const commit = head?.[2] && /^[0-9a-f]+$/.test(head[2]) ? head[2] : undefined;
      return {
        branch: head?.[1] ?? '',
        ...(commit ? { commit } : {}),
        clean: stdout.includes('nothing to commit, working tree clean'),
        staged: sections.staged!,
        modified: sections.modified!,
        untracked: sections.untracked!,
        removed: sections.removed!,
      };
    },
    async branches() {
      const { stdout } = await ok(['branch']);
      let current: string | undefined;
      const names: string[] = [];
      for (const line of stdout.split('\n')) {
        const m = /^([* ])\s*(\S+)/.exec(line);
        if (!m) continue;
        names.push(m[2]!);
        if (m[1] === '*') current = m[2]!;
      }
      return { ...(current ? { current } : {}), names };
    },
    async currentBranch() {
      return headBranch(options.cwd) ?? (await ok(['branch', '--show-current'])).stdout.trim();
    },
    async log(count = 10, revision) {
      const { stdout } = await ok([
        'log',
        '-n',
        String(count),
        ...(revision ? ['--revision', revision] : []),
      ]);
      const entries: LogEntry[] = [];
      for (const block of stdout.split(/^(?=commit [0-9a-f]+$)/m)) {
        const id = /^commit ([0-9a-f]+)/m.exec(block)?.[1];
        if (!id) continue;
        entries.push({
          id,
          author: /^Author:\s*(.*)$/m.exec(block)?.[1] ?? '',
          date: /^Date:\s*(.*)$/m.exec(block)?.[1] ?? '',
          message: block
            .split('\n')
            .filter((l) => l.startsWith('    '))
            .map((l) => l.slice(4))
            .join('\n'),
        });
      }
      return entries;
    },
    async add(paths) {
      // `--`: a file named like an option (`-rf`, `--help`) is a path to add.
      await ok(['add', '--', ...paths]);
    },
    async commit(message) {
      const { stdout } = await ok(['commit', '-m', message]);
      const id = /commit ([0-9a-f]+) ->/.exec(stdout)?.[1];
      if (!id)
        throw new OxenError('BAD_RESPONSE', `oxen commit did not report a commit id: ${stdout.trim()}`);
      return id;
    },
    async checkout(branch) {
      const result = await ok(['checkout', branch]);
      // Oxen prints an unknown revision on stdout and exits 0: that is a failure.
      if (/Revision not found/.test(result.stdout))
        throw cliErrorFrom(['checkout', branch], { ...result, exitCode: 0 });
    },
    async push(remote = 'origin', branch, o = {}) {
      // `--`: what follows is never read as an option (clap, like oxen's, ends options there).
      const { stdout } = await ok(['push', '--', remote, ...(branch ? [branch] : [])], {
        ...o,
        network: true,
      });
      const commit = /-> ([0-9a-f]+)/.exec(stdout)?.[1];
      return { upToDate: /Everything is up to date/.test(stdout), ...(commit ? { commit } : {}) };
    },
    async pull(remote = 'origin', branch, o = {}) {
      await ok(['pull', '--', remote, ...(branch ? [branch] : [])], { ...o, network: true });
    },
    async fetch(o = {}) {
      const { branch, ...rest } = o;
      await ok(['fetch', ...(branch ? ['-b', branch] : [])], { ...rest, network: true });
    },
    killAll() {
      for (const entry of mine) {
        entry.stop();
        entry.claim?.release();
      }
    },
  };
}
