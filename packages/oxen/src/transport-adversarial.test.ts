// Adversarial pass over the Hub client's HTTP transport (issue 19): real loopback servers that
// misbehave in the ways a broken proxy, a hostile server or a bad configuration would.
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { classify } from '@oxvcs/retry';
import { afterEach, describe, expect, it } from 'vitest';
import { createOxenHub } from './hub.js';
import { failure } from './test-support/failure.js';

const open: TcpServer[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of open.splice(0)) s.close();
});
/** A raw TCP server on loopback answering every request with `answer(socket)`. */
const raw = (answer: (socket: Socket) => void) =>
  new Promise<string>((resolve) => {
    const server = createTcpServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      socket.once('data', () => answer(socket));
    });
    open.push(server);
    server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as { port: number }).port}`));
  });
const patient = { timeoutMs: 120_000 };
const version = JSON.stringify({ status: 'success', version: '0.54.0' });

describe('transport under attack', () => {
  it('a response header the parser rejects (a bare CR in a value) is a permanent header error, never offline', async () => {
    const host = await raw((socket) =>
      socket.end(`HTTP/1.1 200 OK\r\nX-Bad: a\rb\r\nContent-Length: ${version.length}\r\n\r\n${version}`),
    );
    const error = await failure(createOxenHub({ remoteUrl: `http://${host}/ns/r`, ...patient }).version());
    expect(error.message).toContain('HPE_');
    expect(classify(error).kind).toBe('permanent');
  });

  it('two different Content-Length headers are a permanent header error, never offline', async () => {
    const host = await raw((socket) =>
      socket.end(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`),
    );
    const error = await failure(createOxenHub({ remoteUrl: `http://${host}/ns/r`, ...patient }).version());
    expect(classify(error).kind).toBe('permanent');
  });

  it('a token with a line break is refused as configuration (permanent), never queued as offline, and never echoed', async () => {
    const host = await raw((socket) =>
      socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${version.length}\r\n\r\n${version}`),
    );
    const token = 'sekrit-token\n';
    const error = await failure(
      createOxenHub({ remoteUrl: `http://${host}/ns/r`, token, ...patient }).version(),
    );
    expect(error.message).not.toContain('sekrit');
    expect(classify(error).kind).toBe('permanent');
  });

  it('an error answer too long to read (10 MB) with a 10 KB status line is worded from a bounded, clean reason', async () => {
    // U+202E's UTF-8 bytes in the reason phrase: read as Latin-1, a C1 control among them.
    const reason = `Bad \u00e2\u0080\u00ae${'R'.repeat(10_000)}`;
    const host = await raw((socket) => {
      socket.write(
        Buffer.from(`HTTP/1.1 400 ${reason}\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`, 'latin1'),
      );
      socket.end(Buffer.alloc(64 * 1024, 'B'));
    });
    const error = await failure(createOxenHub({ remoteUrl: `http://${host}/ns/r`, ...patient }).version());
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('Bad');
    expect(error.message.length).toBeLessThan(500);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is checked
    expect(error.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('a server (or a debug page) echoing our token in its error answer: the token never reaches the message or the facts', async () => {
    const token = 'tok-sekrit-42';
    for (const [status, body] of [
      [
        400,
        JSON.stringify({
          status: 'error',
          status_message: `bad ${token}`,
          error: { title: `Bearer ${token} refused`, detail: token },
        }),
      ],
      [502, `<html>Authorization: Bearer ${token}</html>`],
    ] as const) {
      const host = await raw((socket) =>
        socket.end(
          `HTTP/1.1 ${status} Echo ${token}\r\nx-oxen-request-id: ${token}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        ),
      );
      const error = await failure(
        createOxenHub({ remoteUrl: `http://${host}/ns/r`, token, ...patient }).version(),
      );
      expect(error.status).toBe(status);
      expect(JSON.stringify({ ...error, message: error.message })).not.toContain(token);
      expect(error.message).toContain('***');
    }
  });

  it('a redirect to a 10 KB path outside the API is REDIRECTED with the path bounded', async () => {
    const host = await raw((socket) =>
      socket.end(
        `HTTP/1.1 302 Found\r\nLocation: /elsewhere/${'p'.repeat(10_000)}\r\nContent-Length: 0\r\n\r\n`,
      ),
    );
    const error = await failure(createOxenHub({ remoteUrl: `http://${host}/ns/r`, ...patient }).version());
    expect(error.code).toBe('REDIRECTED');
    expect(error.message).toContain('/elsewhere/ppp');
    expect(error.message.length).toBeLessThan(600);
  });

  it('a 101 answer to a plain request is a permanent protocol error at once (it never settled: a CLI exited 13, silently)', async () => {
    const host = await raw((socket) =>
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
    );
    const error = await failure(createOxenHub({ remoteUrl: `http://${host}/ns/r`, ...patient }).version());
    expect(error.code).toBe('PROTOCOL_ERROR');
    expect(classify(error).kind).toBe('permanent');
  });

  it('a proxy URL with user:password (NODE_USE_ENV_PROXY) never reaches the message, and its 407 is PROXY_AUTH (never offline), over http and https', async () => {
    // A proxy that echoes what it was sent in its refusal: its body is never the message.
    const refusal = 'Proxy-Authorization: Basic dXNlcjpwdy1zZWtyaXQ= (user:pw-sekrit) refused';
    const proxy = await raw((socket) =>
      socket.end(
        `HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: ${refusal.length}\r\n\r\n${refusal}`,
      ),
    );
    const saved = { ...process.env };
    Object.assign(process.env, {
      NODE_USE_ENV_PROXY: '1',
      HTTPS_PROXY: `http://user:pw-sekrit@${proxy}`,
      HTTP_PROXY: `http://user:pw-sekrit@${proxy}`,
      NO_PROXY: '',
    });
    try {
      for (const remoteUrl of ['https://127.0.0.1:9/ns/r', 'http://127.0.0.1:9/ns/r']) {
        const error = await failure(createOxenHub({ remoteUrl, ...patient }).version());
        const said = JSON.stringify({
          message: error.message,
          cause: String(error.cause),
          stack: error.stack,
        });
        expect(said).not.toContain('pw-sekrit');
        expect(said).not.toContain('dXNlcjpwdy1zZWtyaXQ');
        // 407 is the proxy refusing our configuration, whether it answers a plain http request
        // (it forwards those itself) or refuses the https tunnel: the same code and remedy.
        expect(error.code, remoteUrl).toBe('PROXY_AUTH');
        expect(error.message).toContain('HTTPS_PROXY / HTTP_PROXY');
        expect(classify(error).kind, `${remoteUrl}: ${error.code}`).not.toBe('transient');
      }
    } finally {
      process.env = saved;
    }
  });
});
