import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
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
