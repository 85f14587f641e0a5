// The Hub client's HTTP transport: one request, its status and headers, and a body read up to a
// bound. The default runs over node:http / node:https. Node's built-in fetch (and its Request,
// Response, Headers and FormData) loads undici on first touch: about 100 ms of CPU per process,
// more than a lock command's own work, so the hot path never touches them. The fetch-based
// transport exists for tests that hand in a fetch to rewrite answers.
import type { Agent, IncomingMessage } from 'node:http';

/** One request as the Hub client sends it. */
export interface TransportRequest {
  readonly method: string;
  /** Absolute `http:` or `https:` URL. */
  readonly url: URL;
  /** Lower-case names; never logged (the Authorization header is here). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  /** Aborts the request and any body read still running. */
  readonly signal: AbortSignal;
}

/** An answer whose status and headers arrived; its body is read on demand, once. */
export interface TransportAnswer {
  readonly status: number;
  readonly statusText: string;
  /** A header's value, undefined when absent (names are case-insensitive). */
  header(name: string): string | undefined;
  /**
   * The body, up to `limit` bytes; undefined when it is (or declares itself) longer: the rest is
   * never downloaded, the connection is dropped.
   */
  read(limit: number): Promise<Buffer | undefined>;
  /** Drops the body unread. */
  discard(): void;
}

/** Sends one request; rejects with the connection's error (its `code` in the cause chain). */
export type Transport = (request: TransportRequest) => Promise<TransportAnswer>;

type HttpModule = typeof import('node:http');
const clients = new Map<string, { module: HttpModule; agent: Agent }>();

/**
 * One keep-alive pool per protocol and process (node:https is loaded only for an https remote).
 * A connection idle for 4 s is closed (undici's default when the server gives no hint): a server
 * that closes idle connections first would otherwise reset the next request on a reused one.
 */
const clientFor = (protocol: string) => {
  // Keyed by the proxy settings too: a process (a test, a long-lived library user) that changes
  // them gets a pool that follows them.
  const env = process.env;
  const key = env.NODE_USE_ENV_PROXY
    ? `${protocol} ${env.HTTP_PROXY ?? env.http_proxy} ${env.HTTPS_PROXY ?? env.https_proxy} ${env.NO_PROXY ?? env.no_proxy}`
    : protocol;
  let client = clients.get(key);
  if (!client) {
    // Not `import('node:http')`: the ESM facade of node:http reads every export, and its WebSocket
    // and MessageEvent getters load undici (about 100 ms of CPU); getBuiltinModule reads none.
    const module = process.getBuiltinModule(protocol === 'https:' ? 'node:https' : 'node:http') as HttpModule;
    // As Node's own agents and fetch do: NODE_USE_ENV_PROXY=1 sends requests through HTTP(S)_PROXY
    // (Node ≥ 24.5 for node:http; older ones ignore the option).
    const proxy = process.env.NODE_USE_ENV_PROXY ? { proxyEnv: process.env } : {};
    client = { module, agent: new module.Agent({ keepAlive: true, timeout: 4000, ...proxy }) };
    clients.set(key, client);
  }
  return client;
};

/** The default {@link Transport}: node:http or node:https with a keep-alive pool, redirects not followed. */
export const nodeTransport: Transport = async (request) => {
  const { module, agent } = clientFor(request.url.protocol);
  const { signal } = request;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const req = module.request(request.url, {
      method: request.method,
      agent,
      headers: {
        ...request.headers,
        ...(request.body ? { 'content-length': String(request.body.byteLength) } : {}),
      },
      signal,
    });
    // `on`, not `once`: an abort after the answer arrived errors the request again.
    req.on('error', reject);
    req.once('response', (res) => resolve(answerOf(res, signal)));
    // A 101 to a plain request: node:http would emit neither an answer nor an error (nor heed the
    // signal), so the call would never settle. No Oxen answer switches protocol.
    req.once('upgrade', (_res, socket) => {
      socket.destroy();
      reject(
        Object.assign(new Error('The server switched protocols (101), which no Oxen answer does.'), {
          code: 'UNEXPECTED_UPGRADE',
        }),
      );
    });
    req.end(request.body);
  });
};

