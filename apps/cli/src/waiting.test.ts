import { describe, expect, it } from 'vitest';
import { ordinal, parseWait, waiterLine, waitingLine } from './waiting.js';

const at = (h: number, m: number) => new Date(2026, 11, 6, h, m).toISOString();
const now = Date.parse(at(12, 30));

describe('waiting in line, in words (issue 22 §1)', () => {
  it('ordinals: 1st 2nd 3rd 4th 11th 12th 13th 21st 22nd 101st', () => {
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 101].map(ordinal)).toEqual([
      '1st',
      '2nd',
      '3rd',
      '4th',
      '11th',
      '12th',
      '13th',
      '21st',
      '22nd',
      '101st',
    ]);
  });

  it('--max-wait: 90s, 30m, 2h, 1h30m, a plain number of minutes; anything else is refused naming the forms', () => {
    expect(['90s', '30m', '2h', '1h30m', '5', '1.5h'].map((v) => parseWait(v))).toEqual([
      90_000, 1_800_000, 7_200_000, 5_400_000, 300_000, 5_400_000,
    ]);
    for (const bad of ['soon', '', '0', '-5m', '2h30', '31d', '1e3'])
      expect(() => parseWait(bad)).toThrow(/--max-wait must be a duration from 1s to 30d such as 90s, 30m/);
  });

  it('progress and the line name people as they are called, with local clock times', () => {
    const bob = {
      key: '.',
      id: 'b',
      holder: 'bob@studio',
      machineId: 'mb',
      since: at(12, 10),
      leavesAt: at(12, 40),
      position: 1,
    };
    expect(
      waitingLine(
        {
          type: 'waiting',
          position: 1,
          since: at(12, 10),
          holder: 'ada@laptop',
          heldSince: at(11, 5),
          waiters: [bob],
        },
        now,
      ),
    ).toBe('Waiting behind ada (held since 11:05); you are 1st in line');
    expect(waitingLine({ type: 'waiting', position: 2, since: at(12, 20), waiters: [bob] }, now)).toBe(
      'Waiting behind bob (in line since 12:10); you are 2nd in line',
    );
    expect(waiterLine(bob, { holder: 'ada@laptop', machineId: 'ma' }, now)).toBe(
      'bob is waiting since 12:10 (1st in line)',
    );
    expect(waiterLine(bob, { holder: 'bob@studio', machineId: 'mb' }, now)).toBe(
      'You are waiting since 12:10 (1st in line)',
    );
  });
});
