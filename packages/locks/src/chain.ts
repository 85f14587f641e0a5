/**
 * Reading the chain: the ticket branches and their commits from the server (or the cache), judged
 * by the reading rule (`rule.ts`) into the table in force. Owns the chain cache, the commit memo and
 * the server version check; decides nothing about locks.
 */
import { type Branch, type Commit, compareVersions, OxenError, type OxenHub } from '@oxvcs/oxen';
import { LockError } from './errors.js';
import { cleanText, type Identity, MAX_ID } from './record.js';
import { type ChainState, type Judged, readChain, runsOf, writtenByThisRule } from './rule.js';
import { type ChainTicket, chainTicket, chainTime, parseChainTicket, parseTable } from './table.js';

/** One chain ticket as kept in a {@link ChainCache}. */
export interface CachedTicket {
  readonly ticket: number;
  readonly commitId: string;
  /** Commit time (ms, server clock); null when the commit had none that parses. */
  readonly committedAt: number | null;
  readonly author?: string;
  readonly message: string;
}

/**
 * What a {@link ChainCache} holds: the state a reader verified (the reading rule's `ChainState`),
 * and the machine's scratch branch. A cache written by a version with another reading rule (no
 * `rule: 3`) is not used for the chain.
 */
export interface CachedChain {
  /** Wall-clock time (ms) the state was last known to be the top. */
  readonly at: number;
  /** The reading rule the state was derived by. */
  readonly rule?: 3;
  /** The highest ticket judged (the top when saved). */
  readonly verified?: number;
  /** The tickets the state names: the top, the table in force, an unsuperseded corrupt one. */
  readonly tickets: readonly CachedTicket[];
  /** Ticket number of the table in force (absent: the empty table). */
  readonly effective?: number;
  /** Ticket number of an unsuperseded corrupt ticket. */
  readonly corrupt?: number;
  readonly scratch?: string;
  /** Wall-clock time (ms) the scratch branch was last checked against `main`'s head. */
  readonly scratchAt?: number;
}

/** Where a manager keeps what it last learnt of the chain, so reads cost one request. */
export interface ChainCache {
  load(): CachedChain | undefined;
  save(chain: CachedChain): void;
}

/** A {@link ChainCache} in memory. */
export function memoryChainCache(): ChainCache {
  let chain: CachedChain | undefined;
  return {
    load: () => chain,
    save: (c) => {
      chain = c;
    },
  };
}

/** What a read learnt. */
export interface Snapshot {
  /** The top of the chain (the highest ticket of its run), whatever its verdict. */
  readonly top?: ChainTicket;
  /** The reading rule's state: the table in force, and a corrupt ticket above it. */
  readonly state: ChainState;
  /** The table as shown: a corrupt ticket above the table in force, else the table in force. */
  readonly shown?: ChainTicket;
  /** The server's clock from its `Date` header (never before the chain time); undefined when it sent none. */
  readonly serverNow: number | undefined;
  /** The branch list, when this read had to list (no usable cache). */
  readonly branches?: readonly Branch[];
  /** True when no request was made: the state last verified, from the cache. */
  readonly fromCache?: boolean;
}

/** Events of a read. */
export type ReadEvent =
  /** A ticket the reading rule rejected (a change nobody could prove): ignored by every reader. */
  | { readonly type: 'forged'; readonly ticket: number; readonly key: string; readonly writer: string }
  /** Tickets above a gap (not continuing the chain): never read as the table. */
  | { readonly type: 'gap'; readonly ticket: number };

/** What {@link createChainReader} needs. */
export interface ChainReaderDeps {
  readonly hub: OxenHub;
  readonly cache: ChainCache;
  readonly identity: Identity;
  readonly minVersion: string;
  /** A cached state is used only while younger than this (ms, wall and monotonic). */
  readonly trustMs: number;
  readonly emit: (event: ReadEvent) => void;
}

type CommitFacts = Pick<Commit, 'id' | 'message' | 'timestamp' | 'author'>;

/** Most tickets read one after another from a cache before listing the branches instead. */
const WALK = 8;
/** A read that found nothing new rewrites the cache only when it is at least this old (ms). */
const UNCHANGED_SAVE_MS = 60_000;
/** Tickets read at once on a cold read. */
const PARALLEL = 8;

