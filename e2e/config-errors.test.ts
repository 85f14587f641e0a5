import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './helpers.js';

// A remote that can never answer usefully, however long one waits, is a setting to fix: the
// command fails (exit 1) naming the cause, and nothing is queued.

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

let world: World;
const servers: Array<{ close(): unknown }> = [];
const listen = (server: Server | ReturnType<typeof createHttpsServer>) =>
  new Promise<number>((resolve) => {
    servers.push(server);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
beforeAll(async () => {
  world = await createWorld();
});
afterAll(async () => {
  for (const s of servers) s.close();
  await world.close();
});

async function nothingQueued(dir: string) {
  const status = JSON.parse((await world.run(['queue', 'status', '--json'], { cwd: dir })).stdout);
  expect(status.entries).toEqual([]);
}

describe('a remote that is misconfigured, not offline', () => {
  it.skipIf(!hasOpenssl)(
    'a self-signed certificate: lock acquire exits 1 naming the certificate, and queues nothing',
    async () => {
      const dir = await world.project('tls');
      const keys = mkdtempSync(join(tmpdir(), 'oxvcs-tls-'));
      try {
        execFileSync(
          'openssl',
          [
            'req',
            '-x509',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-days',
            '1',
            '-subj',
            '/CN=127.0.0.1',
            '-keyout',
            join(keys, 'key.pem'),
            '-out',
            join(keys, 'cert.pem'),
          ],
          { stdio: 'ignore' },
        );
        const server = createHttpsServer(
          { key: readFileSync(join(keys, 'key.pem')), cert: readFileSync(join(keys, 'cert.pem')) },
          (_req, res) => res.end('{"status":"success"}'),
        );
        const port = await listen(server);
        const remote = `https://127.0.0.1:${port}/e2e/tls`;
        const acquire = await world.run(['lock', 'acquire', '--remote', remote], { cwd: dir });
        expect(acquire.code, acquire.stderr).toBe(1);
        expect(acquire.stderr).toMatch(/certificate this machine does not trust \(\w+\)/);
        expect(acquire.stderr.trim().split('\n')).toHaveLength(1);
        await nothingQueued(dir);
      } finally {
        rmSync(keys, { recursive: true, force: true });
      }
    },
  );

  it('response headers too large to read: exit 1 naming them, nothing queued', async () => {
    const dir = await world.project('headers');
    const server = createTcpServer((socket) => {
      socket.on('data', () => {
        socket.end(
          `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: ${'x'.repeat(256 * 1024)}\r\n\r\n{}`,
        );
      });
      socket.on('error', () => {});
    });
    const port = await listen(server);
    const acquire = await world.run(['lock', 'acquire', '--remote', `http://127.0.0.1:${port}/e2e/headers`], {
      cwd: dir,
    });
    expect(acquire.code, acquire.stderr).toBe(1);
    expect(acquire.stderr).toMatch(/response headers too large to read/);
    await nothingQueued(dir);
  });
});
