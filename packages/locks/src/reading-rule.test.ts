import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LockEvent } from './manager.js';
import { newLeaseKey } from './proof.js';
import { ada, bob, carol, failure, gatedClaims, HOUR, lockWorld, shiftedDate } from './test-support/world.js';

let world: Awaited<ReturnType<typeof lockWorld>>;
beforeAll(async () => {
  world = await lockWorld();
});
afterAll(() => world.stop());
afterEach(() => world.server.faults.clear());

const dave = { holder: 'dave@desk', machineId: 'machine-dave' };
const DAY = 24 * HOUR;

describe('one truth per server state (issue 19 §1, §2)', () => {
  it('a rejected ticket stays rejected and is never a base: a forged release, then honest writes, read alike by cold and warm readers', async () => {
    await world.freshRepo();
    const grant = await world.managerFor(ada).acquire('Song.logicx', { ttlMs: HOUR });
    const first = await world.recordOf(1);
    // A collaborator writes an unsigned "release" of Ada's lease as ticket 2.
    await world.forge(2, {
      ...first,
      ticket: 2,
      op: 'release',
      key: 'song.logicx',
      nonce: 'forged',
      leases: {},
    });
    const events: LockEvent[] = [];
    const bobs = world.managerFor(bob, { onEvent: (e) => events.push(e) });
    expect((await bobs.acquire('Other.logicx', { ttlMs: HOUR })).fencingToken).toBe(3);
    expect(events).toContainEqual(expect.objectContaining({ type: 'forged', ticket: 2, key: 'song.logicx' }));
    // The honest ticket 3 built on ticket 1: no reader now takes the forged table.
    expect(await failure(world.coldManager(carol).acquire('Song.logicx', { ttlMs: HOUR }))).toMatchObject({
      code: 'HELD',
      holder: 'ada@laptop',
    });
    await world.managerFor(dave).acquire('Third.logicx', { ttlMs: HOUR }); // 4
    for (const reader of [world.coldManager(carol), world.managerFor(bob), world.managerFor(dave)]) {
      expect(await reader.status('Song.logicx')).toMatchObject({
        state: 'held-by-other',
        lease: { holder: 'ada@laptop', fencingToken: grant.fencingToken },
      });
      expect(await reader.status('Other.logicx')).toMatchObject({ lease: { holder: 'bob@studio' } });
    }
    expect(await world.managerFor(ada).status('Song.logicx')).toMatchObject({ state: 'held-by-you' });
    expect((await world.managerFor(ada).renew('Song.logicx', { ttlMs: HOUR })).fencingToken).toBe(1);
  });

  it('a ticket far above the top (a gap) is never jumped to, by a cold reader or a warm one', async () => {
    await world.freshRepo();
    await world.managerFor(ada).acquire(undefined, { ttlMs: HOUR });
    const first = await world.recordOf(1);
    await world.forge(9_999_999_999, {
      ...first,
      ticket: 9_999_999_999,
      op: 'break',
      key: '.',
      nonce: 'gap',
      leases: {},
    });
    const events: LockEvent[] = [];
    const cold = world.coldManager(bob, { onEvent: (e) => events.push(e) });
    expect(await cold.status(undefined)).toMatchObject({
      state: 'held-by-other',
      lease: { fencingToken: 1 },
    });
    expect(events).toContainEqual({ type: 'gap', ticket: 9_999_999_999 });
    expect(await failure(world.coldManager(bob).acquire(undefined, { ttlMs: HOUR }))).toMatchObject({
      code: 'HELD',
      holder: 'ada@laptop',
    });
    expect(await world.managerFor(ada).status(undefined)).toMatchObject({ state: 'held-by-you' });
    expect((await world.managerFor(ada).renew(undefined, { ttlMs: HOUR })).ticket).toBe(2);
  });

  it('a `Date` header 8 days ahead on one writer drops no live lease (the carry-over is judged on the commit clock)', async () => {
    await world.freshRepo();
    await world.managerFor(ada).acquire('Song.logicx', { ttlMs: HOUR });
    const ahead = world.managerFor(bob, { fetch: shiftedDate(8 * DAY) });
    expect((await ahead.acquire('Other.logicx', { ttlMs: HOUR })).holder).toBe('bob@studio');
    await world.managerFor(dave).acquire('Third.logicx', { ttlMs: HOUR });
    expect(await failure(world.coldManager(carol).acquire('Song.logicx', { ttlMs: HOUR }))).toMatchObject({
      code: 'HELD',
      holder: 'ada@laptop',
    });
    expect(await world.managerFor(ada).status('Song.logicx')).toMatchObject({ state: 'held-by-you' });
    expect(await world.coldManager(carol).status('Other.logicx')).toMatchObject({
      lease: { holder: 'bob@studio' },
    });
  });

  it('`lock break` without force never breaks a live lease when the `Date` header runs 2 h ahead', async () => {
    await world.freshRepo();
    await world.managerFor(ada).acquire(undefined, { ttlMs: HOUR });
    const ahead = world.managerFor(bob, { fetch: shiftedDate(2 * HOUR) });
    expect((await ahead.status(undefined)).state).toBe('expired');
    expect(await failure(ahead.break(undefined, { reason: 'looks stale' }))).toMatchObject({
      code: 'HELD',
      holder: 'ada@laptop',
    });
    expect(await world.managerFor(ada).status(undefined)).toMatchObject({ state: 'held-by-you' });
    expect(await world.chain()).toEqual([1]);
  });
});

