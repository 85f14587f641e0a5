/**
 * Fake `oxen` CLI (a development fake of @oxvcs/oxen-testkit, not Oxen). It covers the subset
 * oxvcs calls, with Oxen 0.54's output lines, `Error:` messages, exit codes and quirks, over a
 * local `.oxen` folder; push, pull and fetch talk HTTP to the (fake) server, so network faults
 * surface as Oxen's own texts (`../shared/reference/oxen-0.54-audit.md`, oxen-server-api.md §1).
 *
 * What it reproduces of the real CLI, quirks included:
 * - push, pull and fetch first check `GET /api/min_version` (`Error: Error: Oxen CLI out of date…`
 *   when this CLI is older: OxenUpdateRequired carries its own `Error:` prefix) and, before that,
 *   whether the repository needs a migration (`Error: Error: Migration required`, after a warning
 *   that names the `oxen migrate up …` command). Push and pull then compare `GET /api/version`
 *   with this CLI's version and print `Warning: 🐂 Oxen remote version mismatch.` (with both
 *   versions) on stderr when they differ, before any `Error:` line. Pull checks the repository's
 *   default remote, not the one it is given.
 * - push prints `🐂 oxen push R B -> <local head>` before anything else, even when there is
 *   nothing to push (then `Everything is up to date`), and ends with `🐂 push complete 🎉 took …`.
 * - push and pull read arguments as clap does: after `--` nothing is an option; an option they do
 *   not have, before it, is clap's "unexpected argument" (exit 2).
 * - fetch without `-b` lists every remote branch (lock tickets and scratch branches too) and
 *   fetches them one at a time, creating a local branch for each one not present locally; a branch
 *   deleted between the list and its fetch fails with `Remote branch 'X' not found` (exit 1) once
 *   the others are fetched. `fetch -b B` fetches only B and moves the local branch B to the
 *   remote's head, wherever it was (Oxen's `should_update_branch_head`). Each branch prints
 *   `Fetch remote branch: <repo>/<branch>`, then `Repository is up to date.` (when the remote head
 *   is the local HEAD, whatever branch that is) or `🐂 oxen downloaded 7 B (1 files) in 3ms`.
 * - errors of the HTTP layer are reqwest's and liboxen's texts: `Network error: error sending
 *   request for url (URL)` when no answer comes, `Network error: request or response body error`
 *   when the connection breaks while reading an answer (`… error decoding response body` for
 *   content downloads, which Oxen reads through a decoder), `Could not deserialize response from
 *   [URL]\n502 Bad Gateway` for any answer that is not an Oxen JSON envelope (the status line is the
 *   real status with its canonical reason), `Err status [401 Unauthorized] from url URL [msg]` for
 *   JSON errors, `Authentication failed: …` for Hub's `unauthenticated` body. Connect errors, 5xx
 *   and 408 are retried 3 times; 429 is not; there is no request timeout.
 *
 * Progress: the real CLI draws indicatif progress bars on stderr, and indicatif draws nothing
 * when stderr is not a terminal. So does this fake: over a pipe, stderr holds only warnings and
 * errors. When stderr IS a terminal (e.g. under `script`), push draws Oxen's PushProgress and
 * pull/fetch its PullProgress, at most every 50 ms (indicatif's 20 Hz), each frame starting with
 * `\r\x1b[2K` (clear the line) and without a newline; the finished bar is cleared (`\r\x1b[2K`):
 *
 *   `⠁ 🐂 push (2/5 files) [00:00:01] [🌾🌾🐂➖➖] 1.20 MiB/4.00 MiB`
 *    spinner, `🐂 push|pull (<files done>/<files total> files)`, elapsed, bar,
 *    `<bytes done>/<bytes total>` in indicatif's HumanBytes (binary units, two decimals, `512 B`).
 *
 * Push sends a change as `core/v_latest/push.rs` does: per unpushed commit the files not in the
 * remote head's tree, `POST …/commits/missing`, then each missing commit in full (small files in
 * gzip-bundled batches, larger ones in chunks retried `OXEN_NUM_RETRIES` (default 5) times),
 * its node and last its dir-hashes; up to min(`OXEN_NUM_THREADS` or 8, CPU count) commits in
 * flight; the branch is moved once at the end. A transport error in a batch fails its commit at once
 * (`multipart_batch_upload_with_retry` retries only files the server names, `versions.rs:502-507`;
 * the error stops that commit's batches, `push.rs:826-830`); the other commits still run to their
 * end (`push.rs:527-543`); then `Error: Failed to push N commit(s):` and one line per commit.
 * Nothing on disk records progress: a re-run skips only commits the server has whole. The bar's
 * total grows by each commit's node bytes, it can pass that total, and it is cleared after each
 * commit's nodes (see `create_nodes` below).
 *
 * Test controls (environment variables; the real CLI has none of these):
 * - `OXEN_FAKE_SEGMENT_BYTES`: the stream segment (batch size and chunk size), to scale a push
 *   down. @default 10485760 (Oxen's 10 MiB)
 * - `OXEN_FAKE_RETRY_WAIT_MS`: wait between chunk retries. @default 300-800 ms at random, as Oxen's
 * - `OXEN_FAKE_CLI_VERSION`: this CLI's version (`--version`, the min_version check, the mismatch
 *   warning). @default 0.54.0, the fake server's default version
 * - `OXEN_FAKE_TRANSFER_DELAY_MS`: wait this long before each file a push uploads or a pull or
 *   fetch downloads, for slow transfers. @default 0
 * - `OXEN_FAKE_PAUSE_AT` (comma-separated points: `push-upload`, `push-halfway` (once half the
 *   files are up, their progress drawn), `pull-download`, `fetch-listed`, `commit:<message>`
 *   (before a commit with that message is recorded))
 *   with `OXEN_FAKE_PAUSE_FILE=<path>`: at each listed point the fake writes `<path>.waiting`
 *   (JSON `{pid, point}`), then waits until `<path>` exists. Makes races reproducible without sleeps.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'smol-toml';
import {
  type CommitRecord,
  hashObject,
  history,
  isAncestor,
  makeCommit,
  OXEN_VERSION,
  type RepoData,
} from '../model.js';

class CliError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;
  constructor(message: string, exitCode = 1, hint?: string) {
    super(message);
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

interface LocalData extends RepoData {
  staged: Record<string, string | null>;
  remoteBranches: Record<string, string>;
}

const CLI_VERSION = process.env.OXEN_FAKE_CLI_VERSION || OXEN_VERSION;
const TRANSFER_DELAY_MS = Math.max(0, Number(process.env.OXEN_FAKE_TRANSFER_DELAY_MS ?? 0) || 0);

const args = process.argv.slice(2);
const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** Where options end: clap reads everything after `--` as positional, as real oxen does. */
const optionsEnd = (list: string[]) => (list.includes('--') ? list.indexOf('--') : list.length);

function takeFlag(list: string[], ...names: string[]): boolean {
  const i = list.findIndex((a, at) => at < optionsEnd(list) && names.includes(a));
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}
function takeOption(list: string[], ...names: string[]): string | undefined {
  const i = list.findIndex((a, at) => at < optionsEnd(list) && names.includes(a));
  if (i < 0) return undefined;
  const value = list[i + 1];
  if (value === undefined)
    throw new CliError(`a value is required for '${list[i]} <VALUE>' but none was supplied`, 2);
  list.splice(i, 2);
  return value;
}

