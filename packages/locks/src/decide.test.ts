import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Snapshot } from './chain.js';
import {
  decideAcquire,
  decideBreak,
  decideRelease,
  decideRenew,
  type Fresh,
  type Me,
  type Step,
  stateIn,
} from './decide.js';
import { LockError } from './errors.js';
import type { TableWaiter } from './line.js';
import { EXPIRY_MARGIN_MS } from './record.js';
import { blockers, type ChainTicket, overlaps, TABLE_SCHEMA, type TableLease } from './table.js';

const T0 = Date.parse('2026-12-06T12:00:00.000Z');
const HOUR = 3_600_000;
const USERS = ['ada', 'bob', 'cy'];
const KEYS = ['.', 'a', 'a/b', 'c'];

/** `name`'s view: owns a lease when its name and machine match and its key is in `keys`. */
const meOf = (name: string, keys: ReadonlyMap<string, string> = new Map()): Me => ({
  holder: `${name}@host`,
  machineId: `m-${name}`,
  owns: (l) => l.holder === `${name}@host` && l.machineId === `m-${name}` && keys.has(l.lockId),
  keyOf: (id) => keys.get(id),
});

const fresh = (): Fresh => {
  let n = 0;
  return { uuid: () => `id-${++n}`, leaseKey: () => ({ publicKey: `pub-${++n}`, privateKey: `priv-${n}` }) };
};

const lease = (name: string, lockId: string, fencingToken: number, ttlMs = HOUR): TableLease => ({
  lockId,
  holder: `${name}@host`,
  machineId: `m-${name}`,
  fencingToken,
  ttlMs,
  owner: `pub-${lockId}`,
  nonce: `n-${lockId}`,
  grantNonce: `n-${lockId}`,
});

/** A snapshot whose table in force is ticket `ticket`, committed at `at`, read at server time `serverNow`. */
const snapshot = (
  leases: Record<string, TableLease>,
  o: {
    ticket?: number;
    at?: number;
    serverNow?: number | undefined;
    fromCache?: boolean;
    waiters?: Record<string, TableWaiter[]>;
    nonce?: string;
    writer?: string;
  } = {},
): Snapshot => {
  const ticket = o.ticket ?? 5;
  const writer = o.writer ?? 'cy';
  const top: ChainTicket = {
    ticket,
    commitId: `c${ticket}`,
    committedAt: o.at ?? T0,
    record: {
      schema: TABLE_SCHEMA,
      ticket,
      writer: { holder: `${writer}@host`, machineId: `m-${writer}` },
      op: 'acquire',
      key: '.',
      nonce: o.nonce ?? 'top-nonce',
      leases,
      breaks: {},
      last: {},
      ...(o.waiters ? { waiters: o.waiters } : {}),
    },
  };
  return {
    state: { verified: ticket, effective: top },
    top,
    shown: top,
    serverNow: 'serverNow' in o ? o.serverNow : T0 + 1000,
    ...(o.fromCache ? { fromCache: true } : {}),
  };
};

const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    if (error instanceof LockError) return error;
    throw error;
  }
  throw new Error('expected a LockError');
};

const writeOf = <R>(step: Step<R>) => {
  if (!('write' in step)) throw new Error(`expected a write, got ${JSON.stringify(step)}`);
  return step;
};

