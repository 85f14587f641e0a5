import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { identify } from '@oxvcs/durable';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createWorld, type World } from './helpers.js';

// Waiting for the queue file's lock: the user is told whom for, and a lock that names nobody is
// said to be so, not waited on in silence.

let world: World;
let dir: string;
beforeAll(async () => {
  world = await createWorld();
  dir = await world.project('queue-wait');
  await world.server.faults.offline();
});
afterAll(async () => {
  await world.server.faults.online();
  await world.close();
});

const collect = (child: ReturnType<World['spawn']>) => {
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { stderr: () => stderr, exited };
};

describe('a command waiting for the queue file', () => {
  it('a lock file that names no process (foreign, oversized content) is said to be so, then taken over: the push is queued', async () => {
    const home = world.home('foreign');
    mkdirSync(home, { recursive: true });
    // 1 MB that is no lock record: never read whole, judged as a holder nobody knows.
    writeFileSync(join(home, 'queue.json.lock'), 'x'.repeat(1_000_000));
    const push = await world.run(['push'], { cwd: dir, user: 'foreign' });
    expect(push.code, push.stderr).toBe(75);
    expect(push.stderr).toMatch(
      /Waiting for the queue file's lock .*queue\.json\.lock, which names no process/,
    );
  });

  it('a working holder is named (pid, command) and waited for; once it lets go the push is queued', async () => {
    const home = world.home('waiter');
    mkdirSync(home, { recursive: true });
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
    try {
      const { pid } = holder;
      const start = await vi.waitFor(() => {
        const seen = identify(pid!);
        if (!seen) throw new Error('not started yet');
        return seen.start;
      });
      const lock = join(home, 'queue.json.lock');
      writeFileSync(
        lock,
        JSON.stringify({
          pid,
          host: hostname(),
          token: 'held-by-another',
          acquiredAt: Date.now(),
          ...(start ? { start } : {}),
          command: 'oxenvcs queue sync',
        }),
      );
      const push = collect(world.spawn(['push'], { cwd: dir, user: 'waiter' }));
      await vi.waitFor(
        () => expect(push.stderr()).toContain(`Waiting for process ${pid} (oxenvcs queue sync)`),
        { interval: 100 },
      );
      rmSync(lock);
      expect(await push.exited, push.stderr()).toBe(75);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