describe('limits (issue 19 §4, §6)', () => {
  it('a 9 MB ticket reads as corrupt within a bounded read; break --force recovers it, keeping every live lease', async () => {
    await world.freshRepo();
    await world.managerFor(ada).acquire('Song.logicx', { ttlMs: HOUR });
    await world.forge(2, `{"pad":"${'x'.repeat(9 * 1024 * 1024)}"}`);
    const b = world.managerFor(bob);
    expect(await b.status('Other.logicx')).toMatchObject({ state: 'corrupt', ticket: 2 });
    expect(await failure(b.acquire('Other.logicx', { ttlMs: HOUR }))).toMatchObject({
      code: 'CORRUPT_RECORD',
    });
    expect((await b.break('Other.logicx', { force: true, reason: 'huge ticket' })).broken).toBe(true);
    expect((await b.acquire('Other.logicx', { ttlMs: HOUR })).fencingToken).toBe(4);
    expect(await world.coldManager(carol).status('Song.logicx')).toMatchObject({
      state: 'held-by-other',
      lease: { holder: 'ada@laptop' },
    });
    expect(await world.managerFor(ada).status('Song.logicx')).toMatchObject({ state: 'held-by-you' });
  });

  it('the writer refuses a table readers would not accept (1,001 keys): TABLE_FULL, nothing written', async () => {
    await world.freshRepo();
    await world.managerFor(ada).acquire('k0', { ttlMs: HOUR });
    const one = (await world.recordOf(1)) as { leases: Record<string, Record<string, unknown>> };
    const lease = one.leases.k0 as Record<string, unknown>;
    const leases = Object.fromEntries(
      Array.from({ length: 1000 }, (_, i) => [`k${i}`, { ...lease, renewedAt: new Date().toISOString() }]),
    );
    // The lowest ticket on the server is the anchor (older ones cleaned up): a full table.
    await world.hub().deleteBranch('oxvcs-locks/0000000001');
    await world.forge(5, { ...one, ticket: 5, leases });
    expect(await world.coldManager(bob).status('k999')).toMatchObject({ state: 'held-by-other' });
    expect(await failure(world.coldManager(bob).acquire('new', { ttlMs: HOUR }))).toMatchObject({
      code: 'TABLE_FULL',
      message: expect.stringMatching(/1001 keys.*was not changed\.$/),
    });
    expect(await world.chain()).toEqual([5]);
    expect(await world.coldManager(bob).status('k1')).toMatchObject({ state: 'held-by-other' });
  });

  it('the largest table readers accept fits the server’s 2 MiB upload; a proxy’s smaller limit is TABLE_FULL, nothing written', async () => {
    await world.freshRepo();
    // 500-character comments on 560 keys: near the 512 KiB every reader accepts.
    const ada2 = world.managerFor(ada);
    for (let i = 0; i < 3; i++) await ada2.acquire(`k${i}`, { ttlMs: HOUR, comment: 'c'.repeat(500) });
    const one = (await world.recordOf(3)) as { leases: Record<string, Record<string, unknown>> };
    const lease = one.leases.k0 as Record<string, unknown>;
    const leases = Object.fromEntries(
      Array.from({ length: 560 }, (_, i) => [`k${i}`, { ...lease, renewedAt: new Date().toISOString() }]),
    );
    await world.hub().deleteBranch('oxvcs-locks/0000000001');
    await world.hub().deleteBranch('oxvcs-locks/0000000002');
    await world.forge(3 + 1, { ...one, ticket: 4, prev: undefined, leases });
    await world.hub().deleteBranch('oxvcs-locks/0000000003');
    expect(JSON.stringify(await world.recordOf(4)).length).toBeGreaterThan(450 * 1024);
    // The real server's limit (2 MiB for the message and the file together) takes it.
    expect((await world.coldManager(bob).acquire('new', { ttlMs: HOUR })).fencingToken).toBe(5);
    world.server.configure({ uploadLimitBytes: 256 * 1024 });
    try {
      expect(await failure(world.coldManager(carol).acquire('newer', { ttlMs: HOUR }))).toMatchObject({
        code: 'TABLE_FULL',
        message: expect.stringMatching(/refused the lock table .* as too large/),
      });
      expect(await world.chain()).toEqual([5, 4]);
    } finally {
      world.server.configure({ uploadLimitBytes: 2 * 1024 * 1024 });
    }
  });

  it('each change uploads the table once (the commit message), not twice', async () => {
    await world.freshRepo();
    await world.managerFor(ada).acquire(undefined, { ttlMs: HOUR, comment: 'c'.repeat(400) });
    const repo = world.server.repo('ns', world.name);
    const ticket = repo?.branches['oxvcs-locks/0000000001'] as string;
    const commit = repo?.commits[ticket];
    const file = commit?.tree['.oxvcs/lock.json'] as string;
    const bytes = Buffer.from(repo?.objects[file] ?? '', 'base64');
    expect(commit?.message).toContain('c'.repeat(400));
    expect(bytes.length).toBeLessThan(200);
  });
});

