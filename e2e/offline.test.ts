import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RULES } from '@oxvcs/engine';
import { createQueue } from '@oxvcs/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, json, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

describe('1. offline: acquire, push and renew queued; back online; sync', () => {
  it('runs everything in order, holds the lock, and does not replay the renew after its lease window', async () => {
    const dir = await world.project('offline');
    // A lease we hold now, whose renewal will be queued and then outlive its window.
    expect((await world.run(['lock', 'acquire', '--timeout', '1'], { cwd: dir })).code).toBe(0);
    await world.server.faults.offline();
    const renew = await world.run(['lock', 'renew', '--json'], { cwd: dir });
    expect(renew.code).toBe(75);
    const acquire = await world.run(['lock', 'acquire', '--timeout', '2', '--json'], { cwd: dir });
    expect(acquire.code).toBe(75);
    expect(json(acquire)).toMatchObject({ ok: true, status: 'queued' });
    writeFileSync(join(dir, 'Vocals.wav'), 'take 3');
    await world.env.oxen(['add', 'Vocals.wav'], dir);
    await world.env.oxen(['commit', '-m', 'vocals take 3'], dir);
    expect((await world.run(['push'], { cwd: dir })).code).toBe(75);
    // Time passes beyond the lease the queued renew would extend (moved on the entry itself, so
    // the test waits for no clock).
    const queue = createQueue({ file: join(world.home('ada'), 'queue.json'), rules: RULES });
    await queue.transact((entries) => {
      for (const e of entries) {
        if (e.operation.kind === 'renew-lock')
          Object.assign(e, { expiresAt: new Date(Date.now() - 1000).toISOString() });
      }
    });
    await world.server.faults.online();
    world.server.clearRequests();

    const sync = await world.run(['queue', 'sync', '--json'], { cwd: dir });
    // The renewal did not happen (its lease had ended): an expired entry is told, exit 1 and
    // `ok: false`, as a failed one is; the rest ran.
    expect(sync.code).toBe(1);
    expect(json(sync)).toMatchObject({ ok: false });
    expect(json(sync).summary).toMatchObject({ done: 2, expired: 1, failed: 0, remaining: 0 });
    const entries = json(await world.run(['queue', 'status', '--json'], { cwd: dir })).entries as Array<{
      kind: string;
      status: string;
    }>;
    expect(Object.fromEntries(entries.map((e) => [e.kind, e.status]))).toEqual({
      'acquire-lock': 'done',
      push: 'done',
      'renew-lock': 'expired',
    });
    // Right order on the server: the lock was claimed before the push moved main.
    const log = world.server.requests;
    const claim = log.findIndex((r) => r.route === 'POST /api/repos/:ns/:repo/branches' && r.status === 200);
    const push = log.findIndex((r) => r.method === 'PUT' && r.path.endsWith('/branches/main'));
    expect(claim).toBeGreaterThanOrEqual(0);
    expect(push).toBeGreaterThan(claim);
    const status = json(await world.run(['lock', 'status', '--json'], { cwd: dir }));
    expect(status.lock).toMatchObject({ state: 'held-by-you' });
    const [head] = (await world.env.oxen(['log', '-n', '1'], dir)).stdout.match(/[0-9a-f]{32}/) ?? [];
    expect(world.server.repo('e2e', 'offline')!.branches.main).toBe(head);
  });
});

describe('1b. the same pull typed three times offline', () => {
  it('is queued once: each command exits 75 and replaces the one before, and the sync pulls once', async () => {
    const dir = await world.project('offline-pulls');
    await world.server.faults.offline();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await world.run(['pull', '--json'], { cwd: dir });
      expect(r.code).toBe(75);
      const body = json(r) as { entry: { shortId: string }; replaces?: { shortId: string } };
      if (i > 0) expect(body.replaces?.shortId).toBe(ids.at(-1));
      ids.push(body.entry.shortId);
    }
    expect(new Set(ids).size).toBe(3);
    const human = await world.run(['pull'], { cwd: dir });
    expect(human.code).toBe(75);
    expect(human.stdout).toContain(`Replaces the same pull queued before (${ids[2]}): it runs once`);
    const status = json(await world.run(['queue', 'status', '--json'], { cwd: dir }));
    expect((status.entries as Array<{ status: string }>).filter((e) => e.status === 'pending')).toHaveLength(
      1,
    );
    await world.server.faults.online();
    const sync = await world.run(['queue', 'sync', '--json'], { cwd: dir });
    expect(json(sync).summary).toMatchObject({ done: 1, failed: 0, remaining: 0 });
  });
});

describe('1c. a long queue', () => {
  it('queue status lists the first 50 pending in run order and says how many more; --all and --json list every one', async () => {
    const dir = await world.project('long-queue');
    const remote = world.server.repoUrl('e2e', 'long-queue');
    const queue = createQueue({ file: join(world.home('ada'), 'queue.json'), rules: RULES });
    for (let i = 0; i < 60; i++)
      await queue.enqueue({ operation: { kind: 'pull', projectDir: dir, remote, branch: `b${i}` } });
    const page = await world.run(['queue', 'status'], { cwd: dir });
    expect(page.code).toBe(0);
    expect(page.stdout).toContain('Pending: 60');
    expect(page.stdout).toContain('  50. Pull b49 of');
    expect(page.stdout).not.toContain('  51. ');
    expect(page.stdout).toContain('… and 10 more pending (`oxenvcs queue status --all` lists every one)');
    const all = await world.run(['queue', 'status', '--all'], { cwd: dir });
    expect(all.stdout).toContain('  60. Pull b59 of');
    expect(all.stdout).not.toContain('more pending');
    const body = json(await world.run(['queue', 'status', '--json'], { cwd: dir }));
    expect(body.entries).toHaveLength(60);
    await queue.clearAll();
  });
});

describe('1d. an entry left running by a process that is gone', () => {
  it('queue status says it was interrupted and what the next sync does, not that it runs', async () => {
    const dir = await world.project('left-running');
    const remote = world.server.repoUrl('e2e', 'left-running');
    const queue = createQueue({ file: join(world.home('ada'), 'queue.json'), rules: RULES });
    const { entry } = await queue.enqueue({
      operation: { kind: 'pull', projectDir: dir, remote, branch: 'main' },
    });
    // A process that has ended: its pid names nobody now.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    await queue.transact((entries) => {
      const e = entries.find((x) => x.id === entry.id)!;
      e.status = 'running';
      e.runner = { pid: Number(gone.stdout), since: new Date().toISOString() };
    });
    const status = await world.run(['queue', 'status'], { cwd: dir });
    expect(status.stdout).toContain('[interrupted: the next sync checks the remote, then replays it]');
    expect(status.stdout).not.toContain('[running]');
    const sync = await world.run(['queue', 'sync', '--json'], { cwd: dir });
    expect(json(sync).summary).toMatchObject({ done: 1, remaining: 0 });
  });
});
