import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cutOffAt,
  isProjectDocument,
  isTakeRecord,
  partMessage,
  planTake,
  saveTake,
  type TakeFile,
  type TakeRecord,
} from './take.js';

const file = fc.record({
  path: fc.oneof(
    fc.stringMatching(/^Song\.logicx\/Media\/Audio Files\/[a-z]{1,6}\.wav$/),
    fc.stringMatching(/^Song\.logicx\/Alternatives\/00[0-2]\/[A-Za-z]{1,11}$/),
    fc.stringMatching(/^[a-z]{1,6}\/[a-z]{1,6}\.wav$/),
  ),
  bytes: fc.integer({ min: 0, max: 3_000 }),
  removed: fc.boolean(),
});
const files = fc.uniqueArray(file, { selector: (f) => f.path, maxLength: 60 });

describe('planTake', () => {
  it('every file once; parts within the budget unless one file alone is over it; document and removals last', () => {
    fc.assert(
      fc.property(files, fc.integer({ min: 1, max: 5_000 }), (input: TakeFile[], budget) => {
        const plan = planTake(input, budget);
        const planned = plan.flatMap((p) => p.paths);
        expect([...planned].sort()).toEqual(input.map((f) => f.path).sort());
        const bytes = new Map(input.map((f) => [f.path, f.bytes]));
        for (const part of plan) {
          const sizes = part.paths.map((p) => bytes.get(p)!);
          expect(part.bytes).toBe(sizes.reduce((n, b) => n + b, 0));
          expect(part.oversized).toBe(sizes.some((b) => b > budget));
          if (part.bytes > budget) expect(part.paths).toHaveLength(1);
        }
        // The document and removals come after every media file.
        const late = (p: string) => input.some((f) => f.path === p && (f.removed || isProjectDocument(p)));
        const firstLate = planned.findIndex(late);
        if (firstLate >= 0) expect(planned.slice(firstLate).every(late)).toBe(true);
        expect(plan.map((p) => p.index)).toEqual(plan.map((_, i) => i + 1));
      }),
    );
  });

  it('ten ~200 MB parts for a 2 GB take of 300 files, the project document in the last', () => {
    const take: TakeFile[] = Array.from({ length: 300 }, (_, i) => ({
      path: `Song.logicx/Media/Audio Files/Take ${String(i).padStart(3, '0')}.wav`,
      bytes: 6_600_000,
    }));
    take.push({ path: 'Song.logicx/Alternatives/000/ProjectData', bytes: 2_000_000 });
    const plan = planTake(take, 200_000_000);
    expect(plan).toHaveLength(10);
    expect(plan.at(-1)!.paths).toContain('Song.logicx/Alternatives/000/ProjectData');
    expect(plan.every((p) => p.bytes <= 200_000_000)).toBe(true);
  });
});

describe('isProjectDocument and partMessage', () => {
  it('a .logicx package outside Media is the document; audio is not', () => {
    expect(isProjectDocument('Song.logicx/Alternatives/000/ProjectData')).toBe(true);
    expect(isProjectDocument('Album/Song.logicx/Resources/ProjectInformation.plist')).toBe(true);
    expect(isProjectDocument('Song.logicx/Media/Audio Files/Vox.wav')).toBe(false);
    expect(isProjectDocument('Bounces/Mix.wav')).toBe(false);
    expect(partMessage('comp', 3, 10)).toBe('comp (part 3 of 10)');
    expect(partMessage('comp', 1, 1)).toBe('comp');
  });
});

describe('cutOffAt', () => {
  const take = (recorded: number, planned?: number): TakeRecord => ({
    message: 'song',
    partBytes: 1,
    parts: Array.from({ length: recorded }, (_, i) => ({ commit: `c${i + 1}`, bytes: 1, files: 1 })),
    ...(planned === undefined ? {} : { recording: { parts: planned } }),
  });
  it('a head inside a take cut off while recorded: by its id, or by its message when it was not noted yet', () => {
    expect(cutOffAt(take(2, 4), { id: 'c2', message: 'whatever' })).toBe(2);
    expect(cutOffAt(take(2, 4), { id: 'c3', message: 'song (part 3 of 4)' })).toBe(3);
  });
  it('not the last part, not a take recorded whole, not a commit of something else', () => {
    expect(cutOffAt(take(3, 4), { id: 'c4', message: 'song (part 4 of 4)' })).toBeUndefined();
    expect(cutOffAt(take(4), { id: 'c2', message: 'song (part 2 of 4)' })).toBeUndefined();
    expect(cutOffAt(take(2, 4), { id: 'other', message: 'song (part 2 of 5)' })).toBeUndefined();
    expect(cutOffAt(take(0, 4), { id: 'before', message: 'mix' })).toBeUndefined();
  });
  it('a record claiming a billion parts planned is read without sizing anything by it', () => {
    expect(cutOffAt(take(1, 1e9), { id: 'c1', message: 'song (part 1 of 2)' })).toBe(1);
    expect(cutOffAt(take(0, 1e9), { id: 'x', message: 'song (part 7 of 1000000000)' })).toBe(7);
    expect(cutOffAt(take(0, 1e9), { id: 'x', message: 'song (part 7 of 1000000000) again' })).toBeUndefined();
  });
});

describe('isTakeRecord', () => {
  const good = { message: 'song', partBytes: 1e6, parts: [{ commit: 'ab12', bytes: 5, files: 1 }] };
  it('a record as saved, with its notes', () => {
    expect(isTakeRecord(good)).toBe(true);
    expect(isTakeRecord({ ...good, recording: { parts: 3 }, pushed: false })).toBe(true);
    expect(isTakeRecord({ ...good, onRemote: { parts: 1, bytes: 5, at: '2026-01-01T00:00:00Z' } })).toBe(
      true,
    );
  });
  it.each([
    ['not an object', [1, 2]],
    ['parts not objects', { ...good, parts: [null, 7] }],
    ['a commit that is not a hash', { ...good, parts: [{ commit: '../x', bytes: 1, files: 1 }] }],
    ['sizes not numbers', { ...good, parts: [{ commit: 'ab', bytes: 'lots', files: 1 }] }],
    ['negative counts', { ...good, parts: [{ commit: 'ab', bytes: 1, files: -1 }] }],
    ['no part size', { ...good, partBytes: 'x' }],
    ['fewer parts planned than recorded', { ...good, recording: { parts: 0 } }],
    ['more parts on the remote than recorded', { ...good, onRemote: { parts: 2, bytes: 1, at: 'now' } }],
  ])('%s: not a take record', (_, value) => {
    expect(isTakeRecord(value)).toBe(false);
  });
});

describe('saveTake', () => {
  it('a write that fails is reported as it failed, even where the temp file cannot be cleared', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oxvcs-take-'));
    try {
      // Something that is not a file stands where the temp file goes.
      mkdirSync(join(dir, '.oxen', 'oxvcs-take.json.tmp'), { recursive: true });
      expect(() => saveTake(dir, { message: 'm', partBytes: 1, parts: [] })).toThrow(
        expect.objectContaining({ code: 'EISDIR' }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
