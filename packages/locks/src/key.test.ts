import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normaliseKey } from './key.js';

describe('lock keys', () => {
  it('normalises relative project paths and defaults to the repository', () => {
    expect(normaliseKey(undefined)).toBe('.');
    expect(normaliseKey('./')).toBe('.');
    expect(normaliseKey('Songs//My Song.logicx/')).toBe('songs/my song.logicx');
  });

  it('one folder is one key: case, NFC/NFD accents and separators all agree', () => {
    expect(normaliseKey('Song One.logicx')).toBe(normaliseKey('song one.LOGICX'));
    expect(normaliseKey('Caf\u00e9.logicx')).toBe(normaliseKey('Cafe\u0301.logicx'));
    expect(normaliseKey('Songs\\Take 1')).toBe(normaliseKey('songs/take 1'));
    // Names Oxen would refuse in a branch are fine: keys are not branch names any more.
    expect(normaliseKey('Song: Take 1?.logicx')).toBe('song: take 1?.logicx');
  });

  it.each([
    ['/abs/path', /absolute path/],
    ['../elsewhere', /leaves the repository/],
    ['a/../../b', /leaves the repository/],
    ['tab\there', /control character/],
  ])('refuses %s with a clear message', (key, message) => {
    expect(() => normaliseKey(key)).toThrow(message);
  });

  it('is idempotent (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30, unit: 'binary' }), (raw) => {
        let key: string;
        try {
          key = normaliseKey(raw);
        } catch {
          return true;
        }
        return normaliseKey(key) === key;
      }),
      { numRuns: 2000 },
    );
  });
});
