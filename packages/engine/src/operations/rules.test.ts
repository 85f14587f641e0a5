import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyEnqueue, createQueue, type QueueEntry as GenericEntry, previewRun } from '@oxvcs/queue';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { carriedGrant } from './behind-acquisition.js';
import {
  describeOperation,
  legacyEntries,
  OPERATIONS,
  type Operation,
  type OxvcsEntry,
  RULES,
} from './index.js';

const T0 = Date.parse('2026-11-24T10:00:00Z');
let seq = 0;
const make = (operation: Operation, over: Partial<OxvcsEntry> = {}): OxvcsEntry => {
  seq += 1;
  return {
    id: `01J${String(seq).padStart(23, '0')}`,
    idempotencyKey: `k${seq}`,
    operation,
    priority: RULES.priority!(operation),
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
const pull = (p = '/a', branch = 'main'): Operation => ({ kind: 'pull', projectDir: p, remote, branch });
const enqueue = (entries: readonly OxvcsEntry[], incoming: OxvcsEntry) =>
  applyEnqueue(RULES, entries, incoming, T0);

describe('one home per operation kind', () => {
  it('every kind has its spec, keyed by its own kind', () => {
    for (const [kind, spec] of Object.entries(OPERATIONS)) expect(spec.kind).toBe(kind);
    expect(Object.keys(OPERATIONS).sort()).toEqual(
      ['acquire-lock', 'pull', 'push', 'release-lock', 'renew-lock', 'sync-comments'].sort(),
    );
  });

  it('lock operations go first between projects; within a project the order typed decides', () => {
    const entries = [make(push('/a')), make(rel('/a')), make(pull('/b')), make(acq('/c'))];
    expect(
      previewRun(RULES, entries, T0).map((s) => `${s.entry.operation.projectDir}:${s.entry.operation.kind}`),
    ).toEqual(['/c:acquire-lock', '/a:push', '/a:release-lock', '/b:pull']);
  });
});

describe('describeOperation', () => {
  it('names the project folder, POSIX or Windows, with or without a trailing separator, and the folder locked', () => {
    expect(describeOperation(pull('/music/My Song'))).toBe('Pull main of My Song from remote');
    expect(describeOperation(pull('/music/My Song/'))).toBe('Pull main of My Song from remote');
    expect(describeOperation(pull('C:\\Music\\Demo.logicx\\'))).toBe('Pull main of Demo.logicx from remote');
    expect(describeOperation(acq('/music/Album', 'Song 1'))).toBe('Acquire lock for Album/Song 1');
    expect(describeOperation(acq('/music/Album'))).toBe('Acquire lock for Album');
    expect(describeOperation(push('/music/Album'))).toBe('Push main of Album to remote');
  });

  it('agrees with splitting on both separators for any path', () => {
    const reference = (dir: string) => dir.split(/[\\/]/).filter(Boolean).at(-1) ?? dir;
    fc.assert(
      fc.property(fc.stringMatching(/^[ab /\\]{0,12}$/), (dir) => {
        expect(describeOperation(pull(dir))).toBe(`Pull main of ${reference(dir)} from remote`);
      }),
    );
  });
});

describe('supersession on enqueue', () => {
  it('a release of a lock whose acquire is still pending cancels both (and pending renews of it)', () => {
    fc.assert(
      fc.property(fc.constantFrom('/a', '/b'), fc.constantFrom('.', 'Song.logicx'), (p, key) => {
        const a = make(acq(p, key));
        const r = make(ren(p));
        const unrelated = make(acq('/z', key));
        const incoming = make(rel(p, key));
        const { entries, decision } = enqueue([a, r, unrelated], incoming);
        expect(decision.outcome).toBe('cancelled');
        const byId = new Map(entries.map((e) => [e.id, e]));
        expect(byId.get(a.id)).toMatchObject({
          status: 'superseded',
          reason: { code: 'cancelled-by-release' },
        });
        expect(byId.get(incoming.id)).toMatchObject({
          status: 'superseded',
          supersededBy: a.id,
          reason: { code: 'cancelled-with-acquire' },
        });
        expect(byId.get(unrelated.id)!.status).toBe('pending');
        expect(byId.get(r.id)!.status).toBe(key === '.' ? 'superseded' : 'pending');
        expect(a.status).toBe('pending');
      }),
    );
  });

  it('the same release typed twice is one entry, the newer', () => {
    const first = make({ ...rel(), whileHeld: true } as Operation);
    const { entries, decision } = enqueue([first], make({ ...rel(), whileHeld: true } as Operation));
    expect(decision.outcome).toBe('collapsed');
    expect(entries.map((e) => e.status)).toEqual(['superseded', 'pending']);
    // Another key is another lock.
    expect(enqueue([first], make(rel('/a', 'Drums'))).decision.outcome).toBe('added');
  });

  it('a release after a done acquire is queued normally', () => {
    expect(enqueue([make(acq(), { status: 'done' })], make(rel())).decision.outcome).toBe('added');
  });

  it('a release cancels nothing when the acquisition may have reached the server, or when it gives back a lease held', () => {
    // Tried (a deferred attempt), or queued after a direct attempt that did not finish.
    for (const over of [{ attempts: 1 }, { verifyFirst: true }]) {
      const a = make(acq(), over);
      const { decision, entries } = enqueue([a], make(rel()));
      expect(decision.outcome, JSON.stringify(over)).toBe('added');
      expect(entries[0]!.status).toBe('pending');
    }
    // Typed while we held a lease of the lock (named or not): a lease is given back.
    for (const extra of [{ fencingToken: 5 }, { whileHeld: true }]) {
      const a = make(acq());
      expect(enqueue([a], make({ ...rel(), ...extra } as Operation)).decision.outcome).toBe('added');
    }
  });

  it('a push does not replace one behind a failed acquisition (its position decides what holds it back)', () => {
    let entries: OxvcsEntry[] = [];
    entries = enqueue(entries, make(push())).entries;
    entries = enqueue(entries, make(acq(), { status: 'failed' })).entries;
    expect(enqueue(entries, make(push())).decision.outcome).toBe('added');
  });

  it('pushes and pulls typed again and again are one entry, the newest, never across other commands', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.constantFrom(push, pull), (n, op) => {
        let entries: OxvcsEntry[] = [];
        for (let i = 0; i < n; i++) entries = enqueue(entries, make(op('/a', 'main'))).entries;
        const pending = entries.filter((e) => e.status === 'pending');
        expect(pending).toHaveLength(1);
        // The newest stays, with its own expiry and attempts; each older one is replaced by the next.
        expect(pending[0]!.id).toBe(entries.at(-1)!.id);
        entries.slice(0, -1).forEach((e, i) => {
          expect(e).toMatchObject({
            status: 'superseded',
            supersededBy: entries[i + 1]!.id,
            reason: { code: 'replaced' },
          });
        });
        // Another branch, or a lock command in between: the later position may matter.
        entries = enqueue(entries, make(op('/a', 'dev'))).entries;
        entries = enqueue(entries, make(rel('/a'))).entries;
        entries = enqueue(entries, make(op('/a', 'main'))).entries;
        expect(entries.filter((e) => e.status === 'pending')).toHaveLength(4);
      }),
    );
  });

  it('a renew whose lease already ended is stored as expired', () => {
    const late = make(ren('/a', new Date(T0 - 1).toISOString()));
    expect(enqueue([], late).decision).toMatchObject({
      outcome: 'expired',
      entry: { status: 'expired', reason: { code: 'lease-ended' } },
    });
    expect(enqueue([], make(ren('/a', new Date(T0 + 60_000).toISOString()))).decision.outcome).toBe('added');
  });

  it('expiry: an acquisition is worth its lease at most, a renewal its lease end, the rest the retention', () => {
    const day = 86_400_000;
    expect(OPERATIONS['acquire-lock'].expiry(acq() as never, 7 * day)).toEqual({ ttlMs: 1000 });
    expect(OPERATIONS['renew-lock'].expiry(ren('/a', '2026-11-24T11:00:00.000Z') as never, day)).toEqual({
      ttlMs: day,
      expiresAt: '2026-11-24T11:00:00.000Z',
    });
    expect(OPERATIONS.pull.expiry(pull() as never, day)).toEqual({ ttlMs: day });
  });

  it('a failed lock error keeps who holds it; a failed acquisition holds back push, renew and release, not pull', () => {
    const facts = RULES.errorFacts!(
      Object.assign(new Error('held'), { holder: 'bob', expiresAt: 'x', stack: 'no' }),
      acq(),
    );
    expect(facts).toEqual({ holder: 'bob', expiresAt: 'x' });
    const failed = make(acq(), { status: 'failed' });
    const steps = previewRun(RULES, [failed, make(push()), make(ren()), make(pull()), make(rel())], T0);
    expect(steps.map((s) => `${s.entry.operation.kind}:${s.action}`)).toEqual([
      'pull:run',
      'push:held',
      'renew-lock:held',
      'release-lock:held',
    ]);
  });
});

