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
} from './plan.js';
import { type Operation, priorityOf, type QueueEntry } from './types.js';

const T0 = Date.parse('2026-11-24T10:00:00Z');
let seq = 0;
const make = (operation: Operation, over: Partial<QueueEntry> = {}): QueueEntry => {
  seq += 1;
  return {
    id: `01J${String(seq).padStart(23, '0')}`,
    idempotencyKey: `k${seq}`,
    operation,
    priority: priorityOf(operation.kind),
    enqueuedAt: new Date(T0 + seq * 1000).toISOString(),
    attempts: 0,
    maxAttempts: 10,
    status: 'pending',
    history: [],
    ...over,
  };
};
const remote = 'http://localhost:3000/ns/r';
const acq = (p = '/a', key = '.'): Operation => ({
  kind: 'acquire-lock',
  projectDir: p,
  remote,
  key,
  ttlMs: 1000,
  holder: 'h',
});
const rel = (p = '/a', key = '.'): Operation => ({
  kind: 'release-lock',
  projectDir: p,
  remote,
  key,
  holder: 'h',
});
const ren = (p = '/a', leaseExpiresAt?: string): Operation => ({
  kind: 'renew-lock',
  projectDir: p,
  remote,
  key: '.',
  holder: 'h',
  ttlMs: 1000,
  ...(leaseExpiresAt ? { leaseExpiresAt } : {}),
});
const push = (p = '/a', branch = 'main'): Operation => ({
  kind: 'push',
  projectDir: p,
  remote,
  branch,
  lockKey: '.',
});
const pull = (p = '/a'): Operation => ({ kind: 'pull', projectDir: p, remote, branch: 'main' });

const opArb = fc.oneof(
  fc.constantFrom('/a', '/b', '/c').map((p) => acq(p)),
  fc.constantFrom('/a', '/b', '/c').map((p) => rel(p)),
  fc.constantFrom('/a', '/b', '/c').map((p) => push(p)),
  fc.constantFrom('/a', '/b', '/c').map((p) => pull(p)),
);

describe('run order (properties)', () => {
  it('the next entry is the head of its project (first pending in enqueue order), the highest priority among heads, then the oldest', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), (ops) => {
        const entries = ops.map((op) => make(op));
        const step = nextStep(entries, T0 + 2e6);
        expect(step.type).toBe('run');
        if (step.type !== 'run') return;
        const heads = new Map<string, QueueEntry>();
        for (const e of entries) if (!heads.has(laneOf(e.operation))) heads.set(laneOf(e.operation), e);
        expect([...heads.values()]).toContain(step.entry);
        const best = Math.max(...[...heads.values()].map((h) => h.priority));
        const first = [...heads.values()].find((h) => h.priority === best)!;
        expect(step.entry.id).toBe(first.id);
      }),
    );
  });

  it('offline push then lock release replays the push first: a project runs in the order it was enqueued', () => {
    const p = make(push('/a'));
    const r = make(rel('/a'));
    expect(nextStep([p, r], T0 + 1e6)).toMatchObject({ type: 'run', entry: { id: p.id } });
    expect(previewRun([p, r], T0 + 1e6).map((s) => [s.entry.id, s.action])).toEqual([
      [p.id, 'run'],
      [r.id, 'run'],
    ]);
  });

  it('priority orders only different projects: a later lock operation of another project goes first', () => {
    const a = make(pull('/a'));
    const a2 = make(acq('/a'));
    const b = make(acq('/b'));
    expect(previewRun([a, a2, b], T0 + 1e6).map((s) => s.entry.id)).toEqual([b.id, a.id, a2.id]);
    expect(planRun([a, a2, b], T0 + 1e6).ready.map((e) => e.id)).toEqual([b.id, a.id]);
  });

  it('a project is its directory and remote: the same folder against two remotes is two lanes', () => {
    const one = make(push('/a'));
    const two = make({ ...pull('/a'), remote: 'http://other:3000/ns/r' });
    expect(planRun([one, two], T0 + 1e6).ready.map((e) => e.id)).toEqual([one.id, two.id]);
  });

  it('a skipped entry (its remote is down) closes its lane: nothing behind it runs out of order', () => {
    const a1 = make(push('/a'));
    const a2 = make(pull('/a'));
    const b1 = make(pull('/b'));
    const plan = planRun([a1, a2, b1], T0 + 1e6, { skip: (e) => e.id === a1.id });
    expect(plan.ready.map((e) => e.id)).toEqual([b1.id]);
  });

  it('one entry per project at a time: a running project is skipped, others proceed', () => {
    const a1 = make(pull('/a'), { status: 'running' });
    const a2 = make(acq('/a'));
    const b1 = make(pull('/b'));
    const step = nextStep([a1, a2, b1], T0 + 1e6);
    expect(step).toMatchObject({ type: 'run', entry: { id: b1.id } });
  });

  it('a project whose head waits for its not-before waits as a whole', () => {
    const waitUntil = new Date(T0 + 5e6).toISOString();
    const a1 = make(acq('/a'), { notBefore: waitUntil, notBeforeReason: 'backoff' });
    const a2 = make(pull('/a'));
    expect(nextStep([a1, a2], T0 + 1e6)).toMatchObject({ type: 'idle', waitUntil });
    expect(nextStep([a1, a2], T0 + 1e6, { force: true })).toMatchObject({
      type: 'run',
      entry: { id: a1.id },
    });
    const limited = { ...a1, notBeforeReason: 'retry-after' as const };
    expect(nextStep([limited, a2], T0 + 1e6, { force: true })).toMatchObject({ type: 'idle' });
  });

  it('an expired entry expires instead of running', () => {
    const e = make(acq(), { expiresAt: new Date(T0).toISOString() });
    expect(nextStep([e], T0 + 1)).toMatchObject({ type: 'expire', entry: { id: e.id } });
  });

  it('a failed acquire holds back its project’s push, renew and release, not its pull nor other projects', () => {
    const failed = make(acq('/a'), { status: 'failed' });
    const p = make(push('/a'));
    const r = make(ren('/a'));
    const pl = make(pull('/a'));
    const other = make(push('/b'));
    const all = [failed, p, r, pl, other];
    expect(heldBy(p, all)?.id).toBe(failed.id);
    expect(heldBy(r, all)?.id).toBe(failed.id);
    expect(heldBy(pl, all)).toBeUndefined();
    expect(heldBy(other, all)).toBeUndefined();
    const step = nextStep(all, T0 + 1e6);
    expect(step.type).toBe('run');
    expect(step.type === 'run' && [pl.id, other.id]).toContain(step.type === 'run' ? step.entry.id : '');
    const laterOk = make(acq('/a'), { status: 'done' });
    const p2 = make(push('/a'));
    expect(heldBy(p2, [...all, laterOk, p2])).toBeUndefined();
  });
});

