import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLI, createWorld, json, type World } from './helpers.js';

let world: World;
let outside: string;
beforeAll(async () => {
  world = await createWorld();
  outside = mkdtempSync(join(tmpdir(), 'oxvcs-guard-outside-'));
});
afterAll(async () => {
  await world.close();
  rmSync(outside, { recursive: true, force: true });
});

const modeOf = (file: string) => lstatSync(file).mode & 0o7777;

/** Every file's mode under `dir` (links not followed), by path: to see what changed. */
function modes(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out[relative(dir, full)] = modeOf(full);
    }
  };
  walk(dir);
  return out;
}

/**
 * A project with the guard turned on in its repository config, a Logic package inside, files of
 * several modes (one the user made read-only), and a link that points out of the repository.
 */
async function guardedProject(name: string) {
  const dir = await world.project(name);
  mkdirSync(join(dir, '.oxenvcs'), { recursive: true });
  writeFileSync(join(dir, '.oxenvcs', 'config.toml'), '[lock]\nread_only_guard = true\n');
  const pkg = join(dir, 'Song.logicx');
  mkdirSync(join(pkg, 'Alternatives', '000'), { recursive: true });
  mkdirSync(join(pkg, 'Resources'), { recursive: true });
  writeFileSync(join(pkg, 'Alternatives', '000', 'ProjectData'), 'project');
  chmodSync(join(pkg, 'Alternatives', '000', 'ProjectData'), 0o644);
  writeFileSync(join(pkg, 'Resources', 'mine.wav'), 'kept read-only by the user');
  chmodSync(join(pkg, 'Resources', 'mine.wav'), 0o400);
  writeFileSync(join(pkg, 'Resources', 'bounce.sh'), '#!/bin/sh\n');
  chmodSync(join(pkg, 'Resources', 'bounce.sh'), 0o750);
  mkdirSync(join(dir, 'audio'), { recursive: true });
  writeFileSync(join(dir, 'audio', 'take.wav'), 'audio');
  chmodSync(join(dir, 'audio', 'take.wav'), 0o664);
  const target = join(outside, `${name}.txt`);
  writeFileSync(target, 'not in the repository');
  chmodSync(target, 0o644);
  symlinkSync(target, join(pkg, 'Resources', 'elsewhere.txt'));
  return { dir, pkg, target };
}

const PROJECT_DATA = 'Song.logicx/Alternatives/000/ProjectData';

