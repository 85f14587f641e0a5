import { parseRetryAfter } from '@oxvcs/retry';
import type { KyInstance } from 'ky';
import { OxenError } from './errors.js';
import { compareVersions, parseRemoteUrl, type RemoteRef } from './remote.js';

/** Options of {@link createOxenHub}. */
export interface OxenHubOptions {
  /** The repository's remote URL, `http(s)://host[:port]/<namespace>/<repo>`. */
  readonly remoteUrl: string;
  /** Bearer token for the remote's host; never logged or put in messages. */
  readonly token?: string;
  /** Per-request timeout in ms; a hung server fails with TIMEOUT. @default 30000 */
  readonly timeoutMs?: number;
  /** Test seam. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** Per-call options. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

/** A branch as Oxen reports it. */
export interface Branch {
  readonly name: string;
  readonly commit_id: string;
}

/** A commit as Oxen reports it; `timestamp` is RFC 3339 on the server's clock. */
export interface Commit {
  readonly id: string;
  readonly parent_ids: readonly string[];
  readonly message: string;
  readonly author: string;
  readonly email: string;
  readonly timestamp: string;
}

/** `GET /api/repos/{ns}/{repo}`'s `repository`. */
export interface Repository {
  readonly namespace: string;
  readonly name: string;
  readonly is_empty?: boolean;
  readonly branch_count?: number;
  readonly [key: string]: unknown;
}

/** A page of commit history. */
export interface CommitPage {
  readonly commits: readonly Commit[];
  readonly page_number: number;
  readonly page_size: number;
  readonly total_pages: number;
  readonly total_entries: number;
}

/** Author of a commit made over HTTP. */
export interface Author {
  readonly name: string;
  readonly email: string;
}

/** A typed client for one Oxen repository on oxen-server or Oxen Hub. */
/** What the last answer said about the server: its version and its clock. */
export interface ServerFacts {
  /** `oxen-version` header. */
  readonly version?: string;
  /** The server's clock (`Date` header, 1 s precision), epoch ms. */
  readonly date?: number;
}

export interface OxenHub {
  readonly remote: RemoteRef;
  /** Facts from the most recent answer (every Oxen answer carries `oxen-version` and `Date`). */
  readonly lastServer: ServerFacts;
  /** The server's current time (from a `Date` header), for judging leases on the server's clock. */
  serverTime(options?: CallOptions): Promise<number>;
  health(options?: CallOptions): Promise<Record<string, unknown>>;
  /** The server's `oxen_version`. */
  version(options?: CallOptions): Promise<string>;
  /** The oldest CLI the server accepts. */
  minVersion(options?: CallOptions): Promise<string>;
  /** Resolves to the server version, or throws SERVER_TOO_OLD naming both versions. */
  requireVersion(minimum: string, options?: CallOptions): Promise<string>;
  getRepository(options?: CallOptions): Promise<Repository>;
  /** Creates this repository (tests and demos); `files` seed an initial commit where the server supports it. */
  createRepository(options?: CallOptions): Promise<Repository>;
  deleteRepository(options?: CallOptions): Promise<void>;
  listBranches(options?: CallOptions): Promise<Branch[]>;
  /** Throws BRANCH_NOT_FOUND when absent. */
  getBranch(name: string, options?: CallOptions): Promise<Branch>;
  /** Like getBranch, but undefined when absent. */
  findBranch(name: string, options?: CallOptions): Promise<Branch | undefined>;
  /** The atomic create (server ≥ 0.50.4): BRANCH_EXISTS (kind conflict) when the name is taken. */
  createBranchFromCommit(name: string, commitId: string, options?: CallOptions): Promise<Branch>;
  /** Unconditional set (creates when absent). */
  setBranchHead(name: string, commitId: string, options?: CallOptions): Promise<Branch>;
  deleteBranch(name: string, options?: CallOptions): Promise<void>;
  getCommit(id: string, options?: CallOptions): Promise<Commit>;
  listCommits(
    revision: string,
    page?: { page?: number; pageSize?: number },
    options?: CallOptions,
  ): Promise<CommitPage>;
  /** Raw bytes of `path` at `revision`, and the commit id it was read from. */
  downloadFile(
    revision: string,
    path: string,
    options?: CallOptions,
  ): Promise<{ content: Buffer; revisionId?: string }>;
  /** Commits one file at once on `branch` (the commit gets a server timestamp and the head as parent). */
  uploadFile(
    branch: string,
    directory: string,
    fileName: string,
    content: Buffer | string,
    author: Author & { message: string },
    options?: CallOptions,
  ): Promise<Commit>;
  createWorkspace(
    workspaceId: string,
    branch: string,
    options?: CallOptions,
  ): Promise<{ id: string; commit: Commit }>;
  addWorkspaceFile(
    workspaceId: string,
    directory: string,
    fileName: string,
    content: Buffer | string,
    options?: CallOptions,
  ): Promise<string[]>;
  /** CONFLICT ("Workspace is behind") when the branch moved and a staged file changed on both sides. */
  commitWorkspace(
    workspaceId: string,
    branch: string,
    author: Author & { message: string },
    options?: CallOptions,
  ): Promise<Commit>;
  deleteWorkspace(workspaceId: string, options?: CallOptions): Promise<void>;
}

/** Encodes a branch or path keeping its slashes (Oxen routes take `{name:.*}`). */
const encodePath = (value: string) => value.split('/').map(encodeURIComponent).join('/');

type Envelope = Record<string, unknown> & {
  status?: string;
  status_message?: string;
  status_description?: string;
  error?: { type?: string; title?: string; detail?: string };
};

/** Creates an {@link OxenHub}. ky's own retry is off: `@oxvcs/retry` is the single owner of retries. */
export function createOxenHub(options: OxenHubOptions): OxenHub {
  const remote = parseRemoteUrl(options.remoteUrl);
  const timeoutMs = options.timeoutMs ?? 30_000;
  // ky is loaded on the first request, so programs that never talk HTTP never load it.
  let client: Promise<KyInstance> | undefined;
  const getClient = () =>
    (client ??= import('ky').then(({ default: ky }) =>
      ky.create({
        prefix: `${remote.origin}/api/`,
        retry: 0,
        timeout: timeoutMs,
        throwHttpErrors: false,
        ...(options.fetch ? { fetch: options.fetch } : {}),
        headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
      }),
    ));
  const repoPath = `repos/${encodeURIComponent(remote.namespace)}/${encodeURIComponent(remote.repo)}`;

  const failure = (method: string, path: string, response: Response, text: string): OxenError => {
    let body: Envelope = {};
    try {
      body = JSON.parse(text) as Envelope;
    } catch {}
    const request = `${method} ${remote.origin}/api/${path}`;
    const requestId = response.headers.get('x-oxen-request-id') ?? undefined;
    const title = body.error?.title;
    const facts = {
      status: response.status,
      request,
      ...(body.status_message ? { statusMessage: body.status_message } : {}),
      ...(body.error?.type ? { errorType: body.error.type } : {}),
      ...(title ? { title } : {}),
      ...(body.error?.detail ? { detail: body.error.detail } : {}),
      ...(requestId ? { requestId } : {}),
    };
    const said = title ?? body.status_description ?? (text.trim() || response.statusText);
    const s = response.status;
    if (s === 429) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      const wait = retryAfterMs === undefined ? '' : ` for ${Math.ceil(retryAfterMs / 1000)} s`;
      return new OxenError(
        'RATE_LIMITED',
        `${remote.origin} asked us to wait${wait} (${said}); the request will be retried.`,
        {
          ...facts,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        },
      );
    }
    if (s === 500 && title?.startsWith('Branch already exists')) {
      return new OxenError('BRANCH_EXISTS', `${title} on ${remote.url}.`, facts);
    }
    if (s === 500 && title?.startsWith('Could not find commit')) {
      return new OxenError('COMMIT_NOT_FOUND', `${title} on ${remote.url}.`, facts);
    }
    if (s === 401 || s === 403) {
      return new OxenError(
        'AUTH',
        `${remote.origin} refused our credentials (HTTP ${s}); set a valid token for ${remote.host} in Oxen's auth config.`,
        facts,
      );
    }
    if (s === 404) {
      if (title === 'Branch does not exist')
        return new OxenError('BRANCH_NOT_FOUND', `Branch does not exist on ${remote.url}.`, facts);
      if (/^Repository '.*' not found$/.test(body.status_description ?? '')) {
        return new OxenError(
          'REPO_NOT_FOUND',
          `Remote repository not found: ${remote.url}; check the remote URL.`,
          facts,
        );
      }
      return new OxenError('NOT_FOUND', `Not found on ${remote.url}: ${said}.`, facts);
    }
    if (s === 409) return new OxenError('CONFLICT', `${remote.url} reported a conflict: ${said}.`, facts);
    if (s === 426) {
      return new OxenError('UPDATE_REQUIRED', `${remote.origin} requires a newer client: ${said}.`, facts);
    }
    if (s >= 500)
      return new OxenError('SERVER_ERROR', `${remote.origin} failed with HTTP ${s}: ${said}.`, facts);
    return new OxenError('BAD_REQUEST', `${remote.origin} rejected the request (HTTP ${s}): ${said}.`, facts);
  };

