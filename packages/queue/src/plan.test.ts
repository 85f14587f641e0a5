import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyEnqueue,
  heldBy,
  laneOf,
  nextStep,
  planRun,
  previewRun,
  pruneFinished,
  runOrder,
  shortId,
} from './plan.js';
import { type BookingEntry, type BookingOp, BOOKING_RULES as rules } from './test-support/rules.js';
import type { QueueEntry } from './types.js';

const T0 = Date.parse('2026-11-24T10:00:00Z');
let seq = 0;
const make = (operation: BookingOp, over: Partial<BookingEntry> = {}): BookingEntry => {
  seq += 1;
  return {
    id: `01J${String(seq).padStart(23, '0')}`,
    idempotencyKey: `k${seq}`,
    operation,
    priority: rules.priority!(operation),
    enqueuedAt: new Date(T0 + seq * 1000).toISOString(),
    attempts: 0,
    maxAttempts: 10,
    status: 'pending',
    history: [],
    ...over,
  };
};
const server = 'http://localhost:3000/ns/r';
const reserve = (p = '/a', seat = 'A1'): BookingOp => ({
  kind: 'reserve',
  project: p,
  server,
  seat,
  holdMs: 1000,
  guest: 'g',
});
const cancel = (p = '/a', seat = 'A1'): BookingOp => ({
  kind: 'cancel',
  project: p,
  server,
  seat,
  guest: 'g',
});
const extend = (p = '/a', until?: string, seat = 'A1'): BookingOp => ({
  kind: 'extend',
  project: p,
  server,
  seat,
  guest: 'g',
  holdMs: 1000,
  ...(until ? { until } : {}),
});
const send = (p = '/a', seat = 'A1'): BookingOp => ({
  kind: 'send',
  project: p,
  server,
  to: 'ada@example.com',
  seat,
});
const fetchList = (p = '/a', list = 'menu'): BookingOp => ({ kind: 'fetch', project: p, server, list });

const opArb = fc.oneof(
  fc.constantFrom('/a', '/b', '/c').map((p) => reserve(p)),
  fc.constantFrom('/a', '/b', '/c').map((p) => cancel(p)),
  fc.constantFrom('/a', '/b', '/c').map((p) => send(p)),
  fc.constantFrom('/a', '/b', '/c').map((p) => fetchList(p)),
);

