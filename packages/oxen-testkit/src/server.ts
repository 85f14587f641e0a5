import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  badRequest,
  branchMissing,
  internal,
  maintenance,
  noChanges,
  notFoundRoute,
  ok,
  pathMissing,
  type Reply,
  revisionMissing,
  richError,
  simpleError,
  statusMessage,
  workspaceBehind,
} from './envelope.js';
import {
  type ActiveFault,
  type FaultRule,
  pickFault,
  seededRandom,
  takeCut,
  validateFaultRule,
} from './faults.js';
import {
  type CommitRecord,
  hashObject,
  history,
  invalidBranchName,
  isAncestor,
  MIN_CLI_VERSION,
  makeCommit,
  OXEN_VERSION,
  type RepoData,
  versionAtLeast,
} from './model.js';
import { type PushState, registerPushRoutes } from './push-routes.js';

/** Options of {@link startFakeOxenServer}. */
export interface FakeOxenServerOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** When set, every route (health included) requires `Authorization: Bearer <auth>`. */
  readonly auth?: string;
  /** Keep repositories in this folder across restarts. @default in memory */
  readonly dataDir?: string;
  /** Seed for probabilistic faults. @default 1 */
  readonly seed?: number;
  /** The server's clock, for commit timestamps. @default Date */
  readonly clock?: { now(): number };
  /**
   * Version reported in `oxen-version` and envelopes. Behaviour follows it where the audit says it
   * changed: an identical `PUT /file` is a 422 from 0.52.10 on and a 500 before. @default 0.54.0
   */
  readonly version?: string;
  /** Initial {@link FakeOxenSettings.wholeTreeVerifyMs}. @default 0 */
  readonly wholeTreeVerifyMs?: number;
  /** Initial {@link FakeOxenSettings.uploadCommitDelayMs}. @default 0 */
  readonly uploadCommitDelayMs?: number;
}

/** Costs of server-side work, switchable while the server runs ({@link FakeOxenServer.configure}). */
export interface FakeOxenSettings {
  /**
   * How long a whole-tree object check takes (since 0.51.3 every branch write runs
   * `verify_advance_to`). Paid by a `PUT /branches/{name}` that CREATES the branch, and by
   * `POST /branches {new_name, commit_id}` when the repository has no `main` (the check is against
   * `main`, which is otherwise cheap). The ref is written only after the wait, and, as with actix,
   * a client that disconnects during it drops the handler: the ref is NOT written.
   */
  wholeTreeVerifyMs: number;
  /**
   * How long `PUT /file` spends between making its temporary workspace at the branch head and
   * committing it. Two uploads to one branch that overlap in this window and both change the same
   * path give the later one 409 "Workspace is behind". The commit completes even when the client
   * has gone (the harsher, ambiguous outcome).
   */
  uploadCommitDelayMs: number;
  /**
   * How far the `Date` header runs from the clock that stamps commits (ms, either sign): a proxy,
   * a CDN or a second node with another clock in front of the server. Commit times are unchanged.
   */
  dateOffsetMs: number;
  /**
   * Share of answers (0 to 1, drawn per answer from the seeded random) whose `Date` header carries
   * `dateOffsetMs`; the others carry the server's own clock: a pool of proxies or nodes of which
   * only some run wrong. @default 1
   */
  dateOffsetShare: number;
  /**
   * Most bytes `PUT /file` holds for its text fields and files together; a larger form is refused
   * before any handler runs with actix's plain-text 400 "A payload reached size limit.". The real
   * oxen-server 0.54 sets no `MultipartFormConfig`, so actix-multipart's default memory limit,
   * 2 MiB, applies; lower it to stand for a proxy with a smaller body limit. @default 2097152
   */
  uploadLimitBytes: number;
  /**
   * Status of `POST /branches {new_name, commit_id}` for a name that exists: 500 through the
   * catch-all in 0.54; newer Oxen releases map unmapped errors to 4xx, so it may become 409. The
   * title stays `Branch already exists: <name>`. @default 500
   */
  branchExistsStatus: 409 | 500;
}

/** actix-multipart's default memory limit for a form's text fields and files together: 2 MiB. */
export const UPLOAD_LIMIT_BYTES = 2 * 1024 * 1024;

/** One request as the fake saw it. */
export interface RequestLogEntry {
  readonly method: string;
  /** Route template, e.g. `POST /api/repos/:ns/:repo/branches`. */
  readonly route: string;
  readonly path: string;
  /** HTTP status sent, or 0 when no answer was sent (reset, blackhole, dropped). */
  readonly status: number;
  /** The fault applied, if any. */
  readonly fault?: FaultRule['kind'];
  readonly at: number;
  /** Request-body bytes the server received (up to the cut, for a request a `cut` fault broke). */
  readonly bytes: number;
}

/** Switches faults on and off while the server runs. */
export interface FaultController {
  /** Adds a rule; returns its id. `offline` closes the listener until removed. */
  add(rule: FaultRule): Promise<number>;
  /** Removes one rule. */
  remove(id: number): Promise<void>;
  /** Removes every rule (and comes back online). */
  clear(): Promise<void>;
  /** Shorthands. */
  offline(): Promise<number>;
  online(): Promise<void>;
  list(): readonly ActiveFault[];
}

/** A running fake oxen-server. */
export interface FakeOxenServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  readonly faults: FaultController;
  /** Every request so far. */
  readonly requests: readonly RequestLogEntry[];
  /** Empties the request log. */
  clearRequests(): void;
  /**
   * Request-body bytes received since the start or the last {@link clearRequests}, of requests
   * whose route template or path contains `route` (all when omitted): what a push put on the wire.
   */
  receivedBytes(route?: string): number;
  /** Creates a repository with an initial commit on `main` (files: path → content). */
  createRepo(
    namespace: string,
    name: string,
    files?: Record<string, string>,
  ): Promise<CommitRecord | undefined>;
  /** `http://127.0.0.1:PORT/ns/name`. */
  repoUrl(namespace: string, name: string): string;
  /** Direct read access to a repository's data, for assertions. */
  repo(namespace: string, name: string): RepoData | undefined;
  /** Moves the server's clock by `ms` (commit timestamps), for lease tests. */
  advanceClock(ms: number): void;
  /**
   * Stores a commit as `oxen push` would: on top of `parent` (default: `main`'s head) with the
   * pushing client's own `timestamp` (the real server keeps what the client chose) and a message
   * of any size (a push is not limited by the 2 MiB multipart reader of `PUT /file`). No branch is
   * moved; returns the commit id (for `POST /branches {new_name, commit_id}`).
   */
  pushCommit(
    namespace: string,
    name: string,
    commit: { message: string; timestamp?: string; author?: string; email?: string; parent?: string },
  ): string;
  /** The current {@link FakeOxenSettings}. */
  readonly settings: Readonly<FakeOxenSettings>;
  /** Changes some settings; they apply to requests that start from now on. */
  configure(changes: Partial<FakeOxenSettings>): void;
  /**
   * Makes the next `count` `PUT /file` uploads to an existing branch overlap, whatever the machine's
   * speed: each waits, once its temporary workspace is made (and after `uploadCommitDelayMs`), until
   * all `count` have made theirs; then they commit in the order they arrived. A test of overlapping
   * uploads needs no race against the clock.
   */
  overlapUploads(count: number): void;
  /** Closes every connection (idle keep-alive ones included) and the listener. */
  stop(): Promise<void>;
}

