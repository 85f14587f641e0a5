import { describe, expect, it } from 'vitest';
import { normaliseKey } from './key.js';

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
});
