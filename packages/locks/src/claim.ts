/**
 * Claiming a ticket: prepare the next table on this machine's scratch branch, judge it with the
 * reading rule, create ticket N+1 (the compare-and-swap), confirm it when it cannot prove it is
 * fresh ({@link mustConfirm}, pure), and clean up old tickets in the background.
 */
import { randomUUID } from 'node:crypto';
import { type Branch, OxenError, type OxenHub } from '@oxvcs/oxen';
import { retry } from '@oxvcs/retry';
import type { ChainCache, ChainReader, Snapshot } from './chain.js';
import { LockError } from './errors.js';
import { MAX_WAITERS, type TableWaiter } from './line.js';
import { signProof } from './proof.js';
import type { Identity } from './record.js';
import { judge, readChain } from './rule.js';
import {
  type Asker,
  type BreakNote,
  blockers,
  type ChainTicket,
  carryOver,
  chainTicket,
  chainTime,
  leaseEnded,
  leaseView,
  MAX_KEYS,
  MAX_TABLE_BYTES,
  parseTable,
  signedText,
  TABLE_SCHEMA,
  type TableLease,
  type TableRecord,
  waitersFor,
} from './table.js';
import { blockedError, inLineError, what } from './words.js';

/** Branches holding each machine's prepared lock records: `oxvcs-scratch/<machine>.<base commit>`. */
export const SCRATCH_ROOT = 'oxvcs-scratch';
/** Where a record's file lives on the scratch branch (a full file path: the real server treats a
 * `PUT /file/{branch}/{path}` path as a folder only when that folder already exists). */
const RECORD_PATH = '.oxvcs/lock.json';
/** How often a machine's scratch branch is checked against `main` (and re-forked if it moved). */
const SCRATCH_CHECK_MS = 24 * 3_600_000;
/** Most old tickets one clean-up reads and deletes. */
const CLEANUP_BATCH = 64;

/** A change one transition writes. */
export interface Draft {
  readonly op: TableRecord['op'];
  readonly key: string;
  readonly nonce: string;
  /** The key's new lease; `null` removes it; undefined leaves it. */
  readonly lease?: TableLease | null;
  readonly breakNote?: BreakNote;
  /** For release and break: the holder shown as "last held by". */
  readonly last?: string;
  /** Private key to sign the change with, and the lease it signs (renew: the new, release: the old). */
  readonly sign?: { readonly privateKey: string; readonly lease: TableLease };
  /** Confirm on the commit clock that no one else's lease on an overlapping key is live. */
  readonly exclusive?: boolean;
  /** Confirm on the commit clock that the key's lease has ended (a break without force). */
  readonly requireEnded?: boolean;
  /** For `wait`: join the key's line, refresh your place in it, or leave it (by the wait's id). */
  readonly wait?: {
    readonly id: string;
    readonly leaseMs: number;
    readonly action: 'join' | 'refresh' | 'leave';
  };
}

/** Things a claim tells a UI or a log. */
export type ClaimEvent =
  | { readonly type: 'race-lost'; readonly key: string; readonly ticket: number }
  | { readonly type: 'ambiguous-claim'; readonly key: string; readonly ticket: number; readonly won: boolean }
  /** A won ticket whose predecessor was gone: a stale claim re-created a cleaned-up number; withdrawn. */
  | { readonly type: 'stale-claim'; readonly key: string; readonly ticket: number }
  | { readonly type: 'cleanup'; readonly deleted: number }
  /** The repository has no `main`: the scratch branch forks from `base` instead (claims cost more). */
  | { readonly type: 'no-main-branch'; readonly base: string }
  /** Two uploads to our scratch branch overlapped (409 "Workspace is behind"); retried. */
  | { readonly type: 'upload-conflict'; readonly attempt: number };

