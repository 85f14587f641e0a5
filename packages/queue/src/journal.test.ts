import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendRecord,
  applyRecords,
  diffEntries,
  indexOf,
  type JournalCursor,
  type JournalRecord,
  parseRecords,
  readJournal,
  START,
} from './journal.js';
import type { QueueEntry } from './types.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'queue-journal-'));
  path = join(dir, 'queue.json.journal-g1');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const entry = (id: string, status: QueueEntry['status'] = 'pending'): QueueEntry => ({
  id,
  idempotencyKey: `k:${id}`,
  operation: { kind: 'pull' },
  priority: 0,
  enqueuedAt: '2026-12-06T10:00:00.000Z',
  attempts: 0,
  maxAttempts: 10,
  status,
  history: [],
});
const record = (seq: number, w: string, set: QueueEntry[] = [], del: string[] = []): JournalRecord => ({
  g: 'g1',
  seq,
  w,
  set,
  del,
});
const line = (r: object) => `!\n${JSON.stringify(r)}\n`;
const readAll = () => readJournal(path, 'g1', START);

describe('the journal: the first record at each sequence number counts', () => {
  it('a later record with a number already taken, another generation, or a gap is ignored', () => {
    writeFileSync(
      path,
      [
        line(record(1, 'a', [entry('A')])),
        line(record(1, 'b', [entry('B')])),
        line({ ...record(2, 'c', [entry('C')]), g: 'g0' }),
        line(record(3, 'd', [entry('D')])),
        line(record(2, 'e', [entry('E')])),
      ].join(''),
    );
    const read = readAll()!;
    expect(read.records.map((r) => r.w)).toEqual(['a', 'e']);
    expect(read.cursor.seq).toBe(2);
    expect(applyRecords([], new Map(), read.records).map((e) => e.id)).toEqual(['A', 'E']);
  });

  it('a torn line never counts, and cannot join the record written after it into one that parses', () => {
    const whole = JSON.stringify(record(1, 'torn', [entry('T')]));
    // A writer refused by a full disk right before its newline: the record itself is complete.
    writeFileSync(path, `!\n${whole}`);
    expect(readAll()!.records).toEqual([]);
    appendFileSync(path, line(record(1, 'next', [entry('N')])));
    expect(readAll()!.records.map((r) => r.w)).toEqual(['next']);
  });

  it('nothing counts after a seal', () => {
    writeFileSync(
      path,
      line(record(1, 'a')) + line({ g: 'g1', seq: 2, w: 's', seal: true }) + line(record(3, 'late')),
    );
    const read = readAll()!;
    expect(read.cursor).toMatchObject({ seq: 2, sealed: true });
    expect(read.records.map((r) => r.w)).toEqual(['a']);
  });

  it('two writers with the same view: the first append commits, the second reads back that it lost', () => {
    const view = START;
    expect(appendRecord(path, record(1, 'first', [entry('A')]), view)).toBe(true);
    expect(appendRecord(path, record(1, 'second', [entry('B')]), view)).toBe(false);
    const seal = { g: 'g1', seq: 1, w: 'sealer', seal: true as const };
    expect(appendRecord(path, seal, view)).toBe(false);
    expect(readAll()!.records.map((r) => r.w)).toEqual(['first']);
  });

  it('property: whatever views writers append from (stale ones, torn writes between), exactly the appends that said they committed are what a reader reads, in order', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            // How many commits behind the latest view this writer read (a paused writer).
            lag: fc.nat(3),
            torn: fc.boolean(),
            seal: fc.boolean(),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        (steps) => {
          rmSync(path, { force: true });
          const views: JournalCursor[] = [START];
          const committed: string[] = [];
          steps.forEach((step, i) => {
            const view = views[Math.max(0, views.length - 1 - step.lag)]!;
            if (step.torn) appendFileSync(path, `!\n{"g":"g1","seq":${view.seq + 1},"w":"torn-${i}"`);
            const r: JournalRecord =
              step.seal && i % 5 === 4
                ? { g: 'g1', seq: view.seq + 1, w: `w${i}`, seal: true }
                : record(view.seq + 1, `w${i}`, [entry(`E${i}`)]);
            if (appendRecord(path, r, view)) {
              if (!r.seal) committed.push(r.w);
              views.push(readAll()!.cursor);
            }
          });
          const read = readAll();
          expect(read?.records.map((r) => r.w) ?? []).toEqual(committed);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('a transaction as a record', () => {
  const arbitraryChange = fc.array(
    fc.oneof(
      fc.record({ op: fc.constant('status' as const), at: fc.nat(20) }),
      fc.record({ op: fc.constant('replace' as const), at: fc.nat(20) }),
      fc.record({ op: fc.constant('remove' as const), at: fc.nat(20) }),
      fc.record({ op: fc.constant('add' as const), at: fc.nat(20) }),
      fc.record({ op: fc.constant('history' as const), at: fc.nat(20) }),
    ),
    { maxLength: 12 },
  );

  it('property: applying the diff of a transaction to what was read gives what the transaction left', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), arbitraryChange, (size, changes) => {
        const before = Array.from({ length: size }, (_, i) => entry(`E${i}`));
        const copies = new Map<QueueEntry, number>();
        let working = before.map((e, i) => {
          const copy = { ...e };
          copies.set(copy, i);
          return copy;
        });
        let added = 0;
        for (const change of changes) {
          const target = working[change.at % Math.max(1, working.length)];
          if (change.op === 'add') working.push(entry(`N${added++}`));
          else if (!target) continue;
          else if (change.op === 'status') target.status = 'done';
          else if (change.op === 'history')
            target.history = [...target.history, { at: 'x', outcome: 'done', durationMs: 1 }];
          else if (change.op === 'replace')
            working = working.map((e) => (e === target ? { ...e, status: 'superseded' } : e));
          else working = working.filter((e) => e !== target);
        }
        const diff = diffEntries(before, indexOf(before), copies, working)!;
        expect(diff).toBeDefined();
        const applied = applyRecords(before, indexOf(before), [{ g: 'g', seq: 1, w: 'w', ...diff }]);
        expect(JSON.parse(JSON.stringify(applied))).toEqual(JSON.parse(JSON.stringify(working)));
        // Only what changed is written.
        const unchanged = working.filter(
          (e) => copies.has(e) && JSON.stringify(e) === JSON.stringify(copies.get(e)),
        );
        for (const e of unchanged) expect(diff.set).not.toContain(e);
      }),
      { numRuns: 200 },
    );
  });

  it('a transaction that reorders the entries is not a record (a whole snapshot is written instead)', () => {
    const before = [entry('A'), entry('B')];
    const copies = new Map(before.map((e, i) => [e, i] as const));
    const index = indexOf(before);
    expect(diffEntries(before, index, copies, [before[1]!, before[0]!])).toBeUndefined();
    expect(diffEntries(before, index, copies, [entry('C'), before[0]!, before[1]!])).toBeUndefined();
    expect(diffEntries(before, index, copies, [before[0]!, before[0]!])).toBeUndefined();
    expect(diffEntries(before, index, copies, [before[1]!])).toEqual({ set: [], del: ['A'] });
  });
});

describe('parseRecords', () => {
  it('counts only complete lines: the cursor stops before a line still being written', () => {
    const bytes = Buffer.from(`${line(record(1, 'a'))}!\n{"g":"g1","seq":2`);
    const { cursor } = parseRecords(bytes, 'g1', START);
    expect(cursor.seq).toBe(1);
    expect(cursor.offset).toBe(line(record(1, 'a')).length + 2);
  });
});
