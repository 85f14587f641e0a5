import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, json, type World } from './helpers.js';

/**
 * A take recorded as parts, pushed, cut at 80 %, queued, resumed: real processes (the built CLI,
 * the fake `oxen`, the fake server). Scaled down: 50 files of 190 KB (9.5 MB, ten parts of
 * 950 KB) and a 100 KB stream segment for Oxen's 10 MiB, so every file goes in chunks.
 */
const FILES = 50;
const FILE_BYTES = 190_000;
const scaled = { OXEN_FAKE_SEGMENT_BYTES: '100000', OXEN_FAKE_RETRY_WAIT_MS: '0' };

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

/** A Logic project: audio in the package's Media folder, the document in Alternatives. */
const writeTake = (dir: string) => {
  const media = join(dir, 'Song.logicx', 'Media', 'Audio Files');
  mkdirSync(media, { recursive: true });
  mkdirSync(join(dir, 'Song.logicx', 'Alternatives', '000'), { recursive: true });
  for (let i = 0; i < FILES; i++)
    writeFileSync(join(media, `Take ${String(i).padStart(2, '0')}.wav`), Buffer.alloc(FILE_BYTES, i + 1));
  writeFileSync(join(dir, 'Song.logicx', 'Alternatives', '000', 'ProjectData'), 'the arrangement');
};

