import { spawn } from 'node:child_process';
import { connect, createServer as createNetServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createOxenHub } from '@oxvcs/oxen';
import { type FakeOxenServer, startFakeOxenServer } from '@oxvcs/oxen-testkit';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LockError } from './errors.js';
import { startHeartbeat } from './heartbeat.js';
import { type ChainCache, createLockManager, type LockManagerOptions, memoryChainCache } from './manager.js';
import { type KeyStore, memoryKeyStore } from './proof.js';
import { gatedClaims } from './test-support/world.js';

const HOUR = 3_600_000;
let server: FakeOxenServer;
let n = 0;
let url: string;
const ada = { holder: 'ada@laptop', machineId: 'machine-ada' };
const bob = { holder: 'bob@studio', machineId: 'machine-bob' };
/** Each user's state folder: the keys of their leases and what they last learnt of each chain. */
const states = new Map<string, { keys: KeyStore; cache: ChainCache }>();
const stateOf = (identity: { machineId: string }, remote: string) => {
  const id = `${remote}|${identity.machineId}`;
  let state = states.get(id);
  if (!state) {
    state = { keys: memoryKeyStore(), cache: memoryChainCache() };
    states.set(id, state);
  }
  return state;
};
const managerFor = (identity = ada, remote = url, extra: Partial<LockManagerOptions> = {}) =>
  createLockManager({
    // No test here hangs a request (faults end them at once): a slow answer means a busy machine.
    hub: createOxenHub({ remoteUrl: remote, timeoutMs: 60_000 }),
    identity,
    ...stateOf(identity, remote),
    ...extra,
  });
/** Ticket numbers of the repository's lock chain, newest first. */
const chainOf = async () =>
  (await createOxenHub({ remoteUrl: url }).listBranches())
    .filter((b) => b.name.startsWith('oxvcs-locks/'))
    .map((b) => Number(b.name.slice(-10)))
    .sort((x, y) => y - x);
const failure = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(LockError);
  return e as LockError;
};

beforeAll(async () => {
  server = await startFakeOxenServer();
});
afterAll(() => server.stop());
afterEach(() => server.faults.clear());
const freshRepo = async () => {
  const name = `locks${++n}`;
  await server.createRepo('ns', name);
  url = server.repoUrl('ns', name);
  return name;
};

