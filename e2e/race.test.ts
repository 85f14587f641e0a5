import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

describe('4. two users race `lock acquire`', () => {
  it('exactly one holder each round, 20 rounds', async () => {
    const dir = await world.project('race');
    const wins: Record<string, number> = { ada: 0, bob: 0 };
    for (let round = 0; round < 20; round++) {
      const [a, b] = await Promise.all([
        world.run(['lock', 'acquire'], { cwd: dir, user: 'ada' }),
        world.run(['lock', 'acquire'], { cwd: dir, user: 'bob' }),
      ]);
      const codes = [a.code, b.code].sort();
      expect(codes).toEqual([0, 3]);
      const winner = a.code === 0 ? 'ada' : 'bob';
      const loser = winner === 'ada' ? b : a;
      expect(loser.stderr).toContain(`held by ${winner}@e2e`);
      wins[winner]! += 1;
      expect((await world.run(['lock', 'release'], { cwd: dir, user: winner })).code).toBe(0);
    }
    console.log(`race: ada won ${wins.ada}, bob won ${wins.bob}`);
  });
});
