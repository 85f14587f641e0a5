import { spawn } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { OxenError, type OxenErrorCode } from './errors.js';

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

/** A safe wrapper around the oxen CLI: argument arrays (never a shell), timeouts that kill the process group, typed errors. */
export interface OxenCli {
  run(args: readonly string[], options?: { signal?: AbortSignal; network?: boolean }): Promise<CliResult>;
  status(): Promise<OxenStatus>;
  branches(): Promise<{ current?: string; names: string[] }>;
  currentBranch(): Promise<string>;
  log(count?: number, revision?: string): Promise<LogEntry[]>;
  add(paths: readonly string[]): Promise<void>;
  /** Commits what is staged; resolves to the new commit id. */
  commit(message: string): Promise<string>;
  checkout(branch: string): Promise<void>;
  push(
    remote?: string,
    branch?: string,
    options?: { signal?: AbortSignal },
  ): Promise<{ upToDate: boolean; commit?: string }>;
  pull(remote?: string, branch?: string, options?: { signal?: AbortSignal }): Promise<void>;
  fetch(options?: { signal?: AbortSignal }): Promise<void>;
}

const PATTERNS: ReadonlyArray<[RegExp, OxenErrorCode]> = [
  [/Network error: error sending request/, 'NETWORK'],
  [
    /Could not deserialize response from .*\n?\s*40[13]|Authentication failed|Must supply valid API key/,
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

/** Maps a failed oxen run to a typed error by its `Error:` text (and `Err status [N …]`). */
export function cliErrorFrom(args: readonly string[], result: CliResult): OxenError {
  const text = result.stderr.trim() || result.stdout.trim();
  const message = text.replace(/^Error:\s*/, '').split('\n')[0] ?? '';
  const details = { stderr: result.stderr, exitCode: result.exitCode };
  const command = `oxen ${args[0] ?? ''}`.trim();
  for (const [re, code] of PATTERNS) {
    if (re.test(text)) return new OxenError(code, `${command} failed: ${message}`, details);
  }
  const status = /Err status \[(\d{3})/.exec(text)?.[1];
  if (status) {
    const s = Number(status);
    const code: OxenErrorCode =
      s === 429
        ? 'RATE_LIMITED'
        : s >= 500
          ? 'SERVER_ERROR'
          : s === 409
            ? 'CONFLICT'
            : s === 404
              ? 'NOT_FOUND'
              : 'BAD_REQUEST';
    return new OxenError(code, `${command} failed: ${message}`, { ...details, status: s });
  }
  return new OxenError(
    'CLI_FAILED',
    `${command} failed with exit code ${result.exitCode}: ${message || '(no output)'}`,
    details,
  );
}

/** Creates an {@link OxenCli} bound to a project directory. */
export function createOxenCli(options: OxenCliOptions): OxenCli {
  const bin = options.bin ?? 'oxen';
  const timeoutMs = options.timeoutMs ?? 60_000;
  const networkTimeoutMs = options.networkTimeoutMs ?? 600_000;
  const env = { ...(options.env ?? process.env), NO_COLOR: '1' };

  const run: OxenCli['run'] = (args, runOptions = {}) =>
    new Promise((resolve, reject) => {
      const limit = runOptions.network ? networkTimeoutMs : timeoutMs;
      // Own process group, so a timeout kills oxen and anything it started.
      const child = spawn(bin, [...args], {
        cwd: options.cwd,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      // Drain both pipes always: an undrained pipe deadlocks a chatty child.
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      let reason: 'timeout' | 'abort' | undefined;
      const kill = (why: 'timeout' | 'abort') => {
        reason = why;
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      };
      const timer = setTimeout(() => kill('timeout'), limit);
      const onAbort = () => kill('abort');
      runOptions.signal?.addEventListener('abort', onAbort, { once: true });
      child.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        runOptions.signal?.removeEventListener('abort', onAbort);
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
        const stdout = stripVTControlCharacters(Buffer.concat(out).toString('utf8'));
        const stderr = stripVTControlCharacters(Buffer.concat(err).toString('utf8'));
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
              {
                stderr,
              },
            ),
          );
          return;
        }
        resolve({ stdout, stderr, exitCode: code ?? 1 });
      });
    });

  const ok = async (
    args: readonly string[],
    runOptions: { signal?: AbortSignal; network?: boolean } = {},
  ) => {
    const result = await run(args, runOptions);
    if (result.exitCode !== 0) throw cliErrorFrom(args, result);
    return result;
  };

  return {
    run,
    async status() {
      const { stdout } = await ok(['status']);
      const lines = stdout.split('\n');
      const head = /^On branch (\S+)(?: -> (\S+))?/.exec(lines[0] ?? '');
      const sections: Record<string, string[]> = { staged: [], modified: [], untracked: [], removed: [] };
      let current: string | undefined;
      for (const line of lines.slice(1)) {
        if (/^Files to be committed/.test(line)) current = 'staged';
        else if (/^Modified files/.test(line)) current = 'modified';
        else if (/^Untracked Files/.test(line)) current = 'untracked';
        else if (/^Removed Files/.test(line)) current = 'removed';
        else if (current && /^\s+\S/.test(line))
          sections[current]!.push(line.trim().replace(/^(modified|removed|new file):\s*/, ''));
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
      return (await ok(['branch', '--show-current'])).stdout.trim();
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
      await ok(['add', ...paths]);
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
      const { stdout } = await ok(['push', remote, ...(branch ? [branch] : [])], { ...o, network: true });
      const commit = /-> ([0-9a-f]+)/.exec(stdout)?.[1];
      return { upToDate: /Everything is up to date/.test(stdout), ...(commit ? { commit } : {}) };
    },
    async pull(remote = 'origin', branch, o = {}) {
      await ok(['pull', remote, ...(branch ? [branch] : [])], { ...o, network: true });
    },
    async fetch(o = {}) {
      await ok(['fetch'], { ...o, network: true });
    },
  };
}