describe('run order (properties)', () => {
  it('the next entry is the head of its lane (first pending in enqueue order), the highest priority among heads, then the oldest', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), (ops) => {
        const entries = ops.map((op) => make(op));
        const step = nextStep(rules, entries, T0 + 2e6);
        expect(step.type).toBe('run');
        if (step.type !== 'run') return;
        const heads = new Map<string, BookingEntry>();
        for (const e of entries) {
          const lane = laneOf(rules, e.operation);
          if (!heads.has(lane)) heads.set(lane, e);
        }
        expect([...heads.values()]).toContain(step.entry);
        const best = Math.max(...[...heads.values()].map((h) => h.priority));
        const first = [...heads.values()].find((h) => h.priority === best)!;
        expect(step.entry.id).toBe(first.id);
      }),
    );
  });

  it('offline send then cancel replays the send first: a lane runs in the order it was enqueued', () => {
    const s = make(send('/a'));
    const c = make(cancel('/a'));
    expect(nextStep(rules, [s, c], T0 + 1e6)).toMatchObject({ type: 'run', entry: { id: s.id } });
    expect(previewRun(rules, [s, c], T0 + 1e6).map((step) => [step.entry.id, step.action])).toEqual([
      [s.id, 'run'],
      [c.id, 'run'],
    ]);
  });

  it('priority orders only different lanes: a later seat operation of another project goes first', () => {
    const a = make(fetchList('/a'));
    const a2 = make(reserve('/a'));
    const b = make(reserve('/b'));
    expect(previewRun(rules, [a, a2, b], T0 + 1e6).map((s) => s.entry.id)).toEqual([b.id, a.id, a2.id]);
    expect(planRun(rules, [a, a2, b], T0 + 1e6).ready.map((e) => e.id)).toEqual([b.id, a.id]);
  });

  it('a lane is a scope and a target: the same project against two servers is two lanes', () => {
    const one = make(send('/a'));
    const two = make({ ...fetchList('/a'), server: 'http://other:3000/ns/r' });
    expect(laneOf(rules, one.operation)).not.toBe(laneOf(rules, two.operation));
    expect(planRun(rules, [one, two], T0 + 1e6).ready.map((e) => e.id)).toEqual([one.id, two.id]);
  });

  it('a skipped entry (its server is down) closes its lane: nothing behind it runs out of order', () => {
    const a1 = make(send('/a'));
    const a2 = make(fetchList('/a'));
    const b1 = make(fetchList('/b'));
    const plan = planRun(rules, [a1, a2, b1], T0 + 1e6, { skip: (e) => e.id === a1.id });
    expect(plan.ready.map((e) => e.id)).toEqual([b1.id]);
  });

  it('one entry per lane at a time: a running lane is skipped, others proceed', () => {
    const a1 = make(fetchList('/a'), { status: 'running' });
    const a2 = make(reserve('/a'));
    const b1 = make(fetchList('/b'));
    const step = nextStep(rules, [a1, a2, b1], T0 + 1e6);
    expect(step).toMatchObject({ type: 'run', entry: { id: b1.id } });
  });

  it('a lane whose head waits for its not-before waits as a whole', () => {
    const waitUntil = new Date(T0 + 5e6).toISOString();
    const a1 = make(reserve('/a'), { notBefore: waitUntil, notBeforeReason: 'backoff' });
    const a2 = make(fetchList('/a'));
    expect(nextStep(rules, [a1, a2], T0 + 1e6)).toMatchObject({ type: 'idle', waitUntil });
    expect(nextStep(rules, [a1, a2], T0 + 1e6, { force: true })).toMatchObject({
      type: 'run',
      entry: { id: a1.id },
    });
    const limited = { ...a1, notBeforeReason: 'retry-after' as const };
    expect(nextStep(rules, [limited, a2], T0 + 1e6, { force: true })).toMatchObject({ type: 'idle' });
  });

  it('an expired entry expires instead of running', () => {
    const e = make(reserve(), { expiresAt: new Date(T0).toISOString() });
    expect(nextStep(rules, [e], T0 + 1)).toMatchObject({ type: 'expire', entry: { id: e.id } });
  });

  it('a failed reserve holds back its lane’s send, extend and cancel of that seat, not its fetch, another seat nor other projects', () => {
    const failed = make(reserve('/a'), { status: 'failed' });
    const s = make(send('/a'));
    const x = make(extend('/a'));
    const c = make(cancel('/a'));
    const f = make(fetchList('/a'));
    const otherSeat = make(send('/a', 'B7'));
    const other = make(send('/b'));
    const all = [failed, s, x, c, f, otherSeat, other];
    expect(heldBy(rules, s, all)?.id).toBe(failed.id);
    expect(heldBy(rules, x, all)?.id).toBe(failed.id);
    expect(heldBy(rules, c, all)?.id).toBe(failed.id);
    expect(heldBy(rules, f, all)).toBeUndefined();
    expect(heldBy(rules, otherSeat, all)).toBeUndefined();
    expect(heldBy(rules, other, all)).toBeUndefined();
    const step = nextStep(rules, all, T0 + 1e6);
    expect(step.type).toBe('run');
    expect(step.type === 'run' && [f.id, other.id]).toContain(step.type === 'run' ? step.entry.id : '');
    // The plan names the failed prerequisite of each entry it holds back.
    expect(planRun(rules, all, T0 + 1e6).held.map((h) => [h.entry.id, h.by])).toEqual([
      [s.id, failed.id],
      [x.id, failed.id],
      [c.id, failed.id],
    ]);
    const laterOk = make(reserve('/a'), { status: 'done' });
    const s2 = make(send('/a'));
    expect(heldBy(rules, s2, [...all, laterOk, s2])).toBeUndefined();
  });
});

/** Seat, send and fetch commands typed offline in 1–3 projects, enqueued one after another. */
const commandArb = fc.record({
  project: fc.constantFrom('/a', '/b', '/c'),
  kind: fc.constantFrom('reserve', 'cancel', 'send', 'fetch', 'fetch-wines'),
});

describe('causal replay (property)', () => {
  it('the run order restricted to any project equals its enqueue order minus superseded entries', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 40 }), (commands) => {
        let entries: BookingEntry[] = [];
        for (const c of commands) {
          const op =
            c.kind === 'reserve'
              ? reserve(c.project)
              : c.kind === 'cancel'
                ? cancel(c.project)
                : c.kind === 'send'
                  ? send(c.project)
                  : fetchList(c.project, c.kind === 'fetch-wines' ? 'wines' : 'menu');
          entries = applyEnqueue(rules, entries, make(op), T0).entries;
        }
        const steps = previewRun(rules, entries, T0 + 1e6);
        // Every pending entry exactly once, and (nothing having failed) every one of them runs.
        const pending = entries.filter((e) => e.status === 'pending');
        expect(steps.map((s) => s.action)).toEqual(pending.map(() => 'run'));
        expect(new Set(steps.map((s) => s.entry.id))).toEqual(new Set(pending.map((e) => e.id)));
        for (const project of ['/a', '/b', '/c']) {
          const ran = steps.filter((s) => s.entry.operation.project === project).map((s) => s.entry.id);
          const enqueued = entries
            .filter((e) => e.operation.project === project && e.status !== 'superseded')
            .map((e) => e.id);
          expect(ran).toEqual(enqueued);
        }
        // A serial run takes the same order, step by step.
        const work = entries.map((e) => ({ ...e }));
        const serial: string[] = [];
        for (
          let step = nextStep(rules, work, T0 + 1e6);
          step.type === 'run';
          step = nextStep(rules, work, T0 + 1e6)
        ) {
          serial.push(step.entry.id);
          work.find((e) => e.id === step.entry.id)!.status = 'done';
        }
        expect(serial).toEqual(steps.map((s) => s.entry.id));
      }),
    );
  });
});

