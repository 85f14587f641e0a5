import { createServer, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

// Preloaded: says at exit whether the process loaded Node's undici (what fetch, Request,
// Response, Headers and FormData load on first touch, about 100 ms of CPU).
const probe = `process.on('exit', () => process.stderr.write('UNDICI ' + process.moduleLoadList.some((m) => m.endsWith('internal/deps/undici/undici')) + '\\n'));`;
const NODE_OPTIONS = `--import=data:text/javascript,${encodeURIComponent(probe)}`;

describe('an online lock status stays light (issue 19: ≤ 2.5× bare node plus its round trips)', () => {
  it('talks to the remote over node:http: one request, and undici is never loaded', async () => {
    const dir = await world.project('light');
    expect((await world.run(['lock', 'acquire'], { cwd: dir })).code).toBe(0);
    world.server.clearRequests();
    const status = await world.run(['lock', 'status'], { cwd: dir, env: { NODE_OPTIONS } });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('ada@e2e');
    expect(world.server.requests).toHaveLength(1);
    expect(status.stderr).toContain('UNDICI false');
  });
});

describe('the HTTP transport honours NODE_USE_ENV_PROXY as Node’s fetch does', () => {
  it('with NODE_USE_ENV_PROXY=1 and HTTP_PROXY, lock status goes through the proxy', async () => {
    const dir = await world.project('proxied');
    expect((await world.run(['lock', 'acquire'], { cwd: dir })).code).toBe(0);
    const seen: string[] = [];
    const proxy = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const upstream = request(req.url ?? '', { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = proxy.address() as { port: number };
      const status = await world.run(['lock', 'status'], {
        cwd: dir,
        env: { NODE_USE_ENV_PROXY: '1', HTTP_PROXY: `http://127.0.0.1:${port}`, NO_PROXY: '' },
      });
      expect(status.code, status.stderr).toBe(0);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/api\/repos\/e2e\/proxied\//);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });

  it('a proxy refusing user:password (407, echoing them back) is one line naming the proxy settings, in text and --json: no password, nothing queued', async () => {
    const dir = await world.project('proxy-refuses');
    const proxy = createServer((req, res) => {
      // A proxy that repeats what it was sent: the credentials in the clear, and as sent.
      const body = `Proxy auth failed for puser:pw-sekrit (${req.headers['proxy-authorization'] ?? ''})`;
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="corp"' }).end(body);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = proxy.address() as { port: number };
      const env = {
        NODE_USE_ENV_PROXY: '1',
        HTTP_PROXY: `http://puser:pw-sekrit@127.0.0.1:${port}`,
        HTTPS_PROXY: `http://puser:pw-sekrit@127.0.0.1:${port}`,
        NO_PROXY: '',
      };
      const basic = Buffer.from('puser:pw-sekrit').toString('base64');
      for (const args of [
        ['lock', 'status'],
        ['lock', 'acquire'],
        ['lock', 'acquire', '--json'],
      ]) {
        const r = await world.run(args, { cwd: dir, env });
        expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(1);
        const said = `${r.stdout}${r.stderr}`;
        expect(said).not.toContain('pw-sekrit');
        expect(said).not.toContain(basic);
        expect(said).toContain('HTTPS_PROXY / HTTP_PROXY');
        if (args.includes('--json')) expect(JSON.parse(r.stdout).error.code).toBe('PROXY_AUTH');
        else expect(r.stderr.trim().split('\n')).toHaveLength(1);
      }
      const queue = await world.run(['queue', 'status', '--json'], { cwd: dir });
      expect(JSON.parse(queue.stdout).stats.total).toBe(0);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });
});

describe('the connectivity probe goes over node:http too', () => {
  it('queue sync asks /api/health without loading undici', async () => {
    const dir = await world.project('probe-light');
    world.server.clearRequests();
    const sync = await world.run(['queue', 'sync'], { cwd: dir, env: { NODE_OPTIONS } });
    expect(sync.code, sync.stderr).toBe(0);
    expect(world.server.requests.map((r) => r.path)).toContain('/api/health');
    expect(sync.stderr).toContain('UNDICI false');
  });
});
