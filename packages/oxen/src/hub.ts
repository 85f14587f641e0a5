import { parseRetryAfter } from '@oxvcs/retry';
import { clipServerText } from './clip.js';
import { OxenError } from './errors.js';
import { compareVersions, parseRemoteUrl, type RemoteRef } from './remote.js';
import { encodeForm, fetchTransport, nodeTransport, type TransportAnswer } from './transport.js';

/** Options of {@link createOxenHub}. */
export interface OxenHubOptions {
  /** The repository's remote URL, `http(s)://host[:port]/<namespace>/<repo>`. */
  readonly remoteUrl: string;
  /** Bearer token for the remote's host; never logged or put in messages. */
  readonly token?: string;
  /**
   * Deadline of one request in ms, covering the whole answer: connecting, headers AND body. A
   * server that stalls at any point fails with TIMEOUT. @default 30000
   */
  readonly timeoutMs?: number;
  /** Largest answer body we read, in bytes; a bigger one fails with RESPONSE_TOO_LARGE. @default 8 MiB */
  readonly maxResponseBytes?: number;
  /** Largest file {@link OxenHub.downloadFile} reads, in bytes. @default 64 MiB */
  readonly maxDownloadBytes?: number;
  /**
   * Test seam: requests go through this fetch instead (a test that rewrites answers). Node's fetch
   * loads undici, about 100 ms of CPU per process, so the default never does.
   * @default node:http / node:https with a keep-alive pool
   */
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
  /** The server's `oxen_version`. */
  version(options?: CallOptions): Promise<string>;
  /** The oldest CLI the server accepts. */
  minVersion(options?: CallOptions): Promise<string>;
  /** Resolves to the server version, or throws SERVER_TOO_OLD naming both versions. */
  requireVersion(minimum: string, options?: CallOptions): Promise<string>;
  getRepository(options?: CallOptions): Promise<Repository>;
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
  /**
   * `POST …/commits/missing`: which of `ids` the server lacks. A commit counts as there only once
   * its push finished (its node and its dir-hashes, sent last, both arrived).
   */
  missingCommits(ids: readonly string[], options?: CallOptions): Promise<string[]>;
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
}

/** Encodes a branch or path keeping its slashes (Oxen routes take `{name:.*}`). */
const encodePath = (value: string) => value.split('/').map(encodeURIComponent).join('/');

type Envelope = Record<string, unknown> & {
  status?: string;
  status_message?: string;
  status_description?: string;
  error?: { type?: string; title?: string; detail?: string };
};

/** Error answers are read up to this many bytes: enough for any Oxen envelope, never a whole error page. */
const MAX_ERROR_BODY = 64 * 1024;
/** Same-origin redirects followed before giving up. */
const MAX_REDIRECTS = 3;

/** PROXY_AUTH's message: the proxy, not the remote, refused; nothing of its answer is repeated. */
const proxyAuthWords = (origin: string) =>
  `The proxy in front of ${origin} refused the credentials it was given (407); check HTTPS_PROXY / HTTP_PROXY.`;

