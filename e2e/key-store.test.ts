import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type FakeOxenServer, startFakeOxenServer } from '@oxvcs/oxen-testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';

// A library user's service takes a lock, restarts, and gives it back: with `@oxvcs/locks`' file key
// store the second process holds the lease's key. Each step is its own Node process running the
// built package, as a program that depends on it would.

const dist = (name: string) =>
  pathToFileURL(join(import.meta.dirname, `../packages/${name}/dist/index.js`)).href;
const program = (keys: 'file' | 'memory', action: 'acquire' | 'release') => `
import { join } from 'node:path';
import { createLockManager, fileKeyStore, loadMachineId, memoryKeyStore } from '${dist('locks')}';
import { createOxenHub } from '${dist('oxen')}';
const [remoteUrl, state] = process.argv.slice(1);
const locks = createLockManager({
  hub: createOxenHub({ remoteUrl }),
  identity: { holder: 'render-service', machineId: loadMachineId(state) },
  keys: ${keys === 'file' ? "fileKeyStore(join(state, 'lock-keys'))" : 'memoryKeyStore()'},
});
try {
  const result = ${action === 'acquire' ? "await locks.acquire('Song.logicx', { ttlMs: 3_600_000 })" : "await locks.release('Song.logicx')"};
  await locks.idle();
  console.log(JSON.stringify(result));
} catch (error) {
  console.log(JSON.stringify({ code: error.code }));
}
`;

const run = (keys: 'file' | 'memory', action: 'acquire' | 'release', remote: string, state: string) =>
  new Promise<Record<string, any>>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', program(keys, action), remote, state],
      (error, stdout, stderr) =>
        error ? reject(new Error(stderr || error.message)) : resolve(JSON.parse(stdout)),
    );
  });

let server: FakeOxenServer;
let state: string;
beforeAll(async () => {
  server = await startFakeOxenServer();
  state = mkdtempSync(join(tmpdir(), 'oxvcs-keys-'));
});
afterAll(async () => {
  await server.stop();
  rmSync(state, { recursive: true, force: true });
});

it('a lease taken by one process is released by the next with fileKeyStore', async () => {
  await server.createRepo('lib', 'filekeys');
  const remote = server.repoUrl('lib', 'filekeys');
  const home = join(state, 'file');
  const grant = await run('file', 'acquire', remote, home);
  expect(grant).toMatchObject({ key: 'song.logicx', holder: 'render-service' });
  // The key is the user's secret: 0600 in a 0700 folder.
  expect(statSync(join(home, 'lock-keys')).mode & 0o777).toBe(0o700);
  const released = await run('file', 'release', remote, home);
  expect(released).toMatchObject({ released: true });
});

it('with the memory key store the next process cannot release it (why the file store exists)', async () => {
  await server.createRepo('lib', 'memorykeys');
  const remote = server.repoUrl('lib', 'memorykeys');
  const home = join(state, 'memory');
  await run('memory', 'acquire', remote, home);
  expect(await run('memory', 'release', remote, home)).toEqual({ code: 'KEY_LOST' });
});