  let lastServer: ServerFacts = {};
  const note = (response: Response) => {
    const version = response.headers.get('oxen-version') ?? undefined;
    const date = Date.parse(response.headers.get('date') ?? '');
    lastServer = { ...(version ? { version } : {}), ...(Number.isNaN(date) ? {} : { date }) };
  };

  const send = async (
    method: string,
    path: string,
    init: { json?: unknown; body?: FormData; searchParams?: Record<string, string | number> },
    call: CallOptions = {},
  ): Promise<Response> => {
    try {
      const response = await (await getClient())(path, {
        method,
        ...(init.json !== undefined
          ? { body: JSON.stringify(init.json), headers: { 'content-type': 'application/json' } }
          : {}),
        ...(init.body ? { body: init.body } : {}),
        ...(init.searchParams ? { searchParams: init.searchParams } : {}),
        ...(call.signal ? { signal: call.signal } : {}),
      });
      note(response);
      return response;
    } catch (error) {
      if (call.signal?.aborted) throw error;
      const request = `${method} ${remote.origin}/api/${path}`;
      if ((error as Error).name === 'TimeoutError') {
        throw new OxenError(
          'TIMEOUT',
          `${remote.origin} did not answer within ${timeoutMs} ms (${request}).`,
          {
            cause: error,
            request,
          },
        );
      }
      throw new OxenError(
        'NETWORK',
        `Could not reach ${remote.origin} (${request}): ${(error as Error).message}.`,
        {
          cause: error,
          request,
        },
      );
    }
  };

