import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { QueueError } from './errors.js';
import { entryLines, idOfLine, markLines, snapshotText } from './focus.js';
import { readStoredEntries } from './journal.js';
import { createQueue } from './store.js';
import { BOOKING_RULES, type BookingOp } from './test-support/rules.js';
import type { QueueEntry, QueueRules } from './types.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'queue-focus-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const server = 'http://localhost:3000/gala/seats';
/** The booking rules naming their scope's field: an enqueue decodes only its own project's entries. */
const FOCUSED: QueueRules<BookingOp> = { ...BOOKING_RULES, scopeField: 'project' };

const entry = (
  id: string,
  project: string,
  extra: Partial<QueueEntry<BookingOp>> = {},
): QueueEntry<BookingOp> => ({
  id,
  idempotencyKey: `k:${id}`,
  operation: { kind: 'fetch', project, server, list: 'menu "special"\n' },
  priority: 0,
  enqueuedAt: '2026-12-01T10:00:00.000Z',
  attempts: 0,
  maxAttempts: 10,
  status: 'pending',
  history: [],
  ...extra,
});

describe('the snapshot, one entry a line', () => {
  it('is JSON any reader parses, and its lines are found again, each one entry', () => {
    const entries = [entry('01A', '/p/ü'), entry('01B', '/q'), entry('01C', '/p/ü', { status: 'done' })];
    const text = snapshotText(entries, 'abc123', 4);
    expect(JSON.parse(text)).toEqual({ version: 4, generation: 'abc123', size: expect.any(Number), entries });
    const lines = entryLines(text, 'abc123', 4)!;
    expect(lines.starts.map((s, i) => JSON.parse(text.slice(s, lines.ends[i])))).toEqual(entries);
    expect(lines.starts.map((s, i) => idOfLine(text, s, lines.ends[i]!))).toEqual(['01A', '01B', '01C']);
    const marks = new Uint8Array(3);
    markLines(text, lines, ['"project":"/p/ü"', '"status":"done"'], marks);
    expect([...marks]).toEqual([1, 0, 1]);
    expect(entryLines(snapshotText([], 'abc123', 4), 'abc123', 4)).toEqual({ starts: [], ends: [] });
  });

  it('is not taken for one when it is not exactly that layout (the whole read judges such a file)', () => {
    const text = snapshotText([entry('01A', '/p'), entry('01B', '/q')], 'abc123', 4);
    const single = JSON.stringify({ version: 4, generation: 'abc123', entries: [entry('01A', '/p')] });
    for (const other of [
      single,
      text.slice(0, -1),
      text.slice(0, text.indexOf('\n', 50)),
      text.replace('},\n', '}\n'),
      `${text}\n`,
      text.replace('abc123', 'abc124'),
      // Edited by hand or another tool, still JSON and one entry a line: the search would miss it.
      text.replace('"project":"/q"', '"project": "/q"'),
      text.replace('"project":"/q"', '"project":"\\u002fq"'),
    ])
      expect(entryLines(other, 'abc123', 4)).toBeUndefined();
    expect(entryLines(text, 'abc123', 5)).toBeUndefined();
  });
});

