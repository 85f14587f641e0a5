import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOxenHub } from '@oxvcs/oxen';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './helpers.js';

let world: World;
let dir: string;
beforeAll(async () => {
  world = await createWorld();
  dir = await world.project('bad');
});
afterAll(() => world.close());

describe('8. bad input: one clear line, the documented exit code, nothing lost', () => {
  it.each([
    [
      ['lock', 'acquire', '--timeout', 'soon'],
      2,
      '--timeout must be a positive number of hours (got "soon")',
    ],
    [['lock', 'acquire', '--timeout=0'], 2, '--timeout must be a positive number of hours (got "0")'],
    [
      ['lock', 'acquire', '--timeout', '0x10'],
      2,
      '--timeout must be a positive number of hours (got "0x10")',
    ],
    [['lock', 'renew', '--timeout', '9999'], 2, '--timeout must be at most 720 hours'],
    [['queue', 'remove', 'nosuchid'], 2, 'No queue entry matches "nosuchid"'],
    [['queue', 'retry', 'nosuchid'], 2, 'No queue entry matches "nosuchid"'],
    [
      ['lock', 'status', '--remote', 'not-a-url'],
      2,
      'is not a URL; expected http(s)://host[:port]/<namespace>/<repo>',
    ],
    [
      ['lock', 'status', '--remote', 'http://host/only-namespace'],
      2,
      'is not of the form http(s)://host[:port]/<namespace>/<repo>',
    ],
  ])('%j → exit %i', async (args, code, message) => {
    const r = await world.run(args as string[], { cwd: dir });
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('[x]'))).toHaveLength(1);
  });

  it('an ambiguous id lists the candidates and removes nothing', async () => {
    await world.server.faults.offline();
    await world.run(['pull'], { cwd: dir });
    await world.run(['lock', 'acquire'], { cwd: dir });
    await world.server.faults.online();
    const ids = JSON.parse((await world.run(['queue', 'status', '--json'], { cwd: dir })).stdout).entries.map(
      (e: { id: string }) => e.id,
    );
    // Ids made seconds apart share the start of their time part (the first 4 characters change
    // every 12 days): the common start selects both.
    let prefix = ids[0];
    while (!ids[1].startsWith(prefix)) prefix = prefix.slice(0, -1);
    expect(prefix.length).toBeGreaterThanOrEqual(4);
    const r = await world.run(['queue', 'remove', prefix], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/" matches 2 entries \([0-9a-z]{8}, [0-9a-z]{8}\); give more characters\./);
    const status = await world.run(['queue', 'status', '--json'], { cwd: dir });
    expect(JSON.parse(status.stdout).stats.pending).toBe(2);
    await world.run(['queue', 'clear', '--all'], { cwd: dir });
  });

  it('a corrupt queue file: reported, kept, copied beside it', async () => {
    const file = join(world.home('carol'), 'queue.json');
    mkdirSync(world.home('carol'), { recursive: true });
    writeFileSync(file, '{"version":2,"entries":[{"id":');
    const r = await world.run(['queue', 'status'], { cwd: dir, user: 'carol' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /queue\.json is not valid JSON .* a copy is kept at .*\.corrupt-[0-9a-f]{8}\. Repair or move the file away, then run again\./,
    );
    expect(readFileSync(file, 'utf8')).toBe('{"version":2,"entries":[{"id":');
  });

  it('a corrupt lock record on the remote', async () => {
    const hub = createOxenHub({ remoteUrl: world.server.repoUrl('e2e', 'bad') });
    const junk = await hub.uploadFile('main', '', 'junk.txt', 'x', {
      name: 'x',
      email: 'x@x',
      message: '{not a record',
    });
    await hub.createBranchFromCommit('oxvcs-locks/0000000001', junk.id);
    mkdirSync(join(dir, 'broken'), { recursive: true });
    const r = await world.run(['lock', 'acquire', '--project', 'broken'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'The lock record on ticket 1 (written by x) is invalid; replace it with `oxenvcs lock break --force`.',
    );
    expect((await world.run(['lock', 'break', '--force', '--project', 'broken'], { cwd: dir })).code).toBe(0);
    expect((await world.run(['lock', 'acquire', '--project', 'broken'], { cwd: dir })).code).toBe(0);
  });

  it('an unreadable config file names the file', async () => {
    mkdirSync(world.home('dave'), { recursive: true });
    writeFileSync(join(world.home('dave'), 'config.toml'), '[lock]\ntimeout_hours = 4\n');
    chmodSync(join(world.home('dave'), 'config.toml'), 0o000);
    const r = await world.run(['lock', 'status'], { cwd: dir, user: 'dave' });
    chmodSync(join(world.home('dave'), 'config.toml'), 0o600);
    // root can read anything; then the bad-TOML path proves the same message shape.
    if (r.code === 0) {
      writeFileSync(join(world.home('dave'), 'config.toml'), '[lock\n');
      const again = await world.run(['lock', 'status'], { cwd: dir, user: 'dave' });
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`${join(world.home('dave'), 'config.toml')} is not valid TOML`);
    } else {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Cannot read ${join(world.home('dave'), 'config.toml')}`);
    }
  });

  it('a directory that is no repository', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'oxvcs-empty-'));
    try {
      const r = await world.run(['lock', 'acquire'], { cwd: empty });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('No Oxen repository at');
      expect(r.stderr).toContain('pass --project');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('an auth file readable by others is used (as real Oxen does) with one line naming the chmod fix', async () => {
    const file = join(world.env.configDir, 'auth_config.toml');
    writeFileSync(
      file,
      `[[host_configs]]\nhost = "127.0.0.1:${world.server.port}"\nauth_token = "tok-visible-to-all"\n`,
      { mode: 0o644 },
    );
    chmodSync(file, 0o644);
    try {
      const r = await world.run(['lock', 'status'], { cwd: dir });
      expect(r.code).toBe(0);
      const warnings = r.stderr.split('\n').filter((l) => l.includes('chmod 600'));
      expect(warnings).toEqual([
        expect.stringContaining(
          `${file} holds your Oxen token and other users can read it (mode 644); run: chmod 600 ${file}`,
        ),
      ]);
      expect(r.stderr + r.stdout).not.toContain('tok-visible-to-all');
    } finally {
      rmSync(file, { force: true });
    }
  });

  it.each([
    'http://alice:S3CRETPW@127.0.0.1:99999/team/project',
    'http://alice:S3C@RETPW@127.0.0.1:99999/team/project',
    'http://alice:S3CRETPW@127.0.0.1:9/team/project',
    'alice:S3CRETPW@127.0.0.1/team/project',
  ])('credentials in --remote %s never reach the output, text or --json (exit 2)', async (remote) => {
    for (const json of [[], ['--json']]) {
      const r = await world.run(['lock', 'status', '--remote', remote, ...json], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stdout + r.stderr).not.toMatch(/S3C|RETPW/);
      expect(r.stdout + r.stderr).toContain('***@');
    }
  });

  it('auth login never echoes a token given as an argument', async () => {
    for (const json of [[], ['--json']]) {
      const r = await world.run(['auth', 'login', 'tok-typed-on-argv', ...json], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stdout + r.stderr).not.toContain('tok-typed-on-argv');
      expect(r.stdout + r.stderr).toContain('Tokens are never taken as arguments');
    }
  });
});