  const call = async <T extends Envelope>(
    method: string,
    path: string,
    init: Parameters<typeof send>[2] = {},
    callOptions: CallOptions = {},
  ): Promise<T> => {
    const response = await send(method, path, init, callOptions);
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new OxenError(
        'NETWORK',
        `The connection to ${remote.origin} broke while reading the answer to ${method} ${path}.`,
        {
          cause: error,
          request: `${method} ${remote.origin}/api/${path}`,
        },
      );
    }
    if (!response.ok) throw failure(method, path, response, text);
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new OxenError(
        'BAD_RESPONSE',
        `${remote.origin} answered ${method} ${path} with something that is not Oxen JSON.`,
        {
          cause: error,
          status: response.status,
        },
      );
    }
  };

  const form = (fileName: string, content: Buffer | string, fields: Record<string, string> = {}) => {
    const data = new FormData();
    data.append(
      'file',
      new Blob([typeof content === 'string' ? content : new Uint8Array(content)]),
      fileName,
    );
    for (const [k, v] of Object.entries(fields)) data.append(k, v);
    return data;
  };

  const hub: OxenHub = {
    remote,
    get lastServer() {
      return lastServer;
    },
    async serverTime(o) {
      await call('GET', 'version', {}, o);
      if (lastServer.date === undefined) {
        throw new OxenError(
          'BAD_RESPONSE',
          `${remote.origin} sent no Date header, so its clock cannot be read.`,
        );
      }
      return lastServer.date;
    },
    health: (o) => call('GET', 'health', {}, o),
    async version(o) {
      return String((await call('GET', 'version', {}, o)).oxen_version ?? '');
    },
    async minVersion(o) {
      return String((await call('GET', 'min_version', {}, o)).version ?? '');
    },
    async requireVersion(minimum, o) {
      const version = await hub.version(o);
      if (!version || compareVersions(version, minimum) < 0) {
        throw new OxenError(
          'SERVER_TOO_OLD',
          `${remote.origin} runs oxen-server ${version || '(unknown version)'}, but ${minimum} or newer is needed; upgrade the server.`,
          { serverVersion: version, requiredVersion: minimum },
        );
      }
      return version;
    },
    async getRepository(o) {
      return (await call<{ repository: Repository }>('GET', repoPath, {}, o)).repository;
    },
    async createRepository(o) {
      return (
        await call<{ repository: Repository }>(
          'POST',
          'repos',
          { json: { namespace: remote.namespace, name: remote.repo } },
          o,
        )
      ).repository;
    },
    async deleteRepository(o) {
      await call('DELETE', repoPath, {}, o);
    },
    async listBranches(o) {
      return (await call<{ branches: Branch[] }>('GET', `${repoPath}/branches`, {}, o)).branches;
    },
    async getBranch(name, o) {
      return (await call<{ branch: Branch }>('GET', `${repoPath}/branches/${encodePath(name)}`, {}, o))
        .branch;
    },
    async findBranch(name, o) {
      try {
        return await hub.getBranch(name, o);
      } catch (error) {
        if (error instanceof OxenError && error.code === 'BRANCH_NOT_FOUND') return undefined;
        throw error;
      }
    },
    async createBranchFromCommit(name, commitId, o) {
      return (
        await call<{ branch: Branch }>(
          'POST',
          `${repoPath}/branches`,
          { json: { new_name: name, commit_id: commitId } },
          o,
        )
      ).branch;
    },
    async setBranchHead(name, commitId, o) {
      return (
        await call<{ branch: Branch }>(
          'PUT',
          `${repoPath}/branches/${encodePath(name)}`,
          { json: { commit_id: commitId } },
          o,
        )
      ).branch;
    },
    async deleteBranch(name, o) {
      await call('DELETE', `${repoPath}/branches/${encodePath(name)}`, {}, o);
    },
    async getCommit(id, o) {
      return (await call<{ commit: Commit }>('GET', `${repoPath}/commits/${encodeURIComponent(id)}`, {}, o))
        .commit;
    },
    async listCommits(revision, page = {}, o) {
      return call<CommitPage & Envelope>(
        'GET',
        `${repoPath}/commits/history/${encodePath(revision)}`,
        { searchParams: { page: page.page ?? 1, page_size: page.pageSize ?? 100 } },
        o,
      );
    },
    async downloadFile(revision, path, o) {
      const target = `${repoPath}/file/${encodePath(revision)}/${encodePath(path)}`;
      const response = await send('GET', target, {}, o);
      if (!response.ok) throw failure('GET', target, response, await response.text().catch(() => ''));
      const revisionId = response.headers.get('oxen-revision-id') ?? undefined;
      try {
        return { content: Buffer.from(await response.arrayBuffer()), ...(revisionId ? { revisionId } : {}) };
      } catch (error) {
        throw new OxenError(
          'NETWORK',
          `The connection to ${remote.origin} broke while downloading ${path}.`,
          { cause: error },
        );
      }
    },
    async uploadFile(branch, directory, fileName, content, author, o) {
      const target = `${repoPath}/file/${encodePath(branch)}${directory ? `/${encodePath(directory)}` : ''}`;
      const body = form(fileName, content, {
        name: author.name,
        email: author.email,
        message: author.message,
      });
      return (await call<{ commit: Commit }>('PUT', target, { body }, o)).commit;
    },
    async createWorkspace(workspaceId, branch, o) {
      return (
        await call<{ workspace: { id: string; commit: Commit } }>(
          'PUT',
          `${repoPath}/workspaces`,
          { json: { workspace_id: workspaceId, branch_name: branch } },
          o,
        )
      ).workspace;
    },
    async addWorkspaceFile(workspaceId, directory, fileName, content, o) {
      const target = `${repoPath}/workspaces/${encodeURIComponent(workspaceId)}/files${directory ? `/${encodePath(directory)}` : ''}`;
      return (await call<{ paths: string[] }>('POST', target, { body: form(fileName, content) }, o)).paths;
    },
    async commitWorkspace(workspaceId, branch, author, o) {
      return (
        await call<{ commit: Commit }>(
          'POST',
          `${repoPath}/workspaces/${encodeURIComponent(workspaceId)}/commit/${encodePath(branch)}`,
          { json: { message: author.message, author: author.name, email: author.email } },
          o,
        )
      ).commit;
    },
    async deleteWorkspace(workspaceId, o) {
      await call('DELETE', `${repoPath}/workspaces/${encodeURIComponent(workspaceId)}`, {}, o);
    },
  };
  return hub;
}
