import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createQueue, type QueueEntry } from '@oxvcs/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './helpers.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

describe('5. queue sync killed with SIGKILL at random points', () => {
  it('20 runs: the queue file always parses, no entry is lost, none is replayed without verification', async () => {
    const dir = await world.project('crash');
    const remote = world.server.repoUrl('e2e', 'crash');
    const file = join(world.home('ada'), 'queue.json');
    const queue = createQueue({ file });
    await world.server.faults.add({ kind: 'latency', ms: 60 });
    let total = 0;
    const caught = new Set<string>();
    for (let run = 0; run < 20; run++) {
      for (let i = 0; i < 3; i++) {
        await queue.enqueue({
          operation: {
            kind: 'acquire-lock',
            projectDir: dir,
            remote,
            key: `r${run}-${i}`,
            ttlMs: 3_600_000,
            holder: 'ada@e2e',
          },
        });
        total += 1;
      }
      const child = world.spawn(['queue', 'sync'], { cwd: dir });
      await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 900)));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { entries: QueueEntry[] };
      expect(parsed.entries).toHaveLength(total);
      for (const e of parsed.entries) if (e.status === 'running') caught.add(e.id);
    }
    await world.server.faults.clear();
    for (let i = 0; i < 5 && (await queue.stats()).pending + (await queue.stats()).running > 0; i++) {
      await world.run(['queue', 'sync'], { cwd: dir });
    }
    const entries = await queue.list();
    expect(entries).toHaveLength(60);
    expect(entries.every((e) => e.status === 'done')).toBe(true);
    // Every entry caught mid-flight was recovered and replayed with verify-first, and no lock
    // was granted twice: one ticket per key, holding the entry's own nonce.
    for (const e of entries.filter((x) => caught.has(x.id))) {
      expect(e.history.some((h) => h.outcome === 'interrupted')).toBe(true);
    }
    expect(caught.size).toBeGreaterThan(0);
    const branches = Object.keys(world.server.repo('e2e', 'crash')!.branches).filter((b) =>
      b.startsWith('oxvcs-lock/'),
    );
    expect(branches).toHaveLength(60);
    for (const b of branches) expect(b.endsWith('/0000000001')).toBe(true);
    console.log(`crash: 20 kills, ${caught.size} entries caught running, all 60 done once`);
  }, 300_000);
});