/**
 * Reads the lock chain and applies the reading rule ({@link readChain}). With a young cache: ask
 * for the tickets after the verified one (a 404 means it is still the top: one request), judging
 * each new one; without: list the branches once, read the chain's run from its lowest ticket (8 at
 * a time) and judge them all.
 */
export function createChainReader(deps: ChainReaderDeps) {
  const { hub, cache } = deps;
  let versionChecked = false;
  /** Commits already read, by id (a ticket's commit never changes). */
  const commits = new Map<string, CommitFacts | 'too-large'>();

  const checkVersion = async (signal?: AbortSignal) => {
    if (versionChecked) return;
    // Oxen Hub may leave out the `oxen-version` header: ask `/api/version`'s body before refusing.
    const version = hub.lastServer.version ?? (await hub.version(signal ? { signal } : {}).catch(() => ''));
    if (!version || compareVersions(version, deps.minVersion) < 0) {
      throw new LockError(
        'SERVER_TOO_OLD',
        `${hub.remote.origin} runs oxen-server ${version || '(unknown)'}, but locks need ${deps.minVersion} or newer (atomic branch creation); upgrade the server.`,
      );
    }
    versionChecked = true;
  };

  const ticketOf = (ticket: number, commitId: string, commit: CommitFacts | 'too-large'): ChainTicket => {
    if (commit === 'too-large') return { ticket, commitId, committedAt: Number.NaN };
    const record = typeof commit.message === 'string' ? parseTable(commit.message, ticket) : undefined;
    const author = typeof commit.author === 'string' ? cleanText(commit.author, MAX_ID) : '';
    return {
      ticket,
      commitId,
      committedAt: chainTime(
        typeof commit.timestamp === 'string' ? Date.parse(commit.timestamp) : Number.NaN,
        record,
      ),
      ...(record ? { record } : {}),
      ...(author ? { author } : {}),
    };
  };

  /** The commit of a ticket; a message over the hub's answer limit reads as corrupt (a bounded read). */
  const commitOf = async (id: string, signal?: AbortSignal) => {
    let commit = commits.get(id);
    if (!commit) {
      try {
        commit = await hub.getCommit(id, signal ? { signal } : {});
      } catch (error) {
        if (!(error instanceof OxenError && error.code === 'RESPONSE_TOO_LARGE')) throw error;
        commit = 'too-large';
      }
      commits.set(id, commit);
    }
    return commit;
  };

  /** Ticket `n` (its branch, then its commit unless known), or undefined when it does not exist. */
  const readTicket = async (n: number, signal?: AbortSignal): Promise<ChainTicket | undefined> => {
    const branch = await hub.findBranch(chainTicket(n), signal ? { signal } : {});
    await checkVersion(signal);
    if (!branch) return undefined;
    return ticketOf(n, branch.commit_id, await commitOf(branch.commit_id, signal));
  };

  const messageOf = (t: ChainTicket) => {
    const c = commits.get(t.commitId);
    return c && c !== 'too-large' ? String(c.message) : '';
  };
  const toCache = (t: ChainTicket): CachedTicket => ({
    ticket: t.ticket,
    commitId: t.commitId,
    committedAt: Number.isFinite(t.committedAt) ? t.committedAt : null,
    message: messageOf(t),
    ...(t.author ? { author: t.author } : {}),
  });
  const fromCache = (c: CachedTicket): ChainTicket => {
    const commit: CommitFacts = {
      id: c.commitId,
      message: c.message,
      timestamp: c.committedAt === null ? '' : new Date(c.committedAt).toISOString(),
      author: c.author ?? '',
    };
    if (!commits.has(c.commitId)) commits.set(c.commitId, commit);
    return ticketOf(c.ticket, c.commitId, commit);
  };

  /** The cached state, when the cache is young and was derived by this reading rule. */
  const loadState = (): { state: ChainState; top?: ChainTicket } | undefined => {
    const c = cache.load();
    const age = Date.now() - (c?.at ?? 0);
    if (c?.rule !== 3 || c.verified === undefined || age < 0 || age >= deps.trustMs) return undefined;
    const byNumber = new Map(c.tickets.map((t) => [t.ticket, t]));
    const pick = (n: number | undefined) => {
      const t = n === undefined ? undefined : byNumber.get(n);
      return t ? fromCache(t) : undefined;
    };
    const effective = pick(c.effective);
    const corrupt = pick(c.corrupt);
    const top = pick(c.verified);
    if ((c.effective !== undefined && !effective) || (c.corrupt !== undefined && !corrupt)) return undefined;
    return {
      state: {
        verified: c.verified,
        ...(effective ? { effective } : {}),
        ...(corrupt ? { corrupt } : {}),
      },
      ...(top ? { top } : {}),
    };
  };

  /** Remembers a state (and keeps the scratch branch the cache names). */
  const save = (state: ChainState, top: ChainTicket | undefined) => {
    const named = [top, state.effective, state.corrupt].filter((t): t is ChainTicket => t !== undefined);
    const unique = named.filter((t, i) => named.findIndex((u) => u.ticket === t.ticket) === i);
    const c = cache.load();
    cache.save({
      at: Date.now(),
      rule: 3,
      verified: state.verified,
      tickets: unique.map(toCache),
      ...(state.effective ? { effective: state.effective.ticket } : {}),
      ...(state.corrupt ? { corrupt: state.corrupt.ticket } : {}),
      ...(c?.scratch ? { scratch: c.scratch } : {}),
      ...(c?.scratch && c.scratchAt !== undefined ? { scratchAt: c.scratchAt } : {}),
    });
  };

  const report = (judged: readonly Judged[]) => {
    for (const j of judged) {
      if (j.verdict === 'rejected' && j.ticket.record)
        deps.emit({
          type: 'forged',
          ticket: j.ticket.ticket,
          key: j.key ?? '.',
          writer: j.ticket.record.writer.holder,
        });
    }
  };

  /** Reads tickets `from`..`to` (known commits from a listing), 8 at a time; missing ones are left out. */
  const readListed = async (
    numbers: readonly number[],
    listed: ReadonlyMap<number, string>,
    signal?: AbortSignal,
  ): Promise<ChainTicket[]> => {
    const out: ChainTicket[] = [];
    for (let i = 0; i < numbers.length; i += PARALLEL) {
      const batch = numbers.slice(i, i + PARALLEL);
      const read = await Promise.all(
        batch.map(async (n) => {
          const id = listed.get(n);
          return id === undefined ? undefined : ticketOf(n, id, await commitOf(id, signal));
        }),
      );
      out.push(...read.filter((t): t is ChainTicket => t !== undefined));
    }
    return out;
  };

  /** Follows on from `after` while newer tickets exist (written since the list, or after the cache). */
  const follow = async (after: number, signal?: AbortSignal, limit = Number.POSITIVE_INFINITY) => {
    const found: ChainTicket[] = [];
    for (let n = after + 1; found.length < limit; n++) {
      const t = await readTicket(n, signal);
      if (!t) break;
      found.push(t);
    }
    return found;
  };

  /** Lists the branches: the chain's ticket numbers, with their commits. */
  const list = async (signal?: AbortSignal) => {
    const branches = await hub.listBranches(signal ? { signal } : {});
    await checkVersion(signal);
    const listed = new Map<number, string>();
    for (const b of branches) {
      const n = parseChainTicket(b.name);
      if (n !== undefined) listed.set(n, b.commit_id);
    }
    return { branches, listed };
  };

  /**
   * Lists the branches and reads the chain's run: the lowest run written by this rule (schema 3),
   * else the highest ({@link writtenByThisRule}); `stranded` are the tickets of runs below it.
   * 'retry' when tickets vanished between the list and the reads (clean-up ran meanwhile).
   */
  const coldRun = async (signal?: AbortSignal) => {
    const l = await list(signal);
    const runs = runsOf(l.listed.keys());
    let chosen: { run: { lowest: number; top: number }; tickets: ChainTicket[] } | undefined;
    const stranded: number[] = [];
    for (const run of runs) {
      const numbers = Array.from({ length: run.top - run.lowest + 1 }, (_, i) => run.lowest + i);
      const tickets = await readListed(numbers, l.listed, signal);
      // Clean-up deletes from the bottom: tickets gone since the list may only be the lowest.
      const first = tickets[0]?.ticket ?? run.top + 1;
      if (first > run.top || tickets.some((t, i) => t.ticket !== first + i)) return 'retry' as const;
      if (chosen) stranded.push(...chosen.tickets.map((t) => t.ticket));
      chosen = { run, tickets };
      if (writtenByThisRule(tickets)) break;
    }
    return { ...l, run: chosen?.run, tickets: chosen?.tickets ?? [], stranded };
  };

  const read = async (signal?: AbortSignal, depth = 0): Promise<Snapshot> => {
    const cached = loadState();
    let branches: Branch[] | undefined;
    let result: { state: ChainState; judged: readonly Judged[] };
    let tickets: ChainTicket[] = [];
    if (cached) {
      tickets = await follow(cached.state.verified, signal, WALK);
      if (tickets.length === WALK) {
        // Far behind: list once, and read the rest of the run in parallel.
        const l = await list(signal);
        branches = l.branches;
        const from = cached.state.verified + WALK + 1;
        // The rest of our run: consecutive numbers on from there (never past a gap).
        let upTo = from - 1;
        while (l.listed.has(upTo + 1)) upTo++;
        const numbers = Array.from({ length: Math.max(0, upTo - from + 1) }, (_, i) => from + i);
        tickets.push(...(await readListed(numbers, l.listed, signal)));
        const last = tickets[tickets.length - 1]?.ticket ?? cached.state.verified;
        tickets.push(...(await follow(last, signal)));
      }
      if (tickets.some((t, i) => t.ticket !== cached.state.verified + 1 + i)) {
        if (depth >= 2) throw unreadable(cached.state.verified + 1);
        cache.save({ ...(cache.load() ?? { tickets: [] }), at: 0 });
        return read(signal, depth + 1);
      }
      result = readChain(tickets, cached.state);
    } else {
      const cold = await coldRun(signal);
      if (cold === 'retry') {
        if (depth >= 2) throw unreadable(0);
        return read(signal, depth + 1);
      }
      branches = cold.branches;
      tickets = cold.tickets;
      if (cold.run) {
        tickets.push(...(await follow(cold.run.top, signal)));
        const last = tickets[tickets.length - 1]?.ticket ?? 0;
        const above = [...cold.listed.keys()].filter((n) => n > last + 1);
        if (above.length > 0) deps.emit({ type: 'gap', ticket: Math.min(...above) });
      }
      result = readChain(tickets);
    }
    report(result.judged);
    const top = tickets[tickets.length - 1] ?? cached?.top;
    // Nothing new, and the cache said so less than a minute ago: leave the file alone (a status
    // then writes nothing; the cache only looks a little older, which trusts it less, never more).
    const age = Date.now() - (cache.load()?.at ?? 0);
    if (!(cached && tickets.length === 0 && age >= 0 && age < UNCHANGED_SAVE_MS)) save(result.state, top);
    const shown = result.state.corrupt ?? result.state.effective;
    return {
      state: result.state,
      serverNow: serverNow(result.state),
      ...(top ? { top } : {}),
      ...(shown ? { shown } : {}),
      ...(branches ? { branches } : {}),
    };
  };

  /**
   * The server's time for reads: its `Date` header, but never before the chain time of the table
   * in force (a clock stepped back shows no ended lease as live); none without a header.
   */
  const serverNow = (state: ChainState) => {
    const date = hub.lastServer.date;
    const chain = state.effective?.committedAt;
    return date === undefined || chain === undefined || !Number.isFinite(chain)
      ? date
      : Math.max(date, chain);
  };

  const unreadable = (ticket: number) =>
    new LockError(
      'CORRUPT_RECORD',
      `Lock ticket ${ticket} on ${hub.remote.url} is listed but cannot be read.`,
      { ticket: String(ticket) },
    );

  /**
   * The cached state as a snapshot without any request (`fromCache` set), when it is young, names its
   * top and has no corrupt ticket. A change may be decided on it and claimed at once: the claim of
   * ticket top+1 is the compare-and-swap, so it wins only if the cached top is still the top (a
   * ticket written since makes the create fail with "already exists", and the caller reads).
   */
  const cachedSnapshot = (): Snapshot | undefined => {
    const cached = loadState();
    const top = cached?.top;
    if (!cached || !top || cached.state.corrupt) return undefined;
    const shown = cached.state.effective;
    return {
      state: cached.state,
      top,
      ...(shown ? { shown } : {}),
      serverNow: serverNow(cached.state),
      fromCache: true,
    };
  };

  /** Records a commit this manager wrote itself (its message is known without reading it). */
  const remember = (commit: CommitFacts) => void commits.set(commit.id, commit);

  return { read, readTicket, cachedSnapshot, save, list, coldRun, readListed, remember, checkVersion };
}

/** The reader {@link createChainReader} makes. */
export type ChainReader = ReturnType<typeof createChainReader>;
