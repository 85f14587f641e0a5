import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeOxenServer } from '@oxvcs/oxen-testkit';
import { classify } from '@oxvcs/retry';
import { afterEach, describe, expect, it } from 'vitest';
import { createOxenHub } from './hub.js';
import { failure } from './test-support/failure.js';
import { nodeTransport } from './transport.js';

// Real servers on loopback: each test starts the ones it needs and closes them after.
const open: Array<{ close(): unknown; closeAllConnections?: () => void }> = [];
afterEach(() => {
  for (const s of open.splice(0)) {
    s.closeAllConnections?.();
    s.close();
  }
});
const listen = <S extends Server | TcpServer>(server: S) =>
  new Promise<string>((resolve) => {
    open.push(server);
    server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as { port: number }).port}`));
  });
/** An http server answering with `handler`, and the requests it saw. */
const serve = async (handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void) => {
  const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }> = [];
  const sockets = new Set<unknown>();
  const server = createServer((req, res) => {
    sockets.add(req.socket);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  const host = await listen(server);
  return { origin: `http://${host}`, seen, connections: () => sockets.size };
};
const patient = { timeoutMs: 120_000 };
const envelope = (extra: object) => JSON.stringify({ status: 'success', ...extra });

describe('nodeTransport against a real loopback server', () => {
  it('reads a body within the bound; one past it is refused without downloading the rest, declared or streamed', async () => {
    let written = 0;
    const { origin } = await serve((req, res) => {
      if (req.url === '/declared') {
        res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) });
        res.write(Buffer.alloc(1024));
        return;
      }
      if (req.url === '/small') return res.end('x'.repeat(1000));
      // Streamed with no length: keeps writing until the client goes away.
      res.writeHead(200);
      const pump = () => {
        while (written < 256 * 1024 * 1024 && !res.destroyed) {
          written += 64 * 1024;
          if (!res.write(Buffer.alloc(64 * 1024))) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const get = (path: string) =>
      nodeTransport({
        method: 'GET',
        url: new URL(`${origin}${path}`),
        headers: {},
        signal: new AbortController().signal,
      });
    expect((await (await get('/small')).read(1000))?.length).toBe(1000);
    expect(await (await get('/declared')).read(1024 * 1024)).toBeUndefined();
    expect(await (await get('/streamed')).read(1024 * 1024)).toBeUndefined();
    // The server stopped well short of its 256 MiB: the client dropped the connection.
    expect(written).toBeLessThan(128 * 1024 * 1024);
  });

  it('an abort during the body rejects the read with the signal’s reason; before the headers, the request', async () => {
    const { origin } = await serve((req, res) => {
      if (req.url === '/stall-body') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial');
      }
      // '/hang': never answers.
    });
    const body = new AbortController();
    const answer = await nodeTransport({
      method: 'GET',
      url: new URL(`${origin}/stall-body`),
      headers: {},
      signal: body.signal,
    });
    const reading = answer.read(1024);
    body.abort(new Error('stop reading'));
    await expect(reading).rejects.toThrow('stop reading');
    const hang = new AbortController();
    const asking = nodeTransport({
      method: 'GET',
      url: new URL(`${origin}/hang`),
      headers: {},
      signal: hang.signal,
    });
    hang.abort();
    await expect(asking).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('keeps one connection for requests in turn; sends the token, an agent that is not an Oxen CLI, and the JSON body', async () => {
    const server = await serve((_req, res) => {
      res.setHeader('oxen-version', '0.54.0');
      res.end(envelope({ oxen_version: '0.54.0', branch: { name: 'b', commit_id: 'c' } }));
    });
    const hub = createOxenHub({ remoteUrl: `${server.origin}/ns/r`, token: 'tok-1', ...patient });
    await hub.version();
    await hub.version();
    await hub.createBranchFromCommit('b', 'c');
    expect(server.connections()).toBe(1);
    const [first, , post] = server.seen;
    expect(first).toMatchObject({ method: 'GET', url: '/api/version' });
    expect(first?.headers).toMatchObject({ authorization: 'Bearer tok-1', 'user-agent': 'oxvcs' });
    expect(post?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(String(post?.body))).toEqual({ new_name: 'b', commit_id: 'c' });
  });
});

describe('the Hub client over its transport: what it kept from fetch', () => {
  it('a same-origin 307 is followed with the same method, body and token; a 302 of a write is REDIRECTED', async () => {
    let status = 307;
    const server = await serve((req, res) => {
      if (req.url === '/api/repos/ns/r/branches') {
        res.writeHead(status, { location: '/api/repos/ns/moved/branches' });
        return res.end();
      }
      res.end(envelope({ branch: { name: 'b', commit_id: 'c' } }));
    });
    const hub = createOxenHub({ remoteUrl: `${server.origin}/ns/r`, token: 'tok-2', ...patient });
    expect(await hub.createBranchFromCommit('b', 'c')).toEqual({ name: 'b', commit_id: 'c' });
    const moved = server.seen[1];
    expect(moved).toMatchObject({ method: 'POST', url: '/api/repos/ns/moved/branches' });
    expect(moved?.headers.authorization).toBe('Bearer tok-2');
    expect(JSON.parse(String(moved?.body))).toEqual({ new_name: 'b', commit_id: 'c' });
    status = 302;
    const error = await failure(hub.createBranchFromCommit('b', 'c'));
    expect(error).toMatchObject({ code: 'REDIRECTED', status: 302 });
    expect(server.seen).toHaveLength(3);
  });

  it('429 with an HTTP-date Retry-After is RATE_LIMITED with the wait in ms', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(429, { 'retry-after': new Date(Date.now() + 60_000).toUTCString() });
      res.end('slow down');
    });
    const error = await failure(createOxenHub({ remoteUrl: `${server.origin}/ns/r`, ...patient }).version());
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryAfterMs).toBeGreaterThan(30_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(61_000);
  });

  it('an upload is multipart/form-data the server parses, the message byte for byte (a line feed stays one)', async () => {
    const server = await startFakeOxenServer();
    try {
      await server.createRepo('ns', 'up');
      const hub = createOxenHub({ remoteUrl: server.repoUrl('ns', 'up'), ...patient });
      const message = 'line one\nline "two"\r\nend';
      const commit = await hub.uploadFile('main', '', 'take.bin', Buffer.from([0, 13, 10, 255]), {
        name: 'Ada',
        email: 'a@x',
        message,
      });
      expect((await hub.getCommit(commit.id)).message).toBe(message);
      const file = await hub.downloadFile('main', 'take.bin');
      expect([...file.content]).toEqual([0, 13, 10, 255]);
    } finally {
      await server.stop();
    }
  });

  it('a caller’s abort rejects with its reason; the deadline with TIMEOUT (transient)', async () => {
    const server = await serve(() => {});
    const controller = new AbortController();
    const hub = createOxenHub({ remoteUrl: `${server.origin}/ns/r`, ...patient });
    const asking = hub.version({ signal: controller.signal });
    controller.abort(new Error('user pressed q'));
    await expect(asking).rejects.toThrow('user pressed q');
    const timed = await failure(
      createOxenHub({ remoteUrl: `${server.origin}/ns/r`, timeoutMs: 200 }).version(),
    );
    expect(timed.code).toBe('TIMEOUT');
    expect(classify(timed).kind).toBe('transient');
  });

  it('oversized response headers are HEADERS_TOO_LARGE (permanent) through node:http and through the fetch seam (undici)', async () => {
    const host = await listen(
      createTcpServer((socket) => {
        socket.on('data', () =>
          socket.end(`HTTP/1.1 200 OK\r\nX-Padding: ${'x'.repeat(256 * 1024)}\r\n\r\n{}`),
        );
        socket.on('error', () => {});
      }),
    );
    for (const options of [{}, { fetch }]) {
      const error = await failure(
        createOxenHub({ remoteUrl: `http://${host}/ns/r`, ...patient, ...options }).version(),
      );
      expect(error.code).toBe('HEADERS_TOO_LARGE');
      expect(error.message).toMatch(/HPE_HEADER_OVERFLOW|UND_ERR_HEADERS_OVERFLOW/);
      expect(classify(error).kind).toBe('permanent');
    }
  });

  const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
  it.skipIf(!hasOpenssl)(
    'a self-signed certificate is TLS_FAILED (permanent) naming its code, through node:https and the fetch seam',
    async () => {
      const keys = mkdtempSync(join(tmpdir(), 'oxvcs-tls-'));
      try {
        execFileSync(
          'openssl',
          ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'].concat([
            '-keyout',
            join(keys, 'key.pem'),
            '-out',
            join(keys, 'cert.pem'),
          ]),
          { stdio: 'ignore' },
        );
        const server = createHttpsServer(
          { key: readFileSync(join(keys, 'key.pem')), cert: readFileSync(join(keys, 'cert.pem')) },
          (_req, res) => res.end(envelope({ oxen_version: '0.54.0' })),
        );
        const host = await listen(server);
        for (const options of [{}, { fetch }]) {
          const error = await failure(
            createOxenHub({ remoteUrl: `https://${host}/ns/r`, ...patient, ...options }).version(),
          );
          expect(error.code).toBe('TLS_FAILED');
          expect(error.message).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
          expect(classify(error).kind).toBe('permanent');
        }
      } finally {
        rmSync(keys, { recursive: true, force: true });
      }
    },
  );
});
