import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestWorld, type FakeOxenEnv, type FakeOxenServer, type TestWorld } from '@oxvcs/oxen-testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from './engine.js';
import type { Engine } from './types.js';

/**
 * Causal replay (issue 14 §2), model-based against the testkit: any sequence of lock, push and
 * pull commands typed offline in one project, replayed by `queue sync`, leaves the remote (who
 * holds which lock, what main holds) as the same commands typed online in that order would.
 */

let server: FakeOxenServer;
let env: FakeOxenEnv;
let kit: TestWorld;
let n = 0;
const homes: string[] = [];

beforeAll(async () => {
  kit = await createTestWorld();
  ({ server, env } = kit);
});
afterAll(async () => {
  await kit.close();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

type Key = '.' | 'Drums';
type Command =
  | { readonly type: 'acquire' | 'release' | 'renew'; readonly key: Key }
  | { readonly type: 'commit-push'; readonly file: string }
  | { readonly type: 'pull' };

const show = (c: Command) =>
  c.type === 'commit-push' ? `commit ${c.file} + push` : c.type === 'pull' ? 'pull' : `${c.type} ${c.key}`;

/**
 * A project of its own: a repository with a `Drums` folder, a clone, and a state folder. Commands
 * replay nothing themselves unless `autoSync` (the product's default) is asked for.
 */
async function world(autoSync = false) {
  const name = `r${++n}`;
  await server.createRepo('ns', name, { 'Drums/kick.wav': 'kick' });
  const remote = server.repoUrl('ns', name);
  const dir = await env.cloneProject(name, remote);
  mkdirSync(join(dir, 'Drums'), { recursive: true });
  const home = kit.folder('replay');
  homes.push(home);
  const engine = (key: Key = '.', extra: Record<string, string> = {}): Engine =>
    createEngine({
      cwd: dir,
      ...(key === '.' ? {} : { project: join(dir, key) }),
      env: {
        ...env.env,
        OXENVCS_HOME: home,
        OXENVCS_HOLDER: 'ada@laptop',
        OXENVCS_CONNECTIVITY_CACHE_SECONDS: '0',
        OXENVCS_CONNECTIVITY_TIMEOUT_MS: '120000',
        OXENVCS_CONNECTIVITY_REQUEST_TIMEOUT_MS: '600000',
        OXENVCS_RETRY_MAX_RETRIES: '0',
        OXENVCS_RETRY_INITIAL_BACKOFF_MS: '10',
        // The replay is `queue sync` itself, not a command's auto-sync (unless asked for).
        OXENVCS_QUEUE_AUTO_SYNC: String(autoSync),
        ...extra,
      },
    });
  return { name, dir, engine };
}

/**
 * Runs one command as the CLI would; a refusal (not holding the lock, say) is an outcome too.
 * `extra`: environment of lock commands only (a transfer run directly must not be slowed).
 */
async function type(
  w: Awaited<ReturnType<typeof world>>,
  command: Command,
  extra: Record<string, string> = {},
): Promise<string> {
  try {
    switch (command.type) {
      case 'acquire':
        return (await w.engine(command.key, extra).lockAcquire({ ttlHours: 1 })).status;
      case 'release':
        return (await w.engine(command.key, extra).lockRelease()).status;
      case 'renew':
        return (await w.engine(command.key, extra).lockRenew({ ttlHours: 1 })).status;
      case 'commit-push': {
        writeFileSync(join(w.dir, command.file), command.file);
        await env.oxen(['add', command.file], w.dir);
        await env.oxen(['commit', '-m', command.file], w.dir);
        return (await w.engine().push()).status;
      }
      case 'pull':
        return (await w.engine().pull()).status;
    }
  } catch (error) {
    return `refused ${(error as { code?: string }).code ?? 'error'}`;
  }
}

/** What the remote holds: the locks held (by whom) and the files on main. */
async function remoteState(w: Awaited<ReturnType<typeof world>>) {
  const locks = (await w.engine().lockList())
    .filter((s) => s.state === 'held-by-you' || s.state === 'held-by-other')
    .map((s) => `${s.lease?.key}:${s.lease?.holder}`)
    .sort();
  const repo = server.repo('ns', w.name)!;
  const head = repo.commits[repo.branches.main!]!;
  return { locks, files: Object.keys(head.tree).sort() };
}

// Lock commands weigh most: their order is what a replay can get wrong without anyone noticing.
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constantFrom('acquire' as const, 'release' as const, 'renew' as const),
      key: fc.constantFrom<Key>('.', 'Drums'),
    }),
  },
  { weight: 1, arbitrary: fc.constant<Command>({ type: 'pull' }) },
  { weight: 2, arbitrary: fc.constant<Command>({ type: 'commit-push', file: '' }) },
);

