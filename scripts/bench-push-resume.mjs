// Push resume: a take recorded as parts (`oxenvcs commit`), its push cut at 80 %, queued, then
// resumed by `oxenvcs queue sync`. Re-sent = bytes on the wire beyond one uncut push of the same
// take, as a share of it. Scaled down ~1/170 (stated in the row): 300 files of 39.9 KB (12 MB) for
// 2 GB of 6.6 MB takes, a 64 KB stream segment for Oxen's 10 MiB, parts of 1.2 MB for 200 MB.
// Run alone with `node scripts/bench-push-resume.mjs` (after `pnpm build`); `pnpm bench` runs it too.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'apps/cli/bin/oxenvcs.js');
const FILES = 300;
const FILE_BYTES = 39_900;
const scaled = { OXEN_FAKE_SEGMENT_BYTES: String(64 * 1024), OXEN_FAKE_RETRY_WAIT_MS: '0' };

/**
 * Measures the push-resume figure for a cut after `cutAt` of the push's bytes; returns
 * `{ resentPct, parts, present, takeBytes }`.
 */
export async function pushResume(cutAt = 0.8) {
  const { startFakeOxenServer, createFakeOxenEnv } = await import(
    join(root, 'packages/oxen-testkit/dist/index.js')
  );
  const server = await startFakeOxenServer();
  const env = createFakeOxenEnv();
  const work = mkdtempSync(join(tmpdir(), 'oxvcs-bench-resume-'));
  const run = (args, cwd, extra = {}) =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        {
          cwd,
          env: {
            ...env.env,
            ...scaled,
            ...extra,
            OXENVCS_HOME: join(work, 'home'),
            OXENVCS_HOLDER: 'bench@host',
            OXENVCS_CONNECTIVITY_TIMEOUT_MS: '120000',
            OXENVCS_CONNECTIVITY_REQUEST_TIMEOUT_MS: '600000',
            OXENVCS_CONNECTIVITY_CACHE_SECONDS: '0',
            OXENVCS_RETRY_INITIAL_BACKOFF_MS: '20',
            OXENVCS_RETRY_MAX_BACKOFF_MS: '200',
          },
          maxBuffer: 64 * 1024 * 1024,
        },
        (error, stdout, stderr) => resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr }),
      );
    });
  try {
    await server.createRepo('bench', 'take');
    await server.createRepo('bench', 'reference', {});
    const dir = await env.cloneProject('take', server.repoUrl('bench', 'take'));
    const media = join(dir, 'Song.logicx', 'Media', 'Audio Files');
    mkdirSync(media, { recursive: true });
    mkdirSync(join(dir, 'Song.logicx', 'Alternatives', '000'), { recursive: true });
    for (let i = 0; i < FILES; i++)
      writeFileSync(join(media, `Take ${String(i).padStart(3, '0')}.wav`), randomBytes(FILE_BYTES));
    writeFileSync(join(dir, 'Song.logicx', 'Alternatives', '000', 'ProjectData'), randomBytes(2_000));
    const commit = await run(['commit', '-m', 'take', '--part-size', '1.2MB', '--json'], dir);
    if (commit.code !== 0) throw new Error(`oxenvcs commit failed: ${commit.stderr}`);
    const take = JSON.parse(commit.stdout);

    // One uncut push of the same parts (to another repository): the bytes a push of the take costs.
    await env.oxen(['config', '--set-remote', 'reference', server.repoUrl('bench', 'reference')], dir);
    server.clearRequests();
    const reference = await new Promise((resolve) =>
      execFile('oxen', ['push', 'reference', 'main'], { cwd: dir, env: { ...env.env, ...scaled } }, (e) =>
        resolve(e ? 1 : 0),
      ),
    );
    if (reference !== 0) throw new Error('the reference push failed');
    const once = server.receivedBytes('/versions');

    server.clearRequests();
    await server.faults.add({ kind: 'cut', route: '/versions', bytes: Math.round(cutAt * once) });
    const cut = await run(['push', '--json'], dir);
    if (cut.code !== 75) throw new Error(`the cut push was not queued (exit ${cut.code}): ${cut.stderr}`);
    const first = server.receivedBytes('/versions');
    await server.faults.online();
    server.clearRequests();
    const sync = await run(['queue', 'sync'], dir);
    if (sync.code !== 0) throw new Error(`queue sync failed: ${sync.stderr}`);
    const second = server.receivedBytes('/versions');
    const head = server.repo('bench', 'take').branches.main;
    if (head !== take.parts.at(-1).commit) throw new Error('the remote branch is not the take');
    const present = Number(/(\d+) of \d+ parts already on the remote/.exec(sync.stderr)?.[1] ?? Number.NaN);
    return {
      resentPct: (100 * (first + second - once)) / once,
      parts: take.parts.length,
      present,
      takeBytes: take.bytes,
    };
  } finally {
    await server.stop();
    env.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The bench row's text: the cut at 80 % (which lands where part 8 ends: ten equal parts) and the
 * cut at 79 %, just before a part ends, the worst case (the part in flight is sent again whole).
 */
export const pushResumeRow = (at80, at79) =>
  `re-sent ${at80.resentPct.toFixed(1)}% after a cut at 80% (${at80.present} of ${at80.parts} parts already there); ${at79.resentPct.toFixed(1)}% after a cut at 79% (${at79.present} there: the part in flight is sent again); ${FILES} files, ${(at80.takeBytes / 1e6).toFixed(1)} MB (2 GB scaled 1/170)`;

/** Both measurements, one after the other. */
export async function pushResumeFigures() {
  return [await pushResume(0.8), await pushResume(0.79)];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [at80, at79] = await pushResumeFigures();
  process.stdout.write(`push resume: ${pushResumeRow(at80, at79)}\n`);
}
