import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLI, createWorld, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

describe('a lease lost while a push runs (a stock Oxen remote cannot refuse the push)', () => {
  it('the holder is told the push went through after the lock changed hands, and who holds it now', async () => {
    const dir = await world.project('fenced');
    expect((await world.run(['lock', 'acquire', '--timeout', '1'], { cwd: dir, user: 'ada' })).code).toBe(0);
    writeFileSync(join(dir, 'Take.wav'), 'take 1');
    await world.env.oxen(['add', 'Take.wav'], dir);
    await world.env.oxen(['commit', '-m', 'take 1'], dir);
    // Ada's push passes its lock checks, then stops before its upload (a paused process, a sleeping
    // laptop): her hour runs out on the server's clock and Bob takes the lock.
    const pause = join(world.home('ada'), 'push-pause');
    const push = spawn(process.execPath, [CLI, 'push'], {
      cwd: dir,
      env: { ...world.envFor('ada'), OXEN_FAKE_PAUSE_AT: 'push-upload', OXEN_FAKE_PAUSE_FILE: pause },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    push.stdout.on('data', (c) => {
      out += c;
    });
    push.stderr.on('data', (c) => {
      err += c;
    });
    const exited = new Promise<number | null>((resolve) => push.on('exit', resolve));
    await vi.waitFor(() => expect(existsSync(`${pause}.waiting`)).toBe(true), { interval: 50 });
    world.server.advanceClock(2 * 3_600_000);
    expect((await world.run(['lock', 'acquire'], { cwd: dir, user: 'bob' })).code).toBe(0);
    writeFileSync(pause, '');
    // The push lands (nothing on the remote can stop it), and Ada hears that it did so under a
    // lock that was no longer hers.
    expect(await exited).toBe(0);
    expect(out).toMatch(/Pushed successfully/);
    expect(err).toMatch(
      /Your lock on this project \(fencing token 1\) ended while the push ran, and bob@e2e holds it now: the push went through anyway/,
    );
  });
});