describe('an enqueue decodes only what its decision depends on', () => {
  const fetchIn = (project: string, list = 'menu'): BookingOp => ({ kind: 'fetch', project, server, list });

  it("a line spoiled by hand, in another project's entries or its own, refuses the enqueue as a whole read does; the file is kept", async () => {
    const file = join(dir, 'queue.json');
    const open = () => createQueue({ file, rules: FOCUSED });
    await open().enqueue({ operation: fetchIn('/other') });
    await open().enqueue({ operation: fetchIn('/mine', 'a') });
    // Force a snapshot of the two, then spoil the other project's line (a hand edit).
    await open().transact((entries) => {
      entries.reverse();
    });
    const good = readFileSync(file, 'utf8');
    for (const spoiled of [
      good.replace('"list":"menu"}', '"list":menu}'),
      good.replace('"list":"a"}', '"list":a}'),
    ]) {
      writeFileSync(file, spoiled);
      const error = await open()
        .enqueue({ operation: fetchIn('/mine', 'b') })
        .catch((e: unknown) => e);
      expect((error as QueueError).code).toBe('CORRUPT');
      expect(readFileSync(file, 'utf8')).toBe(spoiled);
    }
    // Repaired, the enqueue goes through and everything is there.
    writeFileSync(file, good);
    const { entry: added } = await open().enqueue({ operation: fetchIn('/mine', 'b') });
    expect((await open().list()).map((e) => e.id)).toContain(added.id);
  });

  /** One step of a user's day: an enqueue in one of three projects, a sync finishing entries, time passing. */
  type Step =
    | { kind: 'enqueue'; project: number; op: 'reserve' | 'cancel' | 'extend' | 'fetch'; key?: number }
    | { kind: 'finish'; pick: number[]; status: 'done' | 'failed' }
    | { kind: 'later' }
    | { kind: 'compact' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      arbitrary: fc.record(
        {
          kind: fc.constant('enqueue' as const),
          project: fc.integer({ min: 0, max: 2 }),
          op: fc.constantFrom('reserve' as const, 'cancel' as const, 'extend' as const, 'fetch' as const),
          key: fc.integer({ min: 0, max: 3 }),
        },
        { requiredKeys: ['kind', 'project', 'op'] },
      ),
      weight: 5,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('finish' as const),
        pick: fc.array(fc.nat(), { maxLength: 3 }),
        status: fc.constantFrom('done' as const, 'failed' as const),
      }),
      weight: 3,
    },
    { arbitrary: fc.record({ kind: fc.constant('later' as const) }), weight: 1 },
    // A reordering is written as a new snapshot: what the journal held moves into it.
    { arbitrary: fc.record({ kind: fc.constant('compact' as const) }), weight: 1 },
  );

  it('property: whatever the queue holds, an enqueue in a fresh process decides and stores what a whole read would', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 30 }), async (steps) => {
        const base = mkdtempSync(join(dir, 'run-'));
        let now = Date.parse('2026-12-01T10:00:00Z');
        const clock = { now: () => now };
        // Each call opens the queue afresh, as a new process does: nothing read is kept.
        const world = (name: string, rules: QueueRules<BookingOp>) => {
          const file = join(base, name);
          const open = () =>
            createQueue({ file, rules, clock, retainFinishedMs: 3_600_000, maxFinishedEntries: 3 });
          return { file, open, outcomes: [] as string[], keys: new Map<string, string>() };
        };
        const worlds = [world('focused.json', FOCUSED), world('whole.json', BOOKING_RULES)];
        // Ids differ between the two files (each made afresh): entries compared by what they are.
        const shape = (file: string) => {
          const entries = readStoredEntries<BookingOp>(file);
          const n = new Map(entries.map((e, i) => [e.id, i]));
          return entries.map(({ id: _id, idempotencyKey, supersededBy, reason, ...rest }) => ({
            ...rest,
            key: idempotencyKey.startsWith('key-') ? idempotencyKey : 'generated',
            supersededBy: supersededBy === undefined ? undefined : n.get(supersededBy),
            reason: reason?.code,
          }));
        };
        const [focused, whole] = worlds as [ReturnType<typeof world>, ReturnType<typeof world>];
        for (const s of steps) {
          for (const w of worlds) {
            if (s.kind === 'later') continue;
            if (s.kind === 'compact') {
              await w.open().transact((entries) => {
                entries.reverse();
              });
              continue;
            }
            if (s.kind === 'finish') {
              await w.open().transact((entries) => {
                for (const p of s.pick) {
                  const e = entries[p % Math.max(1, entries.length)];
                  if (e?.status !== 'pending') continue;
                  e.status = s.status;
                  e.completedAt = new Date(now).toISOString();
                }
              });
              continue;
            }
            const project = `/events/${['Gala', 'Gala "2"', 'Fête'][s.project]}`;
            const seat = { seat: 'A1', guest: 'ada@example.com' };
            const operation: BookingOp =
              s.op === 'reserve'
                ? { kind: 'reserve', project, server, holdMs: 3_600_000, ...seat }
                : s.op === 'cancel'
                  ? { kind: 'cancel', project, server, ...seat }
                  : s.op === 'extend'
                    ? { kind: 'extend', project, server, holdMs: 60_000, ...seat }
                    : { kind: 'fetch', project, server, list: 'menu' };
            try {
              const decision = await w.open().enqueue({
                operation,
                ...(s.key !== undefined ? { idempotencyKey: `key-${s.key}` } : {}),
              });
              w.outcomes.push(`${decision.outcome}:${decision.affected.length}`);
            } catch (error) {
              w.outcomes.push((error as QueueError).code);
            }
          }
          if (s.kind === 'later') now += 3_600_000 + 1;
          else now += 1000;
          expect(focused.outcomes).toEqual(whole.outcomes);
          expect(shape(focused.file)).toEqual(shape(whole.file));
        }
        // The same through the reader that checks everything.
        expect(await focused.open().list()).toHaveLength(readStoredEntries(whole.file).length);
      }),
      { numRuns: 40 },
    );
  });
});