function answerOf(res: IncomingMessage, signal: AbortSignal): TransportAnswer {
  let used = false;
  return {
    status: res.statusCode ?? 0,
    statusText: res.statusMessage ?? '',
    header(name) {
      const value = res.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    read(limit) {
      if (used) throw new Error('The body was already read.');
      used = true;
      return new Promise<Buffer | undefined>((resolve, reject) => {
        if (Number(res.headers['content-length'] ?? Number.NaN) > limit) {
          res.destroy();
          return resolve(undefined);
        }
        const chunks: Buffer[] = [];
        let size = 0;
        let done = false;
        const finish = (outcome: () => void) => {
          if (done) return;
          done = true;
          signal.removeEventListener('abort', onAbort);
          outcome();
        };
        const onAbort = () => {
          res.destroy();
          finish(() => reject(signal.reason));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        if (signal.aborted) return onAbort();
        res.on('data', (chunk: Buffer) => {
          size += chunk.byteLength;
          if (size > limit) {
            res.destroy();
            return finish(() => resolve(undefined));
          }
          chunks.push(chunk);
        });
        res.once('end', () => finish(() => resolve(Buffer.concat(chunks, size))));
        res.on('error', (error) => finish(() => reject(error)));
        // Closed before its end without an error of its own: the connection went away mid-body.
        res.once('close', () =>
          finish(() =>
            reject(
              Object.assign(new Error('The connection closed before the answer ended.'), {
                code: 'ECONNRESET',
              }),
            ),
          ),
        );
      });
    },
    discard() {
      used = true;
      res.destroy();
    },
  };
}

/**
 * A {@link Transport} over a fetch function (a test seam: a fetch that rewrites answers). It loads
 * undici, so it is never the default.
 */
export function fetchTransport(fetchFn: typeof fetch): Transport {
  return async (request) => {
    const response = await fetchFn(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body ? { body: new Uint8Array(request.body) } : {}),
      redirect: 'manual',
      signal: request.signal,
    });
    return {
      status: response.status,
      statusText: response.statusText,
      header: (name) => response.headers.get(name) ?? undefined,
      read: (limit) => readCapped(response, limit),
      discard() {
        response.body?.cancel().catch(() => {});
      },
    };
  };
}

async function readCapped(response: Response, limit: number): Promise<Buffer | undefined> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    await response.body?.cancel().catch(() => {});
    return undefined;
  }
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

/** A part of a `multipart/form-data` body: a text field, or a file with its name. */
export type FormPart =
  | { readonly name: string; readonly value: string }
  | { readonly name: string; readonly fileName: string; readonly content: Buffer };

/**
 * Encodes `multipart/form-data` as browsers and undici do (quotes and line breaks in names escaped
 * as %22, %0D, %0A), except that text values are sent byte for byte. The boundary is random and
 * checked not to occur in any part.
 */
export function encodeForm(parts: readonly FormPart[]): { contentType: string; body: Buffer } {
  const quoteSafe = (s: string) => s.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const bodies = parts.map((p) => ('content' in p ? p.content : Buffer.from(p.value)));
  let boundary: string;
  do {
    boundary = `----oxvcs${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  } while (bodies.some((b) => b.includes(boundary)));
  const chunks: Buffer[] = [];
  parts.forEach((part, i) => {
    const head =
      'fileName' in part
        ? `content-disposition: form-data; name="${quoteSafe(part.name)}"; filename="${quoteSafe(part.fileName)}"\r\ncontent-type: application/octet-stream`
        : `content-disposition: form-data; name="${quoteSafe(part.name)}"`;
    chunks.push(Buffer.from(`--${boundary}\r\n${head}\r\n\r\n`), bodies[i] as Buffer, Buffer.from('\r\n'));
  });
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}