describe('runOrder (the order `queue status` lists)', () => {
  it('is the running entries, then the dry run’s order, for any mix of statuses and waits', () => {
    const statusArb = fc.constantFrom<QueueEntry['status']>(
      'pending',
      'pending',
      'pending',
      'running',
      'done',
      'failed',
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(opArb, statusArb, fc.boolean(), fc.boolean()), { maxLength: 30 }),
        (rows) => {
          const entries = rows.map(([op, status, waits, expired]) =>
            make(op, {
              status,
              ...(waits ? { notBefore: new Date(T0 + 5e6).toISOString() } : {}),
              ...(expired ? { expiresAt: new Date(T0).toISOString() } : {}),
            }),
          );
          const expected = [
            ...entries.filter((e) => e.status === 'running'),
            ...previewRun(rules, entries, T0 + 1e6).map((s) => s.entry),
          ];
          expect(runOrder(rules, entries, T0 + 1e6).map((e) => e.id)).toEqual(expected.map((e) => e.id));
        },
      ),
    );
  });
});

describe('supersession on enqueue (the rules decide, applyEnqueue applies)', () => {
  it('a cancel of a seat whose reserve is still pending cancels both (and pending extends of that seat)', () => {
    fc.assert(
      fc.property(fc.constantFrom('/a', '/b'), fc.constantFrom('A1', 'B7'), (p, seat) => {
        const a = make(reserve(p, seat));
        const x = make(extend(p));
        const unrelated = make(reserve('/z', seat));
        const incoming = make(cancel(p, seat));
        const { entries, decision } = applyEnqueue(rules, [a, x, unrelated], incoming, T0);
        expect(decision.outcome).toBe('cancelled');
        const byId = new Map(entries.map((e) => [e.id, e]));
        expect(byId.get(a.id)).toMatchObject({
          status: 'superseded',
          supersededBy: incoming.id,
          reason: { code: 'cancelled', facts: { by: shortId(incoming.id) } },
          completedAt: new Date(T0).toISOString(),
        });
        expect(byId.get(incoming.id)).toMatchObject({
          status: 'superseded',
          supersededBy: a.id,
          reason: { code: 'cancelled-with-reserve', facts: { entry: shortId(a.id) } },
        });
        expect(decision.entry).toBe(byId.get(incoming.id));
        expect(byId.get(unrelated.id)!.status).toBe('pending');
        // Extends of that seat go with it; of another seat they stay.
        expect(byId.get(x.id)!.status).toBe(seat === 'A1' ? 'superseded' : 'pending');
        expect(decision.affected.map((e) => e.id)).toEqual(seat === 'A1' ? [a.id, x.id] : [a.id]);
        // Pure: the entries given are not changed.
        expect(a.status).toBe('pending');
        expect(x.status).toBe('pending');
        // The new entry is appended: the file's order is the enqueue order.
        expect(entries.at(-1)!.id).toBe(incoming.id);
      }),
    );
  });

  it('a cancel after a DONE reserve is queued normally', () => {
    const a = make(reserve(), { status: 'done' });
    expect(applyEnqueue(rules, [a], make(cancel()), T0).decision.outcome).toBe('added');
  });

  it('repeated identical pending fetches collapse into one; another list stays', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), (n) => {
        let entries: BookingEntry[] = [];
        for (let i = 0; i < n; i++) entries = applyEnqueue(rules, entries, make(fetchList('/a')), T0).entries;
        entries = applyEnqueue(rules, entries, make(fetchList('/a', 'wines')), T0).entries;
        const pending = entries.filter((e) => e.status === 'pending');
        const menus = pending.filter((e) => e.operation.kind === 'fetch' && e.operation.list === 'menu');
        expect(menus).toHaveLength(1);
        expect(pending).toHaveLength(2);
        // The newest one stays (its own expiry and attempts); each older one names the one that
        // replaced it, the next typed.
        const fetches = entries.filter((e) => e.operation.kind === 'fetch' && e.operation.list === 'menu');
        expect(menus[0]!.id).toBe(fetches.at(-1)!.id);
        fetches.slice(0, -1).forEach((e, i) => {
          expect(e).toMatchObject({
            status: 'superseded',
            supersededBy: fetches[i + 1]!.id,
            reason: { code: 'replaced', facts: { entry: shortId(fetches[i + 1]!.id) } },
          });
        });
      }),
    );
  });

  it('an extend whose hold already ended is stored as expired', () => {
    const ended = new Date(T0 - 1).toISOString();
    const late = make(extend('/a', ended));
    expect(applyEnqueue(rules, [], late, T0).decision).toMatchObject({
      outcome: 'expired',
      affected: [],
      entry: {
        id: late.id,
        status: 'expired',
        reason: { code: 'hold-ended', facts: { at: ended } },
        completedAt: new Date(T0).toISOString(),
      },
    });
    const timely = make(extend('/a', new Date(T0 + 60_000).toISOString()));
    expect(applyEnqueue(rules, [], timely, T0).decision.outcome).toBe('added');
  });

  it('duplicates by idempotency key are refused and nothing changes', () => {
    const a = make(reserve());
    const dup = { ...make(cancel()), idempotencyKey: a.idempotencyKey };
    const { entries, decision } = applyEnqueue(rules, [a], dup, T0);
    expect(decision.outcome).toBe('duplicate');
    expect(entries).toEqual([a]);
  });
});