describe('the commit clock (issue 19 §5)', () => {
  it('a commit clock stepped back 25 h never brings an ended lease back: no second holder', async () => {
    await world.freshRepo();
    await world.managerFor(ada).acquire(undefined, { ttlMs: HOUR });
    world.server.advanceClock(2 * HOUR);
    try {
      // Ada's lease on the whole project has ended: Bob takes a folder inside it.
      expect((await world.managerFor(bob).acquire('Mix', { ttlMs: 4 * HOUR })).holder).toBe('bob@studio');
      world.server.advanceClock(-25 * HOUR);
      await world.managerFor(dave).acquire('Other', { ttlMs: HOUR });
      expect(await world.managerFor(ada).status(undefined)).toMatchObject({ state: 'held-by-other' });
      expect(await world.coldManager(carol).status('Mix')).toMatchObject({ lease: { holder: 'bob@studio' } });
      // Ada's lapsed lease cannot be renewed over Bob's live one.
      expect(await failure(world.managerFor(ada).renew(undefined, { ttlMs: HOUR }))).toMatchObject({
        code: 'HELD',
        holder: 'bob@studio',
      });
    } finally {
      world.server.advanceClock(23 * HOUR);
    }
  });
});

describe('upgrading a repository (issue 19 §1)', () => {
  it('a lower run stranded by an older version’s clean-up is never read; the current tickets are, cold or warm', async () => {
    await world.freshRepo();
    const lease = (holder: string, machineId: string, token: number) => ({
      lockId: `lease-${token}`,
      holder,
      machineId,
      fencingToken: token,
      ttlMs: HOUR,
      owner: newLeaseKey().publicKey,
      renewedAt: new Date().toISOString(),
    });
    const schema2 = (ticket: number, key: string, holder: string) => ({
      schema: 2,
      ticket,
      writer: { holder, machineId: `m-${holder}` },
      op: 'acquire',
      key,
      nonce: `n${ticket}`,
      leases: { [key]: lease(holder, `m-${holder}`, ticket) },
      breaks: {},
      last: {},
    });
    // Old tickets 1-2 were left when an older version deleted 3-299 from the top down.
    await world.forge(1, schema2(1, '.', 'old@host'));
    await world.forge(2, { ...schema2(1, '.', 'old@host'), ticket: 2, op: 'renew' });
    await world.forge(300, schema2(300, 'song', 'ada@laptop'));
    expect(await failure(world.coldManager(carol).acquire('Song', { ttlMs: HOUR }))).toMatchObject({
      code: 'HELD',
      holder: 'ada@laptop',
    });
    expect((await world.managerFor(bob).acquire('Other', { ttlMs: HOUR })).fencingToken).toBe(301);
    for (const reader of [world.coldManager(carol), world.managerFor(bob)]) {
      expect(await reader.status('Song')).toMatchObject({ lease: { holder: 'ada@laptop' } });
      expect(await reader.status('Other')).toMatchObject({ lease: { holder: 'bob@studio' } });
    }
  });
});