describe('decisions (pure)', () => {
  it('acquire on a free key grants a new lease: next fencing token, a fresh key kept before the claim', () => {
    const me = meOf('ada');
    const snap = snapshot({});
    const step = writeOf(
      decideAcquire(snap, stateIn('a', snap, me), { key: 'a', nonce: 'n1', ttlMs: HOUR }, me, fresh(), T0),
    );
    expect(step.write).toMatchObject({ op: 'acquire', key: 'a', exclusive: true });
    expect(step.write.lease).toMatchObject({
      holder: 'ada@host',
      fencingToken: 6,
      owner: 'pub-1',
      nonce: 'n1',
    });
    expect(step.write.sign).toBeUndefined();
    expect(step.keep).toEqual({ lockId: 'id-2', privateKey: 'priv-1' });
  });

  it('acquire of your own live lease extends it: same token, signed with its key, no new key', () => {
    const keys = new Map([['L1', 'secret']]);
    const me = meOf('ada', keys);
    const snap = snapshot({ a: lease('ada', 'L1', 3) });
    const step = writeOf(
      decideAcquire(
        snap,
        stateIn('a', snap, me),
        { key: 'a', nonce: 'n2', ttlMs: 2 * HOUR },
        me,
        fresh(),
        T0,
      ),
    );
    expect(step.write.lease).toMatchObject({ lockId: 'L1', fencingToken: 3, ttlMs: 2 * HOUR, nonce: 'n2' });
    expect(step.write.sign?.privateKey).toBe('secret');
    expect(step.keep).toBeUndefined();
  });

  it('acquire under someone else’s live lease on a folder around it: a read first on the cache, HELD on a read', () => {
    const me = meOf('ada');
    const cached = snapshot({ a: lease('bob', 'L2', 4) }, { fromCache: true });
    const req = { key: 'a/b', nonce: 'n3', ttlMs: HOUR };
    expect(decideAcquire(cached, stateIn('a/b', cached, me), req, me, fresh(), T0)).toEqual({ fresh: true });
    const read = snapshot({ a: lease('bob', 'L2', 4) });
    const e = codeOf(() => decideAcquire(read, stateIn('a/b', read, me), req, me, fresh(), T0));
    expect(e).toMatchObject({ code: 'HELD', holder: 'bob@host', heldKey: 'a', key: 'a/b' });
  });

  it('a replay of an acquire that took effect answers from the table, writing nothing', () => {
    const keys = new Map([['L1', 'secret']]);
    const me = meOf('ada', keys);
    const snap = snapshot({ a: { ...lease('ada', 'L1', 5), nonce: 'again' } });
    const step = decideAcquire(
      snap,
      stateIn('a', snap, me),
      { key: 'a', nonce: 'again', ttlMs: HOUR },
      me,
      fresh(),
      T0,
    );
    expect(step).toMatchObject({ result: { fencingToken: 5, alreadyHeld: false } });
  });

  it('a plain acquire does not jump a line (HELD, inLine); one in line joins it', () => {
    const me = meOf('ada');
    const waiters: Record<string, TableWaiter[]> = {
      a: [{ id: 'w1', holder: 'bob@host', machineId: 'm-bob', joined: 4, leaseMs: HOUR }],
    };
    const snap = snapshot({}, { waiters });
    const state = stateIn('a', snap, me);
    expect(state).toMatchObject({ waiters: [{ holder: 'bob@host' }] });
    const e = codeOf(() =>
      decideAcquire(snap, state, { key: 'a', nonce: 'n', ttlMs: HOUR }, me, fresh(), T0),
    );
    expect(e).toMatchObject({ code: 'HELD', inLine: true, holder: 'bob@host' });
    const step = writeOf(
      decideAcquire(snap, state, { key: 'a', nonce: 'n', ttlMs: HOUR, line: { id: 'w2' } }, me, fresh(), T0),
    );
    expect(step.write).toMatchObject({ op: 'wait', wait: { id: 'w2', action: 'join' } });
    expect(() => step.onClaimed(snap.state.effective as ChainTicket)).toThrow(LockError);
  });

  it('renew and release: NOT_HOLDER for others, STALE_TOKEN for an old token, a signed write for yours', () => {
    const keys = new Map([['L1', 'secret']]);
    const ada = meOf('ada', keys);
    const bob = meOf('bob');
    const snap = snapshot({ '.': lease('ada', 'L1', 3) });
    const req = { key: '.', nonce: 'r', ttlMs: HOUR };
    expect(codeOf(() => decideRenew(snap, stateIn('.', snap, bob), req, bob, T0)).code).toBe('NOT_HOLDER');
    expect(codeOf(() => decideRelease(snap, stateIn('.', snap, bob), req, bob)).code).toBe('NOT_HOLDER');
    const stale = { ...req, fencingToken: 2 };
    expect(codeOf(() => decideRenew(snap, stateIn('.', snap, ada), stale, ada, T0)).code).toBe('STALE_TOKEN');
    expect(codeOf(() => decideRelease(snap, stateIn('.', snap, ada), stale, ada)).code).toBe('STALE_TOKEN');
    const renew = writeOf(decideRenew(snap, stateIn('.', snap, ada), { ...req, keepAlive: true }, ada, T0));
    expect(renew.write).toMatchObject({ op: 'renew', lease: { fencingToken: 3, keptAlive: true } });
    const release = writeOf(decideRelease(snap, stateIn('.', snap, ada), req, ada));
    expect(release.write).toMatchObject({ op: 'release', lease: null, last: 'ada@host' });
    expect(release.forget).toBe('L1');
  });

  it('break: a live lease needs force; inside the expiry margin it says how long is left; force writes the note', () => {
    const me = meOf('bob');
    const live = snapshot({ '.': lease('ada', 'L1', 3) });
    const req = { key: '.', nonce: 'b', reason: 'away' };
    expect(codeOf(() => decideBreak(live, stateIn('.', live, me), req, me)).code).toBe('HELD');
    const justOver = snapshot({ '.': lease('ada', 'L1', 3) }, { serverNow: T0 + HOUR + 2000 });
    const e = codeOf(() => decideBreak(justOver, stateIn('.', justOver, me), req, me));
    expect(e.message).toContain('expired 2 s ago; it is treated as held for 3 s more');
    const forced = writeOf(decideBreak(live, stateIn('.', live, me), { ...req, force: true }, me));
    expect(forced.write).toMatchObject({
      op: 'break',
      breakNote: { by: 'bob@host', previousHolder: 'ada@host', reason: 'away' },
    });
    expect(forced.write.requireEnded).toBeUndefined();
    const over = snapshot({ '.': lease('ada', 'L1', 3) }, { serverNow: T0 + HOUR + EXPIRY_MARGIN_MS });
    expect(writeOf(decideBreak(over, stateIn('.', over, me), req, me)).write.requireEnded).toBe(true);
  });

  it('property: a decided grant never overlaps another’s live lease, and only a holder’s renew or release is written', () => {
    const leaseArb = fc.record({
      user: fc.nat(USERS.length - 1),
      key: fc.constantFrom(...KEYS),
      ttlMs: fc.integer({ min: 1000, max: 2 * HOUR }),
      token: fc.integer({ min: 1, max: 9 }),
      kept: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(leaseArb, { maxLength: 5 }),
        fc.nat(USERS.length - 1),
        fc.constantFrom(...KEYS),
        fc.option(fc.integer({ min: -HOUR, max: 3 * HOUR }), { nil: undefined }),
        fc.boolean(),
        (ls, who, key, skew, force) => {
          const leases: Record<string, TableLease> = {};
          const keys = new Map<string, string>();
          ls.forEach((l, i) => {
            const name = USERS[l.user] as string;
            leases[l.key] = lease(name, `L${i}`, l.token, l.ttlMs);
            if (l.kept && l.user === who) keys.set(`L${i}`, `secret-${i}`);
          });
          const me = meOf(USERS[who] as string, keys);
          const snap = snapshot(leases, { serverNow: skew === undefined ? undefined : T0 + skew });
          const state = stateIn(key, snap, me);
          const tryStep = <R>(f: () => Step<R>) => {
            try {
              return f();
            } catch (error) {
              if (error instanceof LockError) return undefined;
              throw error;
            }
          };
          const acquire = tryStep(() =>
            decideAcquire(snap, state, { key, nonce: 'x', ttlMs: HOUR }, me, fresh(), T0),
          );
          if (acquire && 'write' in acquire && snap.serverNow !== undefined) {
            // A grant the claim will check again on the commit clock: never over a live lease by the read.
            expect(blockers(key, snap.state.effective, snap.serverNow, me)).toEqual([]);
          }
          for (const step of [
            tryStep(() => decideRenew(snap, state, { key, nonce: 'y', ttlMs: HOUR }, me, T0)),
            tryStep(() => decideRelease(snap, state, { key, nonce: 'z' }, me)),
          ]) {
            if (step && 'write' in step) {
              const own = leases[key];
              expect(own && me.owns(own) && me.keyOf(own.lockId)).toBeTruthy();
              expect(step.write.sign?.privateKey).toBe(me.keyOf((own as TableLease).lockId));
            }
          }
          const broke = tryStep(() => decideBreak(snap, state, { key, nonce: 'b', force }, me));
          if (broke && 'write' in broke && !force) {
            // Without force a break is only written for an ended lease, and the claim checks that again.
            expect(broke.write.requireEnded).toBe(true);
            expect(Object.keys(leases).some((k) => overlaps(k, key))).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
