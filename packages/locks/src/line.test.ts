import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { judgeLines, lineFor, mayGrant, parseLine, type TableWaiter, waiterLapsed } from './line.js';
import { newLeaseKey, signProof } from './proof.js';
import { EXPIRY_MARGIN_MS } from './record.js';
import { type ChainState, readChain } from './rule.js';
import {
  type ChainTicket,
  carryOver,
  chainTime,
  leaseEnded,
  overlaps,
  parseTable,
  signedText,
  TABLE_SCHEMA,
  type TableLease,
  type TableRecord,
} from './table.js';

const MIN = 60_000;
const users = ['ada', 'bob', 'cy'].map((name) => ({
  holder: `${name}@host`,
  machineId: `machine-${name}`,
  key: newLeaseKey(),
}));
const KEYS = ['.', 'a', 'a/b', 'c'];
/** Waiters keep their place 30 minutes without a refresh. */
const WAIT_MS = 30 * MIN;

/** One step of a generated history: what some client writes as the next ticket. */
type Move = {
  /** `turn`: the first live waiter of the key's line acquires (an honest waiter whose turn came). */
  kind: 'acquire' | 'turn' | 'release' | 'join' | 'refresh' | 'leave' | 'kick';
  user: number;
  key: number;
  /** For `kick`: whose place (a forged leave), else unused. */
  other: number;
};

const move: fc.Arbitrary<Move> = fc.record({
  kind: fc.constantFrom(
    'acquire',
    'turn',
    'turn',
    'release',
    'join',
    'join',
    'join',
    'refresh',
    'leave',
    'kick',
  ),
  user: fc.nat(2),
  // Mostly `a` and `a/b`, so lines form and overlap.
  key: fc.constantFrom(0, 1, 1, 1, 2, 2, 3),
  other: fc.nat(2),
}) as fc.Arbitrary<Move>;

const sameUser = (w: { holder: string; machineId: string }, u: (typeof users)[number]) =>
  w.holder === u.holder && w.machineId === u.machineId;

/**
 * The ticket a move writes on top of the table in force, at commit time `at`, built as the manager
 * builds it (carry-over, the writer leaving the line on a grant, signatures), whether or not the
 * rule will accept it: a plain acquire may try to jump the line, a later waiter may try to overtake,
 * a `kick` removes someone else's place. The rule decides.
 */
function write(n: number, move: Move, base: ChainTicket | undefined, at: number): ChainTicket {
  const table = carryOver(base);
  const key = KEYS[move.key] as string;
  const [first] = lineFor(key, base?.record?.waiters, base?.committedAt ?? 0, at, overlaps);
  const turn = users.findIndex((u) => first !== undefined && sameUser(first, u));
  const m: Move =
    move.kind === 'turn' ? { ...move, kind: 'acquire', ...(turn >= 0 ? { user: turn } : {}) } : move;
  const user = users[m.user] as (typeof users)[number];
  const current = table.leases[key];
  const own = current?.owner === user.key.publicKey ? current : undefined;
  const line = table.waiters[key] ?? [];
  let op: TableRecord['op'] = m.kind === 'acquire' || m.kind === 'release' ? m.kind : 'wait';
  let sig: string | undefined;
  const unsigned = { ticket: n, op, key, nonce: `n${n}` };
  if (m.kind === 'acquire') {
    if (own) {
      const extended = { ...own };
      delete (extended as { renewedAt?: string }).renewedAt;
      table.leases[key] = extended;
      sig = signProof(user.key.privateKey, signedText(unsigned, extended));
    } else {
      table.leases[key] = {
        lockId: `${user.holder}-${n}`,
        holder: user.holder,
        machineId: user.machineId,
        fencingToken: n,
        ttlMs: 60 * MIN,
        owner: user.key.publicKey,
      } satisfies TableLease;
    }
    table.waiters[key] = line.filter((w) => !sameUser(w, user));
  } else if (m.kind === 'release') {
    if (own) {
      delete table.leases[key];
      sig = signProof(user.key.privateKey, signedText(unsigned, own));
    } else op = 'release';
  } else if (m.kind === 'join') {
    table.waiters[key] = [
      ...line,
      { id: `w${n}`, holder: user.holder, machineId: user.machineId, joined: n, leaseMs: WAIT_MS },
    ];
  } else if (m.kind === 'refresh') {
    const mine = line.filter((w) => sameUser(w, user)).pop();
    table.waiters[key] = line.map((w) => {
      if (w !== mine) return w;
      const { seenAt: _s, ...fresh } = w;
      return fresh;
    });
  } else if (m.kind === 'leave') {
    table.waiters[key] = line.filter((w) => !sameUser(w, user));
  } else {
    const victim = users[m.other] as (typeof users)[number];
    table.waiters[key] = line.filter((w) => !sameUser(w, victim));
  }
  if ((table.waiters[key] ?? []).length === 0) delete table.waiters[key];
  const record: TableRecord = {
    schema: TABLE_SCHEMA,
    ticket: n,
    writer: { holder: user.holder, machineId: user.machineId },
    op,
    key,
    nonce: `n${n}`,
    ...(sig ? { sig } : {}),
    ...(base ? { floor: base.committedAt } : {}),
    leases: table.leases,
    breaks: table.breaks,
    last: table.last,
    ...(Object.keys(table.waiters).length > 0 ? { waiters: table.waiters } : {}),
  };
  // Every ticket goes through the parser, as readers see it.
  const parsed = parseTable(JSON.stringify(record), n);
  return {
    ticket: n,
    commitId: `c${n}`,
    committedAt: chainTime(at, parsed),
    author: user.holder,
    ...(parsed ? { record: parsed } : {}),
  };
}

