import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

describe('15. push and pull show progress', () => {
  it('a slow push prints progress lines from oxen’s own counts when piped (bytes, files, rate)', async () => {
    const dir = await world.project('progress');
    for (let i = 0; i < 4; i++) writeFileSync(join(dir, `Take ${i}.wav`), Buffer.alloc(256 * 1024, i));
    await world.env.oxen(['add', '.'], dir);
    await world.env.oxen(['commit', '-m', 'four takes'], dir);
    // Oxen moves its bar once per batch of small files: a 256 KiB segment (for its 10 MiB) makes
    // each take its own batch, as four 10 MiB takes would be.
    const r = await world.run(['push'], {
      cwd: dir,
      env: { OXEN_FAKE_TRANSFER_DELAY_MS: '150', OXEN_FAKE_SEGMENT_BYTES: String(256 * 1024) },
    });
    expect(r.code).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('Pushing: '));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.at(-1)).toMatch(/^Pushing: 100% [\d.]+\/[\d.]+ MiB 4\/4 files at [\d.]+ MiB\/s/);
  });
});
