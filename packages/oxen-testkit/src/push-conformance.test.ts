/**
 * Conformance of the fake push path (fake `oxen push` + fake server) with Oxen 0.54's
 * (`crates/liboxen/src/core/v_latest/push.rs`, `api/client/versions.rs`,
 * `oxen-server/src/controllers/commits.rs`, `util/concurrency.rs`, tag v0.54.0). Sizes are scaled
 * down: a 1 KiB stream segment (`OXEN_FAKE_SEGMENT_BYTES`) stands for Oxen's 10 MiB.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FakeOxenEnv } from './env.js';
import type { FakeOxenServer } from './server.js';
import { createTestWorld, type TestWorld } from './world.js';

const SEGMENT = 1024;
let server: FakeOxenServer;
let env: FakeOxenEnv;
let world: TestWorld;
let n = 0;

/** The fake `oxen` with the scaled-down segment and no wait between chunk retries. */
const oxen = (args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'oxen',
      args,
      {
        cwd,
        env: { ...env.env, OXEN_FAKE_SEGMENT_BYTES: String(SEGMENT), OXEN_FAKE_RETRY_WAIT_MS: '0', ...extra },
        encoding: 'utf8',
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });

/** A cloned project with `parts` commits, each adding the given file sizes (random bytes). */
const projectWithParts = async (parts: number[][]) => {
  const name = `push${++n}`;
  const dir = await world.project(name);
  let total = 0;
  for (const [i, sizes] of parts.entries()) {
    for (const [j, size] of sizes.entries()) {
      writeFileSync(join(dir, `part${i}-file${j}.wav`), randomBytes(size));
      total += size;
    }
    expect((await oxen(['add', '.'], dir)).code).toBe(0);
    expect((await oxen(['commit', '-m', `part ${i + 1}`], dir)).code).toBe(0);
  }
  server.clearRequests();
  return { name, dir, total, api: `${server.url}/api/repos/ns/${name}` };
};
const routes = () => server.requests.map((r) => r.route.replace('/api/repos/:ns/:repo', ''));
const missing = async (api: string, hashes: unknown) => {
  const res = await fetch(`${api}/commits/missing`, { method: 'POST', body: JSON.stringify({ hashes }) });
  return { status: res.status, body: (await res.json()) as { hashes?: string[]; status: string } };
};

beforeAll(async () => {
  world = await createTestWorld();
  ({ server, env } = world);
});
afterAll(async () => {
  await world.close();
});
afterEach(() => server.faults.clear());

describe('push: POST …/commits/missing (controllers/commits.rs:224-265, list_missing)', () => {
  it('a commit is present only once its node AND its dir-hashes arrived; bad JSON is a 400', async () => {
    const { api, name } = await projectWithParts([]);
    const initial = server.repo('ns', name)!.branches.main!;
    const commit = {
      id: 'c'.repeat(32),
      parent_ids: [initial],
      message: 'm',
      author: 'a',
      email: 'e',
      timestamp: new Date().toISOString(),
      tree: {},
    };
    expect((await missing(api, [initial, commit.id])).body.hashes).toEqual([commit.id]);
    const post = (path: string, value: unknown) =>
      fetch(`${api}/${path}`, { method: 'POST', body: new Uint8Array(gzipSync(JSON.stringify(value))) });
    expect((await post('tree/nodes', { commit })).status).toBe(200);
    // The node alone is not enough: the dir-hashes are sent last, so "present" means "finished".
    expect((await missing(api, [commit.id])).body.hashes).toEqual([commit.id]);
    expect((await post('commits/upload', { commit_id: commit.id })).status).toBe(200);
    expect((await missing(api, [commit.id])).body).toMatchObject({ status: 'success', hashes: [] });
    const bad = await fetch(`${api}/commits/missing`, { method: 'POST', body: 'not json' });
    expect(bad.status).toBe(400);
  });
});

