import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextProgress, type ProgressCounts, partsWhole } from './push-progress.js';

/**
 * Frames as Oxen 0.54 draws a push of several commits: files add bytes and files; each commit's
 * nodes first grow the total by an estimate, then add more bytes than that (tar headers), so the
 * bar can pass its total; a frame may lack its totals (no totals known yet).
 */
const frames = fc
  .array(
    fc.record({
      grow: fc.nat({ max: 5_000 }),
      add: fc.nat({ max: 50_000 }),
      files: fc.nat({ max: 3 }),
      totals: fc.boolean(),
    }),
    { maxLength: 40 },
  )
  .chain((steps) =>
    fc.constant(
      steps.reduce<{ done: number; total: number; files: number; out: ProgressCounts[] }>(
        (s, step) => {
          const total = s.total + step.grow;
          const done = s.done + step.add;
          const files = s.files + step.files;
          s.out.push(
            step.totals
              ? { bytesDone: done, bytesTotal: total, filesDone: files, filesTotal: files + 5 }
              : { bytesDone: done, filesDone: files },
          );
          return { done, total, files, out: s.out };
        },
        { done: 0, total: 100_000, files: 0, out: [] },
      ).out,
    ),
  );

describe('nextProgress (what a push shows from oxen frames)', () => {
  it('never goes back, never passes the whole, and totals only grow, whatever oxen draws', () => {
    fc.assert(
      fc.property(frames, fc.nat({ max: 1_000_000 }), (input, already) => {
        let shown: ProgressCounts | undefined;
        let share = 0;
        for (const frame of input) {
          const next = nextProgress(shown, frame, { bytes: already, files: 0 });
          if (next.bytesTotal !== undefined) {
            expect(next.bytesDone!).toBeLessThanOrEqual(next.bytesTotal);
            const now = next.bytesDone! / next.bytesTotal;
            expect(now).toBeGreaterThanOrEqual(share - 1e-9);
            share = now;
            if (shown?.bytesTotal !== undefined)
              expect(next.bytesTotal).toBeGreaterThanOrEqual(shown.bytesTotal);
          }
          if (shown?.bytesDone !== undefined) expect(next.bytesDone!).toBeGreaterThanOrEqual(shown.bytesDone);
          shown = next;
        }
      }),
    );
  });

  it('a resumed take counts the parts already there: 8 of 10 parts there starts at 80 %', () => {
    const first = nextProgress(
      undefined,
      { bytesDone: 0, bytesTotal: 400, filesDone: 0, filesTotal: 6 },
      {
        bytes: 1600,
        files: 24,
      },
    );
    expect(first).toEqual({ bytesDone: 1600, bytesTotal: 2000, filesDone: 24, filesTotal: 30 });
  });
});

describe('partsWhole', () => {
  it('a part is whole once a file of the next one is done; the last only when the push ends', () => {
    const parts = [{ files: 3 }, { files: 2 }, { files: 4 }];
    expect([0, 3, 4, 5, 6, 9].map((done) => partsWhole(parts, done))).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it('never counts more parts than have been fully sent', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 12 }),
        fc.nat(300),
        (sizes, done) => {
          const whole = partsWhole(
            sizes.map((files) => ({ files })),
            done,
          );
          const sent = sizes.slice(0, whole).reduce((n, f) => n + f, 0);
          expect(sent).toBeLessThan(Math.max(done, 1));
          expect(whole).toBeLessThan(sizes.length);
        },
      ),
    );
  });
});
