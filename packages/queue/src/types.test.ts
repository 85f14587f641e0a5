import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeOperation, type Operation } from './types.js';

const pull = (projectDir: string): Operation => ({
  kind: 'pull',
  projectDir,
  remote: 'http://h/n/r',
  branch: 'main',
});

describe('describeOperation', () => {
  it('names the project folder, POSIX or Windows, with or without a trailing separator', () => {
    expect(describeOperation(pull('/music/My Song'))).toBe('Pull main of My Song from remote');
    expect(describeOperation(pull('/music/My Song/'))).toBe('Pull main of My Song from remote');
    expect(describeOperation(pull('C:\\Music\\Demo.logicx\\'))).toBe('Pull main of Demo.logicx from remote');
    expect(
      describeOperation({
        ...pull('/music/Album'),
        kind: 'acquire-lock',
        key: 'Song 1',
        ttlMs: 1,
        holder: 'a',
      }),
    ).toBe('Acquire lock for Album/Song 1');
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