/**
 * The positional arguments once the options are taken: an option left before `--` is one this
 * command does not have (clap's "unexpected argument", exit 2); `--` itself is dropped.
 */
function positionals(list: string[]): string[] {
  const end = optionsEnd(list);
  const unknown = list.slice(0, end).find((a) => a.startsWith('-') && a !== '-');
  if (unknown)
    throw new CliError(
      `unexpected argument '${unknown}' found\n\n  tip: to pass '${unknown}' as a value, use '-- ${unknown}'`,
      2,
    );
  return [...list.slice(0, end), ...list.slice(end + 1)];
}

function configDir(list: string[]): string {
  return (
    takeOption(list, '--config-dir') ?? process.env.OXEN_CONFIG_DIR ?? join(homedir(), '.config', 'oxen')
  );
}

function findRepo(from: string): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, '.oxen', 'data.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new CliError(`No oxen repository found at ${resolve(from)}`);
    dir = parent;
  }
}

function load(repo: string): LocalData {
  return JSON.parse(readFileSync(join(repo, '.oxen', 'data.json'), 'utf8')) as LocalData;
}
function save(repo: string, data: LocalData) {
  const file = join(repo, '.oxen', 'data.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(data));
  renameSync(`${file}.tmp`, file);
}
const currentBranch = (repo: string) => readFileSync(join(repo, '.oxen', 'HEAD'), 'utf8').trim();
const setBranch = (repo: string, name: string) => writeFileSync(join(repo, '.oxen', 'HEAD'), `${name}\n`);

interface RepoConfig {
  remote_name?: string;
  remotes?: Array<{ name: string; url: string }>;
}
function repoConfig(repo: string): RepoConfig {
  const file = join(repo, '.oxen', 'config.toml');
  return existsSync(file) ? (parse(readFileSync(file, 'utf8')) as RepoConfig) : {};
}
function writeRepoConfig(repo: string, config: RepoConfig) {
  writeFileSync(join(repo, '.oxen', 'config.toml'), stringify(config as Record<string, unknown>));
}

function walk(root: string, dir = root): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === '.oxen') continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...walk(root, full));
    else if (entry.isFile()) files.push(relative(root, full).split('\\').join('/'));
  }
  return files;
}

function headTree(data: LocalData, branch: string): Record<string, string> {
  const head = data.branches[branch];
  return head ? { ...data.commits[head]!.tree } : {};
}

function writeTree(repo: string, data: LocalData, from: Record<string, string>, to: Record<string, string>) {
  for (const path of Object.keys(from)) if (!(path in to)) rmSync(join(repo, path), { force: true });
  for (const [path, hash] of Object.entries(to)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), Buffer.from(data.objects[hash] ?? '', 'base64'));
  }
}

function userConfig(dir: string): { name?: string; email?: string } {
  const file = join(dir, 'user_config.toml');
  return existsSync(file) ? (parse(readFileSync(file, 'utf8')) as { name?: string; email?: string }) : {};
}

interface AuthConfig {
  default_host?: string;
  host_configs?: Array<{ host: string; auth_token?: string }>;
}

interface Remote {
  readonly name: string;
  readonly url: string;
  readonly ns: string;
  readonly repo: string;
  readonly origin: string;
  readonly host: string;
}

function remoteOf(repo: string, name?: string): Remote {
  const config = repoConfig(repo);
  const remoteName = name ?? config.remote_name ?? 'origin';
  const remote = config.remotes?.find((r) => r.name === remoteName);
  if (!remote) {
    throw new CliError(
      `No remote named '${remoteName}' is set. Set one with: oxen config --set-remote ${remoteName} <url>`,
    );
  }
  const url = new URL(remote.url);
  const [ns, repoName] = url.pathname.split('/').filter(Boolean);
  return {
    name: remoteName,
    url: remote.url,
    ns: ns ?? '',
    repo: repoName ?? '',
    origin: url.origin,
    host: url.host,
  };
}

// ---------------------------------------------------------------------------------------------
// Formatting as the Rust crates do it

/** http::StatusCode's Display: `502 Bad Gateway`. */
// node:http (and with it TLS, HTTP/2 and undici) is loaded only when a status line is written:
// local commands (status, add, commit, log) start without it.
const statusLine = (status: number) =>
  `${status} ${process.getBuiltinModule('node:http').STATUS_CODES[status] ?? '<unknown status code>'}`;

