import type { ChildProcess } from 'node:child_process';
import { createOxenHub } from '@oxvcs/oxen';
import { seededRandom } from '@oxvcs/oxen-testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
// The reading rule and the table format are internal to @oxvcs/locks: this test checks the chain with them.
import { readChain, runsOf } from '../packages/locks/src/rule.js';
import { type ChainTicket, overlaps, parseChainTicket, parseTable } from '../packages/locks/src/table.js';
import { createWorld, type Result, type World } from './helpers.js';

/**
 * Chaos with the built CLI (issue 19): real `oxenvcs` processes, each user with its own home, on
 * nested keys of one repository, against the testkit server with its clocks and its table
 * tampered with between rounds. A bounded number of rounds; after each one the whole history the
 * server holds is checked. The seed (LOCK_CHAOS_SEED) picks the operations and the faults; the
 * order in which concurrent processes reach the server is the machine's, so a failing seed
 * reproduces the same plan, not always the same interleaving.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NS = 'e2e';
const REPO = 'chaos';
const USERS = ['ada', 'bob', 'carol', 'dave', 'erin'];
/** Folders of the repository; `.` is the whole project. */
const FOLDERS = ['.', 'a', 'a/s', 'b'];
const ROUNDS = 10;
const seed = Number(process.env.LOCK_CHAOS_SEED ?? 20261206);

let world: World;
let dir: string;
beforeAll(async () => {
  world = await createWorld({ seed });
  await world.server.createRepo(NS, REPO, { 'a/s/y.txt': 'y', 'a/x.txt': 'x', 'b/z.txt': 'z' });
  dir = await world.env.cloneProject(REPO, world.server.repoUrl(NS, REPO));
});
afterAll(() => world.close());

/** A grant a process reported (exit 0 with `--json`). */
interface Reported {
  readonly key: string;
  readonly holder: string;
  readonly fencingToken: number;
  readonly ticket: number;
  readonly expiresAt: string;
}

/** Every ticket of the chain's run seen so far (a snapshot after each round; clean-up may delete old ones). */
const seen = new Map<number, ChainTicket>();
function snapshot() {
  const repo = world.server.repo(NS, REPO)!;
  for (const [branch, commitId] of Object.entries(repo.branches)) {
    const n = parseChainTicket(branch);
    if (n === undefined || seen.get(n)?.commitId === commitId) continue;
    const commit = repo.commits[commitId]!;
    const record = parseTable(commit.message, n);
    const at = Date.parse(commit.timestamp);
    seen.set(n, {
      ticket: n,
      commitId,
      committedAt: record?.floor !== undefined ? Math.max(at, record.floor) : at,
      record,
      author: commit.author,
    });
  }
}
/** The chain's run (from ticket 1; a ticket above a gap is not part of it), judged by the reading rule. */
function judged() {
  const run = runsOf([...seen.keys()]).find((r) => r.lowest === 1);
  const tickets = [...seen.values()]
    .filter((t) => run && t.ticket <= run.top)
    .sort((x, y) => x.ticket - y.ticket);
  return readChain(tickets).judged;
}
const topTicket = () => Math.max(0, ...judged().map((j) => j.ticket.ticket));