/** Creates an {@link OxenHub}. It never retries: `@oxvcs/retry` is the single owner of retries. */
export function createOxenHub(options: OxenHubOptions): OxenHub {
  const remote = parseRemoteUrl(options.remoteUrl);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxResponseBytes = options.maxResponseBytes ?? 8 * 1024 * 1024;
  const maxDownloadBytes = options.maxDownloadBytes ?? 64 * 1024 * 1024;
  const transport = options.fetch ? fetchTransport(options.fetch) : nodeTransport;
  // Not an `oxen/<version>` agent, so oxen-server's CLI version gate (426) never applies.
  const headers: Record<string, string> = {
    'user-agent': 'oxvcs',
    ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
  };
  const repoPath = `repos/${encodeURIComponent(remote.namespace)}/${encodeURIComponent(remote.repo)}`;

  // What the server says back is kept and shown; a server (or a debug page in front of it) that
  // echoes the request would repeat our token, which is hidden before anything reads it.
  const hideToken = (said: string) => (options.token ? said.replaceAll(options.token, '***') : said);

  const failure = (method: string, path: string, response: TransportAnswer, answer: string): OxenError => {
    const text = hideToken(answer);
    let body: Envelope = {};
    try {
      body = JSON.parse(text) as Envelope;
    } catch {}
    if (typeof body !== 'object' || body === null) body = {};
    const request = `${method} ${remote.origin}/api/${path}`;
    const requestId = hideToken(response.header('x-oxen-request-id') ?? '');
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? clipServerText(v) : undefined);
    const title = str(body.error?.title);
    const detail = str(body.error?.detail);
    const type = str(body.error?.type);
    const statusMessage = str(body.status_message);
    const description = str(body.status_description);
    const facts = {
      status: response.status,
      request,
      ...(statusMessage ? { statusMessage } : {}),
      ...(type ? { errorType: type } : {}),
      ...(title ? { title } : {}),
      ...(detail ? { detail } : {}),
      ...(requestId ? { requestId: clipServerText(requestId, 100) } : {}),
    };
    const s = response.status;
    // A forward proxy (a plain http remote) answers 407 itself, as it refuses an https tunnel: the
    // same failure and remedy. Its body is never repeated: a proxy may echo what it was sent.
    if (s === 407) {
      return new OxenError('PROXY_AUTH', proxyAuthWords(remote.origin), { status: s, request });
    }
    const said =
      title ?? description ?? (clipServerText(text) || clipServerText(hideToken(response.statusText)));
    if (s === 429) {
      const retryAfterMs = parseRetryAfter(response.header('retry-after'));
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
    // 500 through 0.54's catch-all; newer releases map unmapped errors to 4xx (409): the title decides.
    if (title?.startsWith('Branch already exists')) {
      return new OxenError('BRANCH_EXISTS', `${title} on ${remote.url}.`, facts);
    }
    if (s === 500 && title?.startsWith('Could not find commit')) {
      return new OxenError('COMMIT_NOT_FOUND', `${title} on ${remote.url}.`, facts);
    }
    // Identical bytes re-uploaded: 422 from 0.52.10 on, a 500 with the same title before.
    if ((s === 422 || s === 500) && (type === 'no_changes' || title === 'No changes to commit')) {
      return new OxenError('NOTHING_TO_COMMIT', `No changes to commit on ${remote.url}.`, facts);
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
      if (/^Repository '.*' not found$/.test(description ?? '')) {
        return new OxenError(
          'REPO_NOT_FOUND',
          `Remote repository not found: ${remote.url}; check the remote URL.`,
          facts,
        );
      }
      return new OxenError('NOT_FOUND', `Not found on ${remote.url}: ${said}.`, facts);
    }
    // actix-multipart's memory limit (2 MiB on oxen-server 0.54: a plain-text 400), or a proxy's 413.
    if (s === 413 || (s === 400 && /payload reached size limit/i.test(text))) {
      return new OxenError(
        'PAYLOAD_TOO_LARGE',
        `${remote.origin} refused the upload as too large (HTTP ${s}: ${said}).`,
        facts,
      );
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
  const note = (response: TransportAnswer) => {
    const version = response.header('oxen-version');
    const date = Date.parse(response.header('date') ?? '');
    lastServer = {
      ...(version ? { version: clipServerText(version, 40) } : {}),
      ...(Number.isFinite(date) ? { date } : {}),
    };
  };

  type Init = { json?: unknown; form?: { contentType: string; body: Buffer } };
  const ok = (response: TransportAnswer) => response.status >= 200 && response.status < 300;

  /**
   * One request and its whole answer under one deadline: the status, the headers and the body
   * (read up to `limit` bytes; error answers only up to {@link MAX_ERROR_BODY}). Same-origin
   * redirects are followed; one to another origin is REDIRECTED, so no lock state is ever read
   * from a server that is not the remote.
   */
  const exchange = async (
    method: string,
    path: string,
    init: Init,
    call: CallOptions = {},
    limit = maxResponseBytes,
  ): Promise<{ response: TransportAnswer; body: Buffer }> => {
    const request = `${method} ${remote.origin}/api/${path}`;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = call.signal ? AbortSignal.any([call.signal, deadline]) : deadline;
    const body =
      init.json !== undefined
        ? { type: 'application/json', bytes: Buffer.from(JSON.stringify(init.json)) }
        : init.form && { type: init.form.contentType, bytes: init.form.body };
    let target = path;
    try {
      for (let hop = 0; ; hop++) {
        const response = await transport({
          method,
          url: new URL(`${remote.origin}/api/${target}`),
          headers: body ? { ...headers, 'content-type': body.type } : headers,
          ...(body ? { body: body.bytes } : {}),
          signal,
        });
        note(response);
        if (response.status >= 300 && response.status < 400 && response.header('location') !== undefined) {
          response.discard();
          const location = new URL(response.header('location') ?? '', `${remote.origin}/api/${target}`);
          const api = `${remote.origin}/api/`;
          const preserves = response.status === 307 || response.status === 308 || method === 'GET';
          if (
            location.origin !== remote.origin ||
            !location.href.startsWith(api) ||
            !preserves ||
            hop >= MAX_REDIRECTS
          ) {
            throw new OxenError(
              'REDIRECTED',
              `${remote.origin} redirected ${method} /api/${path} to ${location.origin === remote.origin ? clipServerText(location.pathname, 200) : clipServerText(location.origin, 200)}; oxvcs only talks to the remote itself, so set the remote URL to the server's real address.`,
              { status: response.status, request },
            );
          }
          target = location.href.slice(api.length);
          continue;
        }
        const answer = await response.read(ok(response) ? limit : MAX_ERROR_BODY);
        // Let the connection go back to the pool before the caller's next request: a request sent
        // in the same turn would open a second connection (one per process and remote is the aim).
        await new Promise((resolve) => setImmediate(resolve));
        if (answer === undefined) {
          if (!ok(response)) return { response, body: Buffer.alloc(0) };
          throw new OxenError(
            'RESPONSE_TOO_LARGE',
            `${remote.origin} answered ${request} with more than ${Math.round(limit / 1024)} KiB, which no Oxen answer we use needs; check the remote URL or the server.`,
            { status: response.status, request },
          );
        }
        return { response, body: answer };
      }
    } catch (error) {
      if (error instanceof OxenError) throw error;
      if (call.signal?.aborted) throw call.signal.reason ?? error;
      if (deadline.aborted) {
        throw new OxenError(
          'TIMEOUT',
          `${remote.origin} did not answer within ${timeoutMs} ms (${request}).`,
          { cause: error, request },
        );
      }
      const cause = connectionFailure(error);
      if (cause?.kind === 'tls') {
        throw new OxenError(
          'TLS_FAILED',
          `${remote.origin} presented a certificate this machine does not trust (${cause.code}); fix the server's certificate, or the remote URL, then run again.`,
          { cause: error, request },
        );
      }
      if (cause?.kind === 'headers') {
        throw new OxenError(
          'HEADERS_TOO_LARGE',
          `${remote.origin} answered ${request} with response headers too large to read (${cause.code}); check the server or the proxy in front of it.`,
          { cause: error, request },
        );
      }
      if (cause?.kind === 'answer') {
        throw new OxenError(
          'PROTOCOL_ERROR',
          `${remote.origin} answered ${request} with something that is not HTTP this client can read (${cause.code}); check the remote URL or the proxy in front of it.`,
          { cause: error, request },
        );
      }
      if (cause?.kind === 'request') {
        throw new OxenError(
          'PROTOCOL_ERROR',
          `A request header for ${remote.origin} holds a character HTTP cannot carry (${cause.code}); check the token stored for it.`,
          { cause: error, request },
        );
      }
      if (cause?.kind === 'proxy-auth') {
        throw new OxenError('PROXY_AUTH', proxyAuthWords(remote.origin), { cause: error, request });
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
    init: Init = {},
    callOptions: CallOptions = {},
  ): Promise<T> => {
    const { response, body } = await exchange(method, path, init, callOptions);
    const text = body.toString('utf8');
    if (!ok(response)) throw failure(method, path, response, text);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new OxenError(
        'BAD_RESPONSE',
        `${remote.origin} answered ${method} ${path} with something that is not Oxen JSON.`,
        { cause: error, status: response.status },
      );
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new OxenError(
        'BAD_RESPONSE',
        `${remote.origin} answered ${method} ${path} with JSON that is not an Oxen envelope.`,
        { status: response.status },
      );
    }
    return parsed as T;
  };

  /** The named field of an answer, checked to be an array or object as promised (a hostile or broken server gets BAD_RESPONSE, not a crash later). */
  const field = <T>(body: Envelope, name: string, shape: 'array' | 'object', what: string): T => {
    const value = body[name];
    const fine =
      shape === 'array'
        ? Array.isArray(value)
        : typeof value === 'object' && value !== null && !Array.isArray(value);
    if (!fine) {
      throw new OxenError(
        'BAD_RESPONSE',
        `${remote.origin} answered ${what} without a valid "${name}"; check that the remote is an Oxen server.`,
      );
    }
    return value as T;
  };

  const form = (fileName: string, content: Buffer | string, fields: Record<string, string>) =>
    encodeForm([
      { name: 'file', fileName, content: typeof content === 'string' ? Buffer.from(content) : content },
      ...Object.entries(fields).map(([name, value]) => ({ name, value })),
    ]);

  const hub: OxenHub = {
    remote,
    get lastServer() {
      return lastServer;
    },
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
    async listBranches(o) {
      const branches = field<unknown[]>(
        await call('GET', `${repoPath}/branches`, {}, o),
        'branches',
        'array',
        'the branch list',
      );
      return branches.filter(
        (b): b is Branch =>
          typeof b === 'object' &&
          b !== null &&
          typeof (b as Branch).name === 'string' &&
          typeof (b as Branch).commit_id === 'string',
      );
    },
    async getBranch(name, o) {
      return field<Branch>(
        await call('GET', `${repoPath}/branches/${encodePath(name)}`, {}, o),
        'branch',
        'object',
        `branch ${name}`,
      );
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
      return field<Commit>(
        await call('GET', `${repoPath}/commits/${encodeURIComponent(id)}`, {}, o),
        'commit',
        'object',
        `commit ${id}`,
      );
    },
    async missingCommits(ids, o) {
      const body = await call<{ hashes?: unknown }>(
        'POST',
        `${repoPath}/commits/missing`,
        { json: { hashes: ids } },
        o,
      );
      return Array.isArray(body.hashes) ? body.hashes.filter((h): h is string => typeof h === 'string') : [];
    },
    async downloadFile(revision, path, o) {
      const target = `${repoPath}/file/${encodePath(revision)}/${encodePath(path)}`;
      const { response, body } = await exchange('GET', target, {}, o, maxDownloadBytes);
      if (!ok(response)) throw failure('GET', target, response, body.toString('utf8'));
      const revisionId = response.header('oxen-revision-id');
      return { content: body, ...(revisionId ? { revisionId: clipServerText(revisionId, 100) } : {}) };
    },
    async uploadFile(branch, directory, fileName, content, author, o) {
      const target = `${repoPath}/file/${encodePath(branch)}${directory ? `/${encodePath(directory)}` : ''}`;
      const upload = form(fileName, content, {
        name: author.name,
        email: author.email,
        message: author.message,
      });
      return field<Commit>(
        await call('PUT', target, { form: upload }, o),
        'commit',
        'object',
        `the upload to ${branch}`,
      );
    },
  };
  return hub;
}

/**
 * TLS certificate codes of Node/OpenSSL (the same under node:https and undici), and the header
 * limits of node:http's parser (HPE_HEADER_OVERFLOW) and undici's (UND_ERR_HEADERS_OVERFLOW, the
 * fetch seam): failures no wait can cure.
 */
const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_|ERR_SSL_/;
const HEADER_CODES = new Set(['UND_ERR_HEADERS_OVERFLOW', 'HPE_HEADER_OVERFLOW']);
/**
 * node:http's own refusals of a request header value (a token with a line break or a character
 * above U+00FF): thrown before anything is sent, and no wait changes them.
 */
const REQUEST_CODES = new Set([
  'ERR_INVALID_CHAR',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_HTTP_INVALID_HEADER_VALUE',
]);

/** A failure of the connection itself that is a configuration problem, found in the cause chain. */
function connectionFailure(
  error: unknown,
): { kind: 'tls' | 'headers' | 'answer' | 'request' | 'proxy-auth'; code: string } | undefined {
  const seen = new Set<unknown>();
  for (let node = error; node && typeof node === 'object' && !seen.has(node); ) {
    seen.add(node);
    const code = (node as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (HEADER_CODES.has(code)) return { kind: 'headers', code };
      if (TLS_CODE.test(code)) return { kind: 'tls', code };
      // llhttp's parse errors (a malformed header, two Content-Lengths…) and a switch of protocol:
      // the same answer comes back next time. A cut connection is ECONNRESET, not one of these.
      if (code.startsWith('HPE_') || code === 'UNEXPECTED_UPGRADE') return { kind: 'answer', code };
      if (REQUEST_CODES.has(code)) return { kind: 'request', code };
      // A proxy that wants other credentials (Node's own proxy support, NODE_USE_ENV_PROXY); a
      // proxy that cannot reach the remote (502, 503) stays a network failure to wait out.
      if (code === 'ERR_PROXY_TUNNEL' && (node as { statusCode?: unknown }).statusCode === 407)
        return { kind: 'proxy-auth', code };
    }
    node = (node as { cause?: unknown }).cause;
  }
  return undefined;
}
