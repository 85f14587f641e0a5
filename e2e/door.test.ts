import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_NAME_LENGTH } from '@oxvcs/engine';
import { MAX_TEXT } from '@oxvcs/locks';
import { MIN_ID_PREFIX, readStoredEntries } from '@oxvcs/queue';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, json, type Result, type World } from './helpers.js';

let world: World;
let dir: string;
beforeAll(async () => {
  world = await createWorld();
  dir = await world.project('door');
});
afterAll(() => world.close());
afterEach(async () => {
  await world.server.faults.online();
  await world.run(['queue', 'clear', '--all'], { cwd: dir });
});

const pending = async (cwd = dir) =>
  json(await world.run(['queue', 'status', '--json'], { cwd })).entries as Array<Record<string, any>>;

/** One `[x]` line on stderr, exit 2. */
const refused = (r: Result, words: string) => {
  expect(r.code, r.stderr).toBe(2);
  const fails = r.stderr.split('\n').filter((l) => l.startsWith('[x]'));
  expect(fails).toHaveLength(1);
  expect(fails[0]).toContain(words);
};

describe('issue 20 #8: bad input is refused at the door (exit 2, one line, nothing queued)', () => {
  // Offline, so that anything let through would be queued (exit 75) rather than tried.
  it.each([
    ["push ''", ['push', ''], 'The branch name is empty; name a branch (e.g. main), or check one out.'],
    [
      'push -- --delete',
      ['push', '--', '--delete'],
      'The branch name ("--delete") starts with "-", so oxen would read it as an option',
    ],
    ['pull -- -x', ['pull', '--', '-x'], 'starts with "-", so oxen would read it as an option'],
    ["push 'feature<newline>main'", ['push', 'feature\nmain'], 'The branch name holds a control character'],
    [
      'push <5,000 characters>',
      ['push', 'x'.repeat(5000)],
      `The branch name is longer than the ${MAX_NAME_LENGTH} characters allowed`,
    ],
    [
      'pull ../../etc',
      ['pull', '../../etc'],
      'The branch name ("../../etc") is a path leading outside the repository',
    ],
    ['pull /etc/passwd', ['pull', '/etc/passwd'], 'is a path leading outside the repository'],
    [
      'lock acquire --comment <MAX_TEXT + 1 characters>',
      ['lock', 'acquire', '--comment', 'c'.repeat(MAX_TEXT + 1)],
      `The --comment is longer than the ${MAX_TEXT} characters allowed; shorten it.`,
    ],
    [
      'lock break --force --reason <MAX_TEXT + 1 characters>',
      ['lock', 'break', '--force', '--reason', 'r'.repeat(MAX_TEXT + 1)],
      `The --reason is longer than the ${MAX_TEXT} characters allowed; shorten it.`,
    ],
  ])('%s', async (_name, args, words) => {
    await world.server.faults.offline();
    const r = await world.run(args as string[], { cwd: dir });
    refused(r, words);
    expect(r.stderr).toContain('Nothing was run or queued.');
    // Refused before anything starts: no "Connecting…; preparing the push…" first.
    expect(r.stderr).not.toContain('Connecting');
    // The 5,000-character name is not echoed back.
    expect(r.stderr.length).toBeLessThan(1000);
    expect(await pending()).toEqual([]);
    // `--json` before the arguments: after `--` it would be one of them.
    const at = args[0] === 'lock' ? 2 : 1;
    const j = await world.run([...args.slice(0, at), '--json', ...args.slice(at)] as string[], { cwd: dir });
    expect(j.code).toBe(2);
    expect(json(j).error).toMatchObject({ code: 'INVALID_INPUT' });
  });

  it(`a comment of exactly ${MAX_TEXT} characters is taken`, async () => {
    await world.server.faults.offline();
    const r = await world.run(['lock', 'acquire', '--comment', 'c'.repeat(MAX_TEXT)], { cwd: dir });
    expect(r.code, r.stderr).toBe(75);
    expect(await pending()).toHaveLength(1);
  });

  it('a remote whose configured name reads as an option is refused before anything runs', async () => {
    const config = join(dir, '.oxen', 'config.toml');
    const before = readFileSync(config, 'utf8');
    try {
      writeFileSync(config, before.replaceAll('"origin"', '"--delete"'));
      expect(readFileSync(config, 'utf8')).toContain('--delete');
      await world.server.faults.offline();
      const r = await world.run(['push'], { cwd: dir });
      refused(r, `The remote's name in the project's Oxen config ("--delete") starts with "-"`);
      expect(await pending()).toEqual([]);
    } finally {
      writeFileSync(config, before);
    }
  });

  it('a relative OXENVCS_HOME is refused; no state folder (lease keys) is made inside the project', async () => {
    for (const args of [
      ['lock', 'acquire'],
      ['queue', 'status'],
    ]) {
      const r = await world.run(args, { cwd: dir, env: { OXENVCS_HOME: 'oxvcs-state' } });
      refused(r, 'OXENVCS_HOME ("oxvcs-state") is a relative path');
      expect(r.stderr).toContain('set OXENVCS_HOME to an absolute path outside any project');
      expect(existsSync(join(dir, 'oxvcs-state'))).toBe(false);
    }
  });

  it('an absolute OXENVCS_HOME inside an Oxen repository is refused too', async () => {
    const inside = join(dir, 'Audio', '.state');
    const r = await world.run(['lock', 'acquire'], { cwd: dir, env: { OXENVCS_HOME: inside } });
    refused(r, `is inside the Oxen repository at ${dir}, where \`oxen add\` would commit your lease keys`);
    expect(existsSync(join(dir, 'Audio'))).toBe(false);
  });

  it(`an id prefix shorter than ${MIN_ID_PREFIX} characters selects nothing, even the only entry`, async () => {
    await world.server.faults.offline();
    expect((await world.run(['pull'], { cwd: dir })).code).toBe(75);
    const [entry] = await pending();
    const { id, shortId } = entry as { id: string; shortId: string };
    for (const given of ['0', id.slice(0, 1), shortId.slice(0, MIN_ID_PREFIX - 1)]) {
      const r = await world.run(['queue', 'remove', given], { cwd: dir });
      refused(r, `"${given}" is too short to select an entry; give at least ${MIN_ID_PREFIX} characters`);
      expect(await pending(), given).toHaveLength(1);
    }
    // A prefix of the minimum, the exact short id and the full id still select it.
    expect(
      (await world.run(['queue', 'retry', shortId.slice(0, MIN_ID_PREFIX)], { cwd: dir })).stderr,
    ).toContain('only failed or expired entries can be retried');
    expect((await world.run(['queue', 'retry', shortId], { cwd: dir })).stderr).toContain(
      'only failed or expired entries can be retried',
    );
    expect((await world.run(['queue', 'remove', id], { cwd: dir })).code).toBe(0);
    expect(await pending()).toEqual([]);
  });
});