/** The invariants, over everything so far. */
function check(grants: readonly Reported[], step: string) {
  const why = (what: string) => `${what} (after ${step}; seed ${seed})`;
  const verdicts = judged();
  // Honest writers only ever extend the table in force with a change every reader accepts.
  for (const j of verdicts)
    if (j.ticket.author !== 'mallory')
      expect(j.verdict, why(`ticket ${j.ticket.ticket} by ${j.ticket.author}`)).toBe('accepted');
  const accepted = verdicts.filter((j) => j.verdict === 'accepted').map((j) => j.ticket);
  // Every table in force: no two holders of overlapping keys live at its own time.
  for (const t of accepted) {
    const live = Object.entries(t.record!.leases).filter(([, l]) => {
      const from = l.renewedAt ? Date.parse(l.renewedAt) : t.committedAt;
      return t.committedAt < from + l.ttlMs;
    });
    for (const [k1, l1] of live)
      for (const [k2, l2] of live)
        if (l1.holder !== l2.holder)
          expect(
            overlaps(k1, k2),
            why(`ticket ${t.ticket}: ${l1.holder} on ${k1}, ${l2.holder} on ${k2}`),
          ).toBe(false);
  }
  // Every reported grant is the lease of an accepted ticket.
  const byTicket = new Map(accepted.map((t) => [t.ticket, t]));
  for (const g of grants) {
    const t = byTicket.get(g.ticket);
    expect(t, why(`grant of ${g.key} to ${g.holder} at ticket ${g.ticket}`)).toBeDefined();
    expect(t!.record!.leases[g.key], why(`grant at ticket ${g.ticket}`)).toMatchObject({
      holder: g.holder,
      fencingToken: g.fencingToken,
    });
  }
  // Never two holders believing they hold overlapping keys at once: a grant lasts until its lease
  // ends, or until an accepted ticket no longer holds it (released, broken), whichever is first.
  const removedAt = (g: Reported) => {
    for (const t of accepted) {
      if (t.ticket <= g.ticket) continue;
      const l = t.record!.leases[g.key];
      if (!l || l.holder !== g.holder || l.fencingToken !== g.fencingToken) return t.committedAt;
    }
    return Number.POSITIVE_INFINITY;
  };
  const spans = grants.map((g) => ({
    ...g,
    from: byTicket.get(g.ticket)!.committedAt,
    to: Math.min(Date.parse(g.expiresAt), removedAt(g)),
  }));
  for (const a of spans)
    for (const b of spans) {
      if (a.holder === b.holder || !overlaps(a.key, b.key)) continue;
      expect(
        a.to <= b.from || b.to <= a.from,
        why(`${a.holder}@${a.ticket} and ${b.holder}@${b.ticket}`),
      ).toBe(true);
      // Fencing tokens strictly increase from one holder to the next.
      if (a.from < b.from)
        expect(a.fencingToken < b.fencingToken, why(`tokens ${a.ticket} → ${b.ticket}`)).toBe(true);
    }
}

