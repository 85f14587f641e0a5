// An online `oxenvcs lock status` against a bare `node -e 0`: wall and CPU time, medians, taking
// turns, with the machine's lock-table cache warm (one round trip: the status reads the table's
// top once). The testkit's oxen-server runs in this process on loopback; its answer times are
// measured too, so the row can say what the round trip itself cost.
// Run alone with `node scripts/bench-lock-status.mjs` (after `pnpm build`); `pnpm bench` runs it too.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'apps/cli/bin/oxenvcs.js');
const ROUNDS = 15;

/** `{ wall: { ours, bare }, cpu: { ours, bare }, trips, tripMs, load }` (times in ms, medians). */
export async function lockStatusOnline() {
  const { createTestWorld } = await import(join(root, 'packages/oxen-testkit/dist/index.js'));
  const world = await createTestWorld({ namespace: 'bench' });
  const work = mkdtempSync(join(tmpdir(), 'oxvcs-bench-status-'));
  const childEnv = world.vars({ home: join(work, 'home'), holder: 'bench@host' });
  // CPU time to the microsecond (GNU time counts in 10 ms steps, an eighth of a bare start): both
  // commands preload one line that reports process.cpuUsage() at exit; lock status starts no child.
  const probe = join(work, 'cpu.cjs');
  writeFileSync(
    probe,
    "process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('CPU ' + (u.user + u.system) + '\\n'); });\n",
  );
  const run = (args, cwd) =>
    new Promise((resolve, reject) => {
      const t = performance.now();
      execFile(
        process.execPath,
        ['--require', probe, ...args],
        { cwd, env: childEnv },
        (error, _stdout, stderr) => {
          if (error) return reject(new Error(`${args.join(' ')} failed: ${stderr}`));
          resolve({ wall: performance.now() - t, cpu: Number(/CPU (\d+)\s*$/.exec(stderr)?.[1]) / 1000 });
        },
      );
    });
  try {
    const dir = await world.project('status');
    // The machine's first change forks its scratch branch and reads the table: the cache is warm after.
    await run([CLI, 'lock', 'acquire'], dir);
    await run([CLI, 'lock', 'release'], dir);
    const ours = () => run([CLI, 'lock', 'status'], dir);
    const bare = () => run(['-e', '0'], dir);
    // One unrecorded round: the first run of each fills caches (Node's compile cache, the OS's).
    await bare();
    world.server.clearRequests();
    await ours();
    const trips = world.server.requests.length;
    // What the round trip itself costs: the same request from here, on a new connection each time.
    const path = world.server.requests[0]?.path;
    const trip = () =>
      new Promise((resolve, reject) => {
        const t = performance.now();
        get(`${new URL(world.remote('status')).origin}${path}`, { agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(performance.now() - t));
        }).on('error', reject);
      });
    const times = { ours: [], bare: [], trip: [] };
    for (let i = 0; i < ROUNDS; i++) {
      times.bare.push(await bare());
      times.ours.push(await ours());
      times.trip.push(await trip());
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const of = (key) => ({
      ours: median(times.ours.map((t) => t[key])),
      bare: median(times.bare.map((t) => t[key])),
    });
    return { wall: of('wall'), cpu: of('cpu'), trips, tripMs: median(times.trip), load: loadavg()[0] };
  } finally {
    await world.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The bench row's text. */
export const lockStatusRow = (r) =>
  `wall ${r.wall.ours.toFixed(0)} ms (${(r.wall.ours / r.wall.bare).toFixed(2)}× bare ${r.wall.bare.toFixed(0)} ms), CPU ${r.cpu.ours.toFixed(0)} ms (${(r.cpu.ours / r.cpu.bare).toFixed(2)}× bare ${r.cpu.bare.toFixed(0)} ms); ${r.trips} round trip(s) of ${r.tripMs.toFixed(1)} ms on loopback; medians of ${ROUNDS}, taking turns, load average ${r.load.toFixed(1)}`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`oxenvcs lock status online: ${lockStatusRow(await lockStatusOnline())}\n`);
}
