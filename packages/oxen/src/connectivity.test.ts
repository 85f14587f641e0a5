import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkConnectivity, createConnectivityChecker } from './connectivity.js';

type Mode = 'oxen-503' | 'oxen-401' | 'oxen-429' | 'portal' | 'reset' | 'silent' | 'oxen-ok';
let server: Server | undefined;
const sockets = new Set<Socket>();

async function serve(mode: Mode): Promise<string> {
  server = createServer((req, res) => {
    if (mode === 'silent') return;
    if (mode === 'reset') {
      req.socket.destroy();
      return;
    }
    if (mode === 'portal') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>Sign in to Café Wi-Fi</html>');
      return;
    }
    const code = mode === 'oxen-503' ? 503 : mode === 'oxen-401' ? 401 : mode === 'oxen-429' ? 429 : 200;
    const extra: Record<string, string> = mode === 'oxen-429' ? { 'retry-after': '5' } : {};
    res.writeHead(code, { 'oxen-version': '0.54.0', 'content-type': 'application/json', ...extra }).end('{}');
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/ns/repo`;
}

afterEach(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

describe('checkConnectivity against a real loopback server', () => {
  it('any Oxen answer is online, even a 503', async () => {
    expect((await checkConnectivity(await serve('oxen-503'))).state).toBe('online');
  });

  it('a 429 with Retry-After (the server is busy, not gone) is online', async () => {
    const result = await checkConnectivity(await serve('oxen-429'));
    expect(result).toMatchObject({ state: 'online', serverVersion: '0.54.0' });
    expect(result.reason).toMatchObject({ code: 'oxen-answered', status: 429 });
  });

  it('a 401 from an auth-guarded server is online', async () => {
    expect((await checkConnectivity(await serve('oxen-401'))).state).toBe('online');
  });

  it('a captive portal answer is unknown', async () => {
    const result = await checkConnectivity(await serve('portal'));
    expect(result.state).toBe('unknown');
    expect(result.reason).toMatchObject({ code: 'not-oxen', status: 200 });
  });

  it('a reset connection is offline', async () => {
    expect((await checkConnectivity(await serve('reset'))).state).toBe('offline');
  });

  it('silence is offline after the timeout', async () => {
    const started = Date.now();
    const result = await checkConnectivity(await serve('silent'), { timeoutMs: 300 });
    expect(result.state).toBe('offline');
    expect(result.reason).toMatchObject({ code: 'timeout', timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a refused port is offline', async () => {
    const url = await serve('oxen-ok');
    await new Promise((r) => server!.close(r));
    server = undefined;
    const result = await checkConnectivity(url);
    expect(result).toMatchObject({ state: 'offline' });
    expect(result.reason).toMatchObject({ code: 'unreachable', errno: 'ECONNREFUSED' });
  });

  it('a malformed URL is unknown with a reason naming it', async () => {
    expect(await checkConnectivity('not a url')).toMatchObject({
      state: 'unknown',
      reason: { code: 'invalid-url', url: 'not a url' },
    });
  });

  it('a malformed URL with credentials in it is named with them hidden', async () => {
    const result = await checkConnectivity('http://alice:pw-sekrit@[bad/ns/repo');
    expect(result).toMatchObject({ state: 'unknown', reason: { code: 'invalid-url' } });
    expect(JSON.stringify(result)).not.toContain('pw-sekrit');
  });

  it('a hostile oxen-version header (8 KB, a bidi override) is kept short and free of controls', async () => {
    server = createServer((_req, res) => {
      // U+202E's UTF-8 bytes: a header is read as Latin-1, so they arrive as "â", a C1 control, "®".
      res.writeHead(200, { 'oxen-version': `0.54.0\u00e2\u0080\u00ae${'A'.repeat(8000)}` }).end('{}');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const result = await checkConnectivity(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}/ns/repo`,
    );
    expect(result.state).toBe('online');
    const version = result.reason.code === 'oxen-answered' ? result.reason.serverVersion : '';
    expect(version.startsWith('0.54.0')).toBe(true);
    expect(version.length).toBeLessThanOrEqual(40);
    expect(result.serverVersion).toBe(version);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is checked
    expect(version).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('caches a result for the configured time', async () => {
    let now = 1000;
    let calls = 0;
    const checker = createConnectivityChecker(await serve('oxen-ok'), {
      cacheMs: 5000,
      clock: { now: () => now },
      fetch: (input, init) => {
        calls++;
        return fetch(input, init);
      },
    });
    await checker.check();
    await checker.check();
    expect(calls).toBe(1);
    now += 6000;
    expect((await checker.check()).state).toBe('online');
    expect(calls).toBe(2);
  });
});