describe('lock manager against the testkit server', () => {
  it('acquire, status, release; round trips: acquire 3, renew and release 2, status and list 1', async () => {
    await freshRepo();
    const a = managerFor();
    const first = await a.acquire(undefined, { ttlMs: 4 * HOUR, comment: 'mixing' });
    expect(first).toMatchObject({
      holder: 'ada@laptop',
      fencingToken: 1,
      alreadyHeld: false,
      comment: 'mixing',
    });
    expect(Date.parse(first.expiresAt) - Date.parse(first.lastHeartbeat)).toBe(4 * HOUR);
    expect(await a.status(undefined)).toMatchObject({
      state: 'held-by-you',
      lease: { holder: 'ada@laptop' },
    });
    expect((await a.release(undefined)).released).toBe(true);
    expect(await a.status(undefined)).toMatchObject({ state: 'unlocked', lastHolder: 'ada@laptop' });
    server.clearRequests();
    const second = await managerFor().acquire(undefined, { ttlMs: HOUR });
    // On the cached table: prepare, claim (the compare-and-swap), confirm the ticket below is still
    // the one built on (a new grant always is).
    const routes = () =>
      server.requests.map(
        (r) => `${r.method} ${decodeURIComponent(r.path).replace(/^\/api\/repos\/[^/]+\/[^/]+/, '')}`,
      );
    expect(routes()).toEqual([
      expect.stringMatching(/^PUT \/file\/oxvcs-scratch\//),
      'POST /branches',
      'GET /branches/oxvcs-locks/0000000002',
    ]);
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    server.clearRequests();
    // A renew and a release that prove themselves fresh: prepare and claim only.
    await managerFor().renew(undefined, { ttlMs: HOUR });
    expect(routes()).toEqual([expect.stringMatching(/^PUT \/file\//), 'POST /branches']);
    server.clearRequests();
    await managerFor().status(undefined);
    await managerFor().list();
    expect(server.requests).toHaveLength(2);
    server.clearRequests();
    await managerFor().release(undefined);
    expect(routes()).toEqual([expect.stringMatching(/^PUT \/file\//), 'POST /branches']);
  });

  it('someone else → HELD naming who, since when, until when and the comment', async () => {
    await freshRepo();
    await managerFor(bob).acquire('Song.logicx', { ttlMs: HOUR, comment: 'vocals' });
    const error = await failure(managerFor(ada).acquire('Song.logicx', { ttlMs: HOUR }));
    expect(error).toMatchObject({ code: 'HELD', holder: 'bob@studio', comment: 'vocals' });
    expect(error.message).toMatch(/held by bob@studio since .* until .* \("vocals"\)/);
    expect(await managerFor(ada).status('Song.logicx')).toMatchObject({
      state: 'held-by-other',
      lease: { holder: 'bob@studio' },
    });
    // A different key is independent.
    await managerFor(ada).acquire('Other.logicx', { ttlMs: HOUR });
  });

  it('re-acquiring your own live lock is idempotent and extends it; the same nonce replays nothing', async () => {
    await freshRepo();
    const a = managerFor();
    const g1 = await a.acquire(undefined, { ttlMs: HOUR, nonce: 'op-1' });
    server.clearRequests();
    const replay = await a.acquire(undefined, { ttlMs: HOUR, nonce: 'op-1' });
    expect(replay.fencingToken).toBe(g1.fencingToken);
    expect(server.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    const g2 = await a.acquire(undefined, { ttlMs: 2 * HOUR });
    expect(g2).toMatchObject({ alreadyHeld: true, fencingToken: g1.fencingToken, ttlMs: 2 * HOUR });
  });

  it('takeover after expiry; the old holder’s renew then fails as LOST; tokens strictly increase', async () => {
    await freshRepo();
    const a = managerFor(ada);
    const b = managerFor(bob);
    const tokens: number[] = [];
    tokens.push((await a.acquire(undefined, { ttlMs: HOUR })).fencingToken);
    server.advanceClock(HOUR + 6000);
    expect(await b.status(undefined)).toMatchObject({ state: 'expired', lease: { holder: 'ada@laptop' } });
    tokens.push((await b.acquire(undefined, { ttlMs: HOUR })).fencingToken);
    const lost = await failure(a.renew(undefined, { ttlMs: HOUR, fencingToken: tokens[0]! }));
    expect(lost).toMatchObject({ code: 'NOT_HOLDER', holder: 'bob@studio' });
    await failure(a.assertFencing(undefined, tokens[0]!)).then((e) => expect(e.code).toBe('STALE_TOKEN'));
    await b.release(undefined);
    tokens.push((await a.acquire(undefined, { ttlMs: HOUR })).fencingToken);
    await a.renew(undefined, { ttlMs: HOUR });
    tokens.push((await a.acquire(undefined, { ttlMs: HOUR })).fencingToken);
    expect(tokens[0]).toBeLessThan(tokens[1]!);
    expect(tokens[1]).toBeLessThan(tokens[2]!);
    expect(tokens[3]).toBe(tokens[2]);
    expect((await a.verify(undefined, tokens[2]!)).valid).toBe(true);
  });

  it('expiry is judged on the server’s clock: a client hours off still sees the truth', async () => {
    await freshRepo();
    // The server runs 3 h behind this machine: by our clock Bob's 1 h lease ended 2 h ago.
    server.advanceClock(-3 * HOUR);
    try {
      await managerFor(bob).acquire(undefined, { ttlMs: HOUR });
      const state = await managerFor(ada).status(undefined);
      expect(state.state).toBe('held-by-other');
      // By this machine's clock the lease is long over; by the server's it is live.
      expect(Date.parse(state.state === 'held-by-other' ? state.lease.expiresAt : '')).toBeLessThan(
        Date.now() - HOUR / 2,
      );
      await failure(managerFor(ada).acquire(undefined, { ttlMs: HOUR }));
      server.advanceClock(HOUR + 6000);
      expect((await managerFor(ada).status(undefined)).state).toBe('expired');
    } finally {
      server.advanceClock(2 * HOUR - 6000);
    }
  });

  it('break: refused on a live lease without force; the audit is readable by the previous holder', async () => {
    await freshRepo();
    const a = managerFor(ada);
    const b = managerFor(bob);
    const grant = await a.acquire(undefined, { ttlMs: HOUR });
    // The facts the CLI words its advice from; the library names no command.
    const refused = await failure(b.break(undefined, {}));
    expect(refused).toMatchObject({ code: 'HELD', holder: 'ada@laptop', force: true });
    expect(refused.message).not.toMatch(/--force|oxenvcs/);
    expect((await b.break(undefined, { force: true, reason: 'Ada is on holiday' })).broken).toBe(true);
    expect(await a.status(undefined)).toMatchObject({
      state: 'broken',
      brokenBy: 'bob@studio',
      reason: 'Ada is on holiday',
    });
    const lost = await failure(a.renew(undefined, { ttlMs: HOUR, fencingToken: grant.fencingToken }));
    expect(lost).toMatchObject({ code: 'LOST', brokenBy: 'bob@studio', reason: 'Ada is on holiday' });
    expect(await b.status(undefined)).toMatchObject({ state: 'unlocked', lastHolder: 'ada@laptop' });
    expect((await b.acquire(undefined, { ttlMs: HOUR })).fencingToken).toBeGreaterThan(grant.fencingToken);
  });

  it('the break note outlives the breaker’s acquisition; only the previous holder’s own acquisition ends it', async () => {
    await freshRepo();
    const a = managerFor(ada);
    const b = managerFor(bob);
    const grant = await a.acquire(undefined, { ttlMs: HOUR });
    await b.break(undefined, { force: true, reason: 'deadline' });
    await b.acquire(undefined, { ttlMs: HOUR });
    const told = await a.status(undefined);
    expect(told).toMatchObject({
      state: 'held-by-other',
      lease: { holder: 'bob@studio' },
      yourLeaseBroken: { by: 'bob@studio', reason: 'deadline' },
    });
    expect(
      Number.isFinite(Date.parse((told as { yourLeaseBroken: { at: string } }).yourLeaseBroken.at)),
    ).toBe(true);
    // Ada's renew says why; Bob, the holder, is told nothing of it.
    const refused = await failure(a.renew(undefined, { ttlMs: HOUR, fencingToken: grant.fencingToken }));
    expect(refused).toMatchObject({ code: 'NOT_HOLDER', brokenBy: 'bob@studio', reason: 'deadline' });
    expect(refused.message).toMatch(/^Your lock on this project was broken by bob@studio at /);
    expect(await b.status(undefined)).not.toHaveProperty('yourLeaseBroken');
    // Bob releases; Ada takes the lock again: the note is gone for good.
    await b.release(undefined);
    expect(await a.status(undefined)).toMatchObject({ state: 'broken', brokenBy: 'bob@studio' });
    await a.acquire(undefined, { ttlMs: HOUR });
    await a.release(undefined);
    expect(await a.status(undefined)).toMatchObject({ state: 'unlocked' });
  });

  it('the ambiguous outcome (write applied, answer dropped) is resolved by reading the ticket back', async () => {
    await freshRepo();
    // The first POST forks the scratch branch, the second claims the ticket: both answers are lost.
    await server.faults.add({ kind: 'drop-response', method: 'POST', route: '/branches', count: 2 });
    const grant = await managerFor().acquire(undefined, { ttlMs: HOUR });
    expect(grant.fencingToken).toBe(1);
    expect(await chainOf()).toEqual([1]);
    expect(server.requests.filter((r) => r.fault === 'drop-response')).toHaveLength(2);
  });

  it('an older server is refused with both versions named', async () => {
    const old = await startFakeOxenServer({ version: '0.43.0' });
    try {
      await old.createRepo('ns', 'r');
      const error = await failure(
        managerFor(ada, old.repoUrl('ns', 'r')).acquire(undefined, { ttlMs: HOUR }),
      );
      expect(error.code).toBe('SERVER_TOO_OLD');
      expect(error.message).toContain('0.43.0');
      expect(error.message).toContain('0.50.4');
    } finally {
      await old.stop();
    }
  });

  it('a corrupt record on the remote is reported; break --force recovers', async () => {
    const name = await freshRepo();
    const hub = createOxenHub({ remoteUrl: url });
    const main = await hub.getBranch('main');
    const junk = await hub.uploadFile('main', '', 'x.txt', 'x', {
      name: 'x',
      email: 'x@x',
      message: 'not json',
    });
    await hub.createBranchFromCommit('oxvcs-locks/0000000001', junk.id);
    expect(main.commit_id).not.toBe(junk.id);
    const error = await failure(managerFor().acquire(undefined, { ttlMs: HOUR }));
    expect(error.code).toBe('CORRUPT_RECORD');
    expect(error.message).toContain('ticket 1 (written by x) is invalid');
    expect(await managerFor().status(undefined)).toMatchObject({ state: 'corrupt' });
    await managerFor().break(undefined, { force: true, reason: 'corrupt' });
    expect((await managerFor().acquire(undefined, { ttlMs: HOUR })).fencingToken).toBe(3);
    expect(name).toBeTruthy();
  });

  it('old tickets are cleaned up from the bottom once past the horizon, keeping the last six whatever their age', async () => {
    await freshRepo();
    let wall = 0;
    const a = managerFor(ada, url, { clock: () => Date.now() + wall });
    await a.acquire(undefined, { ttlMs: HOUR });
    for (let i = 0; i < 10; i++) await a.renew(undefined, { ttlMs: HOUR });
    await a.idle();
    // Busy: nothing is deleted, so no claim in flight can re-create a deleted ticket.
    expect(await chainOf()).toHaveLength(11);
    server.advanceClock(25 * HOUR);
    try {
      // The commit clock alone says a day has passed: this machine's clock disagrees, nothing goes.
      await a.renew(undefined, { ttlMs: HOUR });
      await a.idle();
      expect(await chainOf()).toHaveLength(12);
      // Both clocks agree (a day really passed; earlier tests left the server's clock an hour
      // ahead): old tickets go, from the bottom, keeping six.
      wall = 30 * HOUR;
      for (let i = 0; i < 4; i++) await a.renew(undefined, { ttlMs: HOUR });
      await a.idle();
      expect(await chainOf()).toEqual([16, 15, 14, 13, 12, 11]);
    } finally {
      server.advanceClock(-25 * HOUR);
    }
  });

  it('ticket reuse: a claim delayed while others make three transitions never re-creates a ticket and wins', async () => {
    await freshRepo();
    const a = managerFor(ada);
    await a.acquire(undefined, { ttlMs: HOUR });
    await a.release(undefined);
    await a.acquire(undefined, { ttlMs: HOUR });
    await a.release(undefined); // ticket 4
    const { fetch: slowClaims, release, held } = gatedClaims();
    const carol = createLockManager({
      hub: createOxenHub({ remoteUrl: url, fetch: slowClaims, timeoutMs: 60_000 }),
      identity: { holder: 'carol@mac', machineId: 'machine-carol' },
      keepTickets: 2,
    });
    const carolTry = carol.acquire(undefined, { ttlMs: HOUR }).then(
      (g) => ({ ok: true as const, g }),
      (e: unknown) => ({ ok: false as const, e: e as LockError }),
    );
    await vi.waitFor(() => expect(held()).toBe(true));
    const ada2 = createLockManager({ hub: createOxenHub({ remoteUrl: url }), identity: ada, keepTickets: 2 });
    await ada2.acquire(undefined, { ttlMs: HOUR }); // 5
    await ada2.release(undefined); // 6
    const adaGrant = await ada2.acquire(undefined, { ttlMs: HOUR }); // 7
    release();
    const result = await carolTry;
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.e).toMatchObject({ code: 'HELD', holder: 'ada@laptop' });
    expect(await managerFor(bob).status(undefined)).toMatchObject({
      state: 'held-by-other',
      lease: { holder: 'ada@laptop', fencingToken: adaGrant.fencingToken },
    });
  });

  it('a claim that re-creates a cleaned-up ticket (commit clock stepped a day ahead) is withdrawn, never a grant', async () => {
    await freshRepo();
    const a = managerFor(ada);
    await a.acquire(undefined, { ttlMs: HOUR });
    await a.release(undefined); // 2
    const { fetch: slowClaims, release, held } = gatedClaims();
    const carol = createLockManager({
      hub: createOxenHub({ remoteUrl: url, fetch: slowClaims, timeoutMs: 60_000 }),
      identity: { holder: 'carol@mac', machineId: 'machine-carol' },
    });
    const carolTry = carol.acquire(undefined, { ttlMs: HOUR }).then(
      (g) => ({ ok: true as const, g }),
      (e: unknown) => ({ ok: false as const, e: e as LockError }),
    );
    await vi.waitFor(() => expect(held()).toBe(true));
    // Ada moves on past the horizon (her own clock too), so her clean-up deletes ticket 3 before
    // Carol's claim lands.
    const ada2 = createLockManager({
      hub: createOxenHub({ remoteUrl: url }),
      identity: ada,
      keepTickets: 2,
      clock: () => Date.now() + 30 * HOUR,
    });
    await ada2.acquire(undefined, { ttlMs: HOUR }); // 3
    await ada2.release(undefined); // 4
    server.advanceClock(25 * HOUR);
    try {
      await ada2.acquire(undefined, { ttlMs: HOUR }); // 5; deletes ≤ 3
      await ada2.idle();
      expect((await createOxenHub({ remoteUrl: url }).findBranch('oxvcs-locks/0000000003')) ?? 'gone').toBe(
        'gone',
      );
      release();
      const result = await carolTry;
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.e).toMatchObject({ code: 'HELD', holder: 'ada@laptop' });
    } finally {
      server.advanceClock(-25 * HOUR);
    }
  });

  it('a renew that skips its confirmation is never a grant on a re-created ticket: a commit clock stepped a day ahead alone deletes nothing', async () => {
    await freshRepo();
    const carol = { holder: 'carol@mac', machineId: 'machine-carol' };
    await managerFor(carol).acquire('Song', { ttlMs: HOUR }); // 1, Carol's: her renew skips the read
    const { fetch: slowClaims, release, held } = gatedClaims();
    const slowCarol = createLockManager({
      hub: createOxenHub({ remoteUrl: url, fetch: slowClaims, timeoutMs: 60_000 }),
      identity: carol,
      ...stateOf(carol, url),
    });
    const renewing = slowCarol.renew('Song', { ttlMs: 2 * HOUR });
    await vi.waitFor(() => expect(held()).toBe(true));
    // While Carol's claim of ticket 2 is in flight, Ada writes 2 and 3, the commit clock steps a
    // day ahead, and Ada's ticket 4 would make 1 and 2 a day old: on the commit clock only.
    const ada2 = createLockManager({ hub: createOxenHub({ remoteUrl: url }), identity: ada, keepTickets: 2 });
    await ada2.acquire('Other', { ttlMs: HOUR }); // 2
    await ada2.release('Other'); // 3
    server.advanceClock(25 * HOUR);
    try {
      await ada2.acquire('Third', { ttlMs: HOUR }); // 4
      await ada2.idle();
      expect(await chainOf()).toEqual([4, 3, 2, 1]);
      release();
      // Carol's create met ticket 2 (taken): she read and renewed on top of the chain.
      const renewed = await renewing;
      expect(renewed).toMatchObject({ fencingToken: 1, ticket: 5, ttlMs: 2 * HOUR });
      expect(await managerFor(bob).status('Song')).toMatchObject({
        state: 'held-by-other',
        lease: { holder: 'carol@mac', fencingToken: 1, ticket: 5 },
      });
    } finally {
      server.advanceClock(-25 * HOUR);
    }
  });

  it('lock operations never touch the user’s branches', async () => {
    await freshRepo();
    const hub = createOxenHub({ remoteUrl: url });
    const before = await hub.getBranch('main');
    await managerFor().acquire(undefined, { ttlMs: HOUR });
    await managerFor().release(undefined);
    expect((await hub.getBranch('main')).commit_id).toBe(before.commit_id);
  });

  it('heartbeat renews, goes into jeopardy when renewals fail, and is lost when the lease ends', async () => {
    await freshRepo();
    const a = managerFor();
    const grant = await a.acquire(undefined, { ttlMs: 1500 });
    // The heartbeat's own clock is the test's: each wait is a step taken here, so the renewals are
    // real requests but no lease runs out because the machine is busy, and nothing sleeps.
    let now = Date.now();
    const waits: Array<{ ms: number; go: () => void }> = [];
    const events: string[] = [];
    const hb = startHeartbeat(a, {
      key: undefined,
      ttlMs: 1500,
      grant,
      intervalMs: 300,
      clock: { now: () => now },
      sleep: (ms, signal) =>
        new Promise<void>((go, stop) => {
          waits.push({ ms, go });
          signal?.addEventListener('abort', () => stop(signal.reason), { once: true });
        }),
      onEvent: (e) => events.push(e.type),
    });
    let settled = false;
    void hb.done.then(() => {
      settled = true;
    });
    /** Lets the heartbeat's next wait pass; false once it has ended instead of waiting. */
    const step = async () => {
      await vi.waitFor(() => expect(waits.length > 0 || settled).toBe(true));
      const w = waits.shift();
      if (!w) return false;
      now += w.ms;
      w.go();
      return true;
    };
    await step();
    await step();
    await vi.waitFor(() => expect(events).toEqual(['renewed', 'renewed']));
    await server.faults.offline();
    await step();
    await vi.waitFor(() => expect(hb.state).toBe('jeopardy'));
    expect(events.at(-1)).toBe('jeopardy');
    // In jeopardy it retries sooner (a third of the interval, at least 250 ms), and never waits
    // past the lease: 1500 ms from when the last good renewal was sent.
    const leaseEnd = now - 300 + 1500;
    for (let i = 0; i < 20 && (await step()); i++) expect(now).toBeLessThanOrEqual(leaseEnd);
    expect(await hb.done).toBe('lost');
    expect(now).toBe(leaseEnd);
    await server.faults.online();
    expect(events).toContain('jeopardy');
    expect(events.at(-1)).toBe('lost');
  });

  it('heartbeat stops cleanly on abort', async () => {
    await freshRepo();
    const a = managerFor();
    const grant = await a.acquire(undefined, { ttlMs: HOUR });
    const controller = new AbortController();
    const hb = startHeartbeat(a, { key: undefined, ttlMs: HOUR, grant, signal: controller.signal });
    controller.abort();
    expect(await hb.done).toBe('stopped');
  });
});

const contender = fileURLToPath(new URL('./test-support/acquire.mjs', import.meta.url));
type RaceResult = { ok: boolean; holder?: string; code?: string; message?: string };
/**
 * Contender `i`: a process of its own, started once, that acquires each key it is sent with a
 * fresh lock manager and answers with one JSON line. Sending every contender the same key at once
 * makes them race without paying for a process start per attempt.
 */
const startContender = (i: number) => {
  const child = spawn(process.execPath, [contender, url, `user${i}@host${i}`, `machine-${i}`, String(HOUR)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<RaceResult & { ready?: boolean }> => {
    const line = await lines.next();
    if (line.done) throw new Error(`contender ${i} ended (exit ${child.exitCode ?? child.signalCode})`);
    try {
      return JSON.parse(line.value);
    } catch (error) {
      throw new Error(`contender ${i} printed ${line.value}`, { cause: error });
    }
  };
  const closed = new Promise((r) => child.once('close', r));
  return {
    ready: next(),
    acquire(key: string): Promise<RaceResult> {
      child.stdin.write(`${key}\n`);
      return next();
    },
    async close() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await closed;
      clearTimeout(timer);
    },
  };
};

describe('real processes racing', () => {
  it('10 processes acquiring one lock at once → exactly one winner and 9 HELD naming it, 20 rounds', async () => {
    await freshRepo();
    const contenders = Array.from({ length: 10 }, (_, i) => startContender(i));
    try {
      await Promise.all(contenders.map((c) => c.ready));
      for (let round = 0; round < 20; round++) {
        const results = await Promise.all(contenders.map((c) => c.acquire(`Round${round}.logicx`)));
        const winners = results.filter((r) => r.ok);
        expect(winners, `round ${round}`).toHaveLength(1);
        const losers = results.filter((r) => !r.ok);
        expect(losers).toHaveLength(9);
        for (const l of losers) {
          expect(l.code).toBe('HELD');
          expect(l.holder).toBe(winners[0]!.holder);
          expect(l.message).toContain(winners[0]!.holder);
        }
      }
    } finally {
      await Promise.all(contenders.map((c) => c.close()));
    }
  });
});

describe('against the real oxen-server 0.54 behaviour (oxen-0.54-audit.md)', () => {
  it('audit #1: a renew and a release whose upload answer was lost succeed when retried, no duplicate ticket', async () => {
    await freshRepo();
    const a = managerFor();
    const grant = await a.acquire(undefined, { ttlMs: HOUR });
    // The server applies the upload and the answer is lost; the retry (same nonce) must not
    // re-upload identical bytes, which the real server refuses with 422 "No changes to commit".
    await server.faults.add({ kind: 'drop-response', method: 'PUT', route: '/file/', count: 1 });
    await expect(a.renew(undefined, { ttlMs: 2 * HOUR, nonce: 'renew-1' })).rejects.toMatchObject({
      code: 'NETWORK',
    });
    const renewed = await a.renew(undefined, { ttlMs: 2 * HOUR, nonce: 'renew-1' });
    expect(renewed).toMatchObject({ fencingToken: grant.fencingToken, ttlMs: 2 * HOUR });
    await server.faults.add({ kind: 'drop-response', method: 'PUT', route: '/file/', count: 1 });
    await expect(a.release(undefined, { nonce: 'release-1' })).rejects.toMatchObject({ code: 'NETWORK' });
    expect((await a.release(undefined, { nonce: 'release-1' })).released).toBe(true);
    expect(await chainOf()).toEqual([3, 2, 1]);
    expect(await a.status(undefined)).toMatchObject({ state: 'unlocked' });
  });

  it('audit #2: the scratch branch is forked with POST /branches from main, never a branch-creating PUT', async () => {
    await freshRepo();
    server.clearRequests();
    await managerFor().acquire(undefined, { ttlMs: HOUR });
    expect(server.requests.filter((r) => r.method === 'PUT' && r.route.includes('/branches'))).toEqual([]);
    const hub = createOxenHub({ remoteUrl: url });
    const main = await hub.getBranch('main');
    const scratch = (await hub.listBranches()).filter((b) => b.name.startsWith('oxvcs-scratch/'));
    expect(scratch.map((b) => b.name)).toEqual([`oxvcs-scratch/machine-ada.${main.commit_id.slice(0, 16)}`]);
    // A later read that lists the branches (a machine whose cache is cold), after main moved,
    // forks afresh from main's head and drops the old fork.
    const moved = await hub.uploadFile('main', 'take.txt', 'take.txt', 'take 2', {
      name: 'Ada',
      email: 'ada@example.com',
      message: 'take 2',
    });
    await managerFor().release(undefined);
    const cold = createLockManager({ hub: createOxenHub({ remoteUrl: url }), identity: ada });
    await cold.acquire(undefined, { ttlMs: HOUR });
    await cold.idle();
    expect(
      (await hub.listBranches()).filter((b) => b.name.startsWith('oxvcs-scratch/')).map((b) => b.name),
    ).toEqual([`oxvcs-scratch/machine-ada.${moved.id.slice(0, 16)}`]);
  });

  it('a repository without main forks from another branch and says so', async () => {
    await freshRepo();
    const hub = createOxenHub({ remoteUrl: url });
    const main = await hub.getBranch('main');
    await hub.createBranchFromCommit('develop', main.commit_id);
    await hub.deleteBranch('main');
    const events: string[] = [];
    const manager = createLockManager({
      hub: createOxenHub({ remoteUrl: url }),
      identity: ada,
      onEvent: (e) => events.push(e.type === 'no-main-branch' ? `no-main:${e.base}` : e.type),
    });
    expect((await manager.acquire(undefined, { ttlMs: HOUR })).fencingToken).toBe(1);
    expect(events).toContain('no-main:develop');
  });

  it('Oxen Hub without an oxen-version header: the version is read from /api/version before refusing', async () => {
    await freshRepo();
    const stripped: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const headers = new Headers(response.headers);
      headers.delete('oxen-version');
      return new Response(response.body, { status: response.status, headers });
    };
    const manager = createLockManager({
      hub: createOxenHub({ remoteUrl: url, fetch: stripped }),
      identity: ada,
    });
    expect((await manager.acquire(undefined, { ttlMs: HOUR })).fencingToken).toBe(1);
  });
});

describe('records and clocks are untrusted (issue 13)', () => {
  const shifted =
    (shiftMs: number | 'strip'): typeof fetch =>
    async (input, init) => {
      const response = await fetch(input, init);
      const headers = new Headers(response.headers);
      if (shiftMs === 'strip') headers.delete('date');
      else headers.set('date', new Date(Date.parse(headers.get('date') ?? '') + shiftMs).toUTCString());
      return new Response(response.body, { status: response.status, headers });
    };
  const through = (f: typeof fetch, identity = bob) =>
    createLockManager({ hub: createOxenHub({ remoteUrl: url, fetch: f }), identity });

  it('a record with ttlMs 1e300 is corrupt (naming who wrote it), never a crash; break --force replaces it', async () => {
    await freshRepo();
    const hub = createOxenHub({ remoteUrl: url });
    const main = await hub.getBranch('main');
    await hub.createBranchFromCommit('mallory', main.commit_id);
    const evil = await hub.uploadFile('mallory', 'x.txt', 'x.txt', 'x', {
      name: 'mallory',
      email: 'm@evil',
      message: JSON.stringify({
        schema: 2,
        ticket: 1,
        writer: { holder: 'ada@laptop', machineId: 'machine-ada' },
        op: 'acquire',
        key: '.',
        nonce: 'n',
        leases: {
          '.': {
            lockId: 'l',
            holder: 'ada@laptop',
            machineId: 'machine-ada',
            fencingToken: 1,
            ttlMs: 1e300,
            owner: 'MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=',
          },
        },
        breaks: {},
        last: {},
      }),
    });
    await hub.createBranchFromCommit('oxvcs-locks/0000000001', evil.id);
    const a = managerFor(ada);
    expect(await a.status(undefined)).toMatchObject({ state: 'corrupt', ticket: 1, writtenBy: 'mallory' });
    expect(await failure(a.acquire(undefined, { ttlMs: HOUR }))).toMatchObject({
      code: 'CORRUPT_RECORD',
      writtenBy: 'mallory',
    });
    expect(await a.list()).toEqual([expect.objectContaining({ state: 'corrupt', writtenBy: 'mallory' })]);
    expect((await a.break(undefined, { force: true, reason: 'bad record' })).broken).toBe(true);
    expect((await a.acquire(undefined, { ttlMs: HOUR })).fencingToken).toBe(3);
  });

  it('a Date header 2 h ahead (a proxy, a second node) never lets a live lease be taken over', async () => {
    await freshRepo();
    await managerFor(ada).acquire(undefined, { ttlMs: HOUR });
    const bobAhead = through(shifted(2 * HOUR));
    // Bob's reads say the lease is over; the commit clock says it is live.
    expect((await bobAhead.status(undefined)).state).toBe('expired');
    expect(await failure(bobAhead.acquire(undefined, { ttlMs: HOUR }))).toMatchObject({
      code: 'HELD',
      holder: 'ada@laptop',
    });
    expect(await managerFor(ada).status(undefined)).toMatchObject({ state: 'held-by-you' });
  });

  it('no Date header: a live lease reads as held (never expired); a lapsed one is taken over on the commit clock', async () => {
    await freshRepo();
    await managerFor(ada).acquire(undefined, { ttlMs: HOUR });
    const bobBlind = through(shifted('strip'));
    expect((await bobBlind.status(undefined)).state).toBe('held-by-other');
    expect((await failure(bobBlind.acquire(undefined, { ttlMs: HOUR }))).code).toBe('HELD');
    server.advanceClock(HOUR + 6000);
    try {
      expect((await bobBlind.status(undefined)).state).toBe('held-by-other');
      expect((await bobBlind.acquire(undefined, { ttlMs: HOUR })).holder).toBe('bob@studio');
    } finally {
      server.advanceClock(-(HOUR + 6000));
    }
  });
});

describe('the server costs of the real oxen-server (audit #2, #7)', () => {
  it('a slow whole-tree verification on branch-creating PUTs never delays the first lock', async () => {
    await freshRepo();
    // A check costs far more than a busy machine adds to a lock: the bound tells the two apart.
    server.configure({ wholeTreeVerifyMs: 200_000 });
    try {
      const started = Date.now();
      await managerFor().acquire(undefined, { ttlMs: HOUR });
      expect(Date.now() - started).toBeLessThan(100_000);
    } finally {
      server.configure({ wholeTreeVerifyMs: 0 });
    }
  });

  it('two processes of one machine uploading at once (409 "Workspace is behind") both get through', async () => {
    await freshRepo();
    const grant = await managerFor().acquire(undefined, { ttlMs: HOUR });
    server.configure({ uploadCommitDelayMs: 150 });
    // The twins' first uploads overlap however busy the machine is.
    server.overlapUploads(2);
    const events: string[] = [];
    const twin = () => managerFor(ada, url, { onEvent: (e) => events.push(e.type) });
    try {
      const results = await Promise.all([
        twin().renew(undefined, { ttlMs: HOUR, fencingToken: grant.fencingToken }),
        twin().renew(undefined, { ttlMs: HOUR, fencingToken: grant.fencingToken }),
      ]);
      expect(results.map((r) => r.fencingToken)).toEqual([grant.fencingToken, grant.fencingToken]);
      expect(events).toContain('upload-conflict');
    } finally {
      server.configure({ uploadCommitDelayMs: 0 });
    }
  });
});

describe('one lock table per repository (issue 13)', () => {
  it('nested keys exclude each other: a project and a folder inside it, a folder and its sub-folder', async () => {
    await freshRepo();
    const a = managerFor(ada);
    const b = managerFor(bob);
    await a.acquire(undefined, { ttlMs: HOUR, comment: 'mixing' });
    expect(await failure(b.acquire('Song.logicx', { ttlMs: HOUR }))).toMatchObject({
      code: 'HELD',
      holder: 'ada@laptop',
      heldKey: '.',
    });
    await a.release(undefined);
    await b.acquire('Songs/Song.logicx', { ttlMs: HOUR });
    for (const key of [undefined, 'Songs', 'Songs/Song.logicx/Audio Files']) {
      expect(await failure(a.acquire(key, { ttlMs: HOUR }))).toMatchObject({
        code: 'HELD',
        holder: 'bob@studio',
      });
    }
    // Siblings and look-alike names are independent.
    await a.acquire('Songs/Other.logicx', { ttlMs: HOUR });
    await a.acquire('Songs/Song.logicx2', { ttlMs: HOUR });
    expect((await a.blockers(undefined)).map((l) => l.key)).toEqual(['songs/song.logicx']);
    expect(await a.blockers('Songs/Other.logicx')).toEqual([]);
    // `lock list` is one read of the table.
    server.clearRequests();
    expect((await a.list()).map((s) => `${s.key}:${s.state}`)).toEqual([
      'songs/other.logicx:held-by-you',
      'songs/song.logicx:held-by-other',
      'songs/song.logicx2:held-by-you',
    ]);
    expect(server.requests).toHaveLength(1);
  });

  it('a replayed acquire or renew buried under other keys’ tickets is recognised by its nonce: no second write', async () => {
    await freshRepo();
    const a = managerFor(ada);
    const g = await a.acquire('A', { ttlMs: HOUR, nonce: 'acq-1' });
    await managerFor(bob).acquire('B', { ttlMs: HOUR });
    await a.renew('A', { ttlMs: 2 * HOUR, nonce: 'ren-1' });
    await managerFor(bob).release('B');
    server.clearRequests();
    expect((await a.acquire('A', { ttlMs: HOUR, nonce: 'acq-1' })).fencingToken).toBe(g.fencingToken);
    expect((await a.renew('A', { ttlMs: 2 * HOUR, nonce: 'ren-1' })).ttlMs).toBe(2 * HOUR);
    expect(server.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('owner proofs: a copied holder name and machine id can neither renew nor release, and see someone else’s lock', async () => {
    await freshRepo();
    await managerFor(ada).acquire(undefined, { ttlMs: HOUR });
    // Mallory copies everything `lock status --json` prints (holder, machine id); her state
    // folder has no key for the lease.
    const mallory = createLockManager({ hub: createOxenHub({ remoteUrl: url }), identity: { ...ada } });
    expect(await mallory.status(undefined)).toMatchObject({ state: 'held-by-other' });
    // Without the key she looks like Ada having lost hers (KEY_LOST): refused all the same.
    expect(await failure(mallory.release(undefined))).toMatchObject({
      code: 'KEY_LOST',
      holder: 'ada@laptop',
    });
    expect(await failure(mallory.renew(undefined, { ttlMs: 2 * HOUR }))).toMatchObject({
      code: 'KEY_LOST',
    });
    expect(await managerFor(ada).status(undefined)).toMatchObject({
      state: 'held-by-you',
      lease: { ttlMs: HOUR },
    });
  });

  it('a forged record (a release without the holder’s signature) is ignored by every client', async () => {
    await freshRepo();
    const grant = await managerFor(ada).acquire(undefined, { ttlMs: HOUR });
    const hub = createOxenHub({ remoteUrl: url });
    const top = await hub.getCommit((await hub.getBranch('oxvcs-locks/0000000001')).commit_id);
    const table = JSON.parse(top.message) as Record<string, unknown>;
    const forged = {
      ...table,
      ticket: 2,
      op: 'release',
      key: '.',
      nonce: 'forged',
      leases: {},
      last: { '.': 'ada@laptop' },
    };
    await hub.createBranchFromCommit('mallory', (await hub.getBranch('main')).commit_id);
    const commit = await hub.uploadFile('mallory', 'f.txt', 'f.txt', 'x', {
      name: 'mallory',
      email: 'm@x',
      message: JSON.stringify(forged),
    });
    await hub.createBranchFromCommit('oxvcs-locks/0000000002', commit.id);
    const events: string[] = [];
    const bobs = createLockManager({
      hub: createOxenHub({ remoteUrl: url }),
      identity: bob,
      onEvent: (e) => events.push(e.type),
    });
    expect(await bobs.status(undefined)).toMatchObject({
      state: 'held-by-other',
      lease: { holder: 'ada@laptop' },
    });
    expect(events).toContain('forged');
    expect((await failure(bobs.acquire(undefined, { ttlMs: HOUR }))).code).toBe('HELD');
    // Ada's next write builds on the real table.
    expect((await managerFor(ada).renew(undefined, { ttlMs: HOUR })).fencingToken).toBe(grant.fencingToken);
    expect(await chainOf()).toEqual([3, 2, 1]);
  });

  it('--timeout-like bounds: a TTL above 30 days or not a whole number of ms never reaches the table', async () => {
    await freshRepo();
    for (const ttlMs of [0, -1, 31 * 24 * HOUR, Number.NaN, 1.5]) {
      await expect(managerFor().acquire(undefined, { ttlMs })).rejects.toMatchObject({ code: 'INVALID_TTL' });
    }
  });
});

describe('property: lock transitions keep exclusivity (fast-check, against the testkit)', () => {
  /** The test's own oracle: one key is the other, or a folder containing it. */
  const nested = (a: string, b: string) =>
    a === b || a === '.' || b === '.' || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
  it('any sequence of acquire/renew/release/break by three users on nested keys never leaves two live overlapping leases', async () => {
    const users = [ada, bob, { holder: 'cy@desk', machineId: 'machine-cy' }];
    const keysPool = [undefined, 'A', 'A/x', 'B', 'B/y/z'];
    const op = fc.record({
      user: fc.integer({ min: 0, max: 2 }),
      kind: fc.constantFrom('acquire', 'acquire', 'renew', 'release', 'break', 'wait'),
      key: fc.integer({ min: 0, max: keysPool.length - 1 }),
      ttlMin: fc.integer({ min: 1, max: 90 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        await freshRepo();
        let advanced = 0;
        try {
          for (const step of ops) {
            const identity = users[step.user]!;
            const key = keysPool[step.key];
            const m = managerFor(identity);
            if (step.kind === 'wait') {
              server.advanceClock(30 * 60_000);
              advanced += 30 * 60_000;
              continue;
            }
            const result = await (step.kind === 'acquire'
              ? m.acquire(key, { ttlMs: step.ttlMin * 60_000 })
              : step.kind === 'renew'
                ? m.renew(key, { ttlMs: step.ttlMin * 60_000 })
                : step.kind === 'release'
                  ? m.release(key)
                  : m.break(key, { force: true, reason: 'test' })
            ).then(
              (r) => ({ ok: true as const, r }),
              (e: unknown) => ({ ok: false as const, e }),
            );
            if (!result.ok) expect(result.e).toBeInstanceOf(LockError);
            // The table as a bystander reads it: no two live leases of different people overlap.
            const held = (await managerFor({ holder: 'observer', machineId: 'machine-obs' }).list()).filter(
              (s): s is Extract<typeof s, { state: 'held-by-other' }> => s.state === 'held-by-other',
            );
            for (const x of held) {
              for (const y of held) {
                if (x !== y && x.lease.holder !== y.lease.holder) expect(nested(x.key, y.key)).toBe(false);
              }
            }
            // A grant just reported is what the table says now.
            if (result.ok && step.kind === 'acquire') {
              const g = result.r as { key: string; fencingToken: number; holder: string };
              expect(held.find((h) => h.key === g.key)?.lease).toMatchObject({
                holder: g.holder,
                fencingToken: g.fencingToken,
              });
            }
          }
        } finally {
          server.advanceClock(-advanced);
        }
      }),
      { numRuns: 60, seed: 1325 },
    );
  });
});

describe('chaos: 10 real processes on nested keys through a hostile network (issue 13)', () => {
  const chaos = fileURLToPath(new URL('./test-support/chaos.mjs', import.meta.url));
  /** The test's own oracle: one key is the other, or a folder containing it. */
  const nested = (a: string, b: string) =>
    a === b || a === '.' || b === '.' || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);

  it('zero double grants: every ticket’s table is exclusive, and every reported grant is in the history', async () => {
    const repoName = await freshRepo();
    const modes = ['ahead', 'ahead', 'strip', 'strip', 'plain', 'plain', 'plain', 'plain', 'plain', 'plain'];
    const seed = Number(process.env.LOCK_CHAOS_SEED ?? 20261125);
    const runs = await Promise.all(
      modes.map(
        (mode, i) =>
          new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
            const child = spawn(
              process.execPath,
              [chaos, url, `user${i}@chaos`, `machine-chaos-${i}`, String(seed + i), '60', mode],
              { stdio: ['ignore', 'pipe', 'pipe'] },
            );
            let out = '';
            let err = '';
            child.stdout.on('data', (c) => {
              out += c;
            });
            child.stderr.on('data', (c) => {
              err += c;
            });
            child.on('close', (code) => resolve({ code, out, err }));
          }),
      ),
    );
    for (const r of runs) expect(r.err, `seed ${seed}`).toBe('');
    const grants = runs.flatMap((r) =>
      r.out
        .split('\n')
        .filter(Boolean)
        .map(
          (l) =>
            JSON.parse(l) as {
              key: string;
              holder: string;
              fencingToken: number;
              ticket: number;
              expiresAt: string;
            },
        ),
    );
    expect(grants.length).toBeGreaterThan(15);

    // The server's ticket history (nothing is deleted within the clean-up horizon).
    const repo = server.repo('ns', repoName)!;
    type Lease = { holder: string; fencingToken: number; ttlMs: number; renewedAt?: string };
    const history = new Map<number, { at: number; leases: Record<string, Lease> }>();
    for (const [branch, commitId] of Object.entries(repo.branches)) {
      if (!branch.startsWith('oxvcs-locks/')) continue;
      const commit = repo.commits[commitId]!;
      const table = JSON.parse(commit.message) as { ticket: number; leases: Record<string, Lease> };
      history.set(table.ticket, { at: Date.parse(commit.timestamp), leases: table.leases });
    }
    // Every ticket's table: no two people hold overlapping keys at its own commit time.
    for (const [ticket, { at, leases }] of history) {
      const live = Object.entries(leases).filter(
        ([, l]) => at < (l.renewedAt ? Date.parse(l.renewedAt) : at) + l.ttlMs,
      );
      for (const [k1, l1] of live)
        for (const [k2, l2] of live)
          if (l1.holder !== l2.holder)
            expect(nested(k1, k2), `ticket ${ticket}: ${k1} / ${k2}, seed ${seed}`).toBe(false);
    }
    // Every grant a client reported is the lease its ticket's table holds.
    for (const g of grants) {
      const entry = history.get(g.ticket);
      expect(entry, `grant at ticket ${g.ticket}, seed ${seed}`).toBeDefined();
      expect(entry!.leases[g.key]).toMatchObject({ holder: g.holder, fencingToken: g.fencingToken });
    }
    // No two reported grants of overlapping keys to different people overlap in (server) time.
    // A grant lasts until its lease ends, or until a later ticket no longer holds it (released,
    // broken), whichever comes first.
    const tickets = [...history.keys()].sort((a, b) => a - b);
    const removedAt = (g: (typeof grants)[number]) => {
      for (const t of tickets) {
        if (t <= g.ticket) continue;
        const l = history.get(t)!.leases[g.key];
        if (!l || l.holder !== g.holder || l.fencingToken !== g.fencingToken) return history.get(t)!.at;
      }
      return Number.POSITIVE_INFINITY;
    };
    const spans = grants.map((g) => ({
      ...g,
      from: history.get(g.ticket)!.at,
      to: Math.min(Date.parse(g.expiresAt), removedAt(g)),
    }));
    for (const a of spans)
      for (const b of spans)
        if (a.holder !== b.holder && nested(a.key, b.key))
          expect(
            a.to <= b.from || b.to <= a.from,
            `${a.holder}@${a.ticket} vs ${b.holder}@${b.ticket}, seed ${seed}`,
          ).toBe(true);
    console.log(`chaos (seed ${seed}): ${history.size} tickets, ${grants.length} grants, 0 double grants`);
  });
});

describe('status of a key under or around someone else’s lock', () => {
  it('reads as held by them, naming the key they hold', async () => {
    await freshRepo();
    await managerFor(ada).acquire(undefined, { ttlMs: HOUR });
    expect(await managerFor(bob).status('Drums.logicx')).toMatchObject({
      state: 'held-by-other',
      key: 'drums.logicx',
      lease: { holder: 'ada@laptop', key: '.' },
    });
    await managerFor(ada).release(undefined);
    await managerFor(bob).acquire('Drums.logicx', { ttlMs: HOUR });
    expect(await managerFor(ada).status(undefined)).toMatchObject({
      state: 'held-by-other',
      lease: { holder: 'bob@studio', key: 'drums.logicx' },
    });
  });
});

describe('one connection per process and remote (issue 13 §6)', () => {
  it('acquire, renew, status and release share one kept-alive connection', async () => {
    await freshRepo();
    const target = new URL(url);
    let connections = 0;
    const proxy = createNetServer((client) => {
      connections++;
      const upstream = connect(Number(target.port), '127.0.0.1');
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('error', () => {});
      upstream.on('error', () => {});
      client.on('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const viaProxy = `http://127.0.0.1:${(proxy.address() as { port: number }).port}${target.pathname}`;
      const m = createLockManager({ hub: createOxenHub({ remoteUrl: viaProxy }), identity: ada });
      await m.acquire(undefined, { ttlMs: HOUR });
      await m.renew(undefined, { ttlMs: HOUR });
      await m.status(undefined);
      await m.release(undefined);
      await m.idle();
      expect(connections).toBe(1);
    } finally {
      proxy.close();
    }
  });
});

describe('the scratch branch stays near main on a busy machine (audit #2)', () => {
  it('a day after its last check, the next claim re-forks it from main’s new head and drops the old fork', async () => {
    await freshRepo();
    const hub = createOxenHub({ remoteUrl: url });
    const scratches = async () =>
      (await hub.listBranches()).filter((b) => b.name.startsWith('oxvcs-scratch/')).map((b) => b.name);
    await managerFor().acquire(undefined, { ttlMs: HOUR });
    const moved = await hub.uploadFile('main', 'take.txt', 'take.txt', 'take 2', {
      name: 'Ada',
      email: 'ada@example.com',
      message: 'take 2',
    });
    // Within the day: the cached fork is used, no check of main.
    await managerFor().renew(undefined, { ttlMs: HOUR });
    expect(await scratches()).not.toContain(`oxvcs-scratch/machine-ada.${moved.id.slice(0, 16)}`);
    const state = stateOf(ada, url);
    const cached = state.cache.load()!;
    state.cache.save({ ...cached, scratchAt: Date.now() - 25 * HOUR });
    const m = managerFor();
    await m.renew(undefined, { ttlMs: HOUR });
    await m.idle();
    expect(await scratches()).toEqual([`oxvcs-scratch/machine-ada.${moved.id.slice(0, 16)}`]);
  });
});