describe('chaos with the built CLI (issue 19): skewed Date, stepped commit clock, tampered table, SIGKILLs', () => {
  it('never two holders at once, fencing tokens only increase, every honest ticket valid', async () => {
    const random = seededRandom(seed);
    const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)] as T;
    const server = world.server;
    // A proxy or a second node 8 days ahead answers a third of the requests.
    server.configure({ dateOffsetMs: 8 * DAY, dateOffsetShare: 1 / 3 });
    const hub = createOxenHub({ remoteUrl: server.repoUrl(NS, REPO) });
    /** Writes ticket `n` straight into the table, as a collaborator with write access could. */
    const forge = async (n: number, message: string) => {
      const id = server.pushCommit(NS, REPO, { message, author: 'mallory' });
      await hub.createBranchFromCommit(`oxvcs-locks/${String(n).padStart(10, '0')}`, id).catch(() => {});
    };
    const grants: Reported[] = [];
    const outcomes: Record<string, number> = {};
    const faults: Record<string, number> = {};
    const count = (what: string) => {
      faults[what] = (faults[what] ?? 0) + 1;
    };
    let clockNet = 0;
    let corrupt = false;
    const cli = async (user: string, args: string[]) => {
      const r: Result = await world.run([...args, '--json'], { cwd: dir, user });
      const key = `${args[1]} exit ${r.code}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      if (r.code === 0 && (args[1] === 'acquire' || args[1] === 'renew')) {
        const out = JSON.parse(r.stdout) as { lock?: Reported; result?: Reported };
        const g = out.lock ?? out.result;
        if (g)
          grants.push({
            key: g.key,
            holder: g.holder,
            fencingToken: g.fencingToken,
            ticket: g.ticket,
            expiresAt: g.expiresAt,
          });
      }
      return r;
    };
    const lockArgs = (verb: string, folder: string) => [
      'lock',
      verb,
      ...(folder === '.' ? [] : ['--project', folder]),
      ...(verb === 'acquire' || verb === 'renew' ? ['--timeout', '1'] : []),
    ];

    for (let round = 1; round <= ROUNDS; round++) {
      const steps: string[] = [];
      // Faults between rounds: the commit clock steps by a day and an hour, and tickets written
      // straight into the table (a forged release, a gap far above the top, an oversized one).
      if (random() < 0.4) {
        const step = clockNet > 0 ? -25 * HOUR : 25 * HOUR;
        server.advanceClock(step);
        clockNet += step;
        steps.push(`commit clock ${step > 0 ? '+' : '-'}25 h`);
        count('clock step');
      }
      const top = topTicket();
      const fault = pick(['none', 'forged', 'gap', 'oversized', 'none']);
      const base = [...seen.values()].find((t) => t.ticket === top);
      if (fault === 'forged' && base?.record) {
        const [victim] = Object.keys(base.record.leases);
        const leases = { ...base.record.leases };
        if (victim) delete leases[victim];
        await forge(
          top + 1,
          JSON.stringify({
            ...base.record,
            ticket: top + 1,
            op: 'release',
            key: victim ?? '.',
            nonce: `forged${round}`,
            prev: base.commitId,
            leases,
          }),
        );
        steps.push(`forged release at ${top + 1}`);
        count('forged');
      } else if (fault === 'gap') {
        await forge(
          top + 1_000_000,
          JSON.stringify({
            schema: 3,
            ticket: top + 1_000_000,
            writer: { holder: 'mallory@x', machineId: 'm' },
            op: 'break',
            key: '.',
            nonce: `gap${round}`,
            leases: {},
            breaks: {},
            last: {},
          }),
        );
        steps.push(`gap ticket at ${top + 1_000_000}`);
        count('gap');
      } else if (fault === 'oversized') {
        await forge(top + 1, JSON.stringify({ schema: 3, ticket: top + 1, padding: 'x'.repeat(600 * 1024) }));
        corrupt = true;
        steps.push(`oversized ticket at ${top + 1}`);
        count('oversized');
      }
      // A corrupt top refuses every change but `break --force`, which repairs it.
      if (corrupt) {
        const r = await cli(pick(USERS), ['lock', 'break', '--force', '--reason', 'chaos repair']);
        if (r.code === 0) corrupt = false;
        steps.push(`break --force (exit ${r.code})`);
      }
      // An acquirer killed mid-claim: once its upload is in, before or during its claim.
      let killed: ChildProcess | undefined;
      if (random() < 0.5) {
        const mark = server.requests.length;
        const folder = pick(FOLDERS);
        killed = world.spawn(lockArgs('acquire', folder), { cwd: dir, user: pick(USERS) });
        const gone = new Promise((resolve) => killed!.once('exit', resolve));
        await vi.waitFor(
          () => {
            const uploaded = server.requests
              .slice(mark)
              .some((q) => q.route.startsWith('PUT') && q.status === 200);
            expect(uploaded || killed!.exitCode !== null).toBe(true);
          },
          { interval: 5 },
        );
        killed.kill('SIGKILL');
        await gone;
        steps.push(`SIGKILL of an acquire of ${folder}`);
        count('SIGKILL');
      }
      // Three users at once, each on a random folder.
      await Promise.all(
        Array.from({ length: 3 }, () => {
          const user = pick(USERS);
          const folder = pick(FOLDERS);
          const verb = pick(['acquire', 'acquire', 'acquire', 'renew', 'release', 'status']);
          steps.push(`${user} ${verb} ${folder}`);
          return cli(user, lockArgs(verb, folder));
        }),
      );
      snapshot();
      check(grants, `round ${round}: ${steps.join(', ')}`);
    }
    server.configure({ dateOffsetMs: 0, dateOffsetShare: 1 });
    server.advanceClock(-clockNet);
    // The run exercised the table: someone was granted something (most seeds: several).
    expect(grants.length, `seed ${seed}`).toBeGreaterThan(0);
    console.log(
      `lock chaos (seed ${seed}): ${ROUNDS} rounds, ${seen.size} tickets, ${grants.length} grants, 0 overlapping; faults ${JSON.stringify(faults)}; exits ${JSON.stringify(outcomes)}`,
    );
  });
});