describe('issue 20 #8: entries queued unchecked by an older version fail alone when replayed', () => {
  it('a stored branch "--delete" never reaches oxen as an option; the entry beside it runs', async () => {
    await world.server.faults.offline();
    expect((await world.run(['push', 'main'], { cwd: dir })).code).toBe(75);
    expect((await world.run(['pull', 'main'], { cwd: dir })).code).toBe(75);
    // What an older version stored for `oxenvcs push -- --delete`.
    const file = join(world.home('ada'), 'queue.json');
    const stored = readStoredEntries(file).map((e: any) => ({ ...e, operation: { ...e.operation } }));
    const push = stored.find((e: any) => e.operation.kind === 'push');
    push.operation.branch = '--delete';
    writeFileSync(file, JSON.stringify({ version: 3, entries: stored }));
    await world.server.faults.online();

    const r = await world.run(['queue', 'sync', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    expect(json(r).summary).toMatchObject({ done: 1, failed: 1 });
    // Oxen was never told to delete the remote branch.
    expect(world.server.repo('e2e', 'door')!.branches.main).toBeDefined();
    const failed = (await pending()).find((e) => e.id === push.id)!;
    expect(failed).toMatchObject({
      status: 'failed',
      reason: { code: 'invalid-input', facts: { field: 'branch', problem: 'option-like' } },
    });
    expect(failed.statusReason).toContain('the branch name it was queued with starts with "-"');
  });
});
