import { join } from 'node:path';
import { type QueueEntry, RULES } from '@oxvcs/engine';
import { seededRandom as seeded } from '@oxvcs/oxen-testkit';
import { createQueue, readStoredEntries } from '@oxvcs/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './helpers.js';

const seed = Number(process.env.E2E_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves once the queue file shows an entry run by `pid`, or when the child has exited, or after
 * `ms` (a busy machine may be slow to start the CLI: the kill then simply lands later).
 */
async function untilRunning(file: string, pid: number, exited: Promise<unknown>, ms: number) {
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const deadline = Date.now() + ms;
  while (!done && Date.now() < deadline) {
    try {
      const entries = readStoredEntries(file);
      if (entries.some((e) => e.status === 'running' && e.runner?.pid === pid)) return;
    } catch {
      // Not written yet.
    }
    await sleep(10);
  }
}

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

describe('5. queue sync killed with SIGKILL at seeded points', () => {
  it(`20 runs (seed ${seed}, replay with E2E_CRASH_SEED=${seed}): the queue file always parses, no entry is lost, none is replayed without verification`, async () => {
    const random = seeded(seed);
    const dir = await world.project('crash');
    const remote = world.server.repoUrl('e2e', 'crash');
    const file = join(world.home('ada'), 'queue.json');
    const queue = createQueue({ file, rules: RULES });
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
      const exited = new Promise((r) => child.once('close', r));
      // Half the kills at a random time, half just after an entry is claimed (so some are always
      // caught running, however slowly a busy machine starts the CLI).
      if (random() < 0.5) await sleep(150 + Math.floor(random() * 900));
      else {
        await untilRunning(file, child.pid!, exited, 20_000);
        await sleep(Math.floor(random() * 60));
      }
      child.kill('SIGKILL');
      await exited;
      const parsed = { entries: readStoredEntries(file) as QueueEntry[] };
      expect(parsed.entries, `run ${run} of seed ${seed}`).toHaveLength(total);
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
    // One lock table for the repository: each entry's nonce is on exactly one ticket, and the
    // table holds all 60 locks.
    const repo = world.server.repo('e2e', 'crash')!;
    const records = Object.entries(repo.branches)
      .filter(([b]) => b.startsWith('oxvcs-locks/'))
      .map(
        ([, commit]) =>
          JSON.parse(repo.commits[commit]!.message) as {
            nonce: string;
            ticket: number;
            leases: Record<string, unknown>;
          },
      );
    const nonces = new Map<string, number>();
    for (const r of records) nonces.set(r.nonce, (nonces.get(r.nonce) ?? 0) + 1);
    for (const e of entries) expect(nonces.get(e.idempotencyKey)).toBe(1);
    expect(records).toHaveLength(60);
    const top = records.reduce((a, b) => (a.ticket > b.ticket ? a : b));
    expect(Object.keys(top.leases)).toHaveLength(60);
    console.log(`crash (seed ${seed}): 20 kills, ${caught.size} entries caught running, all 60 done once`);
  });
});