describe('a lost key, and a lost race answered 409 (issue 19 §10)', () => {
  it('a holder whose lease key is gone hears KEY_LOST (with the way out), never "held by" themselves', async () => {
    await world.freshRepo();
    const grant = await world.managerFor(ada).acquire('Song.logicx', { ttlMs: HOUR });
    // The same person on the same machine, with the state folder's keys gone.
    const amnesiac = world.coldManager(ada);
    for (const attempt of [
      amnesiac.acquire('Song.logicx', { ttlMs: HOUR }),
      amnesiac.acquire('Song.logicx/Vocals', { ttlMs: HOUR }),
      amnesiac.renew('Song.logicx', { ttlMs: HOUR }),
      amnesiac.release('Song.logicx'),
    ]) {
      expect(await failure(attempt)).toMatchObject({
        code: 'KEY_LOST',
        holder: 'ada@laptop',
        fencingToken: grant.fencingToken,
        message: expect.stringMatching(/lease key is missing.*a forced break takes it over/),
      });
    }
    // Anyone else still hears who holds it.
    expect(await failure(world.managerFor(bob).acquire('Song.logicx', { ttlMs: HOUR }))).toMatchObject({
      code: 'HELD',
      holder: 'ada@laptop',
    });
    expect(await world.chain()).toEqual([1]);
  });

  it('"Branch already exists" answered 409 (newer Oxen) is a lost race: re-read and granted on the next ticket', async () => {
    await world.freshRepo();
    world.server.configure({ branchExistsStatus: 409 });
    try {
      await world.managerFor(bob).status('Other.logicx');
      const gate = gatedClaims();
      const events: LockEvent[] = [];
      const bobs = world
        .managerFor(bob, { fetch: gate.fetch, onEvent: (e) => events.push(e) })
        .acquire('Other.logicx', { ttlMs: HOUR });
      await vi.waitFor(() => expect(gate.held()).toBe(true));
      await world.managerFor(ada).acquire('Song.logicx', { ttlMs: HOUR });
      gate.release();
      expect((await bobs).fencingToken).toBe(2);
      expect(events).toContainEqual(expect.objectContaining({ type: 'race-lost', ticket: 1 }));
    } finally {
      world.server.configure({ branchExistsStatus: 500 });
    }
  });
});