describe('the original tool’s queue file (schema 1)', () => {
  it('is read through the engine’s legacy reader; a newer schema is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oxvcs-legacy-'));
    const file = join(dir, 'queue.json');
    try {
      writeFileSync(
        file,
        JSON.stringify({
          entries: [
            {
              id: '01234567-89ab-cdef-0123-456789abcdef',
              operation: {
                AcquireLock: { project_path: '/music/Song', user_id: 'john@laptop', timeout_hours: 4 },
              },
              queued_at: '2025-11-17T10:00:00Z',
              attempts: 1,
              priority: 100,
              completed: false,
            },
            {
              id: '11234567-89ab-cdef-0123-456789abcdef',
              operation: { PushCommits: { project_path: '/music/Song', branch: 'dev' } },
              queued_at: '2025-11-17T10:01:00Z',
              attempts: 0,
              priority: 0,
              completed: true,
            },
          ],
        }),
      );
      const entries = await createQueue({ file, rules: RULES, legacy: legacyEntries }).list();
      expect(entries.map((e: GenericEntry<Operation>) => [e.status, e.priority, e.operation.kind])).toEqual([
        ['pending', 100, 'acquire-lock'],
        ['done', 0, 'push'],
      ]);
      expect(entries[0]!.operation).toMatchObject({ key: '.', ttlMs: 14_400_000, holder: 'john@laptop' });
      writeFileSync(file, JSON.stringify({ version: 99, entries: [] }));
      await expect(createQueue({ file, rules: RULES, legacy: legacyEntries }).list()).rejects.toMatchObject({
        code: 'SCHEMA_TOO_NEW',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('behind a queued acquisition, carry no token (carriedGrant)', () => {
  const note = { fencingToken: 7 };
  it('carries the noted grant when no acquisition of that lock waits', () => {
    expect(carriedGrant([], remote, '.', note)).toBe(note);
    // Another lock's acquisition, or one that already ran, does not stand in front of this one.
    expect(carriedGrant([make(acq('/a', 'Drums'))], remote, '.', note)).toBe(note);
    expect(carriedGrant([make(acq(), { status: 'failed' })], remote, '.', note)).toBe(note);
  });
  it('carries none behind a pending or running acquisition of the same lock', () => {
    expect(carriedGrant([make(acq())], remote, '.', note)).toBeUndefined();
    expect(carriedGrant([make(acq(), { status: 'running' })], remote, '.', note)).toBeUndefined();
  });
});
