import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './helpers.js';

// State files that are not regular files: said at once, with the path, and nothing replaced.

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

describe('a state path that is not a regular file', () => {
  it.skipIf(process.platform === 'win32')(
    'a FIFO at queue.json: queue status and an offline push fail at once (exit 1) naming it, instead of hanging',
    async () => {
      const dir = await world.project('fifo');
      const home = world.home('fifo-user');
      mkdirSync(home, { recursive: true });
      const fifo = join(home, 'queue.json');
      execFileSync('mkfifo', [fifo]);
      const status = await world.run(['queue', 'status'], { cwd: dir, user: 'fifo-user' });
      expect(status.code).toBe(1);
      expect(status.stderr).toContain(`${fifo} is a named pipe (FIFO), not a regular file`);
      expect(status.stderr.trim().split('\n')).toHaveLength(1);
      await world.server.faults.offline();
      try {
        const push = await world.run(['push'], { cwd: dir, user: 'fifo-user' });
        expect(push.code).toBe(1);
        expect(push.stderr).toContain('is a named pipe (FIFO), not a regular file');
      } finally {
        await world.server.faults.online();
      }
    },
  );

  it('a symbolic link at queue.json is refused, and the file it points to keeps its entries', async () => {
    const dir = await world.project('symlink');
    // A queue made by a real offline command, then moved away and linked.
    await world.server.faults.offline();
    try {
      expect((await world.run(['pull'], { cwd: dir, user: 'linker' })).code).toBe(75);
      const queue = join(world.home('linker'), 'queue.json');
      const moved = join(world.home('linker'), '..', 'linked-queue.json');
      const before = readFileSync(queue, 'utf8');
      writeFileSync(moved, before);
      execFileSync('rm', [queue]);
      symlinkSync(moved, queue);
      const push = await world.run(['push'], { cwd: dir, user: 'linker' });
      expect(push.code).toBe(1);
      expect(push.stderr).toMatch(/is a symbolic link; state files must be regular files/);
      expect(readFileSync(moved, 'utf8')).toBe(before);
      const status = await world.run(['queue', 'status'], { cwd: dir, user: 'linker' });
      expect(status.code).toBe(1);
      expect(status.stderr).toMatch(/symbolic link/);
    } finally {
      await world.server.faults.online();
    }
  });
});

describe('files the user keeps, and the keep-alive log', () => {
  it.skipIf(process.platform === 'win32')(
    'a FIFO as the user config, or as a lease key, is named at once (exit 1), never waited on nor taken for "no key"',
    async () => {
      const dir = await world.project('fifo-config');
      const home = world.home('fifo-config-user');
      mkdirSync(home, { recursive: true });
      execFileSync('mkfifo', [join(home, 'config.toml')]);
      const status = await world.run(['queue', 'status'], { cwd: dir, user: 'fifo-config-user' });
      expect(status.code).toBe(1);
      expect(status.stderr).toContain(
        `${join(home, 'config.toml')} is a named pipe (FIFO), not a regular file`,
      );
      execFileSync('rm', [join(home, 'config.toml')]);
      expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'fifo-config-user' })).code).toBe(0);
      const keys = join(home, 'lock-keys');
      const [key] = readdirSync(keys);
      execFileSync('rm', [join(keys, key!)]);
      execFileSync('mkfifo', [join(keys, key!)]);
      const release = await world.run(['lock', 'release'], { cwd: dir, user: 'fifo-config-user' });
      expect(release.code).toBe(1);
      expect(release.stderr).toContain('is a named pipe (FIFO), not a regular file');
      expect(release.stderr).not.toMatch(/not by you|held by/);
    },
  );

  it('a link at the keep-alive log is refused, and what it points to is not written', async () => {
    const dir = await world.project('log-link');
    const home = world.home('log-link-user');
    const victim = join(home, '..', 'log-link-victim.txt');
    mkdirSync(join(home, 'heartbeats'), { recursive: true });
    writeFileSync(victim, 'mine\n');
    // The log's name is the lock's note name with .log: learn it from a first keep-alive.
    expect(
      (await world.run(['lock', 'acquire', '--keep-alive'], { cwd: dir, user: 'log-link-user' })).code,
    ).toBe(0);
    expect((await world.run(['lock', 'heartbeat', '--stop'], { cwd: dir, user: 'log-link-user' })).code).toBe(
      0,
    );
    const log = readdirSync(join(home, 'heartbeats')).find((f) => f.endsWith('.log'))!;
    execFileSync('rm', [join(home, 'heartbeats', log)]);
    symlinkSync(victim, join(home, 'heartbeats', log));
    const again = await world.run(['lock', 'acquire', '--keep-alive'], { cwd: dir, user: 'log-link-user' });
    expect(again.stderr).toMatch(/keep-alive log .* is not a regular file/);
    expect(readFileSync(victim, 'utf8')).toBe('mine\n');
  });
});