/** What {@link createClaimer} needs. */
export interface ClaimerDeps {
  readonly hub: OxenHub;
  readonly identity: Identity;
  /** Who asks, with proof of ownership (a lease's key in the state folder). */
  readonly me: Asker;
  readonly cache: ChainCache;
  readonly reader: ChainReader;
  /** Tickets kept below the top whatever their age. */
  readonly keep: number;
  /** Age (commit clock) a ticket's successor must have before the ticket may be deleted. */
  readonly horizonMs: number;
  readonly emit: (event: ClaimEvent) => void;
  /** Runs best-effort work off the critical path. */
  readonly later: (work: () => Promise<void>) => void;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random: () => number;
  /** The local monotonic clock (ms): how long a claim was in flight. */
  readonly now: () => number;
  /** The local wall clock (ms): clean-up's second opinion on a ticket's age. */
  readonly clock: () => number;
}

/** A won claim answered within this long of the start of its upload (monotonic) may be fresh. */
export const FRESH_FLIGHT_MS = 10_000;

/** What {@link mustConfirm} judges a won claim by. */
export interface WonClaim {
  /** The ticket created. */
  readonly ticket: number;
  /** A new grant (an acquire with a new fencing token). */
  readonly newGrant: boolean;
  /** Chain time of the ticket built on, when it is the table in force; else undefined. */
  readonly baseAt: number | undefined;
  /** The server's commit time of our own upload, stamped just before the create. */
  readonly commitAt: number;
  /** Local monotonic ms from the start of the upload to the create's answer. */
  readonly flightMs: number;
  /** Clean-up horizon (ms). */
  readonly horizonMs: number;
  /** The create's answer was lost and the ticket read back. */
  readonly ambiguous: boolean;
}

/**
 * Pure: must a won claim read ticket N back before it is reported? The create's answer is the
 * same whether ticket N+1 was new or a number clean-up had deleted (see the README, "Why a won
 * claim is believed"). Ticket 1, a new grant, an ambiguous create, a claim built on a rejected top,
 * one whose own commit is half a horizon or more from its base on the commit clock, and one that
 * took {@link FRESH_FLIGHT_MS} or longer are confirmed; any other is fresh.
 */
export function mustConfirm(c: WonClaim): boolean {
  if (c.ticket <= 1 || c.newGrant || c.ambiguous || c.baseAt === undefined) return true;
  if (!Number.isFinite(c.baseAt) || !Number.isFinite(c.commitAt)) return true;
  return Math.abs(c.commitAt - c.baseAt) >= c.horizonMs / 2 || !(c.flightMs < FRESH_FLIGHT_MS);
}

const AMBIGUOUS = ['NETWORK', 'TIMEOUT', 'SERVER_ERROR'];
const ambiguous = (e: unknown) => e instanceof OxenError && AMBIGUOUS.includes(e.code);

/**
 * Writing the table: the scratch branch, the upload of a prepared table, the atomic claim of the
 * next ticket, its confirmation, and the clean-up of old tickets.
 */