interface Workspace {
  id: string;
  name: string;
  branch: string;
  base: string;
  createdAt: string;
  staged: Record<string, string>;
}

interface Repo extends RepoData, PushState {
  namespace: string;
  name: string;
  workspaces: Record<string, Workspace>;
}

type Ctx = {
  method: string;
  params: string[];
  query: URLSearchParams;
  body: Buffer;
  headers: IncomingMessage['headers'];
  /** Aborted when the client disconnects before the answer is sent. */
  signal: AbortSignal;
};
type Handler = (ctx: Ctx) => Reply | Promise<Reply>;

/** Default size of a `huge-body` answer: 300 MiB. */
const DEFAULT_HUGE_BYTES = 300 * 1024 * 1024;
/** One 64 KiB chunk of padding, reused for every write of a `huge-body` answer. */
const PADDING = Buffer.alloc(64 * 1024, 'x');

/** An uploaded part of a multipart form. */
type Part = Exclude<NonNullable<ReturnType<FormData['get']>>, string>;
const isPart = (value: ReturnType<FormData['get']>): value is Part =>
  value !== null && typeof value !== 'string';

/** The fields of a `PUT /file` multipart form (`FileUploadBody`). */
interface Upload {
  name: string | undefined;
  email: string | undefined;
  message: string | undefined;
  /** The deprecated single `file` part. */
  file: Part | undefined;
  /** The `files[]` parts. */
  files: Part[];
}

/** How `PUT /file` places its parts (`resolve_upload_mode`). */
type UploadMode =
  /** `file` and `{path}` is not an existing directory: `{path}` is the file's full path. */
  | { kind: 'single'; file: Part }
  /** `file` and `{path}` is an existing directory: the file goes in it under its own name. */
  | { kind: 'dir'; files: Part[] }
  /** `files[]`: every part goes in the `{path}` directory under its own name. */
  | { kind: 'dir-array'; files: Part[] };

const isDir = (tree: Readonly<Record<string, string>>, path: string) =>
  path === '' || Object.keys(tree).some((p) => p.startsWith(`${path}/`));
const isFile = (tree: Readonly<Record<string, string>>, path: string) => path !== '' && path in tree;
/** True when some proper ancestor folder of `path` is a file in `tree`. */
const fileAncestor = (tree: Readonly<Record<string, string>>, path: string) => {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) if (isFile(tree, parts.slice(0, i).join('/'))) return true;
  return false;
};

