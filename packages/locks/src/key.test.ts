import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keySlug, normaliseKey, parseTicketBranch, ticketBranch } from './key.js';

describe('lock keys', () => {
  it('normalises relative project paths and defaults to the repository', () => {
    expect(normaliseKey(undefined)).toBe('.');
    expect(normaliseKey('./')).toBe('.');
    expect(normaliseKey('Songs//My Song.logicx/')).toBe('Songs/My Song.logicx');
  });

  it.each([
    ['/abs/path', /absolute path/],
    ['../elsewhere', /leaves the repository/],
    ['a/../../b', /leaves the repository/],
    ['Song:1', /contains ":"/],
    ['what?', /contains "\?"/],
    ['a@{b', /contains "@\{"/],
    ['tab\there', /Oxen does not allow/],
  ])('refuses %s with a clear message', (key, message) => {
    expect(() => normaliseKey(key)).toThrow(message);
  });

  it('two different keys never share a ticket prefix (injective slug without slashes)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.string({ minLength: 1, maxLength: 20 }),
        (a, b) => {
          let ka: string;
          let kb: string;
          try {
            ka = normaliseKey(a);
            kb = normaliseKey(b);
          } catch {
            return true;
          }
          if (ka === kb) return true;
          const pa = `${ticketBranch(ka, 1).slice(0, -10)}`;
          const pb = `${ticketBranch(kb, 1).slice(0, -10)}`;
          return !pa.startsWith(pb) && !pb.startsWith(pa);
        },
      ),
    );
    expect(keySlug('a/b')).toBe('a_2Fb');
    expect(keySlug('a_2Fb')).toBe('a_5F2Fb');
  });

  it('ticket branches round-trip', () => {
    const name = ticketBranch('My Song.logicx', 42);
    expect(name).toBe('oxvcs-lock/My_20Song_2Elogicx/0000000042');
    expect(parseTicketBranch(name)).toEqual({ slug: 'My_20Song_2Elogicx', ticket: 42 });
    expect(parseTicketBranch('main')).toBeUndefined();
  });
});