describe('push: per-commit upload (push.rs push_commits, push_entries; versions.rs:523-585)', () => {
  it('asks commits/missing once, sends each commit (files, node, dir-hashes), moves the branch once at the end', async () => {
    const p = await projectWithParts([[300, 200], [400], [100, 100, 100]]);
    const r = await oxen(['push', 'origin', 'main'], p.dir, { OXEN_NUM_THREADS: '1' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const seen = routes();
    expect(seen.filter((s) => s === 'POST /commits/missing')).toHaveLength(1);
    const pushed = seen.slice(seen.indexOf('POST /commits/missing') + 1);
    // One commit in flight: batch(es), node, dir-hashes, three times; then the branch, once.
    expect(pushed).toEqual([
      'POST /versions',
      'POST /tree/nodes',
      'POST /commits/upload',
      'POST /versions',
      'POST /tree/nodes',
      'POST /commits/upload',
      'POST /versions',
      'POST /tree/nodes',
      'POST /commits/upload',
      'PUT /branches/:rest',
    ]);
    // The files travelled gzip-bundled: random bytes do not shrink, so at least their size arrived.
    expect(server.receivedBytes('/versions')).toBeGreaterThanOrEqual(p.total);
    const repo = server.repo('ns', p.name)!;
    const local = (await oxen(['log', '-n', '1'], p.dir)).stdout;
    expect(local).toContain(repo.branches.main!);
  });

  it('a file over the segment goes in chunks (PUT …/chunks?offset=N, then …/complete); one under it in a batch', async () => {
    const p = await projectWithParts([[SEGMENT * 2 + 10, SEGMENT]]);
    const r = await oxen(['push', 'origin', 'main'], p.dir);
    expect(r.code).toBe(0);
    const chunkPaths = server.requests.filter((q) => q.route.endsWith('/chunks'));
    expect(chunkPaths).toHaveLength(3);
    const hash = /versions\/([0-9a-f]+)\/chunks/.exec(chunkPaths[0]!.path)![1]!;
    expect(server.repo('ns', p.name)!.objects[hash]).toBeDefined();
    expect(routes()).toContain('POST /versions/:hash/complete');
    expect(routes().filter((s) => s === 'POST /versions')).toHaveLength(1);
  });

  it('a new branch: Oxen lists every remote branch for a base, then POSTs the branch from the commit', async () => {
    const p = await projectWithParts([]);
    await oxen(['checkout', '-b', 'take'], p.dir);
    writeFileSync(join(p.dir, 'take.wav'), randomBytes(100));
    await oxen(['add', '.'], p.dir);
    await oxen(['commit', '-m', 'take'], p.dir);
    server.clearRequests();
    expect((await oxen(['push', 'origin', 'take'], p.dir)).code).toBe(0);
    expect(routes()).toContain('GET /branches');
    expect(routes().at(-1)).toBe('POST /branches');
  });
});

describe('push: a cut push and its re-run (push.rs; "present" commits are skipped, others re-sent in full)', () => {
  it('the `cut` fault drops the link mid-push; the branch is not moved; the re-run sends only what is not present', async () => {
    const p = await projectWithParts([[600], [600], [600], [600], [600]]);
    // Cut inside the fourth commit's batch (each ~800 B on the wire: 600 B gzipped plus the form).
    await server.faults.add({ kind: 'cut', route: '/versions', bytes: 3 * 900 + 100 });
    const first = await oxen(['push', 'origin', 'main'], p.dir, { OXEN_NUM_THREADS: '1' });
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(
      /^Error: Failed to push \d commit\(s\):\nError pushing commit "[0-9a-f]+": Network error:/,
    );
    const repo = server.repo('ns', p.name)!;
    const heads = (await oxen(['log', '-n', '5'], p.dir)).stdout
      .match(/^commit ([0-9a-f]+)$/gm)!
      .map((l) => l.slice(7));
    const before = repo.branches.main;
    expect(heads).not.toContain(before);
    const sentFirst = server.receivedBytes();
    await server.faults.online();
    const { body } = await missing(p.api, heads);
    expect(body.hashes).toHaveLength(2);
    server.clearRequests();
    const second = await oxen(['push', 'origin', 'main'], p.dir, { OXEN_NUM_THREADS: '1' });
    expect(second.code).toBe(0);
    expect(repo.branches.main).toBe(heads[0]);
    // Two commits re-sent in full (the cut one from its start): 1,200 B of files and their overhead.
    expect(server.receivedBytes('/versions')).toBeGreaterThanOrEqual(1200);
    expect(server.receivedBytes('/versions')).toBeLessThan(1200 + 600);
    expect(sentFirst).toBeGreaterThan(0);
  });
});

describe('push: OXEN_NUM_THREADS and OXEN_NUM_RETRIES (util/concurrency.rs, constants.rs; versions.rs chunk retries)', () => {
  it('a chunk is retried OXEN_NUM_RETRIES times; a small-file batch is not retried at all', async () => {
    const big = await projectWithParts([[SEGMENT * 2]]);
    await server.faults.add({ kind: 'reset', route: '/chunks', count: 2 });
    expect((await oxen(['push', 'origin', 'main'], big.dir)).code).toBe(0);
    const again = await projectWithParts([[SEGMENT * 2]]);
    await server.faults.add({ kind: 'reset', route: '/chunks', count: 2 });
    const once = await oxen(['push', 'origin', 'main'], again.dir, { OXEN_NUM_RETRIES: '1' });
    expect(once.code).toBe(1);
    expect(once.stderr).toContain('Network error');
    const small = await projectWithParts([[100]]);
    await server.faults.add({ kind: 'reset', route: '/versions', method: 'POST', count: 1 });
    const batch = await oxen(['push', 'origin', 'main'], small.dir);
    expect(batch.code).toBe(1);
    expect(server.requests.filter((q) => q.route.endsWith('/versions'))).toHaveLength(1);
  });

  it('OXEN_NUM_THREADS=1: one commit in flight, each finished (dir-hashes) before the next starts', async () => {
    const p = await projectWithParts([[SEGMENT * 2], [SEGMENT * 2], [SEGMENT * 2]]);
    expect((await oxen(['push', 'origin', 'main'], p.dir, { OXEN_NUM_THREADS: '1' })).code).toBe(0);
    const seen = routes().filter((s) => s !== 'POST /versions/:hash/create');
    const commitsDone = seen.flatMap((s, i) => (s === 'POST /commits/upload' ? [i] : []));
    expect(commitsDone).toHaveLength(3);
    // Between two dir-hashes uploads: exactly one commit's chunks, completion and node.
    for (let i = 1; i < commitsDone.length; i++)
      expect(seen.slice(commitsDone[i - 1]! + 1, commitsDone[i]! + 1)).toEqual([
        'PUT /versions/:hash/chunks',
        'PUT /versions/:hash/chunks',
        'POST /versions/:hash/complete',
        'POST /tree/nodes',
        'POST /commits/upload',
      ]);
  });
});

describe('push: a connection dropped mid-batch (push.rs:527-543, 806-830; versions.rs:491-521)', () => {
  it('the `drop-body` fault fails that commit at once (the batch is not retried), the other commits run to their end, the branch stays; a re-run sends only that commit', async () => {
    const p = await projectWithParts([[600], [600], [600]]);
    const heads = (await oxen(['log', '-n', '3'], p.dir)).stdout
      .match(/^commit ([0-9a-f]+)$/gm)!
      .map((l) => l.slice(7))
      .reverse();
    // The first commit's batch: its connection drops after 100 bytes of the multipart body.
    await server.faults.add({ kind: 'drop-body', route: '/versions', method: 'POST', count: 1, bytes: 100 });
    const first = await oxen(['push', 'origin', 'main'], p.dir, { OXEN_NUM_THREADS: '1' });
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(
      new RegExp(
        `^Error: Failed to push 1 commit\\(s\\):\\nError pushing commit "${heads[0]}": Network error:`,
      ),
    );
    // `multipart_batch_upload` returns the transport error with `?`: no second try of the batch.
    const batches = server.requests.filter((q) => q.route.endsWith('/versions') && q.method === 'POST');
    expect(batches.map((q) => q.fault ?? 'ok')).toEqual(['drop-body', 'ok', 'ok']);
    // The failed commit sent neither nodes nor dir-hashes; the other two did (present).
    expect(routes().filter((s) => s === 'POST /commits/upload')).toHaveLength(2);
    const repo = server.repo('ns', p.name)!;
    const before = repo.branches.main;
    expect(heads).not.toContain(before);
    expect((await missing(p.api, heads)).body.hashes).toEqual([heads[0]]);
    server.clearRequests();
    const second = await oxen(['push', 'origin', 'main'], p.dir, { OXEN_NUM_THREADS: '1' });
    expect(second.code).toBe(0);
    expect(routes().filter((s) => s === 'POST /versions')).toHaveLength(1);
    expect(repo.branches.main).toBe(heads[2]);
  });
});

describe('push: the progress bar (api/client/tree.rs:86-128, core/progress/sync_progress.rs:80-82, 141-143)', () => {
  it("under a terminal, each commit's nodes grow the bar's total, can carry it past that total, and clear the line", async () => {
    const p = await projectWithParts([[300], [300], [300]]);
    // `script` gives the fake a terminal, as the oxen wrapper does for progress.
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(
        'script',
        ['-q', '-e', '-c', 'oxen push origin main', '/dev/null'],
        {
          cwd: p.dir,
          env: {
            ...env.env,
            OXEN_FAKE_SEGMENT_BYTES: String(SEGMENT),
            OXEN_NUM_THREADS: '1',
            // The bar is drawn at most 20 times a second: 60 ms a file, so each file's count is
            // drawn (a push of 900 B is over before a second frame otherwise).
            OXEN_FAKE_TRANSFER_DELAY_MS: '60',
            SHELL: '/bin/sh',
          },
          encoding: 'utf8',
        },
        (error, stdout) => resolve({ code: error ? 1 : 0, out: stdout }),
      );
    });
    expect(r.code).toBe(0);
    const frames = [
      ...r.out.matchAll(/push \((\d+)\/(\d+) files\).*? ([\d.]+ [KM]?i?B)\/([\d.]+ [KM]?i?B)/g),
    ];
    const bytes = (s: string) => {
      const [n, unit] = s.split(' ');
      return Number(n) * (unit === 'KiB' ? 1024 : unit === 'MiB' ? 1024 ** 2 : 1);
    };
    const totals = frames.map((f) => bytes(f[4]!));
    // Files alone are 900 B; each commit's nodes add their estimate to the total as they go.
    expect(totals[0]).toBe(900);
    expect(Math.max(...totals)).toBeGreaterThan(900);
    for (let i = 1; i < totals.length; i++) expect(totals[i]).toBeGreaterThanOrEqual(totals[i - 1]!);
    // The bytes counted (tar headers included) pass the estimate: done > total at the end.
    const last = frames.at(-1)!;
    expect(bytes(last[3]!)).toBeGreaterThan(bytes(last[4]!));
    // Cleared after each commit's nodes: three clears of the line that are not a frame's start.
    const clears = r.out.split('\r\u001b[2K').slice(1);
    expect(clears.filter((after) => !/^[⠁⠂⠄⡀⢀⠠⠐⠈]/u.test(after)).length).toBeGreaterThanOrEqual(3);
  });
});