describe('21. a take recorded as parts resumes after a cut instead of restarting', () => {
  it('commit records ten parts, the document last; a push cut at 80 % is queued; the sync sends only the parts not there', async () => {
    const dir = await world.project('take');
    writeTake(dir);
    const commit = await world.run(['commit', '-m', 'vocal comp', '--part-size', '1MB', '--json'], {
      cwd: dir,
    });
    expect(commit.stderr).toBe('');
    expect(commit.code).toBe(0);
    const take = json(commit);
    expect(take.parts).toHaveLength(10);
    expect(take.parts.map((p: { message: string }) => p.message)).toEqual(
      Array.from({ length: 10 }, (_, i) => `vocal comp (part ${i + 1} of 10)`),
    );
    expect(take.bytes).toBe(FILES * FILE_BYTES + 'the arrangement'.length);
    const last = (await world.env.oxen(['log', '-n', '1'], dir)).stdout;
    expect(last).toContain(take.parts[9].commit);

    world.server.clearRequests();
    await world.server.faults.add({ kind: 'cut', route: '/versions', bytes: Math.round(0.8 * take.bytes) });
    // Oxen draws its bar at most 20 times a second, and the status notes parts from what it draws:
    // 60 ms a file (one upload at a time), so each file's frame is drawn before the next.
    const push = await world.run(['push', '--json'], {
      cwd: dir,
      env: { ...scaled, OXEN_FAKE_TRANSFER_DELAY_MS: '60' },
    });
    expect(push.code).toBe(75);
    expect(json(push)).toMatchObject({ status: 'queued' });
    const repo = world.server.repo('e2e', 'take')!;
    const initial = repo.branches.main;
    expect(initial).not.toBe(take.parts[9].commit);
    const sentBeforeCut = world.server.receivedBytes('/versions');
    // `queue status` shows the queued push as a take whose push stopped partway.
    // `queue status` shows the queued push as a take partly on the remote: the parts the cut push
    // saw finished (a part is whole once a file of the next one is done), a lower bound.
    const status = await world.run(['queue', 'status'], { cwd: dir });
    const seen =
      /push: (\d+) of 10 parts on the remote \(at least\), ([\d.]+) of 9\.5 MB; the rest is sent when it runs again/.exec(
        status.stdout,
      );
    expect(seen, status.stdout).not.toBeNull();
    const statusJson = json(await world.run(['queue', 'status', '--json'], { cwd: dir }));
    expect(statusJson.entries[0].take).toMatchObject({ parts: 10, partsOnRemote: Number(seen![1]) });

    await world.server.faults.online();
    world.server.clearRequests();
    const sync = await world.run(['queue', 'sync'], { cwd: dir, env: scaled });
    expect(sync.code).toBe(0);
    const resumed = /Resuming the push: (\d+) of 10 parts already on the remote, ([\d.]+) of 9\.5 MB/.exec(
      sync.stderr,
    );
    expect(resumed).not.toBeNull();
    const present = Number(resumed![1]);
    expect(present).toBeGreaterThanOrEqual(7);
    expect(present).toBeLessThan(10);
    // What the status showed was true, and at most the part in flight behind.
    expect(Number(seen![1])).toBeLessThanOrEqual(present);
    expect(Number(seen![1])).toBeGreaterThanOrEqual(present - 1);
    // Progress covers the whole take: it starts where the parts already there end, never goes
    // back (oxen's total grows with each part's nodes, which count past it), and ends at 100 %.
    const shares = [...sync.stderr.matchAll(/Pushing: (\d+)%/g)].map((m) => Number(m[1]));
    expect(shares.length).toBeGreaterThan(0);
    expect(shares[0]).toBeGreaterThanOrEqual(10 * present - 10);
    expect(shares.at(-1)).toBe(100);
    for (let i = 1; i < shares.length; i++) expect(shares[i]).toBeGreaterThanOrEqual(shares[i - 1]!);
    // The remote has the whole take, its head the last part (the document with it).
    expect(repo.branches.main).toBe(take.parts[9].commit);
    const head = repo.commits[repo.branches.main!]!;
    expect(Object.keys(head.tree)).toHaveLength(FILES + 2);
    const doc = head.tree['Song.logicx/Alternatives/000/ProjectData']!;
    expect(Buffer.from(repo.objects[doc]!, 'base64').toString()).toBe('the arrangement');
    // Each part not on the remote went once, in full (a cut part from its start, as Oxen does);
    // none of the parts already there went again. Audio goes in chunks, raw: exact byte counts.
    const partMedia = 5 * FILE_BYTES;
    expect(world.server.receivedBytes('/chunks')).toBe((10 - present) * partMedia);
    // What the cut cost: the bytes of the unfinished part sent before the cut, at most one part
    // (a recorded take is pushed one part at a time).
    const wasted = sentBeforeCut - present * partMedia;
    expect(wasted).toBeLessThanOrEqual(partMedia);
    expect(readFileSync(join(dir, 'Song.logicx', 'Alternatives', '000', 'ProjectData'), 'utf8')).toBe(
      'the arrangement',
    );
  });

  it('a push sending a commit larger than the part size says once that it cannot resume midway, and how to avoid it', async () => {
    const dir = await world.project('unrecorded');
    // A plain `oxen commit` of 1.5 MB, with a part size of 1 MB.
    writeFileSync(join(dir, 'Mix.wav'), Buffer.alloc(1_500_000, 7));
    expect((await world.env.oxen(['add', 'Mix.wav'], dir)).code).toBe(0);
    expect((await world.env.oxen(['commit', '-m', 'mix'], dir)).code).toBe(0);
    const partSize = { ...scaled, OXENVCS_TRANSFER_PART_SIZE_MB: '1' };
    const push = await world.run(['push'], { cwd: dir, env: partSize });
    expect(push.code, push.stderr).toBe(0);
    const warning =
      'This push sends 1.5 MB in commits not recorded as parts: a push cut midway sends the commit it was in again from its start, as Oxen resumes only whole commits; next time record the take with `oxenvcs commit -m "…" --part-size 1.0MB` so a cut costs at most one part.';
    expect(push.stderr.split(warning)).toHaveLength(2);

    // A take whose one file is over the part size: the part it makes is named; --json has the fact.
    writeFileSync(join(dir, 'Bass.wav'), Buffer.alloc(1_200_000, 8));
    const take = await world.run(['commit', '-m', 'bass', '--json'], { cwd: dir, env: partSize });
    expect(take.code, take.stderr).toBe(0);
    const pushed = await world.run(['push', '--json'], { cwd: dir, env: partSize });
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(json(pushed).unresumable).toEqual({
      recorded: true,
      parts: [1],
      bytes: 1_200_000,
      partBytes: 1_000_000,
    });
    const human = await world.run(['push'], { cwd: dir, env: partSize });
    expect(human.stderr).not.toContain('resumes only whole commits');
  });

  it('commit refuses while someone else holds the project lock (exit 3), and records nothing', async () => {
    const dir = await world.project('held');
    expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'bob' })).code).toBe(0);
    writeFileSync(join(dir, 'Bass.wav'), 'bass');
    const r = await world.run(['commit', '-m', 'bass'], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('bob@e2e holds the lock on this project');
    expect((await world.env.oxen(['status'], dir)).stdout).toContain('Untracked Files');
  });
});