/** What the `sanitize_filename` crate leaves of an uploaded file's name. */
function sanitizeFilename(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  const cleaned = name.replace(/[/?<>\\:*|"\u0000-\u001f\u0080-\u009f]/g, '').replace(/[. ]+$/, '');
  return cleaned === '.' || cleaned === '..' ? '' : cleaned;
}

function readUpload(form: FormData): Upload {
  const text = (key: string) => {
    const value = form.get(key);
    return typeof value === 'string' ? value : undefined;
  };
  const file = form.get('file');
  return {
    name: text('name'),
    email: text('email'),
    message: text('message'),
    file: isPart(file) ? file : undefined,
    files: form.getAll('files[]').filter(isPart),
  };
}

function uploadMode(upload: Upload, targetIsDir: boolean): UploadMode | Reply {
  if (upload.file && upload.files.length > 0)
    return badRequest('Ambiguous multipart payload: use either `file` or `files[]`, not both');
  if (upload.file)
    return targetIsDir ? { kind: 'dir', files: [upload.file] } : { kind: 'single', file: upload.file };
  if (upload.files.length > 0) return { kind: 'dir-array', files: upload.files };
  return badRequest('Missing file data: expected `file` or `files[]` multipart parts');
}

/** `build_files_from_upload_parts`: where each uploaded part lands, and its bytes. */
async function uploadedFiles(
  path: string,
  mode: UploadMode,
): Promise<Array<{ path: string; bytes: Buffer }> | Reply> {
  if (mode.kind === 'single') {
    if (path === '') return badRequest('Invalid target path: expected a full file path for `file` uploads');
    return [{ path, bytes: Buffer.from(await mode.file.arrayBuffer()) }];
  }
  const out: Array<{ path: string; bytes: Buffer }> = [];
  for (const file of mode.files) {
    const name = sanitizeFilename(file.name);
    if (name === '') return badRequest('Invalid uploaded file: path cannot be empty');
    out.push({ path: path ? `${path}/${name}` : name, bytes: Buffer.from(await file.arrayBuffer()) });
  }
  return out;
}

/**
 * Starts a development fake of oxen-server on 127.0.0.1, polled on `/api/health` before it is
 * returned (the way Oxen's own tests start the real one). It is a protocol-faithful fake for
 * tests and demos, not Oxen: it keeps everything in memory (or a JSON file with `dataDir`).
 */
export async function startFakeOxenServer(options: FakeOxenServerOptions = {}): Promise<FakeOxenServer> {
  const version = options.version ?? OXEN_VERSION;
  // 0.52.10 gave NoChanges its own 422 (before, the catch-all 500).
  const has422NoChanges = versionAtLeast(version, '0.52.10');
  const settings: FakeOxenSettings = {
    wholeTreeVerifyMs: options.wholeTreeVerifyMs ?? 0,
    uploadCommitDelayMs: options.uploadCommitDelayMs ?? 0,
    dateOffsetMs: 0,
    dateOffsetShare: 1,
    uploadLimitBytes: UPLOAD_LIMIT_BYTES,
    branchExistsStatus: 500,
  };
  const baseClock = options.clock ?? Date;
  let clockOffset = 0;
  const now = () => baseClock.now() + clockOffset;
  const random = seededRandom(options.seed ?? 1);
  // Its own sequence, so skewed answers never shift which requests the fault rules pick.
  const dateRandom = seededRandom((options.seed ?? 1) ^ 0x0da7e);
  const repos = new Map<string, Repo>();
  const log: RequestLogEntry[] = [];
  const rules: ActiveFault[] = [];
  let nextRuleId = 1;
  const sockets = new Set<Socket>();
  const stateFile = options.dataDir ? join(options.dataDir, 'fake-oxen-state.json') : undefined;
  /** Uploads held by {@link FakeOxenServer.overlapUploads} until `count` of them wait. */
  let overlap: { count: number; waiting: (() => void)[] } | undefined;
  const meetOverlapping = () => {
    const meeting = overlap;
    if (!meeting) return;
    return new Promise<void>((resolve) => {
      meeting.waiting.push(resolve);
      if (meeting.waiting.length < meeting.count) return;
      overlap = undefined;
      for (const go of meeting.waiting) go();
    });
  };

  if (stateFile) {
    mkdirSync(options.dataDir!, { recursive: true });
    try {
      const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as Repo[];
      for (const repo of saved) repos.set(`${repo.namespace}/${repo.name}`, repo);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  const persist = () => {
    if (!stateFile) return;
    writeFileSync(`${stateFile}.tmp`, JSON.stringify([...repos.values()]));
    renameSync(`${stateFile}.tmp`, stateFile);
  };

  const timestamp = () => new Date(now()).toISOString();
  const getRepo = (ns: string, name: string) => repos.get(`${ns}/${name}`);
  const repoMissing = (ns: string, name: string) =>
    simpleError(404, 'resource_not_found', `Repository '${ns}/${name}' not found`);
  const branchJson = (name: string, commitId: string) => ({ name, commit_id: commitId });
  const commitJson = (c: CommitRecord) => ({
    id: c.id,
    parent_ids: c.parent_ids,
    message: c.message,
    author: c.author,
    email: c.email,
    timestamp: c.timestamp,
  });
  const repoJson = (repo: Repo) => ({
    namespace: repo.namespace,
    name: repo.name,
    min_version: null,
    is_empty: Object.keys(repo.commits).length === 0,
    storage_kind: 'local',
    size: Object.values(repo.objects).reduce((n, b64) => n + Math.floor((b64.length * 3) / 4), 0),
    branch_count: Object.keys(repo.branches).length,
  });
  const json = (body: Buffer): Record<string, unknown> | undefined => {
    try {
      const parsed = JSON.parse(body.toString('utf8') || '{}');
      return parsed && typeof parsed === 'object' ? parsed : undefined;
    } catch {
      return undefined;
    }
  };

  /** Splits `rev/path…` into the longest branch or commit prefix and the rest. */
  const splitRev = (
    repo: Repo,
    segments: string[],
  ): { rev: string; commit: string; path: string } | undefined => {
    for (let i = segments.length; i >= 1; i--) {
      const rev = segments.slice(0, i).join('/');
      const commit = repo.branches[rev] ?? (repo.commits[rev] ? rev : undefined);
      if (commit) return { rev, commit, path: segments.slice(i).join('/') };
    }
    return undefined;
  };

  /** Longest branch name prefixing `segments`, and the path after it (`parse_resource`, branches only). */
  const splitBranch = (repo: Repo, segments: string[]): { branch: string; path: string } | undefined => {
    for (let i = segments.length; i >= 1; i--) {
      const branch = segments.slice(0, i).join('/');
      if (repo.branches[branch] !== undefined) return { branch, path: segments.slice(i).join('/') };
    }
    return undefined;
  };

  /** `verify_advance_to` with no base: waits `wholeTreeVerifyMs`; rejects if the client goes away. */
  const wholeTreeVerify = async (ctx: Ctx) => {
    const ms = settings.wholeTreeVerifyMs;
    if (ms > 0) await sleep(ms, undefined, { signal: ctx.signal });
  };
  /** The atomic create met an existing name: the catch-all's 500, or a newer release's 409. */
  const branchExists = (name: string): Reply => {
    const reply = internal(`Branch already exists: ${name}`);
    return settings.branchExistsStatus === 500 ? reply : { ...reply, status: settings.branchExistsStatus };
  };
  /** Over actix-multipart's memory limit (text fields and files together): its plain-text 400. */
  const overUploadLimit = (form: FormData): Reply | undefined => {
    let bytes = 0;
    for (const [, value] of form.entries())
      bytes += typeof value === 'string' ? Buffer.byteLength(value) : value.size;
    return bytes > settings.uploadLimitBytes
      ? { status: 400, text: 'A payload reached size limit.' }
      : undefined;
  };
  /** A branch name refs reject: an unmapped error, so a 500. */
  const invalidName = (name: string) => internal(`'${name}' is not a valid branch name.`);

  const multipart = async (ctx: Ctx) => {
    const request = new Request('http://fake/', {
      method: 'POST',
      headers: { 'content-type': String(ctx.headers['content-type'] ?? '') },
      body: new Uint8Array(ctx.body),
    });
    return request.formData();
  };

  const createRepoInternal = (namespace: string, name: string, files?: Record<string, string>) => {
    const repo: Repo = { namespace, name, commits: {}, branches: {}, objects: {}, workspaces: {} };
    let initial: CommitRecord | undefined;
    if (files && Object.keys(files).length > 0) {
      const tree: Record<string, string> = {};
      for (const [path, content] of Object.entries(files)) {
        const bytes = Buffer.from(content);
        const hash = hashObject(bytes);
        repo.objects[hash] = bytes.toString('base64');
        tree[path] = hash;
      }
      initial = makeCommit([], tree, {
        message: 'Initialized Repo 🐂',
        author: 'oxen',
        email: 'oxen@oxen.ai',
        timestamp: timestamp(),
      });
      repo.commits[initial.id] = initial;
      repo.branches.main = initial.id;
    }
    repos.set(`${namespace}/${name}`, repo);
    persist();
    return initial;
  };

  const routes: Array<[string, RegExp, string, Handler]> = [];
  const route = (method: string, template: string, handler: Handler) => {
    const pattern = template
      .replace(/[.]/g, '\\.')
      .replace(/:rest\b/, '(.+)')
      .replace(/:path\b/, '(.*)')
      .replace(/:[a-z]+/g, '([^/]+)');
    routes.push([method, new RegExp(`^${pattern}/?$`), template, handler]);
  };
  const R = '/api/repos/:ns/:repo';

  route('GET', '/api/health', () =>
    ok('resource_found', { disk_usage: { total_gb: 100, used_gb: 40, free_gb: 60, percent_used: 40 } }),
  );
  route('GET', '/api/version', () => ok('resource_found'));
  route('GET', '/api/min_version', () => ok('resource_found', { version: MIN_CLI_VERSION }));

  // `controllers/repositories.rs` `create`: only an exact `Content-Type: application/json` is read as
  // JSON; any other type goes to the multipart reader; none at all is a 400.
  route('POST', '/api/repos', async (ctx) => {
    const contentType = ctx.headers['content-type'];
    if (contentType === undefined) return badRequest('Unsupported Content-Type');
    let body: Record<string, unknown> | undefined;
    let files: Record<string, string> | undefined;
    if (contentType === 'application/json') {
      body = json(ctx.body);
      if (!body || typeof body.namespace !== 'string' || typeof body.name !== 'string')
        return badRequest('Invalid JSON');
      if (Array.isArray(body.files)) {
        files = Object.fromEntries(
          (body.files as Array<{ path?: string; contents?: string }>).map((f) => [
            f.path ?? '',
            f.contents ?? '',
          ]),
        );
      }
    } else {
      let form: FormData;
      try {
        form = await multipart(ctx);
      } catch {
        return statusMessage(400, 'bad_request');
      }
      const newRepo = form.get('new_repo');
      if (typeof newRepo !== 'string') return statusMessage(400, 'Missing new_repo field');
      body = json(Buffer.from(newRepo));
      if (!body || typeof body.namespace !== 'string' || typeof body.name !== 'string')
        return statusMessage(400, 'bad_request');
      const uploads = [...form.getAll('file'), ...form.getAll('file[]')].filter(isPart);
      if (uploads.length > 0) {
        if (typeof form.get('name') !== 'string') return badRequest('Name is required');
        if (typeof form.get('email') !== 'string') return badRequest('Email is required');
        files = {};
        for (const file of uploads) files[file.name] = Buffer.from(await file.arrayBuffer()).toString();
      }
    }
    const namespace = body.namespace as string;
    const name = body.name as string;
    if (getRepo(namespace, name)) return statusMessage(409, 'Repo already exists.');
    const initial = createRepoInternal(namespace, name, files);
    // RepositoryCreationResponse: `resource_found`, and no `oxen_version` in this body.
    return {
      status: 200,
      body: {
        status: 'success',
        status_message: 'resource_found',
        repository: {
          namespace,
          name,
          latest_commit: initial ? commitJson(initial) : null,
          min_version: MIN_CLI_VERSION,
          storage_kind: 'local',
        },
      },
    };
  });
  route('GET', R, ({ params: [ns, name] }) => {
    const repo = getRepo(ns!, name!);
    return repo ? ok('resource_found', { repository: repoJson(repo) }) : repoMissing(ns!, name!);
  });
  route('DELETE', R, ({ params: [ns, name] }) => {
    if (!repos.delete(`${ns}/${name}`)) return repoMissing(ns!, name!);
    persist();
    return ok('resource_deleted');
  });

  const withRepo =
    (handler: (repo: Repo, ctx: Ctx, rest: string[]) => Reply | Promise<Reply>): Handler =>
    (ctx) => {
      const [ns, name, ...rest] = ctx.params;
      const repo = getRepo(ns!, name!);
      if (!repo) return repoMissing(ns!, name!);
      return handler(repo, ctx, rest);
    };

  route(
    'GET',
    `${R}/branches`,
    withRepo((repo) =>
      ok('resource_found', { branches: Object.entries(repo.branches).map(([n, c]) => branchJson(n, c)) }),
    ),
  );
  route(
    'GET',
    `${R}/branches/:rest`,
    withRepo((repo, _ctx, [name]) => {
      const commit = repo.branches[name!];
      return commit ? ok('resource_found', { branch: branchJson(name!, commit) }) : branchMissing();
    }),
  );
  route(
    'POST',
    `${R}/branches`,
    withRepo(async (repo, ctx) => {
      const body = json(ctx.body);
      // Parsed as BranchNewFromBranchName {new_name, from_name} first, then BranchNewFromCommitId.
      if (body && typeof body.new_name === 'string' && typeof body.from_name === 'string') {
        const newName = body.new_name;
        // Not a compare-and-swap: a taken name returns the existing branch with 200.
        const existing = repo.branches[newName];
        if (existing) return ok('resource_found', { branch: branchJson(newName, existing) });
        const from = repo.branches[body.from_name];
        if (!from) return statusMessage(404, 'resource_not_found');
        if (invalidBranchName(newName)) return invalidName(newName);
        repo.branches[newName] = from;
        persist();
        return ok('resource_created', { branch: branchJson(newName, from) });
      }
      if (body && typeof body.new_name === 'string' && typeof body.commit_id === 'string') {
        const newName = body.new_name;
        const commitId = body.commit_id;
        if (!repo.commits[commitId]) return internal(`Could not find commit: ${commitId}`);
        // verify_advance_to(commit, "main"): cheap next to main, the whole tree when there is none.
        if (!repo.branches.main) await wholeTreeVerify(ctx);
        if (invalidBranchName(newName)) return invalidName(newName);
        // The atomic create (server >= 0.50.4): of racing creators exactly one wins.
        if (repo.branches[newName]) return branchExists(newName);
        repo.branches[newName] = commitId;
        persist();
        return ok('resource_created', { branch: branchJson(newName, commitId) });
      }
      return statusMessage(400, 'Invalid request body');
    }),
  );
  route(
    'PUT',
    `${R}/branches/:rest`,
    withRepo(async (repo, ctx, [name]) => {
      const body = json(ctx.body);
      if (!body) return badRequest('Error("expected value", line: 1, column: 1)');
      const commitId = body.commit_id;
      if (typeof commitId !== 'string')
        return badRequest(`Error("missing field \`commit_id\`", line: 1, column: ${ctx.body.length})`);
      if (!repo.commits[commitId]) return internal(`Could not find commit: ${commitId}`);
      // verify_advance_to(commit, this branch): for a branch that does not exist yet there is no
      // base, so every object of the whole tree is checked before the ref is written.
      if (repo.branches[name!] === undefined) await wholeTreeVerify(ctx);
      if (invalidBranchName(name!)) return invalidName(name!);
      repo.branches[name!] = commitId;
      persist();
      return ok('resource_updated', { branch: branchJson(name!, commitId) });
    }),
  );
  route(
    'DELETE',
    `${R}/branches/:rest`,
    withRepo((repo, _ctx, [name]) => {
      const commit = repo.branches[name!];
      if (!commit) return branchMissing();
      delete repo.branches[name!];
      persist();
      return ok('resource_deleted', { branch: branchJson(name!, commit) });
    }),
  );
  route(
    'GET',
    `${R}/commits/history/:rest`,
    withRepo((repo, ctx, [rev]) => {
      const head = repo.branches[rev!] ?? (repo.commits[rev!] ? rev! : undefined);
      if (!head) return simpleError(404, 'resource_not_found', `Revision '${rev}' not found`);
      const all = history(repo.commits, head);
      const pageSize = Math.max(1, Number(ctx.query.get('page_size') ?? 100) || 100);
      const page = Math.max(1, Number(ctx.query.get('page') ?? 1) || 1);
      const slice = all.slice((page - 1) * pageSize, page * pageSize);
      return ok('resource_found', {
        commits: slice.map(commitJson),
        page_size: pageSize,
        page_number: page,
        total_pages: Math.max(1, Math.ceil(all.length / pageSize)),
        total_entries: all.length,
      });
    }),
  );
  route(
    'GET',
    `${R}/commits/:id`,
    withRepo((repo, _ctx, [id]) => {
      const commit = repo.commits[id!];
      return commit ? ok('resource_found', { commit: commitJson(commit) }) : revisionMissing(id!);
    }),
  );
  route(
    'GET',
    `${R}/file/:rest`,
    withRepo((repo, _ctx, [rest]) => {
      const split = splitRev(repo, rest!.split('/'));
      if (!split) return simpleError(404, 'resource_not_found', `Revision not found in '${rest}'`);
      const hash = repo.commits[split.commit]?.tree[split.path];
      if (!hash) return simpleError(404, 'resource_not_found', `File '${split.path}' not found`);
      return {
        status: 200,
        bytes: Buffer.from(repo.objects[hash] ?? '', 'base64'),
        headers: { 'oxen-revision-id': split.commit, 'content-type': 'application/octet-stream' },
      };
    }),
  );
  // `controllers/file.rs` `put`: the multipart form is read first (by actix's extractor), then the
  // repository, the branch prefix, the upload mode, the user; a temporary workspace is made at the
  // branch head, the files are added to it (unchanged ones are skipped) and it is committed.
  route('PUT', `${R}/file/:rest`, async (ctx) => {
    const [ns, repoName, resource] = ctx.params as [string, string, string];
    let form: FormData;
    try {
      form = await multipart(ctx);
    } catch {
      // Rejected by the extractor before any handler runs: actix's own plain-text 400.
      return { status: 400, text: 'Multipart stream is incomplete' };
    }
    const tooLarge = overUploadLimit(form);
    if (tooLarge) return tooLarge;
    const repo = getRepo(ns, repoName);
    if (!repo) return repoMissing(ns, repoName);
    const upload = readUpload(form);
    if (Object.keys(repo.commits).length === 0) return initialUpload(repo, resource, upload);
    const split = splitBranch(repo, resource.split('/'));
    if (!split) return pathMissing(resource);
    const { branch, path } = split;
    const base = repo.branches[branch]!;
    const baseTree = repo.commits[base]!.tree;
    const mode = uploadMode(upload, isDir(baseTree, path));
    if ('status' in mode) return mode;
    if (fileAncestor(baseTree, path) || (mode.kind !== 'single' && isFile(baseTree, path)))
      return badRequest(`Target path must be a directory: ${path}`);
    if (upload.name === undefined) return badRequest('Name is required');
    if (upload.email === undefined) return badRequest('Email is required');
    const files = await uploadedFiles(path, mode);
    if ('status' in files) return files;
    for (const file of files) {
      if (fileAncestor(baseTree, file.path)) return badRequest(`Target path must be a directory: ${path}`);
    }

    // The temporary workspace, pinned to the branch head as it was when the request was parsed.
    const workspaceId = randomUUID();
    const staged: Record<string, string> = {};
    for (const file of files) {
      const hash = hashObject(file.bytes);
      repo.objects[hash] = file.bytes.toString('base64');
      // add.rs skips a file whose bytes equal what the base commit has at that path.
      if (baseTree[file.path] !== hash) staged[file.path] = hash;
    }
    const delay = settings.uploadCommitDelayMs;
    if (delay > 0) await sleep(delay);
    await meetOverlapping();

    const stagedPaths = Object.keys(staged);
    if (stagedPaths.length === 0) return noChanges(has422NoChanges);
    const head = repo.branches[branch];
    if (head === undefined) return branchMissing(branch);
    const headTree = repo.commits[head]!.tree;
    // workspaces/commit.rs: the branch moved since the workspace was made and a staged path
    // changed on both sides.
    if (head !== base && stagedPaths.some((p) => headTree[p] !== baseTree[p]))
      return workspaceBehind(workspaceId, base);
    const commit = makeCommit(
      [head],
      { ...headTree, ...staged },
      {
        message: upload.message ?? `Auto-commit files to ${path}`,
        author: upload.name,
        email: upload.email,
        timestamp: timestamp(),
      },
    );
    repo.commits[commit.id] = commit;
    repo.branches[branch] = commit.id;
    persist();
    return ok('resource_created', { commit: commitJson(commit) });
  });

  /** `handle_initial_put_empty_repo`: the first upload to an empty repository makes its first branch. */
  const initialUpload = async (repo: Repo, resource: string, upload: Upload): Promise<Reply> => {
    const [first, ...rest] = resource.split('/').filter(Boolean);
    const branch = first ?? 'main';
    const path = rest.join('/');
    const mode = uploadMode(upload, false);
    if ('status' in mode) return mode;
    if (upload.name === undefined) return badRequest('Name is required');
    if (upload.email === undefined) return badRequest('Email is required');
    const files = await uploadedFiles(path, mode);
    if ('status' in files) return files;
    const tree: Record<string, string> = {};
    for (const file of files) {
      const hash = hashObject(file.bytes);
      repo.objects[hash] = file.bytes.toString('base64');
      tree[file.path] = hash;
    }
    if (invalidBranchName(branch)) return invalidName(branch);
    const commit = makeCommit([], tree, {
      message: upload.message ?? 'Initial commit',
      author: upload.name,
      email: upload.email,
      timestamp: timestamp(),
    });
    repo.commits[commit.id] = commit;
    repo.branches[branch] = commit.id;
    persist();
    return ok('resource_created', { commit: commitJson(commit) });
  };

  const createWorkspace = withRepo((repo, ctx) => {
    const body = json(ctx.body);
    if (!body) return statusMessage(400, 'expected value at line 1 column 1');
    for (const field of ['workspace_id', 'branch_name'] as const) {
      if (typeof body[field] !== 'string')
        return statusMessage(400, `missing field \`${field}\` at line 1 column ${ctx.body.length}`);
    }
    const id = body.workspace_id as string;
    const branch = body.branch_name as string;
    let head = repo.branches[branch];
    if (!head) {
      if (Object.keys(repo.commits).length > 0) {
        return statusMessage(
          400,
          `Branch not found: ${branch}. For non-empty repositories, create the branch first.`,
        );
      }
      // An empty repository gets an initial commit on the requested branch.
      const initial = makeCommit(
        [],
        {},
        {
          message: 'Initialized Repo 🐂',
          author: 'Oxen',
          email: 'oxen@oxen.ai',
          timestamp: timestamp(),
        },
      );
      repo.commits[initial.id] = initial;
      repo.branches[branch] = initial.id;
      head = initial.id;
    }
    const existing = repo.workspaces[id];
    const ws: Workspace = existing ?? {
      id,
      name: typeof body.name === 'string' ? body.name : id,
      branch,
      base: head,
      createdAt: timestamp(),
      staged: {},
    };
    repo.workspaces[id] = ws;
    persist();
    return ok(existing ? 'resource_found' : 'resource_created', {
      workspace: {
        id: ws.id,
        name: ws.name,
        commit: commitJson(repo.commits[ws.base]!),
        created_at: ws.createdAt,
      },
    });
  });
  route('PUT', `${R}/workspaces`, createWorkspace);
  route('POST', `${R}/workspaces`, createWorkspace);
  // Only `/files/{path:.*}` exists: `…/files` without a trailing segment is an unknown route.
  route(
    'POST',
    `${R}/workspaces/:id/files/:path`,
    withRepo(async (repo, ctx, [id, dir = '']) => {
      const ws = repo.workspaces[id!];
      if (!ws) return simpleError(404, 'resource_not_found', `Workspace '${id}' not found`);
      let form: FormData;
      try {
        form = await multipart(ctx);
      } catch {
        return { status: 400, text: 'Multipart stream is incomplete' };
      }
      const paths: string[] = [];
      for (const value of [...form.getAll('file'), ...form.getAll('file[]')]) {
        if (!isPart(value)) continue;
        const bytes = Buffer.from(await value.arrayBuffer());
        const hash = hashObject(bytes);
        repo.objects[hash] = bytes.toString('base64');
        const path = [dir, value.name].filter((s) => s && s !== '.').join('/');
        ws.staged[path] = hash;
        paths.push(path);
      }
      persist();
      return ok('resource_created', { paths });
    }),
  );
  route(
    'POST',
    `${R}/workspaces/:id/commit/:rest`,
    withRepo((repo, ctx, [id, branch]) => {
      const body = json(ctx.body);
      if (!body) return statusMessage(400, 'expected value at line 1 column 1');
      const ws = repo.workspaces[id!];
      if (!ws) return simpleError(404, 'resource_not_found', `Workspace '${id}' not found`);
      const head = repo.branches[branch!];
      // This route answers a missing branch with the bare branch name as the description.
      if (!head) return simpleError(404, 'resource_not_found', branch!);
      const staged = Object.entries(ws.staged).filter(
        ([path, hash]) => repo.commits[ws.base]!.tree[path] !== hash,
      );
      // Other commit failures are a 422 whose status_message is the error's Debug form.
      if (staged.length === 0) return statusMessage(422, 'NoChanges');
      if (head !== ws.base) {
        const baseTree = repo.commits[ws.base]!.tree;
        const headTree = repo.commits[head]!.tree;
        if (staged.some(([path]) => headTree[path] !== baseTree[path])) {
          return richError(409, 'conflict', {
            type: 'conflict',
            title: 'Workspace is behind',
            detail: `This workspace '${ws.id}' is behind on branch '${branch}' commit ${ws.base} < ${head}`,
          });
        }
      }
      const commit = makeCommit(
        [head],
        { ...repo.commits[head]!.tree, ...Object.fromEntries(staged) },
        {
          message: String(body.message ?? 'Workspace commit'),
          author: String(body.author ?? ''),
          email: String(body.email ?? ''),
          timestamp: timestamp(),
        },
      );
      repo.commits[commit.id] = commit;
      repo.branches[branch!] = commit.id;
      delete repo.workspaces[id!];
      persist();
      return ok('resource_created', { commit: commitJson(commit) });
    }),
  );
  route(
    'DELETE',
    `${R}/workspaces/:id`,
    withRepo((repo, _ctx, [id]) => {
      if (!repo.workspaces[id!]) return simpleError(404, 'resource_not_found', `Workspace '${id}' not found`);
      delete repo.workspaces[id!];
      persist();
      return ok('resource_deleted');
    }),
  );

  registerPushRoutes<Repo, Ctx>({ route, withRepo, persist }, R);

  // Content transfer for the fake CLI's pull: private to the testkit (the real protocol
  // moves compressed node trees; what matters to us is the behaviour around it).
  route(
    'GET',
    '/__testkit/repos/:ns/:repo/download/:id',
    withRepo((repo, _ctx, [id]) => {
      if (!repo.commits[id!]) return internal(`Could not find commit: ${id}`);
      const commits = history(repo.commits, id!);
      const objects: Record<string, string> = {};
      for (const c of commits) for (const h of Object.values(c.tree)) objects[h] = repo.objects[h] ?? '';
      return ok('resource_found', { commits, objects });
    }),
  );
  route('GET', '/__testkit/ancestor/:ns/:repo/:a/:b', ({ params: [ns, name, a, b] }) => {
    const repo = getRepo(ns!, name!);
    return ok('resource_found', { ancestor: repo ? isAncestor(repo.commits, a!, b!) : false });
  });

  const dispatch = async (
    method: string,
    path: string,
    ctx: Omit<Ctx, 'params'>,
  ): Promise<[string, Reply]> => {
    for (const [m, re, template, handler] of routes) {
      if (m !== method) continue;
      const match = re.exec(path);
      if (!match) continue;
      const params = match.slice(1).map((p) => decodeURIComponent(p));
      return [`${method} ${template}`, await handler({ ...ctx, params })];
    }
    return [`${method} (unknown)`, notFoundRoute()];
  };

  /** Headers on every answer, as oxen-server's middleware stack adds them. */
  const baseHeaders = (requestId: string): Record<string, string> => ({
    'oxen-version': version,
    date: new Date(
      now() + (dateRandom() < settings.dateOffsetShare ? settings.dateOffsetMs : 0),
    ).toUTCString(),
    'x-oxen-request-id': requestId,
  });

  /** A reply as bytes on the wire: status, headers (with the length) and body. */
  const render = (reply: Reply, requestId: string) => {
    let headers = { ...baseHeaders(requestId), ...(reply.headers ?? {}) };
    let body: Buffer = Buffer.alloc(0);
    if (reply.bytes) {
      body = reply.bytes;
    } else if (reply.text !== undefined) {
      headers = { 'content-type': 'text/plain; charset=utf-8', ...headers };
      body = Buffer.from(reply.text);
    } else if (reply.body !== undefined) {
      const json = reply.body as Record<string, unknown>;
      const stamped = 'oxen_version' in json ? { ...json, oxen_version: version } : json;
      headers = { 'content-type': 'application/json', ...headers };
      body = Buffer.from(JSON.stringify(stamped));
    }
    return { status: reply.status, headers: { ...headers, 'content-length': String(body.length) }, body };
  };

  const send = (res: ServerResponse, reply: Reply, requestId: string) => {
    const { status, headers, body } = render(reply, requestId);
    res.writeHead(status, headers).end(body);
  };

  /** Resolves when `res` can take more data, or is gone. */
  const drained = (res: ServerResponse) =>
    new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.once('drain', done);
      res.once('close', done);
    });

  /** The `huge-body` fault: `bytes` bytes streamed from one reused chunk, never held whole. */
  const sendHugeBody = async (res: ServerResponse, fault: FaultRule, requestId: string) => {
    const status = fault.status ?? 200;
    const total = Math.floor(fault.bytes ?? DEFAULT_HUGE_BYTES);
    const success = status < 400;
    const reason = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
    const head = Buffer.from(
      success
        ? `{"status":"success","status_message":"resource_found","oxen_version":"${version}","padding":"`
        : `<html>\r\n<head><title>${reason}</title></head>\r\n<body>\r\n<center><h1>${reason}</h1></center>\r\n<!-- `,
    );
    const tail = Buffer.from(success ? '"}' : ' -->\r\n</body>\r\n</html>\r\n');
    const headers: Record<string, string> = {
      ...baseHeaders(requestId),
      'content-type': success ? 'application/json' : 'text/html',
    };
    if (!fault.chunked) headers['content-length'] = String(total);
    res.writeHead(status, headers);
    let left = total;
    const write = async (chunk: Buffer) => {
      if (left <= 0 || res.destroyed) return;
      const piece = chunk.length > left ? chunk.subarray(0, left) : chunk;
      left -= piece.length;
      if (!res.write(piece)) await drained(res);
    };
    await write(head);
    let padding = Math.max(0, total - head.length - tail.length);
    while (padding > 0 && !res.destroyed) {
      const piece = padding >= PADDING.length ? PADDING : PADDING.subarray(0, padding);
      padding -= piece.length;
      await write(piece);
    }
    await write(tail);
    if (!res.destroyed) res.end();
  };

  const routeTemplate = (method: string, path: string) => {
    for (const [m, re, template] of routes) if (m === method && re.test(path)) return `${method} ${template}`;
    return `${method} (unknown)`;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, requestId: string) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    // Like actix, a client that disconnects drops the handler (at its next wait).
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    const template = routeTemplate(method, path);
    const chunks: Buffer[] = [];
    let received = 0;
    const record = (status: number, fault?: FaultRule['kind']) =>
      log.push({
        method,
        route: template,
        path,
        status,
        at: now(),
        bytes: received,
        ...(fault ? { fault } : {}),
      });
    // The `drop-body` fault: this request's connection drops partway through its body.
    const drop = pickFault(rules, { method, route: template, path }, random, 'drop-body');
    for await (const chunk of req) {
      const piece = chunk as Buffer;
      if (drop && received + piece.length > (drop.bytes ?? 0)) {
        received = Math.max(received, drop.bytes ?? 0);
        record(0, 'drop-body');
        req.socket.destroy();
        return;
      }
      // The `cut` fault: the link drops once its byte budget is spent, mid-body, and stays down.
      const cut = takeCut(rules, { method, route: template, path }, piece.length);
      if (cut !== undefined) {
        received += cut;
        record(0, 'cut');
        req.socket.destroy();
        rules.push({ kind: 'offline', id: nextRuleId++, remaining: Number.POSITIVE_INFINITY });
        await syncListening();
        return;
      }
      received += piece.length;
      chunks.push(piece);
    }
    if (drop && chunks.length === 0) {
      record(0, 'drop-body');
      req.socket.destroy();
      return;
    }
    const body = Buffer.concat(chunks);

    const fault = pickFault(rules, { method, route: template, path }, random);
    if (fault?.kind === 'blackhole') {
      record(0, 'blackhole');
      return;
    }
    if (fault?.kind === 'latency') await sleep(fault.ms ?? 1000);
    if (fault?.kind === 'reset') {
      record(0, 'reset');
      res.writeHead(200, { 'content-type': 'application/json', ...baseHeaders(requestId) });
      res.write('{"status":"succ');
      setImmediate(() => req.socket.destroy());
      return;
    }
    if (fault?.kind === 'error') {
      const status = fault.status ?? 503;
      record(status, 'error');
      send(
        res,
        richError(status, 'internal_server_error', {
          type: 'internal_server_error',
          title: `Injected ${status} error`,
        }),
        requestId,
      );
      return;
    }
    if (fault?.kind === 'rate-limit') {
      record(429, 'rate-limit');
      send(
        res,
        {
          status: 429,
          headers: { 'retry-after': fault.retryAfter ?? '1' },
          body: {
            status: 'error',
            status_message: 'too_many_requests',
            status_description: 'Too many requests',
          },
        },
        requestId,
      );
      return;
    }
    if (fault?.kind === 'maintenance') {
      record(429, 'maintenance');
      send(res, maintenance(), requestId);
      return;
    }
    if (fault?.kind === 'huge-body') {
      record(fault.status ?? 200, 'huge-body');
      await sendHugeBody(res, fault, requestId);
      return;
    }
    if (fault?.kind === 'redirect') {
      const status = fault.status ?? 302;
      record(status, 'redirect');
      const location = fault.location ?? `http://127.0.0.2:${port}${path}${url.search}`;
      send(res, { status, headers: { location } }, requestId);
      return;
    }

    if (options.auth !== undefined) {
      const header = req.headers.authorization;
      if (!header) {
        record(401);
        send(res, { status: 401, headers: { 'www-authenticate': 'Bearer' } }, requestId);
        return;
      }
      if (header !== `Bearer ${options.auth}`) {
        record(401);
        send(res, { status: 401, text: 'unauthorized' }, requestId);
        return;
      }
    }

    let reply: Reply;
    try {
      [, reply] = await dispatch(method, path, {
        method,
        query: url.searchParams,
        body,
        headers: req.headers,
        signal: gone.signal,
      });
    } catch (error) {
      // The handler was dropped with its client: nothing written, nobody to answer.
      if (gone.signal.aborted) {
        record(0, fault?.kind);
        return;
      }
      throw error;
    }
    if (gone.signal.aborted) {
      record(0, fault?.kind);
      return;
    }
    if (fault?.kind === 'drop-response') {
      record(0, 'drop-response');
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'stall-body') {
      const wire = render(reply, requestId);
      const sent = Math.max(
        0,
        Math.min(fault.bytes ?? Math.floor(wire.body.length / 2), wire.body.length - 1),
      );
      record(wire.status, 'stall-body');
      res.writeHead(wire.status, wire.headers);
      res.flushHeaders();
      if (sent > 0) res.write(wire.body.subarray(0, sent));
      return;
    }
    record(reply.status, fault?.kind);
    send(res, reply, requestId);
  };

  const server = createServer((req, res) => {
    const sent = req.headers['x-oxen-request-id'];
    const requestId = typeof sent === 'string' && sent !== '' ? sent : randomUUID();
    handle(req, res, requestId).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed)
        send(res, internal(error instanceof Error ? error.message : String(error)), requestId);
    });
  });
  // actix-web's default keep-alive: idle connections are kept (and reused) for 5 s.
  server.keepAliveTimeout = 5000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      // Idle keep-alive connections would otherwise hold `close()` for up to 5 s.
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      // A few turns of the event loop (each with its I/O poll) let in-process clients see their
      // pooled connections close, so a request made right after comes in on a new connection
      // (refused while offline). node:http's agent needs more than one: it reads the end of the
      // stream, shuts its side down, and only then drops the socket from its pool. A client in
      // another process sees it long before its next command; in one process, a request sent on a
      // connection the server already closed would read as reset mid-request (was it applied?).
      const settle = (turns: number) =>
        turns === 0 ? resolve() : setTimeout(() => setImmediate(() => settle(turns - 1)), 0);
      if (!server.listening) return settle(4);
      server.close(() => settle(4));
    });

  const port = await listen(options.port ?? 0);
  const url = `http://127.0.0.1:${port}`;

  // Poll /api/health like Oxen's own test harness before handing the server out.
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${url}/api/health`, {
      headers: options.auth ? { authorization: `Bearer ${options.auth}` } : {},
    }).catch(() => undefined);
    if (res?.ok) break;
    await sleep(20);
  }
  log.length = 0;

  const isOffline = () => rules.some((r) => r.kind === 'offline');
  const syncListening = async () => {
    if (isOffline() && server.listening) await close();
    else if (!isOffline() && !server.listening) await listen(port);
  };

  const faults: FaultController = {
    async add(rule) {
      validateFaultRule(rule);
      const id = nextRuleId++;
      rules.push({ ...rule, id, remaining: rule.count ?? Number.POSITIVE_INFINITY });
      await syncListening();
      return id;
    },
    async remove(id) {
      const index = rules.findIndex((r) => r.id === id);
      if (index >= 0) rules.splice(index, 1);
      await syncListening();
    },
    async clear() {
      rules.length = 0;
      await syncListening();
    },
    offline() {
      return faults.add({ kind: 'offline' });
    },
    async online() {
      for (let i = rules.length - 1; i >= 0; i--) if (rules[i]!.kind === 'offline') rules.splice(i, 1);
      await syncListening();
    },
    list: () => rules,
  };

  return {
    url,
    port,
    faults,
    get requests() {
      return log;
    },
    clearRequests() {
      log.length = 0;
    },
    receivedBytes(route) {
      return log
        .filter((e) => route === undefined || e.route.includes(route) || e.path.includes(route))
        .reduce((n, e) => n + e.bytes, 0);
    },
    async createRepo(namespace, name, files = { 'README.md': `# ${name}\n` }) {
      return createRepoInternal(namespace, name, files);
    },
    repoUrl: (namespace, name) => `${url}/${namespace}/${name}`,
    repo: (namespace, name) => getRepo(namespace, name),
    advanceClock(ms) {
      clockOffset += ms;
    },
    pushCommit(namespace, name, commit) {
      const repo = getRepo(namespace, name);
      if (!repo) throw new Error(`No repository ${namespace}/${name} on the fake server.`);
      const parent = commit.parent ?? repo.branches.main;
      const tree = parent ? { ...(repo.commits[parent]?.tree ?? {}) } : {};
      const record = makeCommit(parent ? [parent] : [], tree, {
        message: commit.message,
        author: commit.author ?? 'pusher',
        email: commit.email ?? 'pusher@example.invalid',
        timestamp: commit.timestamp ?? timestamp(),
      });
      repo.commits[record.id] = record;
      persist();
      return record.id;
    },
    get settings() {
      return { ...settings };
    },
    configure(changes) {
      for (const key of ['wholeTreeVerifyMs', 'uploadCommitDelayMs'] as const) {
        const value = changes[key];
        if (value === undefined) continue;
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
          throw new Error(
            `Setting "${key}" must be a non-negative number of ms, got ${JSON.stringify(value)}.`,
          );
        settings[key] = value;
      }
      if (changes.dateOffsetMs !== undefined) {
        if (!Number.isFinite(changes.dateOffsetMs))
          throw new Error(
            `Setting "dateOffsetMs" must be a number of ms, got ${JSON.stringify(changes.dateOffsetMs)}.`,
          );
        settings.dateOffsetMs = changes.dateOffsetMs;
      }
      if (changes.dateOffsetShare !== undefined) {
        const share = changes.dateOffsetShare;
        if (!Number.isFinite(share) || share < 0 || share > 1)
          throw new Error(`Setting "dateOffsetShare" must be from 0 to 1, got ${JSON.stringify(share)}.`);
        settings.dateOffsetShare = share;
      }
      if (changes.uploadLimitBytes !== undefined) {
        const limit = changes.uploadLimitBytes;
        if (!Number.isInteger(limit) || limit < 1)
          throw new Error(
            `Setting "uploadLimitBytes" must be a positive whole number, got ${JSON.stringify(limit)}.`,
          );
        settings.uploadLimitBytes = limit;
      }
      if (changes.branchExistsStatus !== undefined) {
        if (changes.branchExistsStatus !== 409 && changes.branchExistsStatus !== 500)
          throw new Error(
            `Setting "branchExistsStatus" must be 409 or 500, got ${JSON.stringify(changes.branchExistsStatus)}.`,
          );
        settings.branchExistsStatus = changes.branchExistsStatus;
      }
    },
    overlapUploads(count) {
      if (!Number.isInteger(count) || count < 2)
        throw new Error(`overlapUploads needs at least 2 uploads, got ${JSON.stringify(count)}.`);
      overlap = { count, waiting: [] };
    },
    stop: close,
  };
}
