import { UsageError } from 'clipanion';
import { describe, expect, it } from 'vitest';
import { partOfText, sizeText } from '../render.js';
import { parseSize } from './commit.js';

describe('oxenvcs commit --part-size', () => {
  it('reads decimal and binary units, and plain bytes', () => {
    expect(parseSize('200MB')).toBe(200_000_000);
    expect(parseSize('1.5 GB')).toBe(1_500_000_000);
    expect(parseSize('512MiB')).toBe(512 * 1024 * 1024);
    expect(parseSize('2000000')).toBe(2_000_000);
  });

  it('refuses what is not a size, under 1 MB or over 1000 GB, in one line naming the flag and an example', () => {
    const huge = `${'9'.repeat(300)}GB`;
    for (const bad of ['', 'big', '-5MB', '0.5MB', '10 parsecs', '1e9', '1001GB', huge]) {
      expect(() => parseSize(bad)).toThrow(UsageError);
      expect(() => parseSize(bad)).toThrow(
        /^--part-size must be a size from 1 MB to 1000 GB \(got ".*"\), e\.g\. --part-size 200MB$/,
      );
    }
    expect(parseSize('1000GB')).toBe(1e12);
  });

  it('sizes are worded in the unit of the total: "1.4 of 2.0 GB"', () => {
    expect(partOfText(1_400_000_000, 2_000_000_000)).toBe('1.4 of 2.0 GB');
    expect(partOfText(0, 9_500_000)).toBe('0.0 of 9.5 MB');
    expect(sizeText(512)).toBe('512 B');
    expect(sizeText(200_000_000)).toBe('200.0 MB');
  });
});
