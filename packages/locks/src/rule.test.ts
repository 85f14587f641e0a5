import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newLeaseKey, signProof } from './proof.js';
import { type ChainState, judge, readChain, runsOf, writtenByThisRule } from './rule.js';
import {
  type ChainTicket,
  carryOver,
  chainTime,
  leaseEnded,
  overlaps,
  signedText,
  TABLE_SCHEMA,
  type TableLease,
  type TableRecord,
} from './table.js';

const HOUR = 3_600_000;
const users = ['ada', 'bob', 'cy'].map((name) => ({
  holder: `${name}@host`,
  machineId: `machine-${name}`,
  key: newLeaseKey(),
}));
const KEYS = ['.', 'a', 'a/b', 'c'];

/** What one step of a generated history writes as the next ticket. */
type Move =
  | { kind: 'honest'; user: number; op: 'acquire' | 'renew' | 'release' | 'break'; key: number; ttlH: number }
  | { kind: 'forged-release'; key: number }
  | { kind: 'unsigned-renew'; key: number }
  | { kind: 'steal'; user: number; key: number }
  | { kind: 'corrupt' }
  | { kind: 'oversized' };

const move: fc.Arbitrary<Move> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('honest' as const),
      user: fc.nat(2),
      op: fc.constantFrom('acquire', 'renew', 'release', 'break') as fc.Arbitrary<
        'acquire' | 'renew' | 'release' | 'break'
      >,
      key: fc.nat(KEYS.length - 1),
      ttlH: fc.integer({ min: 1, max: 30 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('forged-release' as const), key: fc.nat(KEYS.length - 1) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('unsigned-renew' as const), key: fc.nat(KEYS.length - 1) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('steal' as const),
      user: fc.nat(2),
      key: fc.nat(KEYS.length - 1),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('corrupt' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('oversized' as const) }) },
);

/**
 * The ticket a step writes on top of the table in force (`base`), at commit time `at`. Honest
 * writers build as the manager does (carry-over, signatures); the others write what a careless or
 * hostile collaborator could. A corrupt ticket has no record; an oversized one not even a time.
 */
function write(n: number, m: Move, base: ChainTicket | undefined, at: number): ChainTicket {
  const t = { ticket: n, commitId: `c${n}-${m.kind}`, committedAt: at };
  if (m.kind === 'corrupt') return { ...t, author: 'mallory' };
  if (m.kind === 'oversized') return { ...t, committedAt: Number.NaN };
  const table = carryOver(base);
  const key = KEYS[m.key] as string;
  const user = users[m.kind === 'honest' || m.kind === 'steal' ? m.user : 0] as (typeof users)[number];
  const current = table.leases[key];
  let op: TableRecord['op'] = 'acquire';
  let sig: string | undefined;
  if (m.kind === 'honest') {
    op = m.op;
    const lease: TableLease = {
      lockId: `${user.holder}-${n}`,
      holder: user.holder,
      machineId: user.machineId,
      fencingToken: n,
      ttlMs: m.ttlH * HOUR,
      owner: user.key.publicKey,
    };
    const own = current?.owner === user.key.publicKey ? current : undefined;
    if (op === 'acquire') table.leases[key] = own ? { ...own, ttlMs: lease.ttlMs } : lease;
    if (op === 'acquire' && own) delete (table.leases[key] as { renewedAt?: string }).renewedAt;
    if (op === 'renew' && own) {
      const renewed = { ...own, ttlMs: lease.ttlMs };
      delete (renewed as { renewedAt?: string }).renewedAt;
      table.leases[key] = renewed;
    }
    if (op === 'release') delete table.leases[key];
    if (op === 'break') {
      delete table.leases[key];
      table.breaks[key] = { by: user.holder, previousHolder: 'x', previousMachineId: 'y' };
    }
    const unsigned = { ticket: n, op, key, nonce: `n${n}` };
    const signed = table.leases[key] ?? own;
    if (own && signed && op !== 'break') sig = signProof(user.key.privateKey, signedText(unsigned, signed));
  } else if (m.kind === 'forged-release') {
    op = 'release';
    delete table.leases[key];
  } else if (m.kind === 'unsigned-renew') {
    op = 'renew';
    if (current) table.leases[key] = { ...current, ttlMs: 30 * 24 * HOUR };
    if (current) delete (table.leases[key] as { renewedAt?: string }).renewedAt;
  } else {
    table.leases[key] = {
      lockId: `steal-${n}`,
      holder: user.holder,
      machineId: user.machineId,
      fencingToken: n,
      ttlMs: HOUR,
      owner: user.key.publicKey,
    };
  }
  const record: TableRecord = {
    schema: TABLE_SCHEMA,
    ticket: n,
    writer: { holder: user.holder, machineId: user.machineId },
    op,
    key,
    nonce: `n${n}`,
    ...(sig ? { sig } : {}),
    ...(base ? { floor: base.committedAt } : {}),
    ...table,
  };
  return { ...t, committedAt: chainTime(at, record), record, author: user.holder };
}

