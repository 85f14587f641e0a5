import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLI, canUnshare, createWorld, inNamespaces, json, type World, watched } from './helpers.js';

/**
 * Recorded takes against a hostile world (issue 21's adversarial pass): a commit killed between
 * parts, hostile file names. Real processes: the built CLI, the fake `oxen`, the fake server.
 */
let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

const MEDIA = 5;
const MEDIA_BYTES = 400_000;

/** A Logic project: five 400 KB takes in Media and the document; in 1 MB parts, three parts. */
const writeSong = (dir: string) => {
  const media = join(dir, 'Song.logicx', 'Media', 'Audio Files');
  mkdirSync(media, { recursive: true });
  mkdirSync(join(dir, 'Song.logicx', 'Alternatives', '000'), { recursive: true });
  for (let i = 0; i < MEDIA; i++)
    writeFileSync(join(media, `Take ${i}.wav`), Buffer.alloc(MEDIA_BYTES, i + 1));
  writeFileSync(join(dir, 'Song.logicx', 'Alternatives', '000', 'ProjectData'), 'the arrangement');
};

/**
 * Runs `oxenvcs args` with the fake oxen stopped at `point`, then SIGKILLs the CLI, and the oxen it
 * started too unless `orphan` (a power cut kills both; a `kill -9` of the CLI leaves oxen running).
 * Resolves with the gate (create it to let an orphan go on) and the oxen's pid.
 */
async function killAt(
  args: string[],
  cwd: string,
  point: string,
  options: { orphan?: boolean; env?: Record<string, string> } = {},
) {
  const gate = join(world.home('ada'), `gate-${Date.now()}`);
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...world.envFor('ada'), ...options.env, OXEN_FAKE_PAUSE_AT: point, OXEN_FAKE_PAUSE_FILE: gate },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await vi.waitFor(() => expect(existsSync(`${gate}.waiting`)).toBe(true), { interval: 20 });
  const oxen = (JSON.parse(readFileSync(`${gate}.waiting`, 'utf8')) as { pid: number }).pid;
  child.kill('SIGKILL');
  if (!options.orphan) process.kill(oxen, 'SIGKILL');
  await exited;
  return { gate, oxen };
}

/** Runs `oxenvcs args` with the fake oxen stopped before the commit `message`, then SIGKILLs both. */
const killAtCommit = (args: string[], cwd: string, message: string) => killAt(args, cwd, `commit:${message}`);

/** Records the song as a take of 3 parts and queues its push (offline), then brings the remote back. */
async function queuedTake(dir: string) {
  writeSong(dir);
  expect((await world.run(['commit', '-m', 'song', '--part-size', '1MB'], { cwd: dir })).code).toBe(0);
  await world.server.faults.offline();
  expect((await world.run(['push'], { cwd: dir })).code).toBe(75);
  await world.server.faults.online();
}

/** Runs `oxenvcs commit -m song --part-size 1MB` (plus `extra`) with the fake oxen stopped before the
 * commit of part `part` of 3; resolves once it waits there, with the child, its output so far, how
 * it ends (the exit code, 130 for SIGINT), and the gate (create it to let the commit go on). */
