import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextDeadline } from './transition.js';

describe('the claim deadline (pure)', () => {
  it('a race lost to unrelated progress moves the deadline to a full one after the read, capped by the patience', () => {
    const base = { start: 0, deadlineMs: 1000, patienceMs: 10_000 };
    expect(nextDeadline({ ...base, deadline: 1000, at: 900, progressed: true })).toBe(1900);
    expect(nextDeadline({ ...base, deadline: 1000, at: 900, progressed: false })).toBe(1000);
    expect(nextDeadline({ ...base, deadline: 9500, at: 9800, progressed: true })).toBe(10_000);
  });

  it('property: never earlier than before, never past start + patience, and a full deadline after progress when patience allows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e6 }),
        fc.integer({ min: 1, max: 1e5 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 2e6 }),
        fc.boolean(),
        (start, deadlineMs, times, elapsed, progressed) => {
          const patienceMs = deadlineMs * times;
          const deadline = start + deadlineMs;
          const at = start + elapsed;
          const next = nextDeadline({ deadline, start, at, progressed, deadlineMs, patienceMs });
          expect(next).toBeGreaterThanOrEqual(deadline);
          expect(next).toBeLessThanOrEqual(start + patienceMs);
          if (!progressed) expect(next).toBe(deadline);
          else if (at + deadlineMs <= start + patienceMs)
            expect(next).toBeGreaterThanOrEqual(at + deadlineMs);
        },
      ),
    );
  });
});
