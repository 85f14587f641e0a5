import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_WAITERS } from './line.js';
import { ada, bob, carol, failure, HOUR, lockWorld } from './test-support/world.js';

let world: Awaited<ReturnType<typeof lockWorld>>;
beforeAll(async () => {
  world = await lockWorld();
});
afterAll(() => world.stop());

describe('waiting in line against the testkit server (issue 22 §1)', () => {
  it('Bob and Carol wait behind Ada in the order they came; the line is in everyone’s status; a plain acquire does not jump it; Bob is granted first, then Carol', async () => {
    await world.freshRepo();
    await world.managerFor(ada).acquire('Song.logicx', { ttlMs: HOUR, comment: 'vocals' });
    const bobWaits = await failure(
      world.managerFor(bob).acquire('Song.logicx', { ttlMs: HOUR, line: { id: 'bob-1' } }),
    );
    expect(bobWaits).toMatchObject({ code: 'WAITING', position: 1, holder: 'ada@laptop' });
    const carolWaits = await failure(
      world.managerFor(carol).acquire('Song.logicx', { ttlMs: HOUR, line: { id: 'carol-1' } }),
    );
    expect(carolWaits).toMatchObject({ code: 'WAITING', position: 2 });
    // Asking again keeps the place without writing (the place is fresh).
    const before = (await world.chain())[0];
    await failure(world.managerFor(bob).acquire('Song.logicx', { ttlMs: HOUR, line: { id: 'bob-1' } }));
    expect((await world.chain())[0]).toBe(before);
    // Everyone sees the line, the holder included, and a cold reader too.
    for (const reader of [
      world.managerFor(ada),
      world.coldManager({ holder: 'dan@x', machineId: 'm-dan' }),
    ]) {
      const status = await reader.status('Song.logicx');
      expect(status.waiters?.map((w) => [w.holder, w.position])).toEqual([
        ['bob@studio', 1],
        ['carol@mac', 2],
      ]);
    }
    await world.managerFor(ada).release('Song.logicx');
    // Free, but Bob is first: Carol (in line, second) and Dan (not in line) are refused.
    const dan = { holder: 'dan@x', machineId: 'm-dan' };
    expect(await failure(world.managerFor(dan).acquire('Song.logicx', { ttlMs: HOUR }))).toMatchObject({
      code: 'HELD',
      inLine: true,
      holder: 'bob@studio',
    });
    expect(
      await failure(world.managerFor(carol).acquire('Song.logicx', { ttlMs: HOUR, line: { id: 'carol-1' } })),
    ).toMatchObject({ code: 'WAITING', position: 2 });
    const grant = await world.managerFor(bob).acquire('Song.logicx', { ttlMs: HOUR, line: { id: 'bob-1' } });
    expect(grant.holder).toBe('bob@studio');
    expect((await world.managerFor(ada).status('Song.logicx')).waiters?.map((w) => w.holder)).toEqual([
      'carol@mac',
    ]);
    await world.managerFor(bob).release('Song.logicx');
    expect(
      (await world.managerFor(carol).acquire('Song.logicx', { ttlMs: HOUR, line: { id: 'carol-1' } })).holder,
    ).toBe('carol@mac');
    expect((await world.managerFor(ada).status('Song.logicx')).waiters).toBeUndefined();
  });

  it('a waiter who gives up leaves the line at once; the next in line is then first', async () => {
    await world.freshRepo();
    await world.managerFor(ada).acquire('.', { ttlMs: HOUR });
    await failure(world.managerFor(bob).acquire('.', { ttlMs: HOUR, line: { id: 'b' } }));
    // Carol waits for a file inside the project: the same line.
    expect(
      await failure(world.managerFor(carol).acquire('Song.logicx', { ttlMs: HOUR, line: { id: 'c' } })),
    ).toMatchObject({ code: 'WAITING', position: 2, heldKey: '.' });
    expect(await world.managerFor(bob).leave('.', { id: 'b' })).toEqual({ left: true });
    expect(await world.managerFor(bob).leave('.', { id: 'b' })).toEqual({ left: false });
    await world.managerFor(ada).release('.');
    expect(
      (await world.managerFor(carol).acquire('Song.logicx', { ttlMs: HOUR, line: { id: 'c' } })).holder,
    ).toBe('carol@mac');
  });

  it('a full line refuses one more waiter before anything is written: the table never reads as corrupt', async () => {
    await world.freshRepo();
    await world.managerFor(ada).acquire('.', { ttlMs: HOUR });
    const waiter = (i: number) => ({ holder: `w${i}@x`, machineId: `m-${i}` });
    for (let i = 1; i <= MAX_WAITERS; i++)
      expect(
        await failure(world.managerFor(waiter(i)).acquire('.', { ttlMs: HOUR, line: { id: `w${i}` } })),
      ).toMatchObject({ code: 'WAITING', position: i });
    const top = (await world.chain())[0];
    expect(
      await failure(world.managerFor(carol).acquire('.', { ttlMs: HOUR, line: { id: 'late' } })),
    ).toMatchObject({ code: 'TABLE_FULL', inLine: true, key: '.' });
    expect((await world.chain())[0]).toBe(top);
    // Everyone still reads the table: Ada holds the lock, the line is as it was, and she can release.
    const status = await world.coldManager(bob).status('.');
    expect(status).toMatchObject({ state: 'held-by-other', lease: { holder: 'ada@laptop' } });
    expect(status.waiters).toHaveLength(MAX_WAITERS);
    expect((await world.managerFor(ada).release('.')).released).toBe(true);
  });
});