/** Commit files get distinct names in order, so both runs commit the same files. */
const named = (commands: readonly Command[]): Command[] =>
  commands.map((c, i) => (c.type === 'commit-push' ? { type: 'commit-push', file: `take-${i}.txt` } : c));

describe('causal replay (model-based, against the testkit)', () => {
  const seed = Number(process.env.REPLAY_PROPERTY_SEED ?? 20261125);
  const runs = Number(process.env.REPLAY_PROPERTY_RUNS ?? 8);

  it(`offline commands replayed by queue sync leave the remote as the same commands online (seed ${seed}, replay with REPLAY_PROPERTY_SEED=${seed})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 6 }), async (generated) => {
        const commands = named(generated);
        const script = commands.map(show).join(', ');

        await server.faults.clear();
        const online = await world();
        for (const c of commands) await type(online, c);
        const expected = await remoteState(online);

        const offline = await world();
        await server.faults.offline();
        const typed: string[] = [];
        for (const c of commands) typed.push(await type(offline, c));
        await server.faults.online();
        // Typed offline, nothing reaches the remote: each command is queued (or, like a release
        // meeting its pending acquisition, settled locally).
        expect(
          typed.every((t) => t === 'queued'),
          `${script}: ${typed.join(', ')}`,
        ).toBe(true);
        const sync = await offline.engine().sync();
        expect(sync.summary?.remaining, script).toBe(0);
        expect(await remoteState(offline), script).toEqual(expected);
      }),
      { numRuns: runs, seed, endOnFailure: true },
    );
  });

  /**
   * How the network is when a command is typed: `offline` (queued); `online` (its auto-sync first,
   * then it runs, or is queued behind what its project still has to run); `slow` (a lock command
   * whose auto-sync meets a transfer that does not finish within its bound: the fake oxen waits at
   * its upload or download until the auto-sync gives up); `busy` (the server answers one request
   * of this repository with a 503, so an entry may be left waiting out a backoff).
   */
  type Network = 'offline' | 'online' | 'slow' | 'busy';
  const networkArb = fc.constantFrom<Network>('offline', 'offline', 'online', 'slow', 'slow', 'busy');
  // A session starts by taking the project's lock (online): what follows can then be overtaken.
  const start: [Command, Network] = [{ type: 'acquire', key: '.' }, 'online'];

  it(`commands typed online, offline, behind slow transfers and 503s, in any mix, end as the same commands online (seed ${seed})`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(commandArb, networkArb), { minLength: 1, maxLength: 5 }),
        async (rest) => {
          const generated = [start, ...rest];
          const commands = named(generated.map(([c]) => c));
          const script = commands.map((c, i) => `${show(c)} [${generated[i]![1]}]`).join(', ');

          await server.faults.clear();
          const online = await world();
          for (const c of commands) await type(online, c);
          const expected = await remoteState(online);

          const mixed = await world(true);
          const pause = join(kit.folder('pause'), 'never');
          for (const [i, c] of commands.entries()) {
            const network = generated[i]![1];
            await server.faults.clear();
            if (network === 'offline') await server.faults.offline();
            if (network === 'busy') {
              await server.faults.add({ kind: 'error', status: 503, route: `/${mixed.name}`, count: 1 });
            }
            const slow =
              network === 'slow'
                ? {
                    OXEN_FAKE_PAUSE_AT: 'push-upload,pull-download',
                    OXEN_FAKE_PAUSE_FILE: pause,
                    OXENVCS_CONNECTIVITY_REQUEST_TIMEOUT_MS: '1000',
                  }
                : {};
            await type(mixed, c, slow);
          }
          await server.faults.clear();
          const sync = await mixed.engine().sync();
          expect(sync.summary?.remaining, script).toBe(0);
          expect(await remoteState(mixed), script).toEqual(expected);
        },
      ),
      { numRuns: runs, seed, endOnFailure: true },
    );
  });

  it('the natural end of a session, push then release typed offline, pushes the take under the lock, then releases', async () => {
    const w = await world();
    expect(await type(w, { type: 'acquire', key: '.' })).toBe('done');
    await server.faults.offline();
    expect(await type(w, { type: 'commit-push', file: 'take.txt' })).toBe('queued');
    expect(await type(w, { type: 'release', key: '.' })).toBe('queued');
    await server.faults.online();
    const preview = (await w.engine().sync({ dryRun: true })).preview ?? [];
    expect(preview.map((s) => `${s.entry.operation.kind}:${s.action}`)).toEqual([
      'push:run',
      'release-lock:run',
    ]);
    expect((await w.engine().sync()).summary).toMatchObject({ done: 2, failed: 0, remaining: 0 });
    expect(await remoteState(w)).toEqual({ locks: [], files: ['Drums/kick.wav', 'take.txt'] });
  });

  it('another user in between: the queued acquisition waits its turn in line (pending, naming the holder), and what was typed after it waits behind it (issue 22 §1)', async () => {
    const w = await world();
    await server.faults.offline();
    expect(await type(w, { type: 'acquire', key: '.' })).toBe('queued');
    expect(await type(w, { type: 'commit-push', file: 'mine.txt' })).toBe('queued');
    expect(await type(w, { type: 'pull' })).toBe('queued');
    await server.faults.online();
    const bobHome = kit.folder('bob');
    homes.push(bobHome);
    const bob = createEngine({
      cwd: w.dir,
      env: {
        ...env.env,
        OXENVCS_HOME: bobHome,
        OXENVCS_HOLDER: 'bob@studio',
        OXENVCS_QUEUE_AUTO_SYNC: 'false',
      },
    });
    expect((await bob.lockAcquire({ ttlHours: 1 })).status).toBe('done');
    const summary = (await w.engine().sync()).summary;
    // The order typed is kept: the pull typed after it waits behind it too.
    expect(summary).toMatchObject({ done: 0, failed: 0 });
    const entries = (await w.engine().queueStatus()).entries;
    const acquire = entries.find((e) => e.operation.kind === 'acquire-lock')!;
    expect(acquire.status).toBe('pending');
    expect(acquire.lastError).toMatchObject({ code: 'WAITING', facts: { holder: 'bob@studio' } });
    expect((await bob.lockStatus()).state?.waiters?.map((x) => x.holder)).toEqual(['ada@laptop']);
    expect(entries.find((e) => e.operation.kind === 'push')!.status).toBe('pending');
    expect(entries.find((e) => e.operation.kind === 'pull')!.status).toBe('pending');
    expect((await remoteState(w)).files).toEqual(['Drums/kick.wav']);
  });
});

describe('queued release and renewal of a lock already held (review findings)', () => {
  it('offline acquire then release while holding the lock: the release is not cancelled and gives the lock back', async () => {
    const w = await world();
    expect(await type(w, { type: 'acquire', key: '.' })).toBe('done');
    await server.faults.offline();
    expect(await type(w, { type: 'acquire', key: '.' })).toBe('queued');
    expect(await type(w, { type: 'release', key: '.' })).toBe('queued');
    await server.faults.online();
    expect((await w.engine().sync()).summary).toMatchObject({ done: 2, failed: 0, remaining: 0 });
    expect((await remoteState(w)).locks).toEqual([]);
  });

  it('a renewal typed behind a queued acquisition renews the lease that acquisition grants, not a lease noted long ago', async () => {
    const w = await world();
    expect(await type(w, { type: 'acquire', key: '.' })).toBe('done');
    expect(await type(w, { type: 'release', key: '.' })).toBe('done');
    // This machine's note of an old lease that ended yesterday.
    const engine = w.engine();
    const grants = join(engine.paths.stateDir, 'grants.json');
    const ended = new Date(Date.now() - 86_400_000).toISOString();
    writeFileSync(
      grants,
      JSON.stringify({
        [`${engine.project().remote.url}#.`]: {
          fencingToken: 1,
          expiresAt: ended,
          holder: 'ada@laptop',
          ttlMs: 3_600_000,
          updatedAt: ended,
        },
      }),
    );
    await server.faults.offline();
    expect(await type(w, { type: 'acquire', key: '.' })).toBe('queued');
    const renew = await w.engine().lockRenew({ ttlHours: 1 });
    expect(renew).toMatchObject({ status: 'queued', enqueued: 'added' });
    await server.faults.online();
    expect((await w.engine().sync()).summary).toMatchObject({ done: 2, failed: 0, remaining: 0 });
    expect((await remoteState(w)).locks).toEqual(['.:ada@laptop']);
  });
});
