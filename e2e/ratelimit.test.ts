import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

describe('3. 429 with Retry-After', () => {
  it('waits at least what the server asked before trying again', async () => {
    const dir = await world.project('limited');
    world.server.clearRequests();
    await world.server.faults.add({
      kind: 'rate-limit',
      retryAfter: '1',
      method: 'GET',
      route: '/branches',
      count: 1,
    });
    const r = await world.run(['lock', 'acquire'], { cwd: dir });
    expect(r.code).toBe(0);
    const log = world.server.requests;
    const limited = log.findIndex((x) => x.status === 429);
    expect(limited).toBeGreaterThanOrEqual(0);
    const next = log[limited + 1]!;
    const waited = next.at - log[limited]!.at;
    expect(waited).toBeGreaterThanOrEqual(1000);
    expect(r.stderr).toContain('Retrying in 1.0s');
    console.log(`429: asked 1000 ms, waited ${waited} ms`);
  });

  it('the maintenance 429 (Retry-After: 5) is honoured during queue sync too', async () => {
    const dir = await world.project('busy');
    await world.server.faults.offline();
    expect((await world.run(['lock', 'acquire'], { cwd: dir })).code).toBe(75);
    await world.server.faults.online();
    world.server.clearRequests();
    await world.server.faults.add({ kind: 'maintenance', method: 'POST', route: '/branches', count: 1 });
    const r = await world.run(['queue', 'sync'], { cwd: dir });
    expect(r.code).toBe(0);
    const log = world.server.requests;
    const limited = log.findIndex((x) => x.status === 429);
    expect(log[limited + 1]!.at - log[limited]!.at).toBeGreaterThanOrEqual(5000);
  });
});
