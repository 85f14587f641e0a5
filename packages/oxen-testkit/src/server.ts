import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  branchMissing,
  internal,
  maintenance,
  notFoundRoute,
  ok,
  type Reply,
  richError,
  simpleError,
} from './envelope.js';
import { type ActiveFault, type FaultRule, pickFault, seededRandom } from './faults.js';
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
} from './model.js';

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
  /** Version reported in `oxen-version` and envelopes. @default 0.54.0 */
  readonly version?: string;
}

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

interface Repo extends RepoData {
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
};
type Handler = (ctx: Ctx) => Reply | Promise<Reply>;

/**
 * Starts a development fake of oxen-server on 127.0.0.1, polled on `/api/health` before it is
 * returned (the way Oxen's own tests start the real one). It is a protocol-faithful fake for
 * tests and demos, not Oxen: it keeps everything in memory (or a JSON file with `dataDir`).
 */
export async function startFakeOxenServer(options: FakeOxenServerOptions = {}): Promise<FakeOxenServer> {
  const version = options.version ?? OXEN_VERSION;
  const baseClock = options.clock ?? Date;
  let clockOffset = 0;
  const now = () => baseClock.now() + clockOffset;
  const random = seededRandom(options.seed ?? 1);
  const repos = new Map<string, Repo>();
  const log: RequestLogEntry[] = [];
  const rules: ActiveFault[] = [];
  let nextRuleId = 1;
  const sockets = new Set<Socket>();
  const stateFile = options.dataDir ? join(options.dataDir, 'fake-oxen-state.json') : undefined;

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
  const badJson = () => simpleError(400, 'bad_request', 'Could not parse request body as JSON');

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
      .replace(/:[a-z]+/g, '([^/]+)');
    routes.push([method, new RegExp(`^${pattern}/?$`), template, handler]);
  };
  const R = '/api/repos/:ns/:repo';

  route('GET', '/api/health', () =>
    ok('resource_found', { disk_usage: { total_gb: 100, used_gb: 40, free_gb: 60, percent_used: 40 } }),
  );
  route('GET', '/api/version', () => ok('resource_found'));
  route('GET', '/api/min_version', () => ok('resource_found', { version: MIN_CLI_VERSION }));

  route('POST', '/api/repos', (ctx) => {
    const body = json(ctx.body);
    if (!body) return badJson();
    const { namespace, name } = body as { namespace?: unknown; name?: unknown };
    if (typeof namespace !== 'string' || typeof name !== 'string' || !namespace || !name) {
      return simpleError(400, 'bad_request', 'Missing namespace or name');
    }
    if (getRepo(namespace, name))
      return simpleError(409, 'conflict', `Repository '${namespace}/${name}' already exists`);
    const files = Array.isArray(body.files)
      ? Object.fromEntries(
          (body.files as Array<{ path?: string; contents?: string }>).map((f) => [
            f.path ?? '',
            f.contents ?? '',
          ]),
        )
      : undefined;
    createRepoInternal(namespace, name, files);
    return ok('resource_created', { repository: repoJson(getRepo(namespace, name)!) });
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
    withRepo((repo, ctx) => {
      const body = json(ctx.body);
      if (!body) return badJson();
      const newName = body.new_name;
      if (typeof newName !== 'string' || invalidBranchName(newName)) {
        return simpleError(400, 'bad_request', `Invalid branch name: ${String(newName)}`);
      }
      if (typeof body.commit_id === 'string') {
        // The atomic create (server >= 0.50.4): of racing creators exactly one wins.
        if (repo.branches[newName]) return internal(`Branch already exists: ${newName}`);
        if (!repo.commits[body.commit_id]) return internal(`Could not find commit: ${body.commit_id}`);
        repo.branches[newName] = body.commit_id;
        persist();
        return ok('resource_created', { branch: branchJson(newName, body.commit_id) });
      }
      if (typeof body.from_name === 'string') {
        // Not a compare-and-swap: a taken name returns the existing branch with 200.
        const existing = repo.branches[newName];
        if (existing) return ok('resource_found', { branch: branchJson(newName, existing) });
        const from = repo.branches[body.from_name];
        if (!from) return branchMissing();
        repo.branches[newName] = from;
        persist();
        return ok('resource_created', { branch: branchJson(newName, from) });
      }
      return simpleError(400, 'bad_request', 'Missing commit_id or from_name');
    }),
  );
  route(
    'PUT',
    `${R}/branches/:rest`,
    withRepo((repo, ctx, [name]) => {
      const body = json(ctx.body);
      if (!body) return badJson();
      if (invalidBranchName(name!)) return simpleError(400, 'bad_request', `Invalid branch name: ${name}`);
      const commitId = body.commit_id;
      if (typeof commitId !== 'string' || !repo.commits[commitId])
        return internal(`Could not find commit: ${String(commitId)}`);
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
      return commit
        ? ok('resource_found', { commit: commitJson(commit) })
        : simpleError(404, 'resource_not_found', `Commit '${id}' not found`);
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
  route(
    'PUT',
    `${R}/file/:rest`,
    withRepo(async (repo, ctx, [rest]) => {
      const segments = rest!.split('/');
      let branch: string | undefined;
      let dir = '';
      for (let i = segments.length; i >= 1; i--) {
        const candidate = segments.slice(0, i).join('/');
        if (repo.branches[candidate]) {
          branch = candidate;
          dir = segments.slice(i).join('/');
          break;
        }
      }
      if (!branch) return branchMissing();
      let form: FormData;
      try {
        form = await multipart(ctx);
      } catch {
        return simpleError(400, 'bad_request', 'Expected a multipart body with a file');
      }
      const file = form.get('file');
      if (!(file instanceof File)) return simpleError(400, 'bad_request', 'Missing multipart field "file"');
      const bytes = Buffer.from(await file.arrayBuffer());
      // The path names a directory; a path that already ends in the file's name is taken whole.
      const path = dir.split('/').at(-1) === file.name ? dir : [dir, file.name].filter(Boolean).join('/');
      const hash = hashObject(bytes);
      repo.objects[hash] = bytes.toString('base64');
      const head = repo.branches[branch]!;
      const commit = makeCommit(
        [head],
        { ...repo.commits[head]!.tree, [path]: hash },
        {
          message: String(form.get('message') ?? `Update ${path}`),
          author: String(form.get('name') ?? 'oxen'),
          email: String(form.get('email') ?? 'oxen@oxen.ai'),
          timestamp: timestamp(),
        },
      );
      repo.commits[commit.id] = commit;
      repo.branches[branch] = commit.id;
      persist();
      return ok('resource_created', { commit: commitJson(commit) });
    }),
  );

  const createWorkspace = withRepo((repo, ctx) => {
    const body = json(ctx.body);
    if (!body) return badJson();
    const id = typeof body.workspace_id === 'string' ? body.workspace_id : undefined;
    const branch = typeof body.branch_name === 'string' ? body.branch_name : undefined;
    if (!id || !branch) return simpleError(400, 'bad_request', 'Missing workspace_id or branch_name');
    const head = repo.branches[branch];
    if (!head) return branchMissing();
    const ws: Workspace = repo.workspaces[id] ?? {
      id,
      name: typeof body.name === 'string' ? body.name : id,
      branch,
      base: head,
      createdAt: timestamp(),
      staged: {},
    };
    repo.workspaces[id] = ws;
    persist();
    return ok('resource_created', {
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
  const stageFiles = withRepo(async (repo, ctx, [id, dir = '']) => {
    const ws = repo.workspaces[id!];
    if (!ws) return simpleError(404, 'resource_not_found', `Workspace '${id}' not found`);
    let form: FormData;
    try {
      form = await multipart(ctx);
    } catch {
      return simpleError(400, 'bad_request', 'Expected a multipart body with a file');
    }
    const paths: string[] = [];
    for (const value of form.getAll('file')) {
      if (!(value instanceof File)) continue;
      const bytes = Buffer.from(await value.arrayBuffer());
      const hash = hashObject(bytes);
      repo.objects[hash] = bytes.toString('base64');
      const path = [dir, value.name].filter((s) => s && s !== '.').join('/');
      ws.staged[path] = hash;
      paths.push(path);
    }
    persist();
    return ok('resource_created', { paths });
  });
  route('POST', `${R}/workspaces/:id/files/:rest`, stageFiles);
  route('POST', `${R}/workspaces/:id/files`, stageFiles);
  route(
    'POST',
    `${R}/workspaces/:id/commit/:rest`,
    withRepo((repo, ctx, [id, branch]) => {
      const ws = repo.workspaces[id!];
      if (!ws) return simpleError(404, 'resource_not_found', `Workspace '${id}' not found`);
      const body = json(ctx.body) ?? {};
      const head = repo.branches[branch!];
      if (!head) return branchMissing();
      const staged = Object.entries(ws.staged);
      if (staged.length === 0)
        return richError(422, 'unprocessable_entity', { type: 'bad_request', title: 'No changes to commit' });
      if (head !== ws.base) {
        const baseTree = repo.commits[ws.base]!.tree;
        const headTree = repo.commits[head]!.tree;
        if (staged.some(([path]) => headTree[path] !== baseTree[path])) {
          return richError(409, 'conflict', {
            type: 'conflict',
            title: 'Workspace is behind',
            detail: `Branch '${branch}' has moved and changed files staged in this workspace.`,
          });
        }
      }
      const commit = makeCommit(
        [head],
        { ...repo.commits[head]!.tree, ...ws.staged },
        {
          message: String(body.message ?? 'Workspace commit'),
          author: String(body.author ?? 'oxen'),
          email: String(body.email ?? 'oxen@oxen.ai'),
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

  // Content transfer for the fake CLI's push and pull: private to the testkit (the real protocol
  // moves compressed node trees; what matters to us is the behaviour around it).
  route(
    'POST',
    '/__testkit/repos/:ns/:repo/upload',
    withRepo((repo, ctx) => {
      const body = json(ctx.body) as
        | { commits?: CommitRecord[]; objects?: Record<string, string> }
        | undefined;
      if (!body) return badJson();
      Object.assign(repo.objects, body.objects ?? {});
      for (const c of body.commits ?? []) repo.commits[c.id] = c;
      persist();
      return ok('resource_created');
    }),
  );
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

  const send = (res: ServerResponse, reply: Reply, requestId: string | undefined) => {
    const headers: Record<string, string> = {
      'oxen-version': version,
      date: new Date(now()).toUTCString(),
      ...(reply.headers ?? {}),
    };
    if (requestId) headers['x-oxen-request-id'] = requestId;
    if (reply.bytes) {
      res.writeHead(reply.status, headers).end(reply.bytes);
    } else if (reply.text !== undefined) {
      res
        .writeHead(reply.status, { 'content-type': 'text/plain; charset=utf-8', ...headers })
        .end(reply.text);
    } else if (reply.body !== undefined) {
      const body = reply.body as Record<string, unknown>;
      const stamped = 'oxen_version' in body ? { ...body, oxen_version: version } : body;
      res
        .writeHead(reply.status, { 'content-type': 'application/json', ...headers })
        .end(JSON.stringify(stamped));
    } else {
      res.writeHead(reply.status, headers).end();
    }
  };

  const routeTemplate = (method: string, path: string) => {
    for (const [m, re, template] of routes) if (m === method && re.test(path)) return `${method} ${template}`;
    return `${method} (unknown)`;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const requestId =
      typeof req.headers['x-oxen-request-id'] === 'string' ? req.headers['x-oxen-request-id'] : undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const template = routeTemplate(method, path);
    const record = (status: number, fault?: FaultRule['kind']) =>
      log.push({ method, route: template, path, status, at: now(), ...(fault ? { fault } : {}) });

    const fault = pickFault(rules, { method, route: template, path }, random);
    if (fault?.kind === 'blackhole') {
      record(0, 'blackhole');
      return;
    }
    if (fault?.kind === 'latency') await sleep(fault.ms ?? 1000);
    if (fault?.kind === 'reset') {
      record(0, 'reset');
      res.writeHead(200, { 'content-type': 'application/json', 'oxen-version': version });
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

    const [, reply] = await dispatch(method, path, {
      method,
      query: url.searchParams,
      body,
      headers: req.headers,
    });
    if (fault?.kind === 'drop-response') {
      record(0, 'drop-response');
      req.socket.destroy();
      return;
    }
    record(reply.status, fault?.kind);
    send(res, reply, requestId);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        send(res, internal(error instanceof Error ? error.message : String(error)), undefined);
    });
  });
  server.keepAliveTimeout = 1000;
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
      for (const s of sockets) s.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
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
    async createRepo(namespace, name, files = { 'README.md': `# ${name}\n` }) {
      return createRepoInternal(namespace, name, files);
    },
    repoUrl: (namespace, name) => `${url}/${namespace}/${name}`,
    repo: (namespace, name) => getRepo(namespace, name),
    advanceClock(ms) {
      clockOffset += ms;
    },
    stop: close,
  };
}