/** Lock, push and pull commands typed offline in 1–3 projects, enqueued one after another. */
const commandArb = fc.record({
  project: fc.constantFrom('/a', '/b', '/c'),
  kind: fc.constantFrom('acquire', 'release', 'push', 'pull', 'push-dev'),
});

describe('causal replay (property)', () => {
  it('the run order restricted to any project equals its enqueue order minus superseded entries', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 40 }), (commands) => {
        let entries: QueueEntry[] = [];
        for (const c of commands) {
          const op =
            c.kind === 'acquire'
              ? acq(c.project)
              : c.kind === 'release'
                ? rel(c.project)
                : c.kind === 'pull'
                  ? pull(c.project)
                  : push(c.project, c.kind === 'push-dev' ? 'dev' : 'main');
          entries = applyEnqueue(entries, make(op), T0).entries;
        }
        const steps = previewRun(entries, T0 + 1e6);
        // Every pending entry exactly once, and (nothing having failed) every one of them runs.
        const pending = entries.filter((e) => e.status === 'pending');
        expect(steps.map((s) => s.action)).toEqual(pending.map(() => 'run'));
        expect(new Set(steps.map((s) => s.entry.id))).toEqual(new Set(pending.map((e) => e.id)));
        for (const project of ['/a', '/b', '/c']) {
          const ran = steps.filter((s) => s.entry.operation.projectDir === project).map((s) => s.entry.id);
          const enqueued = entries
            .filter((e) => e.operation.projectDir === project && e.status !== 'superseded')
            .map((e) => e.id);
          expect(ran).toEqual(enqueued);
        }
        // A serial run takes the same order, step by step.
        const work = entries.map((e) => ({ ...e }));
        const serial: string[] = [];
        for (let step = nextStep(work, T0 + 1e6); step.type === 'run'; step = nextStep(work, T0 + 1e6)) {
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
            ...previewRun(entries, T0 + 1e6).map((s) => s.entry),
          ];
          expect(runOrder(entries, T0 + 1e6).map((e) => e.id)).toEqual(expected.map((e) => e.id));
        },
      ),
    );
  });
});