/** Live entries of a table's lines at time `now`, each with its key. */
function liveWaiters(t: ChainTicket | undefined, now: number): { key: string; w: TableWaiter }[] {
  const out: { key: string; w: TableWaiter }[] = [];
  for (const [key, ws] of Object.entries(t?.record?.waiters ?? {}))
    for (const w of ws) if (!waiterLapsed(w, t?.committedAt ?? 0, now)) out.push({ key, w });
  return out;
}

const sameTruth = (x: ChainState, y: ChainState) => {
  expect(x.verified).toBe(y.verified);
  expect(x.effective?.commitId).toBe(y.effective?.commitId);
};

describe('waiting in line (pure rule)', () => {
  it('property: first come, first served: random holders, waiters, releases, expiries, waiter deaths and forged changes; no grant ever overtakes a live earlier waiter, and the table stays exclusive', () => {
    let contested = 0;
    fc.assert(
      fc.property(
        fc.array(fc.record({ m: move, step: fc.nat(2) }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(40), { maxLength: 3 }),
        (steps, cachePoints) => {
          const tickets: ChainTicket[] = [];
          let clock = Date.UTC(2026, 0, 1);
          let state: ChainState = { verified: 0 };
          const caches: ChainState[] = [];
          steps.forEach(({ m, step }, i) => {
            // Time passes in 5-minute steps: leases (1 h) and places in line (30 min) lapse
            // when nobody renews or refreshes them (a waiter whose machine died).
            clock += step * 5 * MIN;
            tickets.push(write(i + 1, m, state.effective, clock));
            state = readChain(tickets).state;
            if (cachePoints.includes(i)) caches.push(state);
          });
          const { judged } = readChain(tickets);
          let base: ChainTicket | undefined;
          for (const j of judged) {
            const t = j.ticket;
            const r = t.record;
            if (j.verdict !== 'accepted' || !r) continue;
            const grant = r.op === 'acquire' && r.leases[r.key]?.fencingToken === t.ticket;
            if (grant) {
              const line = liveWaiters(base, t.committedAt).filter(({ key }) => overlaps(key, r.key));
              const mine = line.find(
                ({ key, w }) =>
                  key === r.key && sameUser(w, users.find((u) => u.holder === r.writer.holder) ?? users[0]!),
              );
              for (const { w } of line) {
                if (w === mine?.w) continue;
                contested++;
                // Nobody still waiting who joined earlier is overtaken, and nobody jumps a line.
                expect(mine).toBeDefined();
                expect(mine?.w.joined).toBeLessThan(w.joined);
              }
            }
            // Exclusive: no two holders' live leases overlap.
            const live = Object.entries(r.leases).filter(
              ([, l]) => !leaseEnded(l, t.committedAt, t.committedAt),
            );
            for (const [k1, l1] of live)
              for (const [k2, l2] of live) if (l1.holder !== l2.holder) expect(overlaps(k1, k2)).toBe(false);
            // Nobody left the line except by their own hand, a grant, or lapsing.
            for (const { key, w } of liveWaiters(base, t.committedAt)) {
              const still = (r.waiters?.[key] ?? []).some((x) => x.id === w.id && x.joined === w.joined);
              const ownHand = r.key === key && r.writer.holder === w.holder;
              if (!ownHand) expect(still).toBe(true);
            }
            base = t;
          }
          // One truth: a reader resuming from any cache reads the same table as a cold one.
          for (const cached of caches) sameTruth(readChain(tickets, cached).state, state);
        },
      ),
      { numRuns: 300 },
    );
    // The property is not vacuous: grants happened while others were in line.
    expect(contested).toBeGreaterThan(0);
  });

  const at0 = Date.UTC(2026, 0, 1);
  const bobWaits = () => {
    const t1 = write(1, { kind: 'acquire', user: 0, key: 1, other: 0 }, undefined, at0);
    const t2 = write(2, { kind: 'join', user: 1, key: 1, other: 0 }, t1, at0 + MIN);
    const t3 = write(3, { kind: 'join', user: 2, key: 2, other: 0 }, t2, at0 + 2 * MIN);
    return [t1, t2, t3];
  };

  it('Ada holds a, Bob waits for a, Cy for a/b: after the release Bob (first) is granted; Cy, a plain acquirer and a forged leave are refused', () => {
    const [t1, t2, t3] = bobWaits() as [ChainTicket, ChainTicket, ChainTicket];
    const t4 = write(4, { kind: 'release', user: 0, key: 1, other: 0 }, t3, at0 + 3 * MIN);
    expect(readChain([t1, t2, t3, t4]).judged.map((j) => j.verdict)).toEqual([
      'accepted',
      'accepted',
      'accepted',
      'accepted',
    ]);
    const line = lineFor('a', t4.record?.waiters, t4.committedAt, t4.committedAt, overlaps);
    expect(line.map((w) => [w.holder, w.key, w.position])).toEqual([
      ['bob@host', 'a', 1],
      ['cy@host', 'a/b', 2],
    ]);
    const at = at0 + 4 * MIN;
    const cyFirst = write(5, { kind: 'acquire', user: 2, key: 2, other: 0 }, t4, at);
    const adaAgain = write(5, { kind: 'acquire', user: 0, key: 1, other: 0 }, t4, at);
    const kick = write(5, { kind: 'kick', user: 2, key: 1, other: 1 }, t4, at);
    const bob = write(5, { kind: 'acquire', user: 1, key: 1, other: 0 }, t4, at);
    const verdict = (t: ChainTicket) => readChain([t1, t2, t3, t4, t]).judged[4]?.verdict;
    expect([verdict(cyFirst), verdict(adaAgain), verdict(kick), verdict(bob)]).toEqual([
      'rejected',
      'rejected',
      'rejected',
      'accepted',
    ]);
    expect(bob.record?.waiters?.a).toBeUndefined();
    // Then Cy is first, and Bob's grant holds a/b for him until he releases.
    expect(mayGrant(users[2]!, 'a/b', bob.record?.waiters, bob.committedAt, at, overlaps)).toBe(true);
  });

  it('a waiter whose machine died leaves the line in bounded time: after its lease (and the margin) others pass, and it cannot refresh back in', () => {
    const [t1, t2, t3] = bobWaits() as [ChainTicket, ChainTicket, ChainTicket];
    const t4 = write(4, { kind: 'release', user: 0, key: 1, other: 0 }, t3, at0 + 3 * MIN);
    // Bob's place was refreshed last at +1 min: at +31 min (plus the margin) it is gone.
    const gone = at0 + MIN + WAIT_MS + EXPIRY_MARGIN_MS;
    const early = write(5, { kind: 'acquire', user: 2, key: 2, other: 0 }, t4, gone - 1000);
    const late = write(5, { kind: 'acquire', user: 2, key: 2, other: 0 }, t4, gone);
    const revive = write(5, { kind: 'refresh', user: 1, key: 1, other: 0 }, t4, gone);
    const verdict = (t: ChainTicket) => readChain([t1, t2, t3, t4, t]).judged[4]?.verdict;
    expect([verdict(early), verdict(late), verdict(revive)]).toEqual(['rejected', 'accepted', 'rejected']);
  });

  it('a line is checked as untrusted input: out of order, too long or malformed, the record is invalid', () => {
    const w = (joined: number): TableWaiter => ({
      id: `w${joined}`,
      holder: 'a',
      machineId: 'm',
      joined,
      leaseMs: WAIT_MS,
    });
    expect(parseLine([w(1), w(2)])).toHaveLength(2);
    expect(parseLine([w(2), w(1)])).toBeUndefined();
    expect(parseLine([])).toBeUndefined();
    expect(parseLine(Array.from({ length: 51 }, (_, i) => w(i + 1)))).toBeUndefined();
    expect(parseLine([{ ...w(1), leaseMs: 1e300 }])).toBeUndefined();
    expect(
      judgeLines(undefined, 0, {
        ticket: 1,
        committedAt: 0,
        op: 'acquire',
        key: 'a',
        writer: { holder: 'a', machineId: 'm' },
        lines: { a: [w(1)] },
      }),
    ).toBe('a');
  });
});
