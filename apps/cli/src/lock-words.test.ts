import { describe, expect, it } from 'vitest';
import { lockErrorWords } from './lock-words.js';

/** A lock failure as the CLI receives it: a name, a code, the library's sentence and its facts. */
const lock = (code: string, message: string, facts: Record<string, unknown> = {}) =>
  lockErrorWords({ name: 'LockError', code, message, ...facts });

describe('lock failures in the CLI’s words (the library names no command)', () => {
  it('adds what to run next from the code and the facts', () => {
    expect(lock('HELD', 'The lock on a is live (held by ada until T).', { key: 'a', force: true })).toBe(
      'The lock on a is live (held by ada until T); pass --force to break it anyway.',
    );
    expect(
      lock('HELD', 'The lock on a (held by ada) expired 2 s ago; it is treated as held for 3 s more.', {
        force: true,
        endedAgoMs: 2000,
      }),
    ).toBe(
      'The lock on a (held by ada) expired 2 s ago; it is treated as held for 3 s more: break it then, or pass --force now.',
    );
    expect(lock('HELD', 'bob has been waiting in line for a.', { inLine: true })).toBe(
      'bob has been waiting in line for a; wait your turn with `oxenvcs lock acquire --wait`.',
    );
    expect(lock('CORRUPT_RECORD', 'The lock record on ticket 3 is invalid.', { ticket: '3' })).toBe(
      'The lock record on ticket 3 is invalid; replace it with `oxenvcs lock break --force`.',
    );
    expect(lock('TABLE_FULL', 'The table is full, so a was not changed.')).toBe(
      'The table is full, so a was not changed; release locks nobody needs (`oxenvcs lock list`) or use shorter comments.',
    );
    expect(lock('TABLE_FULL', 'The line for a is full, so you were not added to it.', { inLine: true })).toBe(
      'The line for a is full, so you were not added to it; try again once someone in it has had their turn or left.',
    );
    expect(lock('LOST', 'Your lease on a lapsed.', { freeForMs: 15_000 })).toBe(
      'Your lease on a lapsed; run `oxenvcs lock acquire` to take it again.',
    );
    expect(lock('LOST', 'Not a valid change on ticket 9.', { ticket: '9' })).toBe(
      'Not a valid change on ticket 9; run `oxenvcs lock status` and try again.',
    );
  });

  it('keeps the library’s sentence when there is nothing to run, and leaves other errors alone', () => {
    expect(lock('HELD', 'The lock on a is held by ada.', { holder: 'ada' })).toBeUndefined();
    expect(lock('LOST', 'Your lock on a was broken by bob.', { brokenBy: 'bob' })).toBeUndefined();
    expect(lockErrorWords({ name: 'OxenError', code: 'HELD', message: 'x' })).toBeUndefined();
  });
});