describe('supersession on enqueue', () => {
  it('a release of a lock whose acquire is still pending cancels both (and pending renews)', () => {
    fc.assert(
      fc.property(fc.constantFrom('/a', '/b'), fc.constantFrom('.', 'Song.logicx'), (p, key) => {
        const a = make(acq(p, key));
        const r = make(ren(p));
        const unrelated = make(acq('/z', key));
        const incoming = make(rel(p, key));
        const { entries, decision } = applyEnqueue([a, r, unrelated], incoming, T0);
        expect(decision.outcome).toBe('cancelled');
        const byId = new Map(entries.map((e) => [e.id, e]));
        expect(byId.get(a.id)!.status).toBe('superseded');
        expect(byId.get(incoming.id)!.status).toBe('superseded');
        expect(byId.get(unrelated.id)!.status).toBe('pending');
        if (key === '.') expect(byId.get(r.id)!.status).toBe('superseded');
        expect(a.status).toBe('pending');
      }),
    );
  });

  it('a release after a DONE acquire is queued normally', () => {
    const a = make(acq(), { status: 'done' });
    expect(applyEnqueue([a], make(rel()), T0).decision.outcome).toBe('added');
  });

  it('repeated pending pushes of one repo and branch collapse into one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), (n) => {
        let entries: QueueEntry[] = [];
        for (let i = 0; i < n; i++) entries = applyEnqueue(entries, make(push('/a', 'main')), T0).entries;
        entries = applyEnqueue(entries, make(push('/a', 'dev')), T0).entries;
        const pending = entries.filter((e) => e.status === 'pending');
        expect(
          pending.filter((e) => e.operation.kind === 'push' && e.operation.branch === 'main'),
        ).toHaveLength(1);
        expect(pending).toHaveLength(2);
      }),
    );
  });

  it('a renew whose lease already ended is stored as expired', () => {
    const late = make(ren('/a', new Date(T0 - 1).toISOString()));
    expect(applyEnqueue([], late, T0).decision).toMatchObject({
      outcome: 'expired',
      entry: { status: 'expired' },
    });
    const timely = make(ren('/a', new Date(T0 + 60_000).toISOString()));
    expect(applyEnqueue([], timely, T0).decision.outcome).toBe('added');
  });

  it('duplicates by idempotency key are refused and nothing changes', () => {
    const a = make(acq());
    const dup = { ...make(rel()), idempotencyKey: a.idempotencyKey };
    const { entries, decision } = applyEnqueue([a], dup, T0);
    expect(decision.outcome).toBe('duplicate');
    expect(entries).toEqual([a]);
  });
});

describe('pruning finished entries', () => {
  const DAY = 86_400_000;
  const finished = (op: Operation, status: QueueEntry['status'], daysAgo: number) =>
    make(op, { status, completedAt: new Date(T0 - daysAgo * DAY).toISOString() });
  const retention = { retainMs: 7 * DAY, maxFinished: 1000 };

  it('done, superseded and expired entries go after the retention; failed and pending stay', () => {
    const oldDone = finished(pull('/a'), 'done', 8);
    const oldSuperseded = finished(push('/a'), 'superseded', 8);
    const oldExpired = finished(pull('/b'), 'expired', 30);
    const recentDone = finished(pull('/b'), 'done', 6);
    const oldFailed = finished(pull('/c'), 'failed', 400);
    const waiting = make(pull('/c'));
    const all = [oldDone, oldSuperseded, oldExpired, recentDone, oldFailed, waiting];
    expect(pruneFinished(all, T0, retention)?.map((e) => e.id)).toEqual([
      recentDone.id,
      oldFailed.id,
      waiting.id,
    ]);
    expect(pruneFinished([recentDone, oldFailed, waiting], T0, retention)).toBeUndefined();
  });

  it('beyond maxFinished the oldest finished entries go first', () => {
    const entries = Array.from({ length: 10 }, (_, i) => finished(pull('/a'), 'done', 5 - i * 0.1));
    const kept = pruneFinished(entries, T0, { retainMs: 7 * DAY, maxFinished: 3 });
    expect(kept?.map((e) => e.id)).toEqual(entries.slice(-3).map((e) => e.id));
  });

  it('keeps the acquisitions that decide whether a push is held back', () => {
    // A failed acquisition, then one that succeeded: without the latter, anything enqueued next
    // would be held by the old failure.
    const failed = finished(acq('/a'), 'failed', 30);
    const retried = finished(acq('/a'), 'done', 20);
    const all = [failed, retried];
    expect(pruneFinished(all, T0, retention)).toBeUndefined();
    const next = make(push('/a'));
    expect(heldBy(next, [...all, next])).toBeUndefined();
    // An expired acquisition holding a pending push stays while the push waits.
    const expired = finished(acq('/b'), 'expired', 30);
    const waiting = make(push('/b'));
    expect(pruneFinished([expired, waiting], T0, retention)).toBeUndefined();
    expect(heldBy(waiting, [expired, waiting])?.id).toBe(expired.id);
    // Once nothing depends on it, it goes.
    expect(pruneFinished([expired], T0, retention)).toEqual([]);
  });
});
