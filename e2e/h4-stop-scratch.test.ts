import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { CLI, createWorld, json, type World } from './helpers.js';

let world: World;
beforeAll(async () => { world = await createWorld(); });
afterAll(() => world.close());

it('SIGSTOP keep-alive past its lease', async () => {
  const dir = await world.project('stopka');
  const env = { ...world.envFor('ada'), OXENVCS_LOCK_HEARTBEAT_INTERVAL_SECONDS: '0.5' };
  const r = await world.run(['lock', 'acquire', '--keep-alive', '--timeout', '0.02'], { cwd: dir, user: 'ada', env: { OXENVCS_LOCK_HEARTBEAT_INTERVAL_SECONDS: '0.5' } });
  console.log(r.code, r.stdout, r.stderr);
  const notes = join(world.home('ada'), 'heartbeats');
  const note = () => {
    const file = readdirSync(notes).find((f) => f.endsWith('.json') && !f.startsWith('current'));
    return file ? (JSON.parse(readFileSync(join(notes, file), 'utf8')) as Record<string, any>) : undefined;
  };
  await vi.waitFor(() => expect(note()?.state).toBe('healthy'), { interval: 100 });
  const keeper = note()!.pid as number;
  process.kill(keeper, 'SIGSTOP');
  const t = Date.now();
  await vi.waitFor(async () => {
    const s = json(await world.run(['lock', 'status', '--json'], { cwd: dir, user: 'bob' }));
    expect(s.lock.state).toBe('expired');
  }, { interval: 2000, timeout: 200_000 });
  console.log('expired after', Date.now() - t);
  const before = Object.keys(world.server.repo('e2e', 'stopka')!.branches).filter((b) => b.startsWith('oxvcs-locks/')).length;
  process.kill(keeper, 'SIGCONT');
  await vi.waitFor(() => expect(note()!.state).not.toBe('healthy'), { interval: 100, timeout: 30_000 });
  console.log(JSON.stringify(note()));
  await new Promise((res) => setTimeout(res, 3000));
  const after = Object.keys(world.server.repo('e2e', 'stopka')!.branches).filter((b) => b.startsWith('oxvcs-locks/')).length;
  console.log('tickets before/after', before, after);
  const st = await world.run(['lock', 'status'], { cwd: dir, user: 'ada' });
  console.log(st.stdout, st.stderr);
  void env; void spawn; void CLI;
});