describe('pruning finished entries', () => {
  const DAY = 86_400_000;
  const finished = (op: BookingOp, status: QueueEntry['status'], daysAgo: number) =>
    make(op, { status, completedAt: new Date(T0 - daysAgo * DAY).toISOString() });
  const retention = { retainMs: 7 * DAY, maxFinished: 1000 };

  it('done, superseded and expired entries go after the retention; failed and pending stay', () => {
    const oldDone = finished(fetchList('/a'), 'done', 8);
    const oldSuperseded = finished(send('/a'), 'superseded', 8);
    const oldExpired = finished(fetchList('/b'), 'expired', 30);
    const recentDone = finished(fetchList('/b'), 'done', 6);
    const oldFailed = finished(fetchList('/c'), 'failed', 400);
    const waiting = make(fetchList('/c'));
    const all = [oldDone, oldSuperseded, oldExpired, recentDone, oldFailed, waiting];
    expect(pruneFinished(rules, all, T0, retention)?.map((e) => e.id)).toEqual([
      recentDone.id,
      oldFailed.id,
      waiting.id,
    ]);
    expect(pruneFinished(rules, [recentDone, oldFailed, waiting], T0, retention)).toBeUndefined();
  });

  it('beyond maxFinished the oldest finished entries go first', () => {
    const entries = Array.from({ length: 10 }, (_, i) => finished(fetchList('/a'), 'done', 5 - i * 0.1));
    const kept = pruneFinished(rules, entries, T0, { retainMs: 7 * DAY, maxFinished: 3 });
    expect(kept?.map((e) => e.id)).toEqual(entries.slice(-3).map((e) => e.id));
  });

  it('keeps the reserves that decide whether a send is held back', () => {
    // A failed reserve, then one that succeeded: without the latter, anything enqueued next
    // would be held by the old failure.
    const failed = finished(reserve('/a'), 'failed', 30);
    const retried = finished(reserve('/a'), 'done', 20);
    const all = [failed, retried];
    expect(pruneFinished(rules, all, T0, retention)).toBeUndefined();
    const next = make(send('/a'));
    expect(heldBy(rules, next, [...all, next])).toBeUndefined();
    // An expired reserve holding a pending send stays while the send waits.
    const expired = finished(reserve('/b'), 'expired', 30);
    const waiting = make(send('/b'));
    expect(pruneFinished(rules, [expired, waiting], T0, retention)).toBeUndefined();
    expect(heldBy(rules, waiting, [expired, waiting])?.id).toBe(expired.id);
    // Once nothing depends on it, it goes.
    expect(pruneFinished(rules, [expired], T0, retention)).toEqual([]);
  });
});

describe('collapse keeps the causal order (review findings)', () => {
  it('a fetch does not replace one behind a finished entry of its lane (a failed reserve between them)', () => {
    let entries: BookingEntry[] = [];
    entries = applyEnqueue(rules, entries, make(fetchList('/a')), T0).entries;
    entries = applyEnqueue(rules, entries, make(reserve(), { status: 'failed' }), T0).entries;
    const { decision } = applyEnqueue(rules, entries, make(fetchList('/a')), T0);
    expect(decision.outcome).toBe('added');
  });
});
