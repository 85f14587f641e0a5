import { chmodSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createEngine } from '@oxvcs/engine';
import type { FakeOxenServer, TestWorld } from '@oxvcs/oxen-testkit';
import { describe, expect, it, vi } from 'vitest';
import { runInProcess, worldPerFile } from './test-support/in-process.js';

let server: FakeOxenServer;
let world: TestWorld;
let dir: string;
let home: string;

const oxenvcs = (
  args: string[],
  options: { holder?: string; cwd?: string; stdin?: string; extraEnv?: Record<string, string> } = {},
) =>
  runInProcess(args, {
    cwd: options.cwd ?? dir,
    ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
    env: world.vars({
      home: home,
      holder: options.holder ?? 'ada@laptop',
      extra: { OXENVCS_RETRY_MAX_RETRIES: '1', ...options.extraEnv },
    }),
  });

worldPerFile('cli', (fresh) => {
  ({ world, server, dir, home } = fresh);
});

describe('oxenvcs in-process', () => {
  it('lock acquire prints the lease; --json has the documented shape', async () => {
    const human = await oxenvcs(['lock', 'acquire', '--timeout', '2', '--comment', 'vocals']);
    expect(human.code).toBe(0);
    expect(human.out).toContain('[ok] Lock acquired successfully');
    expect(human.out).toContain('Holder: ada@laptop');
    expect(human.out).toContain('Comment: vocals');
    const json = await oxenvcs(['lock', 'status', '--json']);
    const body = JSON.parse(json.out);
    expect(body).toMatchObject({
      ok: true,
      lock: { state: 'held-by-you', lease: { holder: 'ada@laptop', comment: 'vocals' } },
    });
    expect(body.connectivity.state).toBe('online');
    // The reason as a sentence, as before the library returned it as a code.
    expect(body.connectivity.reason).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+ answered the command's own requests\.$/,
    );
  });

  it('offline: exit 75 with the original message shape, and queue status lists it', async () => {
    await server.faults.offline();
    const r = await oxenvcs(['lock', 'acquire', '--timeout', '4']);
    expect(r.code).toBe(75);
    expect(r.err).toContain('[!] Network is offline - operation queued');
    expect(r.out).toMatch(
      /Queued: Acquire lock for cli\d+\n {2}User: ada@laptop\n {2}Timeout: 4 hours\n {2}Entry ID: [0-9a-z]{8}/,
    );
    expect(r.err).toContain("Use 'oxenvcs queue sync' to retry manually");
    const status = await oxenvcs(['queue', 'status']);
    expect(status.out).toContain('Pending: 1');
    expect(status.out).toMatch(
      /1\. Acquire lock for cli\d+ \(\d+s ago\)\n {5}ID: [0-9a-z]{8} \| Priority: 100 \| Attempts: 0\/\d+/,
    );
  });

  it('someone else holds it → exit 3 naming them', async () => {
    const bobHome = world.folder('bob');
    try {
      const prev = home;
      home = bobHome;
      await oxenvcs(['lock', 'acquire', '--comment', 'drums'], { holder: 'bob@studio' });
      home = prev;
      const r = await oxenvcs(['lock', 'acquire']);
      expect(r.code).toBe(3);
      expect(r.err).toMatch(
        /^\[x\] The lock on this project is held by bob@studio since .* \("drums"\); ask them to release it, or wait until it expires\.\n$/,
      );
      const json = await oxenvcs(['lock', 'acquire', '--json']);
      expect(JSON.parse(json.out)).toMatchObject({
        ok: false,
        exitCode: 3,
        error: { code: 'HELD', holder: 'bob@studio', comment: 'drums' },
      });
    } finally {
      rmSync(bobHome, { recursive: true, force: true });
    }
  });

  it.each([
    [['lock', 'acquire', '--timeout', 'abc'], '--timeout must be a positive number of hours (got "abc")'],
    [['lock', 'acquire', '--timeout=-3'], '--timeout must be a positive number of hours (got "-3")'],
    [['lock', 'renew', '--timeout', '0'], '--timeout must be a positive number of hours (got "0")'],
    [['lock', 'acquire', '--timeout', '100000'], '--timeout must be at most 720 hours'],
  ])('bad input %j → exit 2 with one clear line', async (args, message) => {
    const r = await oxenvcs(args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });

  it('an unknown command or option is a usage error (exit 2)', async () => {
    expect((await oxenvcs(['lock', 'grab'])).code).toBe(2);
    expect((await oxenvcs(['queue', 'status', '--bogus'])).code).toBe(2);
  });

  it('unknown and ambiguous ids → exit 2 with what to do; nothing removed', async () => {
    await server.faults.offline();
    await oxenvcs(['pull']);
    await oxenvcs(['lock', 'acquire']);
    const unknown = await oxenvcs(['queue', 'remove', 'zzzzzzzz']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe(
      '[x] No queue entry matches "zzzzzzzz"; run `oxenvcs queue status` to see ids.\n',
    );
    const tooShort = await oxenvcs(['queue', 'remove', '0']);
    expect(tooShort.code).toBe(2);
    expect(tooShort.err).toBe(
      '[x] "0" is too short to select an entry; give at least 4 characters of its id; run `oxenvcs queue status` to see ids.\n',
    );
    const before = JSON.parse((await oxenvcs(['queue', 'status', '--json'])).out);
    // Ids made seconds apart share the start of their time part (the first 4 characters change
    // every 12 days): the common start selects both.
    const [a, b] = before.entries.map((e: { id: string }) => e.id) as [string, string];
    let prefix = a;
    while (!b.startsWith(prefix)) prefix = prefix.slice(0, -1);
    const ambiguous = await oxenvcs(['queue', 'remove', prefix]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.err).toMatch(/matches 2 entries \([0-9a-z]{8}, [0-9a-z]{8}\); give more characters/);
    const status = JSON.parse((await oxenvcs(['queue', 'status', '--json'])).out);
    expect(status.stats.pending).toBe(2);
    const id = status.entries[0].shortId as string;
    const removed = await oxenvcs(['queue', 'remove', id]);
    expect(removed.code).toBe(0);
    expect(removed.out).toContain(`Removed ${id}`);
  });

  it('no repository here and unreadable config → exit 1, a malformed remote URL → exit 2, one line each', async () => {
    const empty = world.folder('norepo');
    try {
      const r = await oxenvcs(['lock', 'status'], { cwd: empty });
      expect(r.code).toBe(1);
      expect(r.err).toMatch(
        /^\[x\] No Oxen repository at .* or above it; run this inside a project \(or pass --project\)\.\n$/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    const bad = await oxenvcs(['lock', 'status', '--remote', 'localhost:3000']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(
      "is not of the form http(s)://host[:port]/<namespace>/<repo>; fix the repository's remote or --remote.",
    );
    const secret = await oxenvcs([
      'lock',
      'status',
      '--remote',
      'http://ada:hunter2@localhost:3000/ada/song',
    ]);
    expect(secret.code).toBe(2);
    expect(secret.err).toContain(
      '"http://***@localhost:3000/ada/song" carries credentials; remove them from the URL and store the token with `oxenvcs auth login`.',
    );
    expect(secret.err).not.toContain('hunter2');
    mkdirSync(join(dir, '.oxenvcs'), { recursive: true });
    writeFileSync(join(dir, '.oxenvcs', 'config.toml'), '[queue]\nmax_attempts = "many"\n');
    const cfg = await oxenvcs(['queue', 'status']);
    expect(cfg.code).toBe(1);
    expect(cfg.err).toContain('queue.max_attempts in');
  });

  it('a corrupt queue file is reported with where the copy is; the file is kept', async () => {
    writeFileSync(join(home, 'queue.json'), '{"version":2,"entries":[');
    const r = await oxenvcs(['queue', 'status']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /The queue file .*queue\.json is not valid JSON .*a copy is kept at .*queue\.json\.corrupt-[0-9a-f]{8}\. Repair or move the file away, then run again\./,
    );
  });

  it('auth login reads the token from stdin, stores it 0600, never prints it', async () => {
    const r = await oxenvcs(['auth', 'login'], { stdin: 'secret-token-123\n' });
    expect(r.code).toBe(0);
    expect(r.out + r.err).not.toContain('secret-token-123');
    const status = await oxenvcs(['auth', 'status', '--json']);
    expect(JSON.parse(status.out)).toMatchObject({ hasToken: true, host: `127.0.0.1:${server.port}` });
    expect(status.out).not.toContain('secret-token-123');
    expect((await oxenvcs(['auth', 'logout'])).out).toContain('removed');
    expect((await oxenvcs(['auth', 'login'], { stdin: '' })).code).toBe(2);
  });

  it('auth status --json says when the token file is readable by other users; auth login makes it 0600 again', async () => {
    expect((await oxenvcs(['auth', 'login'], { stdin: 'tok-mode-test\n' })).code).toBe(0);
    const file = join(world.env.configDir, 'auth_config.toml');
    chmodSync(file, 0o644);
    const open = await oxenvcs(['auth', 'status', '--json']);
    expect(JSON.parse(open.out)).toMatchObject({ hasToken: true, readableByOthers: true });
    expect((await oxenvcs(['auth', 'status'])).err).toContain(`run: chmod 600 ${file}`);
    expect((await oxenvcs(['auth', 'login'], { stdin: 'tok-mode-test\n' })).code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const closed = await oxenvcs(['auth', 'status', '--json']);
    expect(JSON.parse(closed.out)).toMatchObject({ hasToken: true, readableByOthers: false });
    await oxenvcs(['auth', 'logout']);
  });

  it('a proxy refusing its credentials: the command says nothing was queued; a queued entry it fails never says so', async () => {
    await server.faults.offline();
    expect((await oxenvcs(['lock', 'acquire'])).code).toBe(75);
    await server.faults.online();
    // Every answer is a 407, as from a forward proxy in front of the remote.
    await server.faults.add({ kind: 'error', status: 407 });
    const sync = await oxenvcs(['queue', 'sync']);
    expect(sync.err).toContain('refused the credentials it was given (407)');
    const status = await oxenvcs(['queue', 'status']);
    expect(status.out).toContain('refused the credentials it was given (407)');
    expect(`${sync.out}${sync.err}${status.out}`).not.toMatch(/nothing was queued/i);
    const direct = await oxenvcs(['lock', 'release']);
    expect(direct.code).toBe(1);
    expect(direct.err).toMatch(/HTTPS_PROXY \/ HTTP_PROXY.*nothing was queued/);
  });

  it('a token the remote refuses (401), read by oxvcs or by oxen: one line saying to store one with auth login', async () => {
    await server.faults.add({ kind: 'error', status: 401 });
    for (const args of [['lock', 'status'], ['pull']]) {
      const r = await oxenvcs(args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(1);
      const failed = r.err.split('\n').filter((line) => line.startsWith('[x]'));
      expect(failed).toHaveLength(1);
      expect(failed[0]).toContain('(HTTP 401)');
      expect(failed[0]).toContain('`oxenvcs auth login`');
    }
  });

  it('a queued operation the remote then refuses (401): sync and queue status say to store a token with auth login', async () => {
    await server.faults.offline();
    expect((await oxenvcs(['pull'])).code).toBe(75);
    await server.faults.online();
    await server.faults.add({ kind: 'error', status: 401 });
    const sync = await oxenvcs(['queue', 'sync']);
    expect(sync.err).toContain('(HTTP 401)');
    expect(sync.err).toContain('`oxenvcs auth login`');
    const status = await oxenvcs(['queue', 'status']);
    expect(status.out).toMatch(/refused the credentials \(HTTP 401\).*`oxenvcs auth login`/);
  });

  it('auth login refuses a token no HTTP header can carry (an escape, a non-ASCII letter): exit 2, nothing stored, never echoed', async () => {
    for (const token of ['tok\u001b]0;x\u0007sekrit', 'tök-sekrit']) {
      const r = await oxenvcs(['auth', 'login'], { stdin: `${token}\n` });
      expect(r.code).toBe(2);
      expect(r.err).toContain('paste the API token exactly as issued');
      expect(r.out + r.err).not.toContain('sekrit');
      const status = await oxenvcs(['auth', 'status', '--json']);
      expect(JSON.parse(status.out)).toMatchObject({ hasToken: false });
    }
  });

  it('queue sync --dry-run, sync, clear; release cancels a queued acquire', async () => {
    await server.faults.offline();
    await oxenvcs(['lock', 'acquire']);
    const release = await oxenvcs(['lock', 'release']);
    expect(release.code).toBe(0);
    expect(release.out).toContain('The queued lock acquisition was cancelled');
    await oxenvcs(['pull']);
    await server.faults.online();
    const dry = await oxenvcs(['queue', 'sync', '--dry-run']);
    expect(dry.out).toMatch(/1\. Pull main of cli\d+ from remote \([0-9a-z]{8}\): would run/);
    const sync = await oxenvcs(['queue', 'sync']);
    expect(sync.code).toBe(0);
    expect(sync.err).toContain('Completed: Pull main');
    expect(sync.err).toContain('All operations synced successfully!');
    const cleared = await oxenvcs(['queue', 'clear']);
    expect(cleared.out).toContain('Cleared 3 completed operation(s)');
  });

  it('a sync in which an entry expired says so, not "all synced", and exits 1 (--json: ok false)', async () => {
    // Queued with a retention already spent when the sync runs (as a clock a week ahead makes it).
    const expiring = async (key: string) => {
      const { entry } = await createEngine({ cwd: dir, env: world.vars({ home }) }).queue.enqueue({
        operation: {
          kind: 'pull',
          projectDir: dir,
          remote: server.repoUrl('ns', basename(dir)),
          branch: 'main',
        },
        idempotencyKey: key,
        ttlMs: 1,
      });
      await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(Date.parse(entry.expiresAt ?? '')));
    };
    await expiring('first');
    const sync = await oxenvcs(['queue', 'sync']);
    expect(sync.err).toContain('[!] Expired: Pull main');
    expect(sync.out).toContain('Expired: 1');
    expect(sync.err).not.toContain('All operations synced successfully!');
    expect(sync.err).toContain(
      '[x] Some operations expired before they could run; `oxenvcs queue status` lists them, `oxenvcs queue retry ID` puts one back.',
    );
    expect(sync.code).toBe(1);
    await expiring('second');
    const json = await oxenvcs(['queue', 'sync', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ ok: false, summary: { expired: 1, failed: 0 } });
  });

  it('break needs --force on a live lock; the holder then sees who broke it and why', async () => {
    await oxenvcs(['lock', 'acquire']);
    const bobHome = world.folder('bob');
    const prev = home;
    try {
      home = bobHome;
      const refused = await oxenvcs(['lock', 'break'], { holder: 'bob@studio' });
      expect(refused.code).toBe(3);
      expect(refused.err).toContain('pass --force');
      const broke = await oxenvcs(['lock', 'break', '--force', '--reason', 'session over'], {
        holder: 'bob@studio',
      });
      expect(broke.code).toBe(0);
    } finally {
      home = prev;
      rmSync(bobHome, { recursive: true, force: true });
    }
    const status = await oxenvcs(['lock', 'status']);
    expect(status.out).toMatch(
      /your lock was broken by bob@studio at \d{4}-\d\d-\d\d \d\d:\d\d \((\d+s ago|now)\): session over/,
    );
  });

  it('--help lists commands and the exit codes', async () => {
    const r = await oxenvcs(['--help']);
    expect(r.out).toContain('lock acquire');
    expect(r.out).toContain('75 queued for later');
  });
});