async function pausedCommit(dir: string, part: number, extra: string[] = []) {
  const gate = join(world.home('ada'), `gate-commit-${Date.now()}`);
  const child = spawn(process.execPath, [CLI, 'commit', '-m', 'song', '--part-size', '1MB', ...extra], {
    cwd: dir,
    env: {
      ...world.envFor('ada'),
      OXEN_FAKE_PAUSE_AT: `commit:song (part ${part} of 3)`,
      OXEN_FAKE_PAUSE_FILE: gate,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = watched(child);
  await vi.waitFor(() => expect(existsSync(`${gate}.waiting`)).toBe(true), { interval: 20 });
  return { ...run, gate };
}

describe('a take whose recording was killed between parts', () => {
  it('is never pushed as the branch head (direct or queued); the next commit records the rest and its push has the whole project', async () => {
    const dir = await world.project('killed-take');
    const repo = world.server.repo('e2e', 'killed-take')!;
    const initial = repo.branches.main;
    writeSong(dir);
    await killAtCommit(['commit', '-m', 'song', '--part-size', '1MB'], dir, 'song (part 2 of 3)');
    // Part 1 is a commit: the local branch head is audio without the document that uses it.
    expect((await world.env.oxen(['log', '-n', '1'], dir)).stdout).toContain('song (part 1 of 3)');

    const push = await world.run(['push'], { cwd: dir });
    expect(push.code).toBe(1);
    expect(push.stderr).toContain('Not pushing: the take "song" was cut off while it was recorded');
    expect(push.stderr).toContain('oxenvcs commit -m');
    expect(repo.branches.main).toBe(initial);

    // Queued while offline, then synced: refused all the same.
    await world.server.faults.offline();
    expect((await world.run(['push'], { cwd: dir })).code).toBe(75);
    await world.server.faults.online();
    const sync = await world.run(['queue', 'sync'], { cwd: dir });
    expect(sync.stderr + sync.stdout).toContain('was cut off while it was recorded');
    expect(repo.branches.main).toBe(initial);

    // Recording again takes what is left (part 2's files were staged when it was killed).
    const again = await world.run(['commit', '-m', 'song', '--part-size', '1MB', '--json'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect((await world.env.oxen(['status'], dir)).stdout).toContain('nothing to commit');
    // What the killed command had staged is a part of its own: every part within the budget, and
    // each counts its files.
    const parts = json(again).parts as Array<{ bytes: number; files: number; oversized: boolean }>;
    expect(parts.map((p) => [p.bytes, p.files, p.oversized])).toEqual([
      [2 * MEDIA_BYTES, 2, false],
      [MEDIA_BYTES + 'the arrangement'.length, 2, false],
    ]);
    const pushed = await world.run(['push'], { cwd: dir });
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stderr).not.toContain('larger than');
    const last = json(again).parts.at(-1).commit;
    expect(repo.branches.main).toBe(last);
    const tree = repo.commits[last]!.tree;
    expect(Object.keys(tree).filter((p) => p.endsWith('.wav'))).toHaveLength(MEDIA);
    expect(tree['Song.logicx/Alternatives/000/ProjectData']).toBeDefined();
  });
});

describe('a take of files with hostile names', () => {
  it('records every file whatever its name (leading dashes, spaces at either end, quotes, unicode, 250 bytes) and leaves nothing behind', async () => {
    const dir = await world.project('hostile-names');
    const names = [
      '-rf',
      '--help',
      ' lead space.wav',
      'trail space.wav ',
      `quo"te's.wav`,
      'ünï €.wav',
      `${'a'.repeat(246)}.wav`,
      'sub/-x.wav',
      'sub/ spaced .wav',
      // Named like oxen's labels: an untracked file's line has no label to take off.
      'modified: take.wav',
      'new file: take.wav',
    ];
    mkdirSync(join(dir, 'sub'));
    for (const n of names) writeFileSync(join(dir, n), `audio of ${n}`);
    const r = await world.run(['commit', '-m', 'names', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(json(r).files).toBe(names.length);
    expect((await world.env.oxen(['status'], dir)).stdout).toContain('nothing to commit, working tree clean');
    const pushed = await world.run(['push'], { cwd: dir });
    expect(pushed.code, pushed.stderr).toBe(0);
    const repo = world.server.repo('e2e', 'hostile-names')!;
    const tree = repo.commits[repo.branches.main!]!.tree;
    for (const n of names)
      expect(Buffer.from(repo.objects[tree[n]!]!, 'base64').toString()).toBe(`audio of ${n}`);
  });
});

describe('a take of a folder holding symbolic links', () => {
  it('a link looping to its parent, a dangling one and one to a file outside are not followed: the take records the real files', async () => {
    const dir = await world.project('links');
    const media = join(dir, 'Song.logicx', 'Media');
    mkdirSync(media, { recursive: true });
    writeFileSync(join(media, 'a.wav'), 'a');
    symlinkSync('..', join(media, 'loop'));
    symlinkSync('/nonexistent', join(media, 'dangling.wav'));
    symlinkSync('/etc/hostname', join(media, 'outside.wav'));
    const r = await world.run(['commit', '-m', 'links', '--json'], { cwd: dir });
    expect(r.code, r.stdout).toBe(0);
    expect(json(r)).toMatchObject({ files: 1, bytes: 1 });
  });
});

describe('a take of many changes, as oxen 0.54 lists them', () => {
  it('more than ten changes in a list (oxen cuts each at ten without --print_all) and a new folder (one "Untracked Directories" line) are all recorded', async () => {
    const dir = await world.project('many-changes', {
      'README.md': 'readme',
      'old/a.txt': 'a',
      'old/b.txt': 'b',
    });
    // A new Logic project (a folder oxen lists as one line), twelve loose takes, a change and a removal.
    writeSong(dir);
    for (let i = 0; i < 12; i++) writeFileSync(join(dir, `Loose ${i}.wav`), `loose ${i}`);
    writeFileSync(join(dir, 'README.md'), 'changed');
    rmSync(join(dir, 'old', 'a.txt'));
    const listed = (await world.env.oxen(['status'], dir)).stdout;
    expect(listed).toContain('... and 2 others');
    expect(listed).toMatch(/Untracked Directories\n.*\n {2}Song\.logicx \(6 items\)/);
    const r = await world.run(['commit', '-m', 'many', '--part-size', '1MB', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    // The song's media and document, the loose takes, the README, the removal.
    expect(json(r).files).toBe(MEDIA + 1 + 12 + 1 + 1);
    expect(json(r).leftOut).toBeUndefined();
    expect((await world.env.oxen(['status'], dir)).stdout).toContain('nothing to commit, working tree clean');
  });
});

describe('a take with a file oxen cannot list', () => {
  it('a name with a line break (oxen status shows it on two lines) is not silently left out: the commit names what it could not record', async () => {
    const dir = await world.project('newline-name');
    writeFileSync(join(dir, 'Bass.wav'), 'bass');
    writeFileSync(join(dir, 'Vocal\ntake.wav'), 'vocal');
    const r = await world.run(['commit', '-m', 'two', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ files: 1, leftOut: ['Vocal'] });
    const human = await world.run(['commit', '-m', 'again'], { cwd: dir });
    // Nothing else to record, and it says why rather than "no changes".
    expect(human.code).toBe(1);
    expect(human.stderr).toContain('oxen lists 1 change that is not found on disk ("Vocal")');
  });
});

describe('a take record corrupted or forged', () => {
  // Each names the commit at the branch head `HEAD`.
  const forged: Array<[string, (head: string) => unknown]> = [
    [
      'parts that are not commits, sizes that are not numbers',
      (head) => ({
        message: 'm',
        partBytes: 'x',
        parts: [{ commit: 'deadbeef' }, { commit: head, bytes: 'lots', files: -1 }],
      }),
    ],
    ['parts that are not objects', () => ({ message: 'bass', partBytes: 1, parts: [null, 7, 'x'] })],
    // Cut short (a crash mid-write by another tool): not JSON.
    [
      'a record truncated',
      (head) =>
        JSON.stringify({
          message: 'bass',
          partBytes: 1,
          parts: [{ commit: head, bytes: 1, files: 1 }],
        }).slice(0, 40),
    ],
  ];
  it.each(forged)(
    '%s: counts as no record (a cut push resumes, status and sync show no made-up take)',
    async (_, make) => {
      await world.server.faults.online();
      const dir = await world.project(`forged-${forged.findIndex(([, m]) => m === make)}`);
      // Random bytes: a batch is gzipped, and the cut counts what goes on the wire.
      writeFileSync(join(dir, 'Bass.wav'), randomBytes(300_000));
      expect((await world.env.oxen(['add', 'Bass.wav'], dir)).code).toBe(0);
      expect((await world.env.oxen(['commit', '-m', 'bass'], dir)).code).toBe(0);
      const head = /-> ([0-9a-f]+)/.exec((await world.env.oxen(['status'], dir)).stdout)![1]!;
      const record = make(head);
      writeFileSync(
        join(dir, '.oxen', 'oxvcs-take.json'),
        typeof record === 'string' ? record : JSON.stringify(record),
      );
      await world.server.faults.add({ kind: 'cut', route: '/versions', bytes: 100_000 });
      const cut = await world.run(['push'], { cwd: dir });
      expect(cut.code, cut.stderr).toBe(75);
      const status = await world.run(['queue', 'status'], { cwd: dir });
      expect(status.code).toBe(0);
      expect(status.stdout).not.toMatch(/NaN|undefined|lots|parts on the remote|A take of/);
      await world.server.faults.online();
      const sync = await world.run(['queue', 'sync'], { cwd: dir });
      expect(sync.code, sync.stderr).toBe(0);
      expect(sync.stderr).not.toMatch(/NaN|undefined|Resuming/);
      expect(
        world.server.repo('e2e', `forged-${forged.findIndex(([, m]) => m === make)}`)!.branches.main,
      ).toBe(head);
    },
  );
});

describe('a push of a take killed mid-part', () => {
  /** Scaled as resume-push: 100 KB stream segments for Oxen's 10 MiB, so audio goes in chunks (raw bytes). */
  const scaled = { OXEN_FAKE_SEGMENT_BYTES: '100000', OXEN_FAKE_RETRY_WAIT_MS: '0' };
  const partMedia = 2 * MEDIA_BYTES;

  it('queue sync killed with its oxen (power cut) mid-part: the next sync sends the rest once and the branch ends at the last part', async () => {
    const dir = await world.project('killed-sync');
    const repo = world.server.repo('e2e', 'killed-sync')!;
    writeSong(dir);
    const take = json(
      await world.run(['commit', '-m', 'song', '--part-size', '1MB', '--json'], { cwd: dir }),
    );
    expect(take.parts).toHaveLength(3);
    await world.server.faults.offline();
    expect((await world.run(['push'], { cwd: dir })).code).toBe(75);
    await world.server.faults.online();
    world.server.clearRequests();
    // Half the files up: inside part 2.
    await killAt(['queue', 'sync'], dir, 'push-halfway', { env: scaled });
    expect(repo.branches.main).not.toBe(take.parts[2].commit);
    const sync = await world.run(['queue', 'sync'], { cwd: dir, env: scaled });
    expect(sync.code, sync.stderr).toBe(0);
    expect(repo.branches.main).toBe(take.parts[2].commit);
    // The parts chain, in order, each a commit of the remote's.
    const ids = take.parts.map((p: { commit: string }) => p.commit);
    expect(ids.map((id: string) => repo.commits[id]?.parent_ids)).toEqual([
      [expect.any(String)],
      [ids[0]],
      [ids[1]],
    ]);
    // Each part's audio went once, but for the part cut midway (sent again from its start).
    const chunks = world.server.receivedBytes('/chunks');
    expect(chunks).toBeGreaterThanOrEqual(MEDIA * MEDIA_BYTES);
    expect(chunks).toBeLessThanOrEqual(MEDIA * MEDIA_BYTES + partMedia);
    expect((await world.run(['queue', 'status', '--json'], { cwd: dir })).stdout).toContain('"pending":0');
  });

  it('push killed alone (kill -9, its oxen orphaned) mid-part: a push meanwhile waits for the orphan, then finds the branch up to date', async () => {
    const dir = await world.project('killed-push');
    const repo = world.server.repo('e2e', 'killed-push')!;
    writeSong(dir);
    const take = json(
      await world.run(['commit', '-m', 'song', '--part-size', '1MB', '--json'], { cwd: dir }),
    );
    const { gate, oxen } = await killAt(['push'], dir, 'push-halfway', { orphan: true, env: scaled });
    const meanwhile = await world.run(['push', '--json'], { cwd: dir, env: scaled });
    expect(meanwhile.code).toBe(75);
    expect(repo.branches.main).not.toBe(take.parts[2].commit);
    writeFileSync(gate, '');
    await vi.waitFor(() => expect(() => process.kill(oxen, 0)).toThrow(), { interval: 50 });
    expect(repo.branches.main).toBe(take.parts[2].commit);
    const sync = await world.run(['queue', 'sync'], { cwd: dir, env: scaled });
    expect(sync.code, sync.stderr).toBe(0);
    expect(repo.branches.main).toBe(take.parts[2].commit);
  });
});

describe('the part size from the environment or config', () => {
  it('a part size so large it is no number of bytes (1e303 MB) is refused as configuration, nothing recorded', async () => {
    const dir = await world.project('huge-part');
    writeFileSync(join(dir, 'Bass.wav'), 'bass');
    const r = await world.run(['commit', '-m', 'bass'], {
      cwd: dir,
      env: { OXENVCS_TRANSFER_PART_SIZE_MB: '1e303' },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'transfer.part_size_mb in the environment (OXENVCS_*) must be a number ≥ 1 and ≤ 1000000',
    );
    expect((await world.env.oxen(['status'], dir)).stdout).toContain('Untracked Files');
  });
});

describe.skipIf(!canUnshare)(
  'a take recorded on a full disk (a small tmpfs; skipped unless root on Linux)',
  () => {
    it('no room for the take record: the disk is full (exit 1), nothing committed, no temp file left in .oxen', async () => {
      const dir = await world.project('full-take');
      writeSong(dir);
      const out = join(world.home('ada'), '..', 'full-take-out');
      mkdirSync(out, { recursive: true });
      // The project copied onto a 16 MB tmpfs filled but for 2 KB: oxen reads, the record cannot be written.
      const small = join(world.home('ada'), '..', 'full-take-disk');
      mkdirSync(small, { recursive: true });
      const script = `mount -t tmpfs -o size=16m tmpfs "${small}" && cp -a "${dir}" "${small}/p" && cd "${small}/p" || exit 9
avail=$(df -B1 --output=avail . | tail -1); head -c $((avail - 2048)) /dev/zero > "${small}/filler" 2>/dev/null
"$NODE" "$CLI" commit -m song --part-size 1MB > /dev/null 2> "$OUT/commit.err"; echo $? > "$OUT/commit.code"
ls -a .oxen > "$OUT/listing"; oxen status > "$OUT/status" 2>&1`;
      const run = await inNamespaces(script, { ...world.envFor('ada'), OUT: out });
      expect(run.status, run.stderr).toBe(0);
      expect(readFileSync(join(out, 'commit.code'), 'utf8').trim()).toBe('1');
      expect(readFileSync(join(out, 'commit.err'), 'utf8')).toMatch(/the disk is full/);
      expect(readFileSync(join(out, 'listing'), 'utf8')).not.toMatch(/\.tmp/);
      expect(readFileSync(join(out, 'status'), 'utf8')).toMatch(
        /Untracked Directories\n.*\n {2}Song\.logicx/,
      );
    });
  },
);

describe('queue status after the take was pushed', () => {
  it('a later push of plain commits, cut and queued, is not shown as the old take partly on the remote', async () => {
    const dir = await world.project('after-take');
    writeSong(dir);
    expect((await world.run(['commit', '-m', 'song', '--part-size', '1MB'], { cwd: dir })).code).toBe(0);
    expect((await world.run(['push'], { cwd: dir })).code).toBe(0);
    // Then a plain commit, its push cut.
    writeFileSync(join(dir, 'Mix.wav'), randomBytes(300_000));
    expect((await world.env.oxen(['add', 'Mix.wav'], dir)).code).toBe(0);
    expect((await world.env.oxen(['commit', '-m', 'mix'], dir)).code).toBe(0);
    await world.server.faults.clear();
    await world.server.faults.add({ kind: 'cut', route: '/versions', bytes: 100_000 });
    expect((await world.run(['push'], { cwd: dir })).code).toBe(75);
    const status = await world.run(['queue', 'status'], { cwd: dir });
    expect(status.stdout).not.toMatch(/parts on the remote|A take of/);
    expect(
      json(await world.run(['queue', 'status', '--json'], { cwd: dir })).entries[0].take,
    ).toBeUndefined();
    await world.server.faults.clear();
  });
});

describe('the branch switched before a queued push of a take runs', () => {
  it("a take recorded on the other branch meanwhile is not shown as the queued push's; the sync pushes the queued branch to its own last part", async () => {
    const dir = await world.project('switched');
    const repo = world.server.repo('e2e', 'switched')!;
    const media = join(dir, 'Song.logicx', 'Media');
    mkdirSync(media, { recursive: true });
    // Random bytes: a batch is gzipped, and the cut counts what goes on the wire.
    for (let i = 0; i < 3; i++) writeFileSync(join(media, `Take ${i}.wav`), randomBytes(400_000));
    const main = json(
      await world.run(['commit', '-m', 'song', '--part-size', '1MB', '--json'], { cwd: dir }),
    );
    await world.server.faults.clear();
    await world.server.faults.add({ kind: 'cut', route: '/versions', bytes: 600_000 });
    expect((await world.run(['push'], { cwd: dir })).code).toBe(75);
    expect((await world.env.oxen(['checkout', '-b', 'other'], dir)).code).toBe(0);
    for (let i = 3; i < 10; i++) writeFileSync(join(media, `Take ${i}.wav`), randomBytes(400_000));
    const other = json(
      await world.run(['commit', '-m', 'other', '--part-size', '1MB', '--json'], { cwd: dir }),
    );
    expect(other.parts).toHaveLength(4);
    const status = await world.run(['queue', 'status'], { cwd: dir });
    expect(status.stdout).toContain('Push main of switched');
    expect(status.stdout).not.toContain('4 parts');
    expect(
      json(await world.run(['queue', 'status', '--json'], { cwd: dir })).entries[0].take?.parts,
    ).not.toBe(4);
    await world.server.faults.online();
    const sync = await world.run(['queue', 'sync'], { cwd: dir });
    expect(sync.code, sync.stderr).toBe(0);
    expect(repo.branches).toEqual({ main: main.parts.at(-1).commit });
  });
});

describe('Ctrl-C while a take is recorded', () => {
  it('says the take may be recorded only in part and how to finish it (exit 130); the push refuses until then', async () => {
    const dir = await world.project('int-take');
    writeSong(dir);
    const { child, out, exited } = await pausedCommit(dir, 2);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(out.stderr.trim().split('\n')).toEqual([
      '[!] Interrupted: the take "song" may be recorded only in part; run `oxenvcs commit -m "song"` again to record the rest (a push refuses a branch that ends inside it).',
    ]);
    expect((await world.run(['push'], { cwd: dir })).code).toBe(1);
  });
});

describe('two takes recorded before one push', () => {
  it('a push cut inside the first take does not claim parts of the second as on the remote', async () => {
    const dir = await world.project('two-takes');
    const media = join(dir, 'Song.logicx', 'Media');
    mkdirSync(media, { recursive: true });
    // Random bytes: a batch is gzipped, and the cut counts what goes on the wire.
    for (let i = 0; i < 6; i++) writeFileSync(join(media, `A ${i}.wav`), randomBytes(400_000));
    expect((await world.run(['commit', '-m', 'first', '--part-size', '1MB'], { cwd: dir })).code).toBe(0);
    for (let i = 0; i < 6; i++) writeFileSync(join(media, `B ${i}.wav`), randomBytes(400_000));
    const second = json(
      await world.run(['commit', '-m', 'second', '--part-size', '1MB', '--json'], { cwd: dir }),
    );
    expect(second.parts).toHaveLength(3);
    await world.server.faults.clear();
    // Cut in the first take's last part: none of the second's is on the remote.
    await world.server.faults.add({ kind: 'cut', route: '/versions', bytes: 2_100_000 });
    expect((await world.run(['push'], { cwd: dir, env: { OXEN_FAKE_SEGMENT_BYTES: '100000' } })).code).toBe(
      75,
    );
    const missing = await world.server.repo('e2e', 'two-takes');
    expect(second.parts.every((p: { commit: string }) => !missing!.commits[p.commit])).toBe(true);
    const entry = json(await world.run(['queue', 'status', '--json'], { cwd: dir })).entries[0];
    expect(entry.take?.partsOnRemote ?? 0).toBe(0);
    await world.server.faults.clear();
  });
});

describe('the remote branch moved by someone else before the push of a take', () => {
  it('the push, direct or queued, is refused without moving it, and says to pull first', async () => {
    const dir = await world.project('moved');
    const repo = world.server.repo('e2e', 'moved')!;
    await queuedTake(dir);
    const bob = await world.env.cloneProject('moved-bob', world.server.repoUrl('e2e', 'moved'));
    writeFileSync(join(bob, 'bob.txt'), 'bob');
    expect((await world.env.oxen(['add', 'bob.txt'], bob)).code).toBe(0);
    expect((await world.env.oxen(['commit', '-m', 'bob'], bob)).code).toBe(0);
    expect((await world.env.oxen(['push', 'origin', 'main'], bob)).code).toBe(0);
    const bobs = repo.branches.main;
    const advice = 'run `oxenvcs pull`, then push again';
    const sync = await world.run(['queue', 'sync'], { cwd: dir });
    expect(sync.code).toBe(1);
    expect(sync.stderr).toContain(advice);
    const status = await world.run(['queue', 'status'], { cwd: dir });
    expect(status.stdout).toContain(advice);
    const push = await world.run(['push'], { cwd: dir });
    expect(push.code).toBe(1);
    expect(push.stderr).toContain(advice);
    expect(repo.branches.main).toBe(bobs);
  });
});

describe('a plain commit made after the take was queued, before the sync', () => {
  it('the sync pushes the take and the commit; a later cut push is not shown as the old take partly on the remote', async () => {
    const dir = await world.project('plain-after');
    const repo = world.server.repo('e2e', 'plain-after')!;
    await queuedTake(dir);
    writeFileSync(join(dir, 'Notes.txt'), 'fix the bridge');
    expect((await world.env.oxen(['add', 'Notes.txt'], dir)).code).toBe(0);
    expect((await world.env.oxen(['commit', '-m', 'notes'], dir)).code).toBe(0);
    const head = /-> ([0-9a-f]+)/.exec((await world.env.oxen(['status'], dir)).stdout)![1]!;
    const sync = await world.run(['queue', 'sync'], { cwd: dir });
    expect(sync.code, sync.stderr).toBe(0);
    expect(repo.branches.main).toBe(head);
    // Later: another plain commit, its push cut.
    writeFileSync(join(dir, 'Mix.wav'), randomBytes(300_000));
    expect((await world.env.oxen(['add', 'Mix.wav'], dir)).code).toBe(0);
    expect((await world.env.oxen(['commit', '-m', 'mix'], dir)).code).toBe(0);
    await world.server.faults.clear();
    await world.server.faults.add({ kind: 'cut', route: '/versions', bytes: 100_000 });
    expect((await world.run(['push'], { cwd: dir })).code).toBe(75);
    const status = await world.run(['queue', 'status'], { cwd: dir });
    expect(status.stdout).not.toMatch(/parts on the remote|A take of/);
    await world.server.faults.clear();
  });
});

describe('a take cut off while recorded, whose rest is gone', () => {
  it('commit has nothing left to record: it ends the take where it was cut (exit 0, said), and the push goes', async () => {
    const dir = await world.project('rest-gone');
    const repo = world.server.repo('e2e', 'rest-gone')!;
    // Part 1 of 3 committed, then the command killed; the rest of the files deleted since.
    writeFileSync(join(dir, 'Take 1.wav'), 'take one');
    expect((await world.env.oxen(['add', 'Take 1.wav'], dir)).code).toBe(0);
    expect((await world.env.oxen(['commit', '-m', 'song (part 1 of 3)'], dir)).code).toBe(0);
    const head = /-> ([0-9a-f]+)/.exec((await world.env.oxen(['status'], dir)).stdout)![1]!;
    writeFileSync(
      join(dir, '.oxen', 'oxvcs-take.json'),
      JSON.stringify({
        message: 'song',
        branch: 'main',
        partBytes: 1_000_000,
        parts: [{ commit: head, bytes: 8, files: 1 }],
        recording: { parts: 3 },
      }),
    );
    expect((await world.run(['push'], { cwd: dir })).code).toBe(1);
    const done = await world.run(['commit', '-m', 'song'], { cwd: dir });
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain(
      'Nothing left to record of the take "song": it ends at part 1 of 3 as recorded',
    );
    const pushed = await world.run(['push'], { cwd: dir });
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(repo.branches.main).toBe(head);
  });
});

describe('one take at a time in a working copy', () => {
  it('a second commit while a take is recorded is refused, naming the first; after it, the next goes', async () => {
    const dir = await world.project('one-take-at-a-time');
    writeSong(dir);
    const { exited, gate } = await pausedCommit(dir, 2);
    writeFileSync(join(dir, 'notes.txt'), 'a second take');
    const second = await world.run(['commit', '-m', 'notes'], { cwd: dir });
    expect(second.code, second.stderr).not.toBe(0);
    expect(second.stderr).toMatch(/Another oxen commit \(pid \d+/);
    writeFileSync(gate, '');
    expect(await exited).toBe(0);
    const log = (await world.env.oxen(['log', '-n', '4'], dir)).stdout;
    expect(log).not.toContain('notes');
    const again = await world.run(['commit', '-m', 'notes'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
  });
});

describe('a new file deleted while the take is recorded (an autosave replaced, say)', () => {
  it('is left out of its part, and named, instead of failing the take midway', async () => {
    const dir = await world.project('vanished');
    writeSong(dir);
    const { out, exited, gate } = await pausedCommit(dir, 1, ['--json']);
    // Part 1 is staged; a file of part 2, not yet added, goes.
    const gone = 'Song.logicx/Media/Audio Files/Take 2.wav';
    rmSync(join(dir, gone));
    writeFileSync(gate, '');
    expect(await exited).toBe(0);
    const take = JSON.parse(out.stdout);
    expect(take.leftOut).toEqual([gone]);
    expect(take.parts).toHaveLength(3);
    expect(take.files).toBe(MEDIA);
    expect((await world.env.oxen(['status'], dir)).stdout).toContain('nothing to commit, working tree clean');
  });
});
