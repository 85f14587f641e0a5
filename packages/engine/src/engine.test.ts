import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createTestWorld, type FakeOxenEnv, type FakeOxenServer, type TestWorld } from '@oxvcs/oxen-testkit';
import { createQueue } from '@oxvcs/queue';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEngine } from './engine.js';
import { RULES } from './operations/index.js';
import type { EngineEvent } from './types.js';

let server: FakeOxenServer;
let env: FakeOxenEnv;
let world: TestWorld;
let n = 0;
let dir: string;
let home: string;
const events: EngineEvent[] = [];
const engineFor = (holder = 'ada@laptop', homeDir = home) =>
  createEngine({
    cwd: dir,
    env: world.vars({ home: homeDir, holder: holder, extra: { OXENVCS_RETRY_MAX_RETRIES: '1' } }),
    onEvent: (e) => events.push(e),
  });

beforeAll(async () => {
  world = await createTestWorld();
  ({ server, env } = world);
});
afterAll(async () => {
  await world.close();
});
beforeEach(async () => {
  await server.faults.clear();
  const name = `e${++n}`;
  dir = await world.project(name);
  home = world.folder('home');
  events.length = 0;
});

describe('engine', () => {
  it('offline: lock acquire is queued, not held; back online the next command syncs first, then acts', async () => {
    await server.faults.offline();
    const queued = await engineFor().lockAcquire({ ttlHours: 1 });
    expect(queued.status).toBe('queued');
    if (queued.status === 'queued') expect(queued.reason).toEqual({ code: 'offline' });
    await server.faults.online();
    const status = await engineFor().lockStatus();
    expect(events.some((e) => e.type === 'auto-sync')).toBe(true);
    expect(status.state).toMatchObject({ state: 'held-by-you' });
    expect((await engineFor().queueStatus()).stats).toMatchObject({ pending: 0, done: 1 });
  });

  it('a transient failure that outlasts the retries queues the operation with the same idempotency key', async () => {
    await server.faults.add({ kind: 'error', status: 503, route: '/branches' });
    const outcome = await engineFor().lockAcquire({ ttlHours: 1 });
    expect(outcome.status).toBe('queued');
    expect(
      events.filter((e) => e.type === 'retry' && e.event.type === 'attempt-failed').length,
    ).toBeGreaterThanOrEqual(2);
    await server.faults.clear();
    const sync = await engineFor().sync();
    expect(sync.summary).toMatchObject({ done: 1, failed: 0 });
  });

  it('push refuses to run under a lock we no longer hold (fencing token)', async () => {
    const ada = engineFor();
    const grant = await ada.lockAcquire({ ttlHours: 1 });
    expect(grant.status).toBe('done');
    const bobHome = world.folder('bob');
    try {
      const bob = engineFor('bob@studio', bobHome);
      await bob.lockBreak({ force: true, reason: 'deadline' });
      writeFileSync(join(dir, 'mix.wav'), 'new mix');
      await env.oxen(['add', 'mix.wav'], dir);
      await env.oxen(['commit', '-m', 'mix'], dir);
      await expect(ada.push()).rejects.toMatchObject({ code: 'STALE_TOKEN' });
      await bob.lockAcquire({ ttlHours: 1 });
      await expect(engineFor().push()).rejects.toMatchObject({ code: 'HELD', holder: 'bob@studio' });
    } finally {
      rmSync(bobHome, { recursive: true, force: true });
    }
  });

  it('nested keys: a folder someone holds blocks a push of the whole project; a project lock blocks a folder lock', async () => {
    mkdirSync(join(dir, 'Song.logicx'));
    const bobHome = world.folder('bob');
    try {
      const bobOn = (project?: string) =>
        createEngine({
          cwd: dir,
          ...(project ? { project } : {}),
          env: {
            ...env.env,
            OXENVCS_HOME: bobHome,
            OXENVCS_HOLDER: 'bob@studio',
            OXENVCS_RETRY_MAX_RETRIES: '0',
          },
        });
      expect((await bobOn('Song.logicx').lockAcquire({ ttlHours: 1 })).status).toBe('done');
      writeFileSync(join(dir, 'mix.wav'), 'new mix');
      await env.oxen(['add', 'mix.wav'], dir);
      await env.oxen(['commit', '-m', 'mix'], dir);
      await expect(engineFor().push()).rejects.toMatchObject({
        code: 'HELD',
        holder: 'bob@studio',
        heldKey: 'song.logicx',
      });
      await expect(engineFor().lockAcquire({ ttlHours: 1 })).rejects.toMatchObject({ code: 'HELD' });
    } finally {
      rmSync(bobHome, { recursive: true, force: true });
    }
  });

  it('canonical keys: --project must be a folder inside the repository; case, accents and symlinks name one key', async () => {
    mkdirSync(join(dir, 'Caf\u00e9 Song.logicx'));
    symlinkSync(join(dir, 'Caf\u00e9 Song.logicx'), join(dir, 'link.logicx'));
    const keyOf = async (project: string) =>
      (
        await createEngine({
          cwd: dir,
          project,
          env: { ...env.env, OXENVCS_HOME: home, OXENVCS_HOLDER: 'ada@laptop' },
        }).lockStatus()
      ).project.key;
    const canonical = await keyOf('Caf\u00e9 Song.logicx');
    expect(canonical).toBe('caf\u00e9 song.logicx');
    expect(await keyOf('link.logicx')).toBe(canonical);
    if (existsSync(join(dir, 'CAF\u00c9 SONG.LOGICX')))
      expect(await keyOf('CAF\u00c9 SONG.LOGICX')).toBe(canonical);
    await expect(keyOf('README.md')).rejects.toMatchObject({ name: 'EngineError', code: 'INVALID_INPUT' });
    // Above the repository is outside it: bad input.
    await expect(keyOf('..')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    // A folder this copy lacks can be looked at (someone else's lock), not locked.
    expect(await keyOf('No Such.logicx')).toBe('no such.logicx');
    await expect(
      createEngine({
        cwd: dir,
        project: 'No Such.logicx',
        env: { ...env.env, OXENVCS_HOME: home, OXENVCS_HOLDER: 'ada@laptop' },
      }).lockAcquire({ ttlHours: 1 }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('queued push and pull run in the project’s own directory, whatever the sync’s cwd', async () => {
    await server.faults.offline();
    writeFileSync(join(dir, 'take.wav'), 'take');
    await env.oxen(['add', 'take.wav'], dir);
    await env.oxen(['commit', '-m', 'take'], dir);
    expect((await engineFor().push()).status).toBe('queued');
    await server.faults.online();
    const elsewhere = createEngine({
      cwd: tmpdir(),
      env: { ...env.env, OXENVCS_HOME: home, OXENVCS_HOLDER: 'ada@laptop' },
    });
    const sync = await elsewhere.queueStatus();
    expect(sync.entries[0]?.operation.projectDir).toBe(dir);
    const result = await engineFor().sync();
    expect(result.summary).toMatchObject({ done: 1 });
    const head = server.repo('ns', `e${n}`)!.branches.main;
    const [local] = (await env.oxen(['log', '-n', '1'], dir)).stdout.match(/[0-9a-f]{32}/) ?? [];
    expect(head).toBe(local);
  });

  it('a dry run shows what would happen, in the order it was typed, without running anything', async () => {
    await server.faults.offline();
    const e = engineFor();
    await e.pull();
    await e.lockAcquire({ ttlHours: 1 });
    const preview = await e.sync({ dryRun: true });
    expect(preview.preview?.map((s) => [s.entry.operation.kind, s.action])).toEqual([
      ['pull', 'run'],
      ['acquire-lock', 'run'],
    ]);
    expect((await e.queueStatus()).stats.pending).toBe(2);
  });
});

describe('bounded, scoped online commands (issue 14 §4, issue 15)', () => {
  it('auto-sync replays only this project’s entries: another project’s dead remote costs nothing', async () => {
    const other = world.folder('other');
    // Dead as a hung host is: it takes connections and never answers, so touching it would cost the
    // whole health-check bound (120 s here), far beyond what a busy machine adds to a lock.
    const dead = createServer(() => {});
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    await createQueue({ file: join(home, 'queue.json'), rules: RULES }).enqueue({
      operation: {
        kind: 'pull',
        projectDir: other,
        remote: `http://127.0.0.1:${(dead.address() as AddressInfo).port}/dead/remote`,
        branch: 'main',
      },
    });
    const started = Date.now();
    try {
      expect((await engineFor().lockAcquire({ ttlHours: 1 })).status).toBe('done');
    } finally {
      dead.close();
    }
    expect(Date.now() - started).toBeLessThan(60_000);
    const status = await engineFor().queueStatus({ allProjects: true });
    const waiting = status.entries.find((e) => e.operation.projectDir === other);
    expect((await engineFor().queueStatus()).others).toBe(1);
    expect(waiting).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('lock list and lock break check connectivity first: offline is one quick OFFLINE error', async () => {
    await server.faults.offline();
    const started = Date.now();
    // The code and the facts an app words it from; the engine's message names no command.
    const origin = new URL(world.remote(basename(dir))).origin;
    const list = await engineFor()
      .lockList()
      .catch((error: unknown) => error as Error & Record<string, unknown>);
    expect(list).toMatchObject({
      code: 'OFFLINE',
      origin,
      operation: 'lock-list',
      connectivity: { code: 'unreachable', origin, errno: 'ECONNREFUSED' },
    });
    expect((list as Error).message).not.toMatch(/oxenvcs|try again/);
    await expect(engineFor().lockBreak({ force: true })).rejects.toMatchObject({ code: 'OFFLINE' });
    // A refused connection answers at once: far below the health-check bound (120 s here).
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('a heartbeat started offline keeps the cached lease in jeopardy and renews once the remote is back', async () => {
    expect((await engineFor().lockAcquire({ ttlHours: 1 })).status).toBe('done');
    await server.faults.offline();
    const states: string[] = [];
    const controller = new AbortController();
    const e = createEngine({
      cwd: dir,
      env: {
        ...env.env,
        OXENVCS_HOME: home,
        OXENVCS_HOLDER: 'ada@laptop',
        // Offline is a closed port (refused at once): no short bound needed to see jeopardy.
        OXENVCS_CONNECTIVITY_TIMEOUT_MS: '120000',
        OXENVCS_CONNECTIVITY_REQUEST_TIMEOUT_MS: '600000',
        OXENVCS_LOCK_HEARTBEAT_INTERVAL_SECONDS: '0.3',
      },
      onEvent: (event) => {
        if (event.type === 'heartbeat') states.push(event.event.type);
      },
    });
    const done = e.heartbeat({ signal: controller.signal });
    await vi.waitFor(() => expect(states).toContain('jeopardy'));
    await server.faults.online();
    await vi.waitFor(() => expect(states).toContain('renewed'));
    controller.abort();
    expect(await done).toBe('stopped');
  });

  it('a background keep-alive that cannot start (the lock was broken) leaves its reason for `lock status`, not a healthy note', async () => {
    expect((await engineFor().lockAcquire({ ttlHours: 1 })).status).toBe('done');
    // Started for the lease (its note written by the command that started it, as
    // `lock acquire --keep-alive` does), but by the time it runs, Bob broke and took the lock.
    await engineFor().markKeepAlive(process.pid);
    expect((await engineFor('bob@studio', world.folder('bob')).lockBreak({ force: true })).broken).toBe(true);
    await expect(engineFor().heartbeat({ signal: new AbortController().signal })).rejects.toMatchObject({
      code: 'NOT_HOLDER',
    });
    const status = await engineFor().lockStatus();
    expect(status.heartbeat).toMatchObject({ state: 'lost', pid: process.pid });
    expect(status.heartbeat?.reason).toMatch(/nothing to keep alive/);
  });
});

describe('a queued acquire waits its turn in line (issue 22 §1)', () => {
  const others: string[] = [];
  afterAll(() => {
    for (const h of others) rmSync(h, { recursive: true, force: true });
  });

  it('offline, Ada’s acquire is queued while Bob holds the lock; replayed, it joins the line and stays pending (not failed); Carol cannot jump it; after Bob’s release the next sync grants it to Ada', async () => {
    const homeOf = () => {
      const h = world.folder('wait');
      others.push(h);
      return h;
    };
    const [bobHome, carolHome] = [homeOf(), homeOf()];
    const ada = () => engineFor();
    const bob = () => engineFor('bob@studio', bobHome);
    const carol = () => engineFor('carol@mac', carolHome);
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