/** indicatif's HumanBytes: binary units, two decimals, whole bytes below 1 KiB. */
function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let value = n;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(2)} ${units[unit]}`;
}

/** bytesize 1.x's Display (decimal units despite the name of its flag): `5 B`, `1.2 KB`. */
function byteSize(n: number): string {
  if (n < 1000) return `${n} B`;
  const exp = Math.min(6, Math.floor(Math.log(n) / Math.log(1000)));
  return `${(n / 1000 ** exp).toFixed(1)} ${'KMGTPE'[exp - 1]}B`;
}

/** humantime::format_duration of a whole number of milliseconds: `0s`, `12ms`, `1s 234ms`, `2m 5s`. */
function humanDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const parts: string[] = [];
  const units: Array<[number, (n: number) => string]> = [
    [86_400_000, (n) => `${n}${n === 1 ? 'day' : 'days'}`],
    [3_600_000, (n) => `${n}h`],
    [60_000, (n) => `${n}m`],
    [1000, (n) => `${n}s`],
    [1, (n) => `${n}ms`],
  ];
  let rest = Math.floor(ms);
  for (const [size, label] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(label(n));
  }
  return parts.join(' ');
}

const elapsedSince = (started: number) => humanDuration(Date.now() - started);

/** Oxen's OxenVersion: `major.minor.patch[-suffix]`, compared on the numbers only. */
function parseVersion(version: string): [number, number, number] {
  const parts = version.split(/[.-]/);
  const numbers = parts.slice(0, 3).map((p) => Number(p));
  if (parts.length < 3 || parts.length > 4 || numbers.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new CliError('Invalid version string');
  }
  return numbers as [number, number, number];
}
const compareVersions = (a: [number, number, number], b: [number, number, number]) =>
  a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

// ---------------------------------------------------------------------------------------------
// Test controls

async function pauseAt(point: string): Promise<void> {
  const file = process.env.OXEN_FAKE_PAUSE_FILE;
  const points = (process.env.OXEN_FAKE_PAUSE_AT ?? '').split(',').map((p) => p.trim());
  if (!file || !points.includes(point)) return;
  writeFileSync(`${file}.waiting.tmp`, JSON.stringify({ pid: process.pid, point }));
  renameSync(`${file}.waiting.tmp`, `${file}.waiting`);
  while (!existsSync(file)) await sleep(10);
}

// ---------------------------------------------------------------------------------------------
// Progress bars (indicatif), drawn only on a terminal

/** A tar entry's header: what the node bytes counted add to the estimate, per commit. */
const TAR_HEADER_BYTES = 512;

/** Oxen's SyncProgress with totals: `{spinner} 🐂 push (n/N files) [elapsed] [bar] bytes/total`. */
class Progress {
  private readonly kind: 'push' | 'pull';
  private readonly totalFiles: number;
  private totalBytes: number;
  private readonly started = Date.now();
  private files = 0;
  private bytes = 0;
  private lastDraw = 0;
  private frames = 0;

  constructor(kind: 'push' | 'pull', totalFiles: number, totalBytes: number) {
    this.kind = kind;
    this.totalFiles = totalFiles;
    this.totalBytes = totalBytes;
  }

  add(files: number, bytes: number): void {
    this.files += files;
    this.bytes += bytes;
    if (!process.stderr.isTTY) return;
    // indicatif draws at most 20 times a second.
    const now = Date.now();
    if (this.frames > 0 && now - this.lastDraw < 50) return;
    this.lastDraw = now;
    process.stderr.write(`\r\x1b[2K${this.frame(now)}`);
    this.frames++;
  }

  /** `inc_total_bytes` (indicatif `inc_length`): a commit's tree nodes grow the total as they go. */
  growTotal(bytes: number): void {
    this.totalBytes += bytes;
  }

  /**
   * `finish_and_clear`: the line is cleared. Oxen calls it after each commit's nodes
   * (`api/client/tree.rs:128`) on the push's one bar, and later counts draw it again.
   */
  finishAndClear(): void {
    if (process.stderr.isTTY && this.frames > 0) process.stderr.write('\r\x1b[2K');
  }

  private frame(now: number): string {
    const spinner = '⠁⠂⠄⡀⢀⠠⠐⠈'[this.frames % 8];
    const secs = Math.floor((now - this.started) / 1000);
    const two = (n: number) => String(n).padStart(2, '0');
    const elapsed = `${two(Math.floor(secs / 3600))}:${two(Math.floor(secs / 60) % 60)}:${two(secs % 60)}`;
    const width = 20;
    const filled =
      this.totalBytes > 0 ? Math.min(width, Math.floor((this.bytes / this.totalBytes) * width)) : 0;
    const bar = '🌾'.repeat(filled) + (filled < width ? `🐂${'➖'.repeat(width - filled - 1)}` : '');
    return `${spinner} 🐂 ${this.kind} (${this.files}/${this.totalFiles} files) [${elapsed}] [${bar}] ${humanBytes(this.bytes)}/${humanBytes(this.totalBytes)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP, as liboxen's client does it

interface Http {
  readonly cfgDir: string;
}
interface Answer {
  readonly url: string;
  readonly status: number;
  readonly text: string;
}
type Envelope = Record<string, unknown>;

const NETWORK_HINT = 'Check your internet connection and try again.';
const networkError = (what: string) => new CliError(`Network error: ${what}`, 1, NETWORK_HINT);

function authToken(cfgDir: string, host: string): string | undefined {
  const file = join(cfgDir, 'auth_config.toml');
  if (!existsSync(file)) return undefined;
  const config = parse(readFileSync(file, 'utf8')) as AuthConfig;
  return config.host_configs?.find((h) => h.host === host)?.auth_token;
}

/**
 * One request with reqwest's retry policy as Oxen configures it: connect errors, 5xx and 408 are
 * retried up to 3 times; nothing else is; no timeout. `decoded` marks content downloads, which Oxen
 * reads through a decoder, so a broken body there reads `error decoding response body`.
 */
async function request(
  http: Http,
  url: string,
  init: { method?: string; body?: unknown; decoded?: boolean } = {},
): Promise<Answer> {
  const token = authToken(http.cfgDir, new URL(url).host);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': `Oxen/${CLI_VERSION} (Linux; CLI)`,
  };
  if (token) headers.authorization = `Bearer ${token}`;
  for (let attempt = 0; ; attempt++) {
    let response: Response;
    try {
      response = await fetch(url, {
        method: init.method ?? 'GET',
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
    } catch {
      if (attempt < 3) {
        await sleep(50);
        continue;
      }
      throw networkError(`error sending request for url (${url})`);
    }
    if ((response.status >= 500 || response.status === 408) && attempt < 3) {
      await response.body?.cancel().catch(() => undefined);
      await sleep(50);
      continue;
    }
    try {
      return { url, status: response.status, text: await response.text() };
    } catch {
      throw networkError(init.decoded ? 'error decoding response body' : 'request or response body error');
    }
  }
}

const UNAUTHENTICATED =
  'You are unauthenticated.\n\nObtain an API Key at https://oxen.ai or ask your system admin. Set your auth token with the command:\n\n  oxen config --auth hub.oxen.ai YOUR_AUTH_TOKEN\n';

/** liboxen's `parse_json_body`: an Oxen envelope with status `success` and a 2xx, or the error Oxen prints. */
function parseJsonBody(http: Http, answer: Answer): Envelope {
  if (answer.status === 403 && !existsSync(join(http.cfgDir, 'auth_config.toml'))) {
    throw new CliError('Must supply valid API key. Run `oxen config --auth <HOST> <TOKEN>`.');
  }
  let body: Envelope | undefined;
  try {
    const parsed = JSON.parse(answer.text) as unknown;
    if (parsed && typeof parsed === 'object') body = parsed as Envelope;
  } catch {
    body = undefined;
  }
  // OxenResponse needs `status` and `status_message`; anything else does not deserialize.
  if (!body || typeof body.status !== 'string' || typeof body.status_message !== 'string') {
    throw new CliError(`Could not deserialize response from [${answer.url}]\n${statusLine(answer.status)}`);
  }
  const description =
    typeof body.status_description === 'string' ? body.status_description : body.status_message;
  if (body.status === 'success') {
    if (answer.status >= 200 && answer.status < 300) return body;
    throw errStatus(answer, body);
  }
  if (body.status === 'warning') throw new CliError(`Remote warning: ${description}`);
  if (body.status === 'error') {
    if (description === 'unauthenticated') throw new CliError(`Authentication failed: ${UNAUTHENTICATED}`);
    throw errStatus(answer, body);
  }
  throw new CliError(`Unknown remote response status: ${body.status}`);
}

/** OxenError::HttpStatusError: `Err status [401 Unauthorized] from url URL [title\ndetail]`. */
function errStatus(answer: Answer, body: Envelope): CliError {
  const error = body.error as { title?: unknown; detail?: unknown } | undefined;
  const message =
    error && typeof error === 'object'
      ? `${String(error.title ?? '')}\n${typeof error.detail === 'string' ? error.detail : ''}`
      : String(body.status_message);
  return new CliError(`Err status [${statusLine(answer.status)}] from url ${answer.url} [${message}]`);
}

const repoApi = (remote: Remote) => `${remote.origin}/api/repos/${remote.ns}/${remote.repo}`;
const testkitApi = (remote: Remote) => `${remote.origin}/__testkit/repos/${remote.ns}/${remote.repo}`;

/** helpers::check_repo_migration_needed: a warning naming the command, then the error. */
function checkMigration(repo: string): void {
  // The fake's model of Oxen's add_workspace_name_index migration: workspaces without their index.
  const needed =
    existsSync(join(repo, '.oxen', 'workspaces')) && !existsSync(join(repo, '.oxen', 'workspace_name_index'));
  if (!needed) return;
  process.stderr.write(
    '\nWarning: 🐂 This repo requires a migration to the latest Oxen version. \n\nPlease run the following to update:\n\n',
  );
  process.stderr.write('  oxen migrate up add_workspace_name_index .\n\n');
  throw new CliError('Error: Migration required');
}

/** helpers::check_remote_version_blocking: `GET /api/min_version`, OxenUpdateRequired when this CLI is older. */
async function checkMinVersion(http: Http, remote: Remote): Promise<void> {
  const body = parseJsonBody(http, await request(http, `${remote.origin}/api/min_version`));
  const min = parseVersion(String(body.version ?? ''));
  const local = parseVersion(CLI_VERSION);
  if (compareVersions(local, min) < 0) {
    throw new CliError(
      `Error: Oxen CLI out of date. Pushing to OxenHub requires version >= ${min.join('.')}, found version ${local.join('.')}.\n\nVisit https://docs.oxen.ai/getting-started/intro for update instructions.\n\nOn Mac:\n\n  brew update\n  brew upgrade oxen\n\nOn Ubuntu:\n\n  For x86-64:\n    wget https://github.com/Oxen-AI/Oxen/releases/latest/download/oxen-linux-x86_64.deb\n    sudo dpkg -i oxen-linux-x86_64.deb\n\n  For ARM64:\n    wget https://github.com/Oxen-AI/Oxen/releases/latest/download/oxen-linux-arm64.deb\n    sudo dpkg -i oxen-linux-arm64.deb`,
    );
  }
}

/** helpers::check_remote_version: a warning on stderr when the versions differ; failures are only logged. */
async function warnOnVersionMismatch(http: Http, remote: Remote): Promise<void> {
  let remoteVersion: string;
  try {
    const body = parseJsonBody(http, await request(http, `${remote.origin}/api/version`));
    remoteVersion = String(body.oxen_version ?? '');
  } catch {
    return;
  }
  if (remoteVersion !== CLI_VERSION) {
    process.stderr.write(
      `Warning: 🐂 Oxen remote version mismatch.\n\nCLI Version: ${CLI_VERSION}\nServer Version: ${remoteVersion}\n\nPlease visit https://docs.oxen.ai/getting-started/install for installation instructions.\n\n`,
    );
  }
}

/** api::client::repositories::get_by_remote. */
async function remoteRepository(http: Http, remote: Remote): Promise<Envelope> {
  const answer = await request(http, repoApi(remote));
  if (answer.status === 404) throw new CliError(`Remote repository not found: ${remote.url}`);
  return parseJsonBody(http, answer);
}

/** api::client::branches::get_by_name: the branch's commit id, or undefined on 404. */
async function remoteBranch(http: Http, remote: Remote, branch: string): Promise<string | undefined> {
  const answer = await request(http, `${repoApi(remote)}/branches/${branch}`);
  if (answer.status === 404) return undefined;
  const body = parseJsonBody(http, answer);
  return (body.branch as { commit_id: string }).commit_id;
}

/** Downloads `commit` and its history; objects missing locally are written one by one, with progress. */
async function download(
  http: Http,
  remote: Remote,
  data: LocalData,
  commit: string,
): Promise<{ files: number; bytes: number }> {
  const body = parseJsonBody(
    http,
    await request(http, `${testkitApi(remote)}/download/${commit}`, { decoded: true }),
  );
  const objects = Object.entries(body.objects as Record<string, string>).filter(
    ([h]) => !(h in data.objects),
  );
  const size = (b64: string) => Buffer.from(b64, 'base64').length;
  const progress = new Progress(
    'pull',
    objects.length,
    objects.reduce((n, [, b64]) => n + size(b64), 0),
  );
  let bytes = 0;
  for (const [hash, b64] of objects) {
    if (TRANSFER_DELAY_MS) await sleep(TRANSFER_DELAY_MS);
    data.objects[hash] = b64;
    bytes += size(b64);
    progress.add(1, size(b64));
  }
  progress.finishAndClear();
  for (const c of body.commits as CommitRecord[]) data.commits[c.id] = c;
  return { files: objects.length, bytes };
}

// ---------------------------------------------------------------------------------------------
// Push, as `core/v_latest/push.rs` sends a change

/** `STREAM_SEGMENT_SIZE`: files up to it go in batches of about this size, larger ones in chunks of it. */
const SEGMENT_BYTES = Math.max(1, Number(process.env.OXEN_FAKE_SEGMENT_BYTES) || 10 * 1024 * 1024);
/** `util/concurrency.rs`: commits (and chunks) in flight, min(OXEN_NUM_THREADS or 8, CPU count). */
const pushThreads = async () => {
  const { availableParallelism } = await import('node:os');
  const wanted = Number.parseInt(process.env.OXEN_NUM_THREADS ?? '', 10);
  return Math.max(1, Math.min(wanted > 0 ? wanted : 8, availableParallelism()));
};
/** `OXEN_NUM_RETRIES` (default 5): how often a chunk upload is retried. */
const CHUNK_RETRIES = (() => {
  const n = Number.parseInt(process.env.OXEN_NUM_RETRIES ?? '', 10);
  return Number.isInteger(n) && n >= 0 ? n : 5;
})();
/** Wait between chunk retries: 0.3-0.8 s as Oxen's, or `OXEN_FAKE_RETRY_WAIT_MS` (a test control). */
const retryWait = () => {
  const fixed = Number(process.env.OXEN_FAKE_RETRY_WAIT_MS);
  return sleep(Number.isFinite(fixed) && fixed >= 0 ? fixed : 300 + Math.random() * 500);
};

/** One upload request, sent once (no reqwest retry policy): a transport error is a network error. */
async function sendOnce(
  http: Http,
  url: string,
  method: string,
  body: Buffer | FormData,
  contentType?: string,
): Promise<Envelope> {
  const token = authToken(http.cfgDir, new URL(url).host);
  const headers: Record<string, string> = { 'user-agent': `Oxen/${CLI_VERSION} (Linux; CLI)` };
  if (contentType) headers['content-type'] = contentType;
  if (token) headers.authorization = `Bearer ${token}`;
  let answer: Answer;
  try {
    const response = await fetch(url, {
      method,
      headers,
      body: body instanceof FormData ? body : new Uint8Array(body),
    });
    answer = { url, status: response.status, text: await response.text() };
  } catch {
    throw networkError(`error sending request for url (${url})`);
  }
  return parseJsonBody(http, answer);
}

/** Commits reachable from `head` and not from `stop`, oldest first (parents before children). */
function unpushed(
  commits: Record<string, CommitRecord>,
  head: string,
  stop: string | undefined,
): CommitRecord[] {
  const skip = new Set(stop && commits[stop] ? history(commits, stop).map((c) => c.id) : []);
  const out: CommitRecord[] = [];
  const seen = new Set<string>();
  const visit = (id: string) => {
    const stack: Array<[string, boolean]> = [[id, false]];
    while (stack.length > 0) {
      const [at, expanded] = stack.pop()!;
      const commit = commits[at];
      if (!commit || skip.has(at)) continue;
      if (expanded) {
        out.push(commit);
        continue;
      }
      if (seen.has(at)) continue;
      seen.add(at);
      stack.push([at, true]);
      for (const parent of [...commit.parent_ids].reverse()) stack.push([parent, false]);
    }
  };
  visit(head);
  return out;
}

interface CommitUpload {
  readonly commit: CommitRecord;
  /** File hashes this commit brings that neither the remote head nor an earlier commit had. */
  readonly files: readonly string[];
}

/**
 * `get_commit_missing_hashes`: per commit, the files not in the remote head's tree nor in an
 * earlier commit of this push.
 */
function planUploads(data: LocalData, commits: CommitRecord[], base: string | undefined): CommitUpload[] {
  const seen = new Set<string>(base && data.commits[base] ? Object.values(data.commits[base].tree) : []);
  return commits.map((commit) => {
    const files = [...new Set(Object.values(commit.tree))].filter((h) => !seen.has(h));
    for (const h of files) seen.add(h);
    return { commit, files };
  });
}

/** Runs `work` over `items`, `limit` at a time, every item to the end; returns the failures. */
async function eachConcurrent<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  const failures: Array<{ item: T; error: unknown }> = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failures.push({ item, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return failures;
}

/**
 * Sends the commits the server lacks (`POST …/commits/missing`), each in full: small files in
 * gzip-bundled batches of about {@link SEGMENT_BYTES} (`POST …/versions`, no retry), larger files
 * in chunks (`PUT …/versions/{hash}/chunks?offset=N`, each retried {@link CHUNK_RETRIES} times,
 * then `…/complete`), then the commit's node (`POST …/tree/nodes`) and last its dir-hashes
 * (`POST …/commits/upload`), after which the server counts it present. The branch is not moved here.
 */
async function upload(
  http: Http,
  remote: Remote,
  data: LocalData,
  plan: readonly CommitUpload[],
): Promise<void> {
  const { gzipSync } = await import('node:zlib');
  const api = repoApi(remote);
  const missing = new Set(
    (
      (
        await sendOnce(
          http,
          `${api}/commits/missing`,
          'POST',
          Buffer.from(JSON.stringify({ hashes: plan.map((p) => p.commit.id) })),
          'application/json',
        )
      ).hashes as string[]
    ).map(String),
  );
  const todo = plan.filter((p) => missing.has(p.commit.id));
  const bytesOf = (h: string) => Buffer.from(data.objects[h] ?? '', 'base64');
  const size = (h: string) => {
    const b64 = data.objects[h] ?? '';
    return (b64.length * 3) / 4 - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
  };
  const allFiles = todo.flatMap((p) => p.files);
  const progress = new Progress(
    'push',
    allFiles.length,
    allFiles.reduce((n, h) => n + size(h), 0),
  );
  let filesDone = 0;
  const halfway = Math.ceil(allFiles.length / 2);
  const fileDone = async (bytes: number) => {
    progress.add(1, bytes);
    if (++filesDone === halfway) await pauseAt('push-halfway');
  };
  // A slow link (`OXEN_FAKE_TRANSFER_DELAY_MS`) carries one upload at a time: each waits its turn,
  // then its delay per file, then goes, so the bar moves in steps however the uploads overlap.
  let link: Promise<unknown> = Promise.resolve();
  const overLink = <T>(files: number, work: () => Promise<T>): Promise<T> => {
    if (!TRANSFER_DELAY_MS) return work();
    const turn = link.then(async () => {
      await sleep(TRANSFER_DELAY_MS * files);
      return work();
    });
    link = turn.catch(() => undefined);
    return turn;
  };
  const sendSmall = async (files: readonly string[]) => {
    const batches: string[][] = [[]];
    let batchBytes = 0;
    for (const h of files) {
      batches.at(-1)!.push(h);
      batchBytes += size(h);
      if (batchBytes >= SEGMENT_BYTES) {
        batches.push([]);
        batchBytes = 0;
      }
    }
    for (const batch of batches.filter((b) => b.length > 0)) {
      await overLink(batch.length, async () => {
        const form = new FormData();
        for (const h of batch) form.append('file[]', new Blob([new Uint8Array(gzipSync(bytesOf(h)))]), h);
        await sendOnce(http, `${api}/versions`, 'POST', form);
        for (const h of batch) await fileDone(size(h));
      });
    }
  };
  const sendLarge = (hash: string) =>
    overLink(1, async () => {
      const bytes = bytesOf(hash);
      await sendOnce(http, `${api}/versions/${hash}/create`, 'POST', Buffer.alloc(0));
      for (let offset = 0; offset < bytes.length; offset += SEGMENT_BYTES) {
        const chunk = bytes.subarray(offset, offset + SEGMENT_BYTES);
        for (let attempt = 0; ; attempt++) {
          try {
            await sendOnce(
              http,
              `${api}/versions/${hash}/chunks?offset=${offset}`,
              'PUT',
              chunk,
              'application/octet-stream',
            );
            break;
          } catch (error) {
            if (attempt >= CHUNK_RETRIES) throw error;
            await retryWait();
          }
        }
      }
      await sendOnce(http, `${api}/versions/${hash}/complete`, 'POST', Buffer.alloc(0));
      await fileDone(bytes.length);
    });
  const failures = await eachConcurrent(todo, await pushThreads(), async ({ commit, files }) => {
    const small = files.filter((h) => size(h) <= SEGMENT_BYTES);
    const large = files.filter((h) => size(h) > SEGMENT_BYTES);
    await Promise.all([
      (async () => {
        for (const h of large) await sendLarge(h);
      })(),
      sendSmall(small),
    ]);
    const gz = (value: unknown) => gzipSync(Buffer.from(JSON.stringify(value)));
    // `create_nodes` (`api/client/tree.rs:86-128`): the total grows by an estimate of the nodes'
    // bytes, the bytes counted are those written into the tar (headers too: more than the
    // estimate, so the bar can pass its total), then the bar is cleared.
    const nodeBytes = Buffer.byteLength(JSON.stringify({ commit }));
    progress.growTotal(nodeBytes);
    await sendOnce(http, `${api}/tree/nodes`, 'POST', gz({ commit }), 'application/gzip');
    progress.add(0, nodeBytes + TAR_HEADER_BYTES);
    progress.finishAndClear();
    await sendOnce(http, `${api}/commits/upload`, 'POST', gz({ commit_id: commit.id }), 'application/gzip');
  });
  progress.finishAndClear();
  if (failures.length > 0) {
    const lines = failures.map(
      ({ item, error }) =>
        `Error pushing commit "${item.commit.id}": ${error instanceof Error ? error.message : String(error)}`,
    );
    throw new CliError(`Failed to push ${failures.length} commit(s):\n${lines.join('\n')}`);
  }
}

async function main(): Promise<void> {
  const list = [...args];
  const cfgDir = configDir(list);
  const command = list.shift();
  const cwd = process.cwd();
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
      out(
        'oxen (fake, from @oxvcs/oxen-testkit) — commands: config init add commit status branch checkout push pull fetch log remote migrate',
      );
      return;
    case '--version':
    case '-V':
      out(`oxen ${CLI_VERSION}`);
      return;
    case 'init': {
      const dir = resolve(list[0] ?? cwd);
      mkdirSync(join(dir, '.oxen'), { recursive: true });
      if (!existsSync(join(dir, '.oxen', 'data.json'))) {
        save(dir, { commits: {}, branches: {}, objects: {}, staged: {}, remoteBranches: {} });
        setBranch(dir, 'main');
        writeRepoConfig(dir, { remote_name: 'origin', remotes: [] });
      }
      out(`🐂 repository initialized at: ${dir}`);
      return;
    }
    case 'config': {
      mkdirSync(cfgDir, { recursive: true });
      const name = takeOption(list, '--name');
      const email = takeOption(list, '--email');
      if (name !== undefined || email !== undefined) {
        const user = { ...userConfig(cfgDir), ...(name ? { name } : {}), ...(email ? { email } : {}) };
        writeFileSync(join(cfgDir, 'user_config.toml'), stringify(user));
      }
      const authIndex = list.indexOf('--auth');
      if (authIndex >= 0) {
        const [host, token] = [list[authIndex + 1], list[authIndex + 2]];
        if (!host || !token) throw new CliError("a value is required for '--auth <HOST> <TOKEN>'", 2);
        const file = join(cfgDir, 'auth_config.toml');
        const config: AuthConfig = existsSync(file) ? (parse(readFileSync(file, 'utf8')) as AuthConfig) : {};
        const hosts = (config.host_configs ?? []).filter((h) => h.host !== host);
        hosts.push({ host, auth_token: token });
        writeFileSync(
          file,
          stringify({ default_host: config.default_host ?? 'hub.oxen.ai', host_configs: hosts }),
          {
            mode: 0o600,
          },
        );
        list.splice(authIndex, 3);
      }
      const setRemote = list.indexOf('--set-remote');
      if (setRemote >= 0) {
        const [remoteName, url] = [list[setRemote + 1], list[setRemote + 2]];
        if (!remoteName || !url) throw new CliError("a value is required for '--set-remote <NAME> <URL>'", 2);
        const repo = findRepo(cwd);
        const config = repoConfig(repo);
        const remotes = (config.remotes ?? []).filter((r) => r.name !== remoteName);
        remotes.push({ name: remoteName, url });
        writeRepoConfig(repo, { remote_name: config.remote_name ?? 'origin', remotes });
      }
      const deleteRemote = takeOption(list, '--delete-remote');
      if (deleteRemote) {
        const repo = findRepo(cwd);
        const config = repoConfig(repo);
        writeRepoConfig(repo, {
          ...config,
          remotes: (config.remotes ?? []).filter((r) => r.name !== deleteRemote),
        });
      }
      return;
    }
    case 'add': {
      const repo = findRepo(cwd);
      const data = load(repo);
      // Clap's: a path starting with a dash is an option unless it follows `--`.
      const paths = positionals(list);
      if (paths.length === 0)
        throw new CliError('the following required arguments were not provided:\n  <PATHS>...', 2);
      const tree = headTree(data, currentBranch(repo));
      let count = 0;
      let bytes = 0;
      const all = walk(repo);
      for (const arg of paths) {
        const target = relative(repo, resolve(cwd, arg)).split('\\').join('/');
        const matches = all.filter((f) => target === '' || f === target || f.startsWith(`${target}/`));
        const removed = Object.keys(tree).filter(
          (f) => (target === '' || f === target || f.startsWith(`${target}/`)) && !all.includes(f),
        );
        if (matches.length === 0 && removed.length === 0 && !existsSync(resolve(cwd, arg))) {
          throw new CliError(`Path does not exist: ${arg}`);
        }
        for (const f of matches) {
          const content = readFileSync(join(repo, f));
          const hash = hashObject(content);
          if (tree[f] === hash) continue;
          data.objects[hash] = content.toString('base64');
          data.staged[f] = hash;
          count++;
          bytes += content.length;
        }
        for (const f of removed) data.staged[f] = null;
      }
      save(repo, data);
      out(`🐂 oxen added ${count} files (${bytes} B) in 1ms`);
      return;
    }
    case 'commit': {
      const message = takeOption(list, '-m', '--message');
      if (!message)
        throw new CliError('the following required arguments were not provided:\n  --message <MESSAGE>', 2);
      const repo = findRepo(cwd);
      const user = userConfig(cfgDir);
      if (!user.name || !user.email) {
        throw new CliError(
          'oxen not configured, set email and name with:\n\noxen config --name YOUR_NAME --email YOUR_EMAIL\n',
        );
      }
      await pauseAt(`commit:${message}`);
      const data = load(repo);
      if (Object.keys(data.staged).length === 0) throw new CliError('No changes to commit');
      const branch = currentBranch(repo);
      const tree = headTree(data, branch);
      for (const [path, hash] of Object.entries(data.staged)) {
        if (hash === null) delete tree[path];
        else tree[path] = hash;
      }
      const head = data.branches[branch];
      const started = Date.now();
      const commit = makeCommit(head ? [head] : [], tree, {
        message,
        author: user.name,
        email: user.email,
        timestamp: new Date().toISOString(),
      });
      data.commits[commit.id] = commit;
      data.branches[branch] = commit.id;
      data.staged = {};
      save(repo, data);
      out(`Committing with message: ${message}`);
      out(`🐂 commit ${commit.id} -> '${message}' in ${elapsedSince(started)}`);
      return;
    }
    case 'status': {
      // As oxen 0.54 prints it (`liboxen/src/model/staged_data.rs`): each list cut at `--limit`
      // (10) entries with "... and N others" unless `--print_all`; a folder holding nothing
      // tracked or staged is one "Untracked Directories" line, `path (N items)`, padded.
      const printAll = takeFlag(list, '-a', '--print_all');
      const limit = Number(takeOption(list, '-l', '--limit') ?? 10);
      const skip = Number(takeOption(list, '-s', '--skip') ?? 0);
      const repo = findRepo(cwd);
      const data = load(repo);
      const branch = currentBranch(repo);
      const tree = headTree(data, branch);
      out(`On branch ${branch} -> ${data.branches[branch] ?? '(no commits)'}`);
      out('');
      const staged = Object.keys(data.staged).sort();
      const files = walk(repo);
      const modified = files.filter(
        (f) => tree[f] && !(f in data.staged) && hashObject(readFileSync(join(repo, f))) !== tree[f],
      );
      const known = (f: string) => f in tree || f in data.staged;
      const fresh = files.filter((f) => !known(f));
      // The topmost folder of a fresh file with nothing known under it.
      const knownDirs = new Set(
        [...Object.keys(tree), ...staged].flatMap((f) =>
          f
            .split('/')
            .slice(0, -1)
            .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
        ),
      );
      const untrackedDir = (f: string) => {
        const parts = f.split('/').slice(0, -1);
        for (let i = 1; i <= parts.length; i++) {
          const dir = parts.slice(0, i).join('/');
          if (!knownDirs.has(dir)) return dir;
        }
        return undefined;
      };
      const dirs = new Map<string, number>();
      for (const f of fresh) {
        const dir = untrackedDir(f);
        if (dir !== undefined) dirs.set(dir, (dirs.get(dir) ?? 0) + 1);
      }
      const untracked = fresh.filter((f) => untrackedDir(f) === undefined).sort();
      const removed = Object.keys(tree).filter((f) => !files.includes(f) && !(f in data.staged));
      if (staged.length + modified.length + fresh.length + removed.length === 0) {
        out('nothing to commit, working tree clean');
        return;
      }
      const collapse = (entries: string[]) => {
        const shown = printAll ? entries : entries.slice(skip, skip + limit);
        for (const line of shown) out(line);
        if (!printAll && entries.length > limit) out(`  ... and ${entries.length - limit} others`);
      };
      const section = (title: string, entries: string[]) => {
        if (entries.length === 0) return;
        out(title);
        collapse(entries);
        out('');
      };
      const label = (f: string) =>
        data.staged[f] === null ? 'removed: ' : f in tree ? 'modified: ' : 'new file: ';
      section(
        'Files to be committed:\n  (use "oxen restore --staged <file> ..." to unstage)',
        staged.map((f) => `  ${label(f)}${f}`),
      );
      section(
        'Modified files:    (use "oxen add <file>..." to update what will be committed)',
        modified.sort().map((f) => `  modified: ${f}`),
      );
      const width = Math.max(0, ...[...dirs.keys()].map((d) => d.length));
      section(
        'Untracked Directories\n  (use "oxen add <dir>..." to update what will be committed)',
        [...dirs.keys()]
          .sort()
          .map(
            (d) =>
              `  ${d} ${' '.repeat(width - d.length)}(${dirs.get(d)} ${dirs.get(d) === 1 ? 'item' : 'items'})`,
          ),
      );
      section(
        'Untracked Files\n  (use "oxen add <file>..." to update what will be committed)',
        untracked.map((f) => `  ${f}`),
      );
      section(
        'Removed Files\n  (use "oxen add/rm <file>..." to update what will be committed)',
        removed.sort().map((f) => `  removed: ${f}`),
      );
      return;
    }
    case 'branch': {
      const repo = findRepo(cwd);
      const data = load(repo);
      const current = currentBranch(repo);
      if (takeFlag(list, '--show-current')) return out(current);
      const del = takeOption(list, '-D', '-d', '--delete');
      if (del) {
        if (!data.branches[del]) throw new CliError(`Branch not found: ${del}`);
        if (del === current) throw new CliError(`Cannot delete current checked out branch: ${del}`);
        delete data.branches[del];
        save(repo, data);
        return out(`Deleted branch ${del}`);
      }
      const remoteListing = takeOption(list, '-r', '--remote');
      if (remoteListing) {
        const remote = remoteOf(repo, remoteListing);
        const http: Http = { cfgDir };
        const answer = await request(http, `${repoApi(remote)}/branches`);
        if (answer.status === 404) throw new CliError(`Remote repository not found: ${remote.url}`);
        const body = parseJsonBody(http, answer);
        for (const b of body.branches as Array<{ name: string }>) out(`${remote.name}\t${b.name}`);
        return;
      }
      const all = takeFlag(list, '-a', '--all');
      const name = list[0];
      if (name) {
        const head = data.branches[current];
        if (!head) throw new CliError(`No commits on branch ${current}, cannot create ${name}`);
        if (data.branches[name]) throw new CliError(`Branch already exists: ${name}`);
        data.branches[name] = head;
        save(repo, data);
        return;
      }
      for (const b of Object.keys(data.branches).sort()) out(`${b === current ? '*' : ' '} ${b}`);
      if (all) for (const b of Object.keys(data.remoteBranches).sort()) out(`  remotes/origin/${b}`);
      return;
    }
    case 'checkout': {
      const repo = findRepo(cwd);
      const data = load(repo);
      const create = takeFlag(list, '-b');
      const name = list[0];
      if (!name) throw new CliError('the following required arguments were not provided:\n  <NAME>', 2);
      const current = currentBranch(repo);
      if (create) {
        if (data.branches[name]) throw new CliError(`Branch already exists: ${name}`);
        const head = data.branches[current];
        if (head) data.branches[name] = head;
        save(repo, data);
        setBranch(repo, name);
        return out(`Checked out branch: ${name}`);
      }
      if (!data.branches[name]) {
        // Oxen's quirk: an unknown revision is reported on stdout and the exit code is 0.
        return out(`Revision not found: ${name} (no branch or commit with that name)`);
      }
      writeTree(repo, data, headTree(data, current), headTree(data, name));
      setBranch(repo, name);
      return out(`Checked out branch: ${name}`);
    }
    case 'log': {
      const repo = findRepo(cwd);
      const data = load(repo);
      const n = Number(takeOption(list, '-n', '--number') ?? '10');
      const revision = takeOption(list, '--revision') ?? currentBranch(repo);
      const head = data.branches[revision] ?? (data.commits[revision] ? revision : undefined);
      if (!head) throw new CliError(`Revision not found: ${revision}`);
      for (const c of history(data.commits, head).slice(0, n)) {
        out(`commit ${c.id}`);
        out(`Author: ${c.author} <${c.email}>`);
        out(`Date:   ${new Date(c.timestamp).toUTCString()}`);
        out('');
        out(`    ${c.message}`);
        out('');
      }
      return;
    }
    case 'remote': {
      const repo = findRepo(cwd);
      const verbose = takeFlag(list, '-v', '--verbose');
      for (const r of repoConfig(repo).remotes ?? []) out(verbose ? `${r.name}\t${r.url}` : r.name);
      return;
    }
    case 'migrate': {
      const direction = list[0];
      const name = list[1];
      const repo = findRepo(resolve(cwd, list[2] ?? '.'));
      if (direction !== 'up' && direction !== 'down')
        throw new CliError("unrecognized subcommand for 'migrate': use up or down", 2);
      if (name !== 'add_workspace_name_index') throw new CliError(`Unknown migration: ${name ?? ''}`);
      const index = join(repo, '.oxen', 'workspace_name_index');
      if (direction === 'up') mkdirSync(index, { recursive: true });
      else rmSync(index, { recursive: true, force: true });
      return;
    }
    case 'push': {
      const force = takeFlag(list, '-f', '--force');
      const deleteRemote = takeFlag(list, '-d', '--delete');
      const [remoteName, branchName] = positionals(list);
      const repo = findRepo(cwd);
      const data = load(repo);
      const remote = remoteOf(repo, remoteName ?? 'origin');
      const branch = branchName ?? currentBranch(repo);
      const http: Http = { cfgDir };
      if (deleteRemote) {
        await warnOnVersionMismatch(http, remote);
        await remoteRepository(http, remote);
        const answer = await request(http, `${repoApi(remote)}/branches/${branch}`, { method: 'DELETE' });
        if (answer.status === 404) throw new CliError(`Remote branch '${branch}' not found`);
        parseJsonBody(http, answer);
        return out(`Deleted remote branch: ${remote.name}/${branch}`);
      }
      checkMigration(repo);
      await checkMinVersion(http, remote);
      await warnOnVersionMismatch(http, remote);
      const started = Date.now();
      const head = data.branches[branch];
      if (!head) throw new CliError(`Local branch '${branch}' not found`);
      // Oxen prints this first, even when there turns out to be nothing to push.
      out(`🐂 oxen push ${remote.name} ${branch} -> ${head}`);
      await remoteRepository(http, remote);
      const remoteHead = await remoteBranch(http, remote, branch);
      if (remoteHead === head) {
        out('Everything is up to date');
        return out(`🐂 push complete 🎉 took ${elapsedSince(started)}`);
      }
      if (remoteHead && !force && !isAncestor(data.commits, remoteHead, head)) {
        throw new CliError(
          `Branch ${branch} is behind remote commit ${remoteHead}.\nRun \`oxen pull\` to update your local branch, or use \`oxen push --force\` to force push.`,
        );
      }
      await pauseAt('push-upload');
      // A new branch: Oxen lists the remote's branches for the latest one it knows as the base.
      let base = remoteHead;
      if (!base) {
        const listed = parseJsonBody(http, await request(http, `${repoApi(remote)}/branches`))
          .branches as Array<{
          commit_id: string;
        }>;
        base = listed
          .map((b) => data.commits[b.commit_id])
          .filter((c): c is CommitRecord => c !== undefined)
          .sort((a, b) => (a.timestamp < b.timestamp ? 1 : -1))[0]?.id;
      }
      const commits = unpushed(data.commits, head, remoteHead);
      await upload(http, remote, data, planUploads(data, commits, base));
      // Like Oxen: the fast-forward check above and this update are separate requests; a new
      // branch is created from the commit (POST), an existing one moved (PUT).
      const answer = remoteHead
        ? await request(http, `${repoApi(remote)}/branches/${branch}`, {
            method: 'PUT',
            body: { commit_id: head },
          })
        : await request(http, `${repoApi(remote)}/branches`, {
            method: 'POST',
            body: { new_name: branch, commit_id: head },
          });
      parseJsonBody(http, answer);
      data.remoteBranches[branch] = head;
      save(repo, data);
      return out(`🐂 push complete 🎉 took ${elapsedSince(started)}`);
    }
    case 'pull': {
      const [remoteName, branchName] = positionals(list);
      const repo = findRepo(cwd);
      const data = load(repo);
      const remote = remoteOf(repo, remoteName ?? 'origin');
      const branch = branchName ?? currentBranch(repo);
      const http: Http = { cfgDir };
      checkMigration(repo);
      // Oxen's quirk: pull checks the versions of the repository's default remote, not `remote`.
      const defaultRemote = remoteOf(repo);
      await checkMinVersion(http, defaultRemote);
      await warnOnVersionMismatch(http, defaultRemote);
      await remoteRepository(http, remote);
      out(`🐂 oxen pull ${remote.name} ${branch}`);
      const remoteHead = await remoteBranch(http, remote, branch);
      if (!remoteHead) throw new CliError(`Remote branch '${branch}' not found`);
      await pauseAt('pull-download');
      await download(http, remote, data, remoteHead);
      data.remoteBranches[branch] = remoteHead;
      const local = data.branches[branch];
      const current = currentBranch(repo);
      if (local && isAncestor(data.commits, remoteHead, local)) {
        save(repo, data);
        return out('Everything is up to date');
      }
      if (!local || isAncestor(data.commits, local, remoteHead)) {
        if (branch === current) writeTree(repo, data, headTree(data, branch), data.commits[remoteHead]!.tree);
        data.branches[branch] = remoteHead;
        save(repo, data);
        return;
      }
      // Diverged: merge when no file changed on both sides, else Oxen's conflict message.
      const localAncestors = new Set(history(data.commits, local).map((c) => c.id));
      const base = history(data.commits, remoteHead).find((c) => localAncestors.has(c.id));
      const baseTree = base?.tree ?? {};
      const ours = data.commits[local]!.tree;
      const theirs = data.commits[remoteHead]!.tree;
      const paths = new Set([...Object.keys(ours), ...Object.keys(theirs)]);
      const merged: Record<string, string> = {};
      for (const p of paths) {
        const [o, t, b] = [ours[p], theirs[p], baseTree[p]];
        if (o !== b && t !== b && o !== t)
          throw new CliError('There was a merge conflict, please resolve it before pulling.');
        const pick = o !== b ? o : t;
        if (pick) merged[p] = pick;
      }
      const user = userConfig(cfgDir);
      const commit = makeCommit([local, remoteHead], merged, {
        message: `Merge branch '${branch}' of ${remote.url}`,
        author: user.name ?? 'oxen',
        email: user.email ?? 'oxen@oxen.ai',
        timestamp: new Date().toISOString(),
      });
      data.commits[commit.id] = commit;
      if (branch === current) writeTree(repo, data, ours, merged);
      data.branches[branch] = commit.id;
      save(repo, data);
      return;
    }
    case 'fetch': {
      const only = takeOption(list, '-b', '--branch');
      const repo = findRepo(cwd);
      const data = load(repo);
      const http: Http = { cfgDir };
      checkMigration(repo);
      await checkMinVersion(http, remoteOf(repo));
      // FetchOpts::new() names the remote "origin", whatever the repository's default is.
      const remote = remoteOf(repo, 'origin');
      await remoteRepository(http, remote);
      /** core::v_latest::fetch::fetch_remote_branch, one branch. */
      const fetchBranch = async (branch: string, updateHead: boolean) => {
        out(`Fetch remote branch: ${remote.repo}/${branch}`);
        const commit = await remoteBranch(http, remote, branch);
        if (!commit) throw new CliError(`Remote branch '${branch}' not found`);
        const head = data.branches[currentBranch(repo)];
        if (head === commit) {
          // Oxen compares the remote branch with the local HEAD (whatever branch that is).
          out('Repository is up to date.');
          data.branches[branch] = commit;
        } else {
          const started = Date.now();
          const got = await download(http, remote, data, commit);
          if (updateHead) data.branches[branch] = commit;
          out(`🐂 oxen downloaded ${byteSize(got.bytes)} (${got.files} files) in ${elapsedSince(started)}`);
        }
        data.remoteBranches[branch] = commit;
        save(repo, data);
      };
      if (only) return fetchBranch(only, true);
      const answer = await request(http, `${repoApi(remote)}/branches`);
      const listed = (parseJsonBody(http, answer).branches as Array<{ name: string }>).map((b) => b.name);
      await pauseAt('fetch-listed');
      // fetch_all: branches already local first (their local head is left alone), then new ones
      // (created at the remote head); one at a time; every branch is tried, the first error wins.
      const order = [
        ...listed.filter((b) => b in data.branches).map((b) => [b, false] as const),
        ...listed.filter((b) => !(b in data.branches)).map((b) => [b, true] as const),
      ];
      let failure: unknown;
      for (const [branch, updateHead] of order) {
        try {
          await fetchBranch(branch, updateHead);
        } catch (error) {
          failure ??= error;
        }
      }
      if (failure) throw failure;
      return;
    }
    default:
      throw new CliError(`unrecognized subcommand '${command}'`, 2);
  }
}

main().then(
  () => {
    process.exitCode = 0;
  },
  (error: unknown) => {
    if (error instanceof CliError) {
      process.stderr.write(`Error: ${error.message}\n`);
      if (error.hint) process.stderr.write(`  hint: ${error.hint}\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