export function createClaimer(deps: ClaimerDeps) {
  const { hub, identity, cache, reader, emit, later } = deps;
  const scratchPrefix = `${SCRATCH_ROOT}/${identity.machineId.replace(/[^A-Za-z0-9-]/g, '-')}`;

  /** The branch our scratch branch forks from: `main`, else (with an event) the first other user branch. */
  const baseOf = (branches: readonly Branch[], key: string): Branch => {
    const main = branches.find((b) => b.name === 'main');
    if (main) return main;
    const other = branches
      .filter((b) => !b.name.startsWith('oxvcs-'))
      .sort((a, b) => (a.name < b.name ? -1 : 1))[0];
    if (!other) {
      throw new LockError(
        'NO_BASE_COMMIT',
        `${hub.remote.url} has no commits yet; push the project once, then take the lock.`,
        { key },
      );
    }
    emit({ type: 'no-main-branch', base: other.name });
    return other;
  };

  /**
   * The scratch branch a claim writes its record on: `oxvcs-scratch/<machine>.<base commit>`.
   * Remembered in the cache, and checked against `main`'s head when this read listed the branches
   * or a day after the last check (one request); when `main` has moved since the fork, a fresh
   * fork is made (and the old one dropped in the background), so the server's verification of
   * each ticket (since oxen-server 0.51.3: what the ticket's commit has that `main` lacks) stays
   * small. It is created with the atomic `POST /branches {new_name, commit_id}`, which the server
   * verifies only against `main`; a branch-creating `PUT` would verify every object of the whole
   * tree. "Already exists" means another process of ours made it; an ambiguous answer is settled
   * by reading it back.
   */
  const scratchFor = async (snap: Snapshot, key: string, o: { signal?: AbortSignal }): Promise<string> => {
    const cached = cache.load();
    const known = cached?.scratch;
    let branches = snap.branches;
    if (known && !branches && Date.now() - (cached?.scratchAt ?? 0) < SCRATCH_CHECK_MS) return known;
    if (!branches) {
      const main = await hub.findBranch('main', o);
      branches = main ? [main] : await hub.listBranches(o);
    }
    const base = baseOf(branches, key);
    const wanted = `${scratchPrefix}.${base.commit_id.slice(0, 16)}`;
    const remember = () => {
      const c = cache.load();
      cache.save({ ...(c ?? { at: 0, tickets: [] }), scratch: wanted, scratchAt: Date.now() });
    };
    if (known === wanted) {
      remember();
      return wanted;
    }
    if (!branches.some((b) => b.name === wanted)) {
      try {
        await hub.createBranchFromCommit(wanted, base.commit_id, o);
      } catch (error) {
        if (!(error instanceof OxenError && error.code === 'BRANCH_EXISTS') && !ambiguous(error)) throw error;
        if (ambiguous(error) && !(await hub.findBranch(wanted, o).catch(() => undefined))) throw error;
      }
    }
    const stale = [...(snap.branches ?? []).map((b) => b.name), ...(known ? [known] : [])].filter(
      (name, i, all) =>
        (name === scratchPrefix || name.startsWith(`${scratchPrefix}.`)) &&
        name !== wanted &&
        all.indexOf(name) === i,
    );
    later(async () => {
      for (const name of stale) await hub.deleteBranch(name).catch(() => {});
    });
    remember();
    return wanted;
  };

  /**
   * Commits the record on the scratch branch, uploading the table once: the commit message is
   * the record (what every client reads); the file holds only a per-attempt salt, so a retry after
   * a lost answer never uploads identical bytes (the real server refuses those with 422 "No
   * changes to commit"). Two of our processes uploading at once can get 409 "Workspace is
   * behind": the loser tries again. A scratch branch that is gone is forked again.
   */
  const upload = async (
    text: string,
    ticket: number,
    snap: Snapshot,
    key: string,
    o: { signal?: AbortSignal },
  ) => {
    let branch = await scratchFor(snap, key, o);
    for (let attempt = 1; ; attempt++) {
      const file = `${JSON.stringify({ ticket, attempt: randomUUID() })}\n`;
      try {
        return await hub.uploadFile(
          branch,
          RECORD_PATH,
          'lock.json',
          file,
          {
            name: identity.holder,
            email: `${identity.holder.replace(/[^A-Za-z0-9._-]/g, '.')}@oxvcs.invalid`,
            message: text,
          },
          o,
        );
      } catch (error) {
        // The server (or a proxy before it) holds less than readers accept: nothing was written.
        if (error instanceof OxenError && error.code === 'PAYLOAD_TOO_LARGE') {
          throw new LockError(
            'TABLE_FULL',
            `${hub.remote.origin} refused the lock table (${Math.ceil(Buffer.byteLength(text, 'utf8') / 1024)} KiB) as too large, so ${what(key)} was not changed.`,
            { key, cause: error },
          );
        }
        if (!(error instanceof OxenError) || attempt >= 4) throw error;
        if (error.code === 'NOT_FOUND' || error.code === 'BRANCH_NOT_FOUND') {
          const c = cache.load();
          if (c) {
            const { scratch: _s, scratchAt: _a, ...rest } = c;
            cache.save(rest);
          }
          branch = await scratchFor({ ...snap, branches: await hub.listBranches(o) }, key, o);
          continue;
        }
        if (error.code !== 'CONFLICT' && error.code !== 'NOTHING_TO_COMMIT') throw error;
        emit({ type: 'upload-conflict', attempt });
        await deps.sleep(25 * attempt + Math.floor(deps.random() * 50), o.signal);
      }
    }
  };

  /** The record the draft describes, on top of the table in force. */
  const prepare = (snap: Snapshot, draft: Draft, keepAll: boolean): TableRecord => {
    const next = snap.state.verified + 1;
    const base = snap.state.effective;
    const table = carryOver(base, keepAll);
    if (draft.lease === null) delete table.leases[draft.key];
    else if (draft.lease) table.leases[draft.key] = draft.lease;
    if (draft.breakNote) table.breaks[draft.key] = draft.breakNote;
    else if (draft.op === 'acquire') {
      // Only the previous holder's own acquisition ends the note: another's leaves it, so the
      // previous holder still learns who broke their lease and why (issue 22).
      const note = table.breaks[draft.key];
      if (note && note.previousHolder === identity.holder && note.previousMachineId === identity.machineId)
        delete table.breaks[draft.key];
    }
    if (draft.last) table.last[draft.key] = draft.last;
    const line = table.waiters[draft.key] ?? [];
    const me = (w: TableWaiter) => w.holder === identity.holder && w.machineId === identity.machineId;
    const wait = draft.wait;
    let nextLine = line;
    // A grant takes the writer out of the key's line (it waited for this).
    if (draft.op === 'acquire') nextLine = line.filter((w) => !me(w));
    else if (wait?.action === 'leave') nextLine = line.filter((w) => !(w.id === wait.id && me(w)));
    else if (wait?.action === 'refresh')
      nextLine = line.map((w, i) => {
        // The live entry of this wait is its last (one that lapsed stays until it is dropped).
        if (w.id !== wait.id || !me(w) || line.slice(i + 1).some((x) => x.id === wait.id)) return w;
        const { seenAt: _s, ...fresh } = w;
        return fresh;
      });
    else if (wait?.action === 'join')
      nextLine = [
        ...line,
        {
          id: wait.id,
          holder: identity.holder,
          machineId: identity.machineId,
          joined: next,
          leaseMs: wait.leaseMs,
        },
      ];
    if (nextLine.length > 0) table.waiters[draft.key] = nextLine;
    else delete table.waiters[draft.key];
    const unsigned = {
      schema: TABLE_SCHEMA,
      ticket: next,
      writer: { holder: identity.holder, machineId: identity.machineId },
      op: draft.op,
      key: draft.key,
      nonce: draft.nonce,
    };
    return {
      ...unsigned,
      ...(draft.sign
        ? { sig: signProof(draft.sign.privateKey, signedText(unsigned, draft.sign.lease)) }
        : {}),
      ...(snap.top && next > 1 ? { prev: snap.top.commitId } : {}),
      ...(base ? { floor: base.committedAt } : {}),
      leases: table.leases,
      breaks: table.breaks,
      last: table.last,
      ...(Object.keys(table.waiters).length > 0 ? { waiters: table.waiters } : {}),
    };
  };

  /** Refuses a table readers would not accept, before anything is written (exit 1, not a crash later). */
  const checkLimits = (record: TableRecord, text: string, key: string) => {
    const keys = Math.max(
      Object.keys(record.leases).length,
      Object.keys(record.breaks).length,
      Object.keys(record.last).length,
    );
    const bytes = Buffer.byteLength(text, 'utf8');
    if (keys > MAX_KEYS || bytes > MAX_TABLE_BYTES) {
      throw new LockError(
        'TABLE_FULL',
        `The lock table would hold ${keys} keys in ${Math.ceil(bytes / 1024)} KiB, more than every reader accepts (${MAX_KEYS} keys, ${MAX_TABLE_BYTES / 1024} KiB), so ${what(key)} was not changed.`,
        { key },
      );
    }
    // One more waiter than a line may hold would make every reader take the table as corrupt.
    if ((record.waiters?.[key]?.length ?? 0) > MAX_WAITERS) {
      throw new LockError(
        'TABLE_FULL',
        `The line for ${what(key)} already holds ${MAX_WAITERS} waiters, as many as every reader accepts, so you were not added to it.`,
        { key, inLine: true },
      );
    }
    // Whatever else readers would refuse to parse is never written either (they would read it as corrupt).
    if (!parseTable(text, record.ticket)) {
      throw new LockError(
        'LOST',
        `The change to ${what(key)} would not be a valid lock table on ticket ${record.ticket}.`,
        { key, ticket: String(record.ticket) },
      );
    }
  };

  /**
   * Claims ticket N+1 with the record the draft describes; resolves to the new top, or lost. The
   * change is checked on its own commit time with the reading rule before it is claimed, so a
   * writer only ever extends the table in force with a change every reader accepts.
   */
  const claim = async (
    snap: Snapshot,
    draft: Draft,
    signal?: AbortSignal,
  ): Promise<{ won: true; ticket: ChainTicket } | { won: false }> => {
    const o = signal ? { signal } : {};
    const next = snap.state.verified + 1;
    const effective = snap.state.effective;
    const started = deps.now();
    let ticket: ChainTicket | undefined;
    let commitId = '';
    let commitAt = Number.NaN;
    for (const keepAll of [false, true]) {
      const record = prepare(snap, draft, keepAll);
      const text = JSON.stringify(record);
      checkLimits(record, text, draft.key);
      const commit = await upload(text, next, snap, draft.key, o);
      reader.remember({ ...commit, message: text, author: identity.holder });
      const committedAt = chainTime(Date.parse(commit.timestamp), record);
      // Judged on the clock that stamps commits (the one every lease is judged on): a `Date`
      // header from a proxy or a second node running ahead, or none at all, never ends a lease.
      if (draft.exclusive) {
        const live = blockers(draft.key, effective, committedAt, deps.me);
        if (live[0]) throw blockedError(live[0], draft.key, identity);
      }
      // First come, first served, on the commit clock too: a grant waits behind the line.
      if (draft.lease && draft.lease.fencingToken === next) {
        const [first] = waitersFor(draft.key, effective, committedAt);
        if (
          first &&
          !(
            first.key === draft.key &&
            first.holder === identity.holder &&
            first.machineId === identity.machineId
          )
        )
          throw inLineError(first, draft.key);
      }
      const lease = effective?.record?.leases[draft.key];
      if (
        draft.requireEnded &&
        effective &&
        lease &&
        !leaseEnded(lease, effective.committedAt, committedAt)
      ) {
        const view = leaseView(draft.key, lease, effective);
        throw new LockError(
          'HELD',
          `The lock on ${what(draft.key)} is live (held by ${view.holder} until ${view.expiresAt} on the server's commit clock).`,
          {
            key: draft.key,
            holder: view.holder,
            acquiredAt: view.acquiredAt,
            expiresAt: view.expiresAt,
            force: true,
          },
        );
      }
      const candidate: ChainTicket = {
        ticket: next,
        commitId: commit.id,
        committedAt,
        record,
        author: identity.holder,
      };
      const verdict = judge(effective, candidate);
      if (verdict.verdict === 'accepted') {
        ticket = candidate;
        commitId = commit.id;
        commitAt = Date.parse(commit.timestamp);
        break;
      }
      // A lease the carry-over left out is still live on this commit's time (the commit clock
      // stepped back): write again, leaving nothing out.
      if (keepAll || verdict.key === draft.key) {
        throw new LockError(
          'LOST',
          `The change to ${what(draft.key)} would not be a valid change of the lock table on ticket ${next}.`,
          { key: draft.key, ticket: String(next) },
        );
      }
    }
    if (!ticket) return { won: false };
    const name = chainTicket(next);
    let ambiguousCreate = false;
    try {
      await hub.createBranchFromCommit(name, commitId, o);
    } catch (error) {
      if (error instanceof OxenError && error.code === 'BRANCH_EXISTS') {
        emit({ type: 'race-lost', key: draft.key, ticket: next });
        return { won: false };
      }
      if (!ambiguous(error)) throw error;
      // Ambiguous: the server may have applied the create. Read the ticket back.
      let existing: Branch | undefined;
      try {
        existing = await retry(
          () => hub.findBranch(name, o),
          { maxRetries: 3, initialDelayMs: 200, maxDelayMs: 2000 },
          o,
        );
      } catch {
        throw error;
      }
      const won = existing?.commit_id === commitId;
      emit({ type: 'ambiguous-claim', key: draft.key, ticket: next, won });
      if (existing === undefined) throw error;
      if (!won) return { won: false };
      ambiguousCreate = true;
    }
    const confirm = mustConfirm({
      ticket: next,
      newGrant: draft.lease?.fencingToken === next,
      baseAt: snap.top && snap.top.ticket === effective?.ticket ? effective.committedAt : undefined,
      commitAt,
      flightMs: deps.now() - started,
      horizonMs: deps.horizonMs,
      ambiguous: ambiguousCreate,
    });
    if (confirm && !(await confirmed(ticket, snap, o))) {
      emit({ type: 'stale-claim', key: draft.key, ticket: next });
      // Ours is a number clean-up had deleted (the chain moved on while our claim was in flight):
      // withdraw it, and read the chain afresh next time.
      await hub.deleteBranch(name, o).catch(() => {});
      const c = cache.load();
      if (c) cache.save({ ...c, at: 0 });
      return { won: false };
    }
    return { won: true, ticket };
  };

  /**
   * Did our create make a new ticket, not re-create a number clean-up had deleted? Clean-up deletes
   * from the bottom, so if ticket N-1 still holds the commit we built on, N was never deleted
   * before our create. Ticket 1 has no predecessor: it is new when no other ticket exists, or
   * ticket 2 names it as its `prev`.
   */
  const confirmed = async (ticket: ChainTicket, snap: Snapshot, o: { signal?: AbortSignal }) => {
    if (ticket.ticket > 1) {
      const below = await hub.findBranch(chainTicket(ticket.ticket - 1), o);
      return below !== undefined && below.commit_id === snap.top?.commitId;
    }
    const { listed } = await reader.list(o.signal);
    if ([...listed.keys()].every((n) => n === 1)) return true;
    if (!listed.has(2)) return false;
    const [second] = await reader.readListed([2], listed, o.signal);
    return second?.record?.prev === ticket.commitId;
  };

  /**
   * After a won claim, in the background: old tickets go, from the bottom up, keeping the last
   * `keep` whatever their age. Ticket T is deleted only when T+1 was accepted (so it can be the
   * anchor every cold reader starts from) and T+1's commit is older than the horizon on the commit
   * clock (any claim based on T-1 began before T+1 was written). Deleting from the bottom keeps the
   * chain one run, and lets a claimer confirm its ticket by its predecessor ({@link confirmed}).
   */
  const cleanup = (snap: Snapshot, claimed: ChainTicket) => {
    const quiet = snap.top !== undefined && claimed.committedAt - snap.top.committedAt > deps.horizonMs;
    if (claimed.ticket <= deps.keep || !(quiet || claimed.ticket % 8 === 0)) return;
    later(async () => {
      const cold = await reader.coldRun();
      if (cold === 'retry' || !cold.run) return;
      // Runs below the chain, which no reader reads (an older version's clean-up stranded them).
      for (const n of cold.stranded) await hub.deleteBranch(chainTicket(n)).catch(() => {});
      const run = cold.run;
      const upTo = Math.min(claimed.ticket - deps.keep + 1, run.lowest + CLEANUP_BATCH, run.top);
      if (upTo <= run.lowest) return;
      const tickets = cold.tickets.filter((t) => t.ticket <= upTo);
      const { judged } = readChain(tickets);
      let deleted = 0;
      for (let i = 0; i + 1 < judged.length; i++) {
        const above = judged[i + 1];
        const here = judged[i];
        if (!above || !here || above.verdict !== 'accepted') break;
        // A day old on the commit clock and on this machine's own clock: a commit clock stepped
        // forward alone never deletes a ticket a claim in flight could re-create.
        const age = Math.min(claimed.committedAt, deps.clock()) - above.ticket.committedAt;
        if (!(age > deps.horizonMs)) break;
        try {
          await hub.deleteBranch(chainTicket(here.ticket.ticket));
          deleted++;
        } catch {
          break;
        }
      }
      emit({ type: 'cleanup', deleted });
    });
  };

  return { claim, cleanup };
}

/** The claimer {@link createClaimer} makes. */
export type Claimer = ReturnType<typeof createClaimer>;
