import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createFakeOxenEnv,
  type FakeOxenEnv,
  type FakeOxenServer,
  startFakeOxenServer,
} from '@oxvcs/oxen-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from './engine.js';

let server: FakeOxenServer;
let env: FakeOxenEnv;
const homes: string[] = [];
beforeAll(async () => {
  server = await startFakeOxenServer();
  env = createFakeOxenEnv();
});
afterAll(async () => {
  await server.stop();
  env.cleanup();
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

describe('a queued acquire waits its turn in line (issue 22 §1)', () => {
  it('offline, Ada’s acquire is queued while Bob holds the lock; replayed, it joins the line and stays pending (not failed); Carol cannot jump it; after Bob’s release the next sync grants it to Ada', async () => {
    await server.createRepo('ns', 'queued-wait');
    const dir = await env.cloneProject('queued-wait', server.repoUrl('ns', 'queued-wait'));
    const engineOf = (holder: string) => {
      const home = mkdtempSync(join(tmpdir(), 'oxvcs-wait-'));
      homes.push(home);
      return () =>
        createEngine({
          cwd: dir,
          env: {
            ...env.env,
            OXENVCS_HOME: home,
            OXENVCS_HOLDER: holder,
            OXENVCS_CONNECTIVITY_CACHE_SECONDS: '0',
            OXENVCS_CONNECTIVITY_TIMEOUT_MS: '120000',
            OXENVCS_CONNECTIVITY_REQUEST_TIMEOUT_MS: '600000',
            OXENVCS_RETRY_MAX_RETRIES: '1',
            OXENVCS_RETRY_INITIAL_BACKOFF_MS: '10',
            OXENVCS_QUEUE_AUTO_SYNC: 'false',
          },
        });
    };
    const ada = engineOf('ada@laptop');
    const bob = engineOf('bob@studio');
    const carol = engineOf('carol@mac');
    expect((await bob().lockAcquire({ ttlHours: 1 })).status).toBe('done');

    await server.faults.offline();
    const queued = await ada().lockAcquire({ ttlHours: 1 });
    expect(queued.status).toBe('queued');
    await server.faults.clear();

    const first = await ada().sync();
    expect(first.summary).toMatchObject({ failed: 0 });
    const [entry] = await ada().queue.list();
    expect(entry).toMatchObject({
      status: 'pending',
      operation: { kind: 'acquire-lock', waitInLine: true },
      lastError: { code: 'WAITING' },
    });
    // Everyone sees Ada in line, the holder included.
    const seen = await bob().lockStatus();
    expect(seen.state?.waiters?.map((w) => [w.holder, w.position])).toEqual([['ada@laptop', 1]]);

    expect((await bob().lockRelease()).status).toBe('done');
    // Free, but Ada is first in line: a plain acquire does not jump it.
    await expect(carol().lockAcquire({ ttlHours: 1 })).rejects.toMatchObject({ code: 'HELD', inLine: true });

    // The entry's look-again time passes (90 s; here made due at once), and the next sync grants it.
    await ada().queue.transact((entries) => {
      for (const e of entries) delete e.notBefore;
    });
    const second = await ada().sync();
    expect(second.summary).toMatchObject({ done: 1, failed: 0 });
    const status = await ada().lockStatus();
    expect(status.state).toMatchObject({ state: 'held-by-you' });
    expect(status.state?.waiters).toBeUndefined();
  });
});
