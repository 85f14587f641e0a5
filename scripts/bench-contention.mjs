#!/usr/bin/env node
// Lock contention (issue 19): `users` lock managers in one process, and `users` real `oxenvcs lock
// acquire` processes, each with its own state folder, started at once on distinct folders of one
// repository. Part of `pnpm bench`;
// run alone (`node scripts/bench-contention.mjs`, after `pnpm build`) it prints its rows only.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'apps/cli/bin/oxenvcs.js');

const p95 = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)];
};

/** Runs the CLI; resolves with its exit code and wall time (ms). */
const run = (args, cwd, env) =>
  new Promise((resolve) => {
    const t = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: 'ignore' });
    child.on('close', (code) => resolve({ code, ms: performance.now() - t }));
  });

/**
 * `users` processes acquiring distinct folders at once, at `latencyMs` added to every answer.
 * Returns grants, exit codes, requests per grant, and the p95 time to grant as a ratio to one
 * uncontended acquire on the same machine (so the figure travels between machines).
 */
export async function contention({ users = 30, latencyMs = 0 } = {}) {
  const { startFakeOxenServer, createFakeOxenEnv } = await import(
    join(root, 'packages/oxen-testkit/dist/index.js')
  );
  const server = await startFakeOxenServer();
  const env = createFakeOxenEnv();
  const work = mkdtempSync(join(tmpdir(), 'oxvcs-contention-'));
  try {
    const files = Object.fromEntries(Array.from({ length: users + 1 }, (_, i) => [`take${i}/a.txt`, `${i}`]));
    await server.createRepo('bench', 'band', files);
    const dir = await env.cloneProject('band', server.repoUrl('bench', 'band'));
    const envOf = (user) => ({
      ...process.env,
      ...env.env,
      OXENVCS_HOME: join(work, user),
      OXENVCS_HOLDER: `${user}@bench`,
    });
    if (latencyMs) await server.faults.add({ kind: 'latency', ms: latencyMs });
    // One user alone first (a machine's first change forks its scratch branch: so does everyone's).
    const alone = await run(['lock', 'acquire', '--project', `take${users}`], dir, envOf('alone'));
    server.clearRequests();
    const runs = await Promise.all(
      Array.from({ length: users }, (_, i) =>
        run(['lock', 'acquire', '--project', `take${i}`], dir, envOf(`user${i}`)),
      ),
    );
    const granted = runs.filter((r) => r.code === 0);
    const codes = {};
    for (const r of runs) codes[r.code] = (codes[r.code] ?? 0) + 1;
    return {
      users,
      latencyMs,
      granted: granted.length,
      codes,
      requestsPerGrant: server.requests.length / Math.max(1, granted.length),
      p95Ms: granted.length ? p95(granted.map((r) => r.ms)) : Number.NaN,
      aloneMs: alone.ms,
      load: loadavg()[0],
    };
  } finally {
    await server.stop();
    env.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The same in one process with the library: `users` lock managers (each its own machine) acquiring
 * distinct keys at once, with the CLI's claim deadline (0.8 × the 10 s request timeout) and the
 * default patience. Returns grants, requests per grant and the p95 time to grant (ms).
 */
export async function libraryContention({ users = 30, latencyMs = 0, claimDeadlineMs = 8_000 } = {}) {
  const { startFakeOxenServer } = await import(join(root, 'packages/oxen-testkit/dist/index.js'));
  const { createOxenHub } = await import(join(root, 'packages/oxen/dist/index.js'));
  const { createLockManager } = await import(join(root, 'packages/locks/dist/index.js'));
  const server = await startFakeOxenServer();
  try {
    await server.createRepo('bench', 'band', { 'a.txt': 'a' });
    const remoteUrl = server.repoUrl('bench', 'band');
    const managers = Array.from({ length: users + 1 }, (_, i) =>
      createLockManager({
        hub: createOxenHub({ remoteUrl }),
        identity: { holder: `user${i}@bench`, machineId: `machine-${i}` },
        claimDeadlineMs,
      }),
    );
    if (latencyMs) await server.faults.add({ kind: 'latency', ms: latencyMs });
    // Every machine has seen the table once (its cache is warm, its scratch branch forked).
    for (const [i, m] of managers.entries()) await m.status(`take${i}`);
    const t = performance.now();
    const aloneMs = await managers[users]
      .acquire(`take${users}`, { ttlMs: 3_600_000 })
      .then(() => performance.now() - t);
    server.clearRequests();
    const runs = await Promise.all(
      managers.slice(0, users).map(async (m, i) => {
        const start = performance.now();
        try {
          await m.acquire(`take${i}`, { ttlMs: 3_600_000 });
          return { ok: true, ms: performance.now() - start };
        } catch (error) {
          return { ok: false, code: error.code ?? 'error', ms: performance.now() - start };
        }
      }),
    );
    const granted = runs.filter((r) => r.ok);
    const codes = {};
    for (const r of runs.filter((x) => !x.ok)) codes[r.code] = (codes[r.code] ?? 0) + 1;
    return {
      users,
      latencyMs,
      granted: granted.length,
      codes,
      requestsPerGrant: server.requests.length / Math.max(1, granted.length),
      p95Ms: granted.length ? p95(granted.map((r) => r.ms)) : Number.NaN,
      aloneMs,
      load: loadavg()[0],
    };
  } finally {
    await server.stop();
  }
}

/** The rows `pnpm bench` records for one library run. */
export const libraryRows = (r) => [
  [
    `${r.users} users acquire distinct keys at once in one process (library, 8 s claim deadline), ${r.latencyMs} ms added per answer: granted`,
    `${r.granted}/${r.users}${Object.keys(r.codes).length ? ` (failed: ${JSON.stringify(r.codes)})` : ''}; load average ${r.load.toFixed(1)}`,
    `${r.users}/${r.users}`,
  ],
  [`same: HTTP requests per grant (lost races and re-reads included)`, r.requestsPerGrant.toFixed(1), ''],
  [
    `same: p95 time to grant`,
    `${(r.p95Ms / 1000).toFixed(2)} s (one acquire alone: ${(r.aloneMs / 1000).toFixed(2)} s)`,
    '',
  ],
];

/** The rows `pnpm bench` records for one run. */
export const contentionRows = (r) => [
  [
    `${r.users} users acquire distinct folders at once with the CLI, ${r.latencyMs} ms added per answer: granted`,
    `${r.granted}/${r.users} (exit codes ${JSON.stringify(r.codes)}; load average ${r.load.toFixed(1)})`,
    `${r.users}/${r.users}`,
  ],
  [`same: HTTP requests per grant (lost races and re-reads included)`, r.requestsPerGrant.toFixed(1), ''],
  [
    `same: p95 time to grant, as a ratio to one acquire alone`,
    `${(r.p95Ms / r.aloneMs).toFixed(1)}× (${(r.p95Ms / 1000).toFixed(1)} s vs ${(r.aloneMs / 1000).toFixed(2)} s)`,
    '',
  ],
];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const latencyMs of [0, 50]) {
    const r = await libraryContention({ users: 30, latencyMs });
    for (const [what, value, goal] of libraryRows(r))
      process.stdout.write(`| locks | ${what} | ${value} | ${goal} |\n`);
  }
  for (const latencyMs of [0, 50]) {
    const r = await contention({ users: 30, latencyMs });
    for (const [what, value, goal] of contentionRows(r))
      process.stdout.write(`| locks | ${what} | ${value} | ${goal} |\n`);
  }
}
