import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEnqueue, compareForRun, heldBy, nextStep } from './plan.js';
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
  it('the next entry has the highest priority, oldest first, among runnable project heads', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 1e6 })),
        (ops, jitter) => {
          const entries = ops.map((op, i) =>
            make(op, { enqueuedAt: new Date(T0 + (jitter[i] ?? i)).toISOString() }),
          );
          const step = nextStep(entries, T0 + 2e6);
          expect(step.type).toBe('run');
          if (step.type !== 'run') return;
          const best = [...entries].sort(compareForRun)[0]!;
          expect(step.entry.id).toBe(best.id);
        },
      ),
    );
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