describe('the read-only guard (issue 22: lock.read_only_guard, built CLI, real files)', () => {
  it('read-only while not held, writable on acquire, read-only again on release; modes restored exactly; .oxen/, .oxenvcs/ and links untouched', async () => {
    const { dir, target } = await guardedProject('guard-cycle');
    const oxenBefore = modes(join(dir, '.oxen'));
    const start = modes(dir);

    // Not held: the first lock command makes the files read-only, and says so.
    const status = await world.run(['lock', 'status', '--json'], { cwd: dir, user: 'ada' });
    expect(status.code).toBe(0);
    const s = json(status);
    expect(s.guard).toMatchObject({ enabled: true, change: { made: 'read-only', reason: 'not-held' } });
    expect(s.guard.readOnly).toBe(4);
    expect(modeOf(join(dir, PROJECT_DATA))).toBe(0o444);
    expect(modeOf(join(dir, 'Song.logicx/Resources/bounce.sh'))).toBe(0o550);
    expect(modeOf(join(dir, 'Song.logicx/Resources/mine.wav'))).toBe(0o400);
    expect(modeOf(join(dir, 'audio/take.wav'))).toBe(0o444);
    const human = await world.run(['lock', 'status'], { cwd: dir, user: 'ada' });
    expect(human.stdout).toContain('Read-only guard: on (4 files read-only until you hold the lock)');

    // Acquire: writable again, exactly as they were.
    const acquired = await world.run(['lock', 'acquire'], { cwd: dir, user: 'ada' });
    expect(acquired.code).toBe(0);
    expect(acquired.stderr).toContain('Made 4 files writable (lock acquired)');
    expect(modes(dir)).toEqual({ ...start, ...{} });
    expect(modeOf(join(dir, 'Song.logicx/Resources/mine.wav'))).toBe(0o400);

    // A file made while held, read-only on release too; the user's own read-only file stays so.
    writeFileSync(join(dir, 'Song.logicx', 'Resources', 'new.wav'), 'new');
    chmodSync(join(dir, 'Song.logicx', 'Resources', 'new.wav'), 0o600);
    const released = await world.run(['lock', 'release'], { cwd: dir, user: 'ada' });
    expect(released.code).toBe(0);
    expect(released.stderr).toContain(
      'Made 5 files read-only (lock released); `oxenvcs lock acquire` makes them writable',
    );
    expect(modeOf(join(dir, 'Song.logicx/Resources/new.wav'))).toBe(0o400);

    // --json carries what it did.
    const again = json(await world.run(['lock', 'acquire', '--json'], { cwd: dir, user: 'ada' }));
    expect(again.guard).toMatchObject({
      made: 'writable',
      reason: 'acquired',
      changed: 5,
      readOnly: 0,
      failed: [],
    });
    expect(modeOf(join(dir, 'Song.logicx/Resources/new.wav'))).toBe(0o600);
    expect(modeOf(join(dir, 'Song.logicx/Resources/mine.wav'))).toBe(0o400);
    expect(modeOf(join(dir, PROJECT_DATA))).toBe(0o644);

    // Never touched: Oxen's folder, our config, the file a link points to (outside the repository).
    expect(modes(join(dir, '.oxen'))).toEqual(oxenBefore);
    expect(modeOf(join(dir, '.oxenvcs', 'config.toml'))).toBe(start['.oxenvcs/config.toml']);
    expect(modeOf(target)).toBe(0o644);
    expect(lstatSync(join(dir, 'Song.logicx/Resources/elsewhere.txt')).isSymbolicLink()).toBe(true);
    expect((await world.run(['lock', 'release'], { cwd: dir, user: 'ada' })).code).toBe(0);
    expect(modeOf(target)).toBe(0o644);
  });

  it('--project Song.logicx guards the package only (what the lock covers)', async () => {
    const { dir } = await guardedProject('guard-package');
    const r = await world.run(['lock', 'status', '--project', 'Song.logicx'], { cwd: dir, user: 'ada' });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Made 2 files read-only (you do not hold the lock)');
    expect(modeOf(join(dir, PROJECT_DATA))).toBe(0o444);
    expect(modeOf(join(dir, 'audio/take.wav'))).toBe(0o664);
  });

  it('a pull while not held brings the colleague’s files, and they are read-only too', async () => {
    const { dir } = await guardedProject('guard-pull');
    expect((await world.run(['lock', 'status'], { cwd: dir, user: 'ada' })).code).toBe(0);
    expect(modeOf(join(dir, PROJECT_DATA))).toBe(0o444);
    // Bob, in his own copy, records and pushes a new file under the lock.
    const bobDir = await world.env.cloneProject('guard-pull-bob', world.server.repoUrl('e2e', 'guard-pull'));
    expect((await world.run(['lock', 'acquire'], { cwd: bobDir, user: 'bob' })).code).toBe(0);
    writeFileSync(join(bobDir, 'Bass.wav'), 'bass');
    await world.env.oxen(['add', 'Bass.wav'], bobDir);
    await world.env.oxen(['commit', '-m', 'bass'], bobDir);
    expect((await world.run(['push'], { cwd: bobDir, user: 'bob' })).code).toBe(0);
    expect((await world.run(['lock', 'release'], { cwd: bobDir, user: 'bob' })).code).toBe(0);

    const pulled = await world.run(['pull'], { cwd: dir, user: 'ada' });
    expect(pulled.code).toBe(0);
    expect(modeOf(join(dir, 'Bass.wav'))).toBe(0o444);
    expect(pulled.stderr).toContain('Made 1 file read-only (you do not hold the lock)');
    expect(modeOf(join(dir, PROJECT_DATA))).toBe(0o444);
    // And all of them come back writable, exactly, on acquire.
    expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'ada' })).code).toBe(0);
    expect(modeOf(join(dir, PROJECT_DATA))).toBe(0o644);
    expect(modeOf(join(dir, 'Song.logicx/Resources/mine.wav'))).toBe(0o400);
  });

  it('a guard that cannot keep its record changes nothing and says so; the next command, once it can, does the job', async () => {
    const { dir } = await guardedProject('guard-record');
    // A folder where the guard's record belongs (as a full disk would, it cannot be written).
    const record = join(
      world.home('ada'),
      'guard',
      `${createHash('sha256').update(realpathSync(dir)).digest('hex').slice(0, 24)}.json`,
    );
    mkdirSync(record, { recursive: true });
    const r = await world.run(['lock', 'status'], { cwd: dir, user: 'ada' });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /The read-only guard could not keep its record in the state folder \(\w+\), so it changed nothing/,
    );
    expect(modeOf(join(dir, PROJECT_DATA))).toBe(0o644);
    rmSync(record, { recursive: true });
    const again = json(await world.run(['lock', 'status', '--json'], { cwd: dir, user: 'ada' }));
    expect(again.guard.change).toMatchObject({ made: 'read-only', changed: 4, failed: [] });
    expect(modeOf(join(dir, PROJECT_DATA))).toBe(0o444);
  });

  it('turned off: the next lock command gives back every mode it took', async () => {
    const { dir } = await guardedProject('guard-turned-off');
    expect((await world.run(['lock', 'status'], { cwd: dir, user: 'ada' })).code).toBe(0);
    expect(modeOf(join(dir, PROJECT_DATA))).toBe(0o444);
    writeFileSync(join(dir, '.oxenvcs', 'config.toml'), '[lock]\nread_only_guard = false\n');
    const r = await world.run(['lock', 'status'], { cwd: dir, user: 'ada' });
    expect(r.stderr).toContain('Made 4 files writable (the read-only guard is off)');
    expect(modeOf(join(dir, PROJECT_DATA))).toBe(0o644);
    expect(modeOf(join(dir, 'Song.logicx/Resources/bounce.sh'))).toBe(0o750);
    expect(modeOf(join(dir, 'Song.logicx/Resources/mine.wav'))).toBe(0o400);
    // And then nothing more, and status says nothing of a guard.
    const after = await world.run(['lock', 'status'], { cwd: dir, user: 'ada' });
    expect(after.stderr).not.toContain('Made');
    expect(after.stdout).not.toContain('Read-only guard');
  });

  it('off (the default): nothing changes', async () => {
    const dir = await world.project('guard-off');
    writeFileSync(join(dir, 'take.wav'), 'x');
    chmodSync(join(dir, 'take.wav'), 0o644);
    const r = json(await world.run(['lock', 'status', '--json'], { cwd: dir, user: 'ada' }));
    expect(r.guard).toEqual({ enabled: false, readOnly: 0, change: null });
    expect(modeOf(join(dir, 'take.wav'))).toBe(0o644);
  });

  it('a break by someone else: read-only at the holder’s next command, and when their keep-alive notices', async () => {
    const { dir } = await guardedProject('guard-break');
    expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'ada' })).code).toBe(0);
    expect(modeOf(join(dir, PROJECT_DATA))).toBe(0o644);
    expect(
      (await world.run(['lock', 'break', '--force', '--reason', 'deadline'], { cwd: dir, user: 'bob' })).code,
    ).toBe(0);
    const next = await world.run(['lock', 'status'], { cwd: dir, user: 'ada' });
    expect(next.stderr).toContain('Made 4 files read-only (you no longer hold the lock)');
    expect(modeOf(join(dir, PROJECT_DATA))).toBe(0o444);

    // The keep-alive: Ada takes the lock again and keeps it alive; Bob breaks it; the keep-alive
    // learns it at its next renewal and makes the files read-only before it stops.
    expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'ada' })).code).toBe(0);
    expect(modeOf(join(dir, PROJECT_DATA))).toBe(0o644);
    const keepAlive = spawn(process.execPath, [CLI, 'lock', 'heartbeat'], {
      cwd: dir,
      env: { ...world.envFor('ada'), OXENVCS_LOCK_HEARTBEAT_INTERVAL_SECONDS: '0.3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    keepAlive.stderr.on('data', (c) => {
      log += c;
    });
    const exited = new Promise<number | null>((resolve) => keepAlive.on('exit', (code) => resolve(code)));
    await vi.waitFor(() => expect(log).toMatch(/Lock renewed/), { interval: 50 });
    expect((await world.run(['lock', 'break', '--force'], { cwd: dir, user: 'bob' })).code).toBe(0);
    await exited;
    expect(log).toContain('Made 4 files read-only (you no longer hold the lock)');
    expect(modeOf(join(dir, PROJECT_DATA))).toBe(0o444);
    expect(modeOf(join(dir, 'Song.logicx/Resources/mine.wav'))).toBe(0o400);
  });
});
