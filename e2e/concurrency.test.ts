import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, json, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

describe('6. 8 processes enqueue at once', () => {
  it('every entry is present exactly once', async () => {
    const dir = await world.project('eight');
    for (let p = 0; p < 8; p++) for (let i = 0; i < 3; i++) mkdirSync(join(dir, `p${p}-${i}`));
    await world.server.faults.offline();
    const results = await Promise.all(
      Array.from({ length: 8 }, async (_, p) => {
        const codes: number[] = [];
        for (let i = 0; i < 3; i++)
          codes.push((await world.run(['lock', 'acquire', '--project', `p${p}-${i}`], { cwd: dir })).code);
        return codes;
      }),
    );
    expect(results.flat()).toEqual(Array(24).fill(75));
    const status = json(await world.run(['queue', 'status', '--json'], { cwd: dir }));
    const keys = (status.entries as Array<{ idempotencyKey: string; description: string }>).map(
      (e) => e.description,
    );
    expect(keys).toHaveLength(24);
    expect(new Set(keys).size).toBe(24);
    await world.server.faults.online();
  });
});
