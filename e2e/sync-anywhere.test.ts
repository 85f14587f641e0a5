import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, json, type World } from './helpers.js';

let world: World;
let outside: string;
beforeAll(async () => {
  world = await createWorld();
  outside = mkdtempSync(join(tmpdir(), 'oxvcs-outside-'));
});
afterAll(async () => {
  rmSync(outside, { recursive: true, force: true });
  await world.close();
});

describe('issue 20 #6: a sync runs each entry from its own project, wherever it was typed', () => {
  it('queue sync --all-projects from outside any project replays every project; a gone project fails alone', async () => {
    const kept = await world.project('kept');
    const gone = await world.project('gone');
    writeFileSync(join(kept, 'take.wav'), 'take 1');
    expect((await world.env.oxen(['add', 'take.wav'], kept)).code).toBe(0);
    expect((await world.env.oxen(['commit', '-m', 'take 1'], kept)).code).toBe(0);

    await world.server.faults.offline();
    for (const [cwd, args] of [
      [kept, ['lock', 'acquire']],
      [kept, ['push']],
      [gone, ['lock', 'acquire']],
      [gone, ['pull']],
    ] as const) {
      expect((await world.run([...args], { cwd })).code, `${args.join(' ')} in ${cwd}`).toBe(75);
    }
    await world.server.faults.online();
    rmSync(gone, { recursive: true, force: true });

    const r = await world.run(['queue', 'sync', '--all-projects', '--json'], { cwd: outside });
    expect(r.code, r.stderr).toBe(1);
    expect(json(r).summary).toMatchObject({ done: 2, failed: 2 });
    expect(r.stdout + r.stderr).not.toContain('No Oxen repository');

    // The kept project's entries ran from its own folder: the lock is taken and the take pushed.
    const repo = world.server.repo('e2e', 'kept')!;
    const local = await world.env.oxen(['log', '-n', '1'], kept);
    expect(local.stdout).toContain(repo.branches.main!);

    // Each entry of the gone project failed, with that reason, and nothing else did.
    const status = json(await world.run(['queue', 'status', '--all-projects', '--json'], { cwd: outside }));
    const byProject = (p: string) => status.entries.filter((e: any) => e.projectDir === p);
    expect(byProject(kept).map((e: any) => e.status)).toEqual(['done', 'done']);
    for (const e of byProject(gone)) {
      expect(e).toMatchObject({
        status: 'failed',
        reason: { code: 'project-gone', facts: { project: gone } },
      });
      expect(e.statusReason).toBe(
        `Its project folder ${gone} is gone (or is no longer an Oxen repository); put the folder back and retry it, or remove it.`,
      );
    }

    // In human output, from outside any project too.
    const human = await world.run(['queue', 'status', '--all-projects'], { cwd: outside });
    expect(human.stdout + human.stderr).toContain(`Its project folder ${gone} is gone`);
  });

  it('a release queued for a project whose folder is gone still gives the lock back (it needs only the remote)', async () => {
    const dir = await world.project('released');
    expect((await world.run(['lock', 'acquire'], { cwd: dir })).code).toBe(0);
    await world.server.faults.offline();
    expect((await world.run(['lock', 'release'], { cwd: dir })).code).toBe(75);
    await world.server.faults.online();
    const copy = await world.env.cloneProject('released-copy', world.server.repoUrl('e2e', 'released'));
    rmSync(dir, { recursive: true, force: true });

    const r = await world.run(['queue', 'sync', '--all-projects', '--json'], { cwd: outside });
    expect(r.code, r.stderr).toBe(0);
    expect(json(r).summary).toMatchObject({ done: 1, failed: 0 });
    const status = json(await world.run(['lock', 'status', '--json'], { cwd: copy, user: 'bob' }));
    expect(status.lock.state).toBe('unlocked');
  });
});
