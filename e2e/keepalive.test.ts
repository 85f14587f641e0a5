import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning } from '@oxvcs/durable';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLI, createWorld, json, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

/** Running, not a zombie waiting to be reaped (a detached child's parent may never reap it). */
const alive = (pid: number) => isRunning({ pid });

describe('15. a lock that stays alive on its own', () => {
  it('the keep-alive outlives the shell that started it, renews, and stops with the reason when someone breaks the lock', async () => {
    const dir = await world.project('keepalive');
    const env = { ...world.envFor('ada'), OXENVCS_LOCK_HEARTBEAT_INTERVAL_SECONDS: '0.5' };
    // A shell that takes the lock with a keep-alive and then waits, as a terminal would.
    const shell = spawn(
      'sh',
      ['-c', `"${process.execPath}" "${CLI}" lock acquire --keep-alive --timeout 0.02 && sleep 120`],
      { cwd: dir, env, detached: true, stdio: 'ignore' },
    );
    const notes = join(world.home('ada'), 'heartbeats');
    const note = () => {
      const file = readdirSync(notes).find((f) => f.endsWith('.json'));
      return file ? (JSON.parse(readFileSync(join(notes, file), 'utf8')) as Record<string, any>) : undefined;
    };
    await vi.waitFor(() => expect(note()?.state).toBe('healthy'), { interval: 100 });
    const keeper = note()!.pid as number;
    // The terminal goes away: its whole process group is killed.
    process.kill(-shell.pid!, 'SIGKILL');
    const first = note()!.updatedAt as string;
    await vi.waitFor(() => expect(note()!.updatedAt).not.toBe(first), { interval: 100 });
    expect(alive(keeper)).toBe(true);
    const status = json(await world.run(['lock', 'status', '--json'], { cwd: dir }));
    expect(status.lock.state).toBe('held-by-you');
    expect(status.heartbeat).toMatchObject({ state: 'healthy', pid: keeper });
    expect(Date.parse(status.heartbeat.nextRenewalAt)).toBeGreaterThan(
      Date.parse(status.heartbeat.updatedAt),
    );
    expect((await world.run(['lock', 'status'], { cwd: dir })).stdout).toMatch(
      /Heartbeat: healthy \(pid \d+, updated .*, next renewal /,
    );

    // Bob breaks the lock: the keep-alive stops at its next renewal and says why.
    expect(
      (await world.run(['lock', 'break', '--force', '--reason', 'deadline'], { cwd: dir, user: 'bob' })).code,
    ).toBe(0);
    await vi.waitFor(() => expect(note()!.state).toBe('lost'), { interval: 100 });
    await vi.waitFor(() => expect(alive(keeper)).toBe(false), { interval: 100 });
    const after = await world.run(['lock', 'status'], { cwd: dir });
    expect(after.stdout).toMatch(/Keep-alive stopped: .*broken by bob@e2e: deadline/);
    // Said once: the next status, and those of later leases, do not repeat it.
    expect((await world.run(['lock', 'status'], { cwd: dir })).stdout).not.toContain('Keep-alive stopped');
    expect((await world.run(['lock', 'acquire'], { cwd: dir })).code).toBe(0);
    expect((await world.run(['lock', 'status'], { cwd: dir })).stdout).not.toContain('Keep-alive stopped');
  });

  it('a lock broken and taken at once by someone else: the next status says the lease was broken', async () => {
    const dir = await world.project('keepalive-taken');
    expect((await world.run(['lock', 'acquire'], { cwd: dir })).code).toBe(0);
    expect((await world.run(['lock', 'break', '--force'], { cwd: dir, user: 'bob' })).code).toBe(0);
    expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'bob' })).code).toBe(0);
    const status = await world.run(['lock', 'status'], { cwd: dir });
    expect(status.stdout).toMatch(/bob@e2e holds it now, so your lease was broken: do not edit the project/);
  });

  it('lock release stops the keep-alive; lock heartbeat --stop stops it explicitly', async () => {
    const dir = await world.project('keepalive2');
    const env = { OXENVCS_LOCK_HEARTBEAT_INTERVAL_SECONDS: '0.5' };
    const acquired = json(await world.run(['lock', 'acquire', '--keep-alive', '--json'], { cwd: dir, env }));
    expect(acquired.keepAlive).toMatchObject({ started: true });
    const pid = acquired.keepAlive.pid as number;
    await vi.waitFor(() => expect(alive(pid)).toBe(true), { interval: 50 });
    const again = json(await world.run(['lock', 'acquire', '--keep-alive', '--json'], { cwd: dir, env }));
    expect(again.keepAlive).toMatchObject({ started: false, pid });
    expect((await world.run(['lock', 'release'], { cwd: dir })).code).toBe(0);
    await vi.waitFor(() => expect(alive(pid)).toBe(false), { interval: 100 });

    const second = json(await world.run(['lock', 'acquire', '--keep-alive', '--json'], { cwd: dir, env }));
    const pid2 = second.keepAlive.pid as number;
    await vi.waitFor(() => expect(alive(pid2)).toBe(true), { interval: 50 });
    const stopped = json(await world.run(['lock', 'heartbeat', '--stop', '--json'], { cwd: dir }));
    expect(stopped).toMatchObject({ stopped: true, pid: pid2 });
    expect(alive(pid2)).toBe(false);
    expect(json(await world.run(['lock', 'status', '--json'], { cwd: dir })).lock.state).toBe('held-by-you');
  });
});