/** Same effective table: same verified top, same table in force, same corrupt ticket. */
const sameTruth = (x: ChainState, y: ChainState) => {
  expect(x.verified).toBe(y.verified);
  expect(x.effective?.commitId).toBe(y.effective?.commitId);
  expect(x.corrupt?.commitId).toBe(y.corrupt?.commitId);
};

describe('the reading rule (pure)', () => {
  it('property: random chains (valid, forged, unsigned, corrupt, oversized, gap, skewed clocks) read with random caches give one truth', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ m: move, skew: fc.integer({ min: -25, max: 25 }), step: fc.nat(3) }), {
          minLength: 1,
          maxLength: 24,
        }),
        fc.array(fc.nat(24), { maxLength: 4 }),
        fc.nat(24),
        fc.boolean(),
        (steps, cachePoints, cleanTo, gap) => {
          // The server's history: each ticket written by a writer that read the chain at the time.
          const tickets: ChainTicket[] = [];
          let clock = Date.UTC(2026, 0, 1);
          let state: ChainState = { verified: 0 };
          const caches: ChainState[] = [];
          steps.forEach(({ m, skew, step }, i) => {
            clock += step * HOUR;
            // The commit clock of this write may be stepped up to ±25 h.
            const t = write(i + 1, m, state.effective, clock + skew * HOUR);
            tickets.push(t);
            state = readChain(tickets).state;
            if (cachePoints.includes(i)) caches.push(state);
          });
          // Clean-up as the manager does it: from the bottom, only below an accepted ticket.
          const all = readChain(tickets).judged;
          let lowest = 0;
          while (lowest < Math.min(cleanTo, tickets.length - 2) && all[lowest + 1]?.verdict === 'accepted')
            lowest++;
          const present = tickets.slice(lowest);
          // A collaborator's ticket far above the top: never part of the chain.
          const numbers = [...present.map((t) => t.ticket), ...(gap ? [tickets.length + 5] : [])];
          const [run] = runsOf(numbers);
          expect(run?.top).toBe(tickets.length);
          const cold = readChain(present).state;
          sameTruth(cold, readChain(tickets).state);
          for (const cached of caches) sameTruth(readChain(present, cached).state, cold);
          // Every table in force is exclusive at its own commit time: no two holders' live leases overlap.
          for (const j of readChain(present).judged) {
            if (j.verdict !== 'accepted' || !j.ticket.record) continue;
            const live = Object.entries(j.ticket.record.leases).filter(
              ([, l]) => !leaseEnded(l, j.ticket.committedAt, j.ticket.committedAt),
            );
            for (const [k1, l1] of live)
              for (const [k2, l2] of live)
                if (l1.holder !== l2.holder || l1.machineId !== l2.machineId)
                  expect(overlaps(k1, k2)).toBe(false);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a rejected ticket is never a base: the honest ticket after it is judged against the one before it', () => {
    const t1 = write(1, { kind: 'honest', user: 0, op: 'acquire', key: 1, ttlH: 4 }, undefined, 0);
    const t2 = write(2, { kind: 'forged-release', key: 1 }, t1, HOUR);
    const t3 = write(3, { kind: 'honest', user: 1, op: 'acquire', key: 3, ttlH: 4 }, t1, 2 * HOUR);
    expect(judge(t1, t2).verdict).toBe('rejected');
    const { state, judged } = readChain([t1, t2, t3]);
    expect(judged.map((j) => j.verdict)).toEqual(['accepted', 'rejected', 'accepted']);
    expect(state.effective?.record?.leases.a?.holder).toBe('ada@host');
    // A reader that verified up to the rejected ticket agrees.
    expect(readChain([t3], readChain([t1, t2]).state).state.effective?.commitId).toBe(t3.commitId);
  });

  it('runs of ticket numbers: a ticket above a gap starts a run of its own; a run is ours when it holds a schema 3 table', () => {
    expect(runsOf([9_999_999_999, 5, 3, 4, 1])).toEqual([
      { lowest: 1, top: 1 },
      { lowest: 3, top: 5 },
      { lowest: 9_999_999_999, top: 9_999_999_999 },
    ]);
    expect(runsOf([])).toEqual([]);
    const t1 = write(1, { kind: 'honest', user: 0, op: 'acquire', key: 1, ttlH: 4 }, undefined, 0);
    expect(writtenByThisRule([t1])).toBe(true);
    expect(writtenByThisRule([{ ...t1, record: { ...(t1.record as TableRecord), schema: 2 } }])).toBe(false);
    expect(writtenByThisRule([{ ticket: 2, commitId: 'x', committedAt: 0 }])).toBe(false);
  });
});
