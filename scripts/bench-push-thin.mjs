// Push of an up-to-date branch: `oxenvcs push` against a bare `oxen push` (the testkit's fake
// oxen and server), measured in the same run, taking turns, as a ratio of medians and as the wall
// time oxenvcs adds (ms); and the HTTP requests each makes, with 10 and 2,000 unrelated branches on
// the remote. The machine's lock-table cache is warm (its first push read the table), as on any
// machine after its first lock command.
//
// The fake oxen is itself a Node program: most of a bare push's wall is Node starting and loading
// it, which the real oxen (Rust) does in a few ms. So the rounds also time `node -e 0` (the floor of
// any Node wrapper) and a fake oxen command that makes no request (`oxen branch --show-current`):
// the bare push minus the latter is what the push itself costs past the fake's start, and a few ms
// plus that is what the real oxen would take. Against it the same added wall is a larger ratio.
// Run alone with `node scripts/bench-push-thin.mjs` (after `pnpm build`); `pnpm bench` runs it too.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'apps/cli/bin/oxenvcs.js');
const FLOOR = join(root, 'scripts/push-floor.mjs');
const ROUNDS = 9;

/** `{ ratio, ours, bare, requests: { [branches]: { ours, bare, listed } } }` (times in ms). */
export async function pushThin() {
  const { startFakeOxenServer, createFakeOxenEnv } = await import(
    join(root, 'packages/oxen-testkit/dist/index.js')
  );
  const server = await startFakeOxenServer();
  const env = createFakeOxenEnv();
  const work = mkdtempSync(join(tmpdir(), 'oxvcs-bench-thin-'));
  const childEnv = {
    ...env.env,
    OXENVCS_HOME: join(work, 'home'),
    OXENVCS_HOLDER: 'bench@host',
    OXENVCS_CONNECTIVITY_TIMEOUT_MS: '120000',
    OXENVCS_CONNECTIVITY_REQUEST_TIMEOUT_MS: '600000',
    OXENVCS_UI_NOTIFICATIONS: 'false',
  };
  // Wall time, and the CPU time of the whole process tree (GNU time where there is one): on a busy
  // machine the second is the steadier measure of what each costs.
  const timed = existsSync('/usr/bin/time');
  const run = (file, args, cwd) =>
    new Promise((resolve, reject) => {
      const t = performance.now();
      const [cmd, argv] = timed ? ['/usr/bin/time', ['-f', 'CPU %U %S', file, ...args]] : [file, args];
      execFile(cmd, argv, { cwd, env: childEnv }, (error, _stdout, stderr) => {
        if (error) return reject(new Error(`${args.join(' ')} failed: ${stderr}`));
        const cpu = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
        resolve({
          wall: performance.now() - t,
          cpu: cpu ? 1000 * (Number(cpu[1]) + Number(cpu[2])) : Number.NaN,
        });
      });
    });
  const ours = (dir) => run(process.execPath, [CLI, 'push'], dir);
  const bare = (dir) => run('oxen', ['push', 'origin', 'main'], dir);
  // What any Node wrapper that reads the lock table first costs at the least.
  const floor = (dir) => run(process.execPath, [FLOOR], dir);
  const project = async (name, branches) => {
    await server.createRepo('bench', name);
    const repo = server.repo('bench', name);
    for (let i = 0; i < branches; i++) repo.branches[`feature/take-${i}`] = repo.branches.main;
    const dir = await env.cloneProject(name, server.repoUrl('bench', name));
    writeFileSync(join(dir, 'Vocals.wav'), 'vocals');
    await env.oxen(['add', 'Vocals.wav'], dir);
    await env.oxen(['commit', '-m', 'vocals'], dir);
    await ours(dir);
    return dir;
  };
  const requestsOf = async (fn) => {
    server.clearRequests();
    await fn();
    return server.requests.map((q) => `${q.method} ${q.path}`);
  };
  try {
    const requests = {};
    for (const branches of [10, 2000]) {
      const dir = await project(`thin-${branches}`, branches);
      const mine = await requestsOf(() => ours(dir));
      requests[branches] = {
        ours: mine.length,
        bare: (await requestsOf(() => bare(dir))).length,
        listed: mine.filter((r) => /\/branches$/.test(r)).length,
      };
    }
    const dir = await project('thin-times', 10);
    const node = () => run(process.execPath, ['-e', '0'], dir);
    const fakeStart = () => run('oxen', ['branch', '--show-current'], dir);
    const times = { ours: [], bare: [], floor: [], node: [], fakeStart: [] };
    // One unrecorded round: the first run of each fills caches (Node's compile cache, the OS's).
    await bare(dir);
    await ours(dir);
    for (let i = 0; i < ROUNDS; i++) {
      times.bare.push(await bare(dir));
      times.ours.push(await ours(dir));
      times.floor.push(await floor(dir));
      times.node.push(await node());
      times.fakeStart.push(await fakeStart());
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const of = (key) => ({
      ours: median(times.ours.map((t) => t[key])),
      bare: median(times.bare.map((t) => t[key])),
    });
    return {
      wall: of('wall'),
      cpu: of('cpu'),
      // What oxenvcs adds, as the median of each round's difference (steadier than a difference of medians).
      addedMs: median(times.ours.map((t, i) => t.wall - times.bare[i].wall)),
      floor: {
        addedMs: median(times.floor.map((t, i) => t.wall - times.bare[i].wall)),
        ratio: median(times.floor.map((t) => t.wall)) / median(times.bare.map((t) => t.wall)),
      },
      nodeMs: median(times.node.map((t) => t.wall)),
      fakeStartMs: median(times.fakeStart.map((t) => t.wall)),
      requests,
      load: loadavg()[0],
    };
  } finally {
    await server.stop();
    env.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

/** A few ms: the real oxen's (Rust) start, for the estimate against it. */
const REAL_OXEN_START_MS = 5;

/** The bench rows' texts. */
export const pushThinRows = (r) => {
  // The push itself past the fake's start (its requests and work), at least 1 ms; the real oxen
  // would take that plus its own start.
  const realMs = REAL_OXEN_START_MS + Math.max(1, r.wall.bare - r.fakeStartMs);
  return {
    time: `+${r.addedMs.toFixed(0)} ms wall, ${(r.wall.ours / r.wall.bare).toFixed(2)}× (${r.wall.ours.toFixed(0)} vs ${r.wall.bare.toFixed(0)} ms); CPU of the process tree ${(r.cpu.ours / r.cpu.bare).toFixed(2)}× (${r.cpu.ours.toFixed(0)} vs ${r.cpu.bare.toFixed(0)} ms); \`node -e 0\` alone ${r.nodeMs.toFixed(0)} ms; medians of ${ROUNDS}, taking turns, load average ${r.load.toFixed(1)}`,
    real: `≈ ${((realMs + r.addedMs) / realMs).toFixed(1)}× (≈ ${realMs.toFixed(0)} ms: ${REAL_OXEN_START_MS} ms to start + the ${(r.wall.bare - r.fakeStartMs).toFixed(0)} ms a fake push takes past its own ${r.fakeStartMs.toFixed(0)} ms start; plus our ${r.addedMs.toFixed(0)} ms); estimated, not run`,
    floor: `+${r.floor.addedMs.toFixed(0)} ms wall, ${r.floor.ratio.toFixed(2)}× a bare oxen push; oxenvcs adds ${(r.addedMs - r.floor.addedMs).toFixed(0)} ms more (same rounds)`,
    requests: `${r.requests[10].ours} / ${r.requests[2000].ours} (bare oxen push: ${r.requests[10].bare} / ${r.requests[2000].bare}; branch lists: ${r.requests[10].listed} / ${r.requests[2000].listed})`,
  };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = pushThinRows(await pushThin());
  process.stdout.write(`push (up to date), oxenvcs vs bare oxen push: ${rows.time}\n`);
  process.stdout.write(`push (up to date), the floor of a Node wrapper: ${rows.floor}\n`);
  process.stdout.write(`push (up to date), against the real oxen: ${rows.real}\n`);
  process.stdout.write(`push (up to date), HTTP requests at 10 / 2,000 branches: ${rows.requests}\n`);
}
