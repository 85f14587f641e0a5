import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { isRunning } from '@oxvcs/durable';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLI, createWorld, json, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

/** Whether a process runs (a zombie waiting to be reaped does not). */
const alive = (pid: number) => isRunning({ pid });

/**
 * Starts the built CLI with the fake oxen told to stop at `point` (`push-upload`, before the first
 * file goes up; `pull-download`, before the first comes down), waits until oxen is there, sends
 * Ctrl-C's SIGINT to the CLI, and resolves to what it printed and its exit status as a shell shows
 * it (128 + the signal when the signal ended it).
 */
async function interruptAt(args: string[], cwd: string, point: 'push-upload' | 'pull-download') {
  const gate = join(world.home('ada'), `gate-${point}-${Date.now()}`);
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...world.envFor('ada'), OXEN_FAKE_PAUSE_AT: point, OXEN_FAKE_PAUSE_FILE: gate },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => {
    stdout += c;
  });
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0))),
  );
  await vi.waitFor(() => expect(existsSync(`${gate}.waiting`)).toBe(true), { interval: 20 });
  const oxen = (JSON.parse(readFileSync(`${gate}.waiting`, 'utf8')) as { pid: number }).pid;
  child.kill('SIGINT');
  const status = await exited;
  return { status, stdout, stderr, oxen };
}

/** A committed take (a new file), ready to push. */
async function commitTake(dir: string, name: string) {
  writeFileSync(join(dir, name), `audio of ${name}`);
  await world.env.oxen(['add', name], dir);
  await world.env.oxen(['commit', '-m', `add ${name}`], dir);
  const [head] = (await world.env.oxen(['log', '-n', '1'], dir)).stdout.match(/[0-9a-f]{32}/) ?? [];
  return head;
}

describe('Ctrl-C during push, pull and sync says what happened', () => {
  it('push: exit 130, one line saying the remote branch was not moved; oxen is stopped; pushing again works', async () => {
    const dir = await world.project('int-push');
    const before = world.server.repo('e2e', 'int-push')!.branches.main;
    const head = await commitTake(dir, 'Take 1.wav');
    const r = await interruptAt(['push'], dir, 'push-upload');
    expect(r.status).toBe(130);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      '[!] Interrupted: the push was stopped before it finished, so the remote branch was not moved; run `oxenvcs push` again to send it.',
    );
    await vi.waitFor(() => expect(alive(r.oxen)).toBe(false), { interval: 50 });
    expect(world.server.repo('e2e', 'int-push')!.branches.main).toBe(before);
    const again = await world.run(['push'], { cwd: dir });
    expect(again.code).toBe(0);
    expect(world.server.repo('e2e', 'int-push')!.branches.main).toBe(head);
  });

  it('push --json: the one JSON object says INTERRUPTED with exit 130', async () => {
    const dir = await world.project('int-json');
    await commitTake(dir, 'Take 1.wav');
    const r = await interruptAt(['push', '--json'], dir, 'push-upload');
    expect(r.status).toBe(130);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: false,
      exitCode: 130,
      error: { code: 'INTERRUPTED', message: expect.stringContaining('the remote branch was not moved') },
    });
  });

  it('pull: exit 130 and what to do; the copy is left as it was and pulling again completes it', async () => {
    const dir = await world.project('int-pull');
    // Bob's take is on the remote; Ada's pull of it is interrupted.
    const bob = await world.env.cloneProject('int-pull-bob', world.server.repoUrl('e2e', 'int-pull'));
    await commitTake(bob, 'Bass.wav');
    expect((await world.env.oxen(['push', 'origin', 'main'], bob)).code).toBe(0);
    const r = await interruptAt(['pull'], dir, 'pull-download');
    expect(r.status).toBe(130);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      '[!] Interrupted: the pull was stopped before it finished, so your copy may be only partly updated; run `oxenvcs pull` again to complete it.',
    );
    await vi.waitFor(() => expect(alive(r.oxen)).toBe(false), { interval: 50 });
    expect(existsSync(join(dir, 'Bass.wav'))).toBe(false);
    expect((await world.run(['pull'], { cwd: dir })).code).toBe(0);
    expect(readFileSync(join(dir, 'Bass.wav'), 'utf8')).toBe('audio of Bass.wav');
  });

  it('push replaying a queued push first: exit 130, the queued entry named and kept; the next sync sends it', async () => {
    const dir = await world.project('int-replay');
    const head = await commitTake(dir, 'Take 1.wav');
    await world.server.faults.offline();
    const queued = await world.run(['push', '--json'], { cwd: dir });
    expect(queued.code).toBe(75);
    const id = json(queued).entry.shortId as string;
    await world.server.faults.online();
    const r = await interruptAt(['push'], dir, 'push-upload');
    expect(r.status).toBe(130);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      `[!] Interrupted: the queued Push main of int-replay to remote (${id}) was stopped and stays queued (the remote is checked before it runs again); your push did not start.`,
    );
    const sync = await world.run(['queue', 'sync'], { cwd: dir });
    expect(sync.code).toBe(0);
    expect(sync.stderr).toContain('Completed: Push main of int-replay to remote');
    expect(world.server.repo('e2e', 'int-replay')!.branches.main).toBe(head);
  });

  it('queue sync: exit 75, one line naming what was put back; it is pending again, the remote unchanged', async () => {
    const dir = await world.project('int-sync');
    const before = world.server.repo('e2e', 'int-sync')!.branches.main;
    const head = await commitTake(dir, 'Take 1.wav');
    await world.server.faults.offline();
    expect((await world.run(['push', '--json'], { cwd: dir })).code).toBe(75);
    await world.server.faults.online();
    const queued = json(await world.run(['queue', 'status', '--json'], { cwd: dir })).entries[0].shortId;
    const r = await interruptAt(['queue', 'sync'], dir, 'push-upload');
    expect(r.status).toBe(75);
    expect(r.stdout).toContain('Still queued: 1');
    // One line says it (not also the runner's own "cancelled" line).
    expect(r.stderr.trim().split('\n')).toEqual([
      `[!] Interrupted: Push main of int-sync to remote (${queued}) was put back in the queue; the remote is checked before it runs again.`,
    ]);
    await vi.waitFor(() => expect(alive(r.oxen)).toBe(false), { interval: 50 });
    expect(world.server.repo('e2e', 'int-sync')!.branches.main).toBe(before);
    const status = json(await world.run(['queue', 'status', '--json'], { cwd: dir }));
    expect(status.entries).toMatchObject([{ kind: 'push', status: 'pending' }]);
    expect((await world.run(['queue', 'sync'], { cwd: dir })).code).toBe(0);
    expect(world.server.repo('e2e', 'int-sync')!.branches.main).toBe(head);
  });
});
