import { randomUUID } from 'node:crypto';
import { type Branch, type Commit, compareVersions, OxenError, type OxenHub } from '@oxvcs/oxen';
import { retry } from '@oxvcs/retry';
import { LockError } from './errors.js';
import { normaliseKey } from './key.js';
import { checkProof, type KeyStore, memoryKeyStore, newLeaseKey, publicKeyOf, signProof } from './proof.js';
import {
  cleanText,
  type Identity,
  type Lease,
  type LockState,
  MAX_ID,
  MAX_TTL_MS,
  MIN_TTL_MS,
} from './record.js';
import {
  type BreakNote,
  blockers,
  type ChainTicket,
  carryOver,
  chainTicket,
  leaseEnded,
  leaseView,
  overlaps,
  parseChainTicket,
  parseTable,
  renewedAtOf,
  signedText,
  TABLE_SCHEMA,
  type TableLease,
  type TableRecord,
  tableState,
} from './table.js';

/** Branches holding each machine's prepared lock records: `oxvcs-scratch/<machine>.<base commit>`. */
export const SCRATCH_ROOT = 'oxvcs-scratch';
/** Where a record's file lives on the scratch branch (a full file path: the real server treats a
 * `PUT /file/{branch}/{path}` path as a folder only when that folder already exists). */
const RECORD_PATH = '.oxvcs/lock.json';

/** Oldest oxen-server whose branch creation is atomic (the compare-and-swap we rely on). */
export const MIN_SERVER_VERSION = '0.50.4';

/** A granted (or extended) lease. */
export interface Grant extends Lease {
  /** True when you already held it and this call extended it. */
  readonly alreadyHeld: boolean;
}

/** Things worth telling a UI or a log. */
export type LockEvent =
  | { readonly type: 'race-lost'; readonly key: string; readonly ticket: number }
  | { readonly type: 'ambiguous-claim'; readonly key: string; readonly ticket: number; readonly won: boolean }
  | { readonly type: 'cleanup'; readonly deleted: number }
  /** The repository has no `main`: the scratch branch forks from `base` instead (claims cost more). */
  | { readonly type: 'no-main-branch'; readonly base: string }
  /** Two uploads to our scratch branch overlapped (409 "Workspace is behind"); retried. */
  | { readonly type: 'upload-conflict'; readonly attempt: number }
  /** The top ticket changed a lease without the holder's proof: it is ignored. */
  | { readonly type: 'forged'; readonly ticket: number; readonly key: string; readonly writer: string };

/** One chain ticket as kept in a {@link ChainCache}. */
export interface CachedTicket {
  readonly ticket: number;
  readonly commitId: string;
  readonly committedAt: number;
  readonly author?: string;
  readonly message: string;
}

/** What a {@link ChainCache} holds: the last known top (and the ticket before it), and our scratch branch. */
export interface CachedChain {
  /** Wall-clock time (ms) the top was last known to be the top. */
  readonly at: number;
  /** Newest first, at most two. */
  readonly tickets: readonly CachedTicket[];
  readonly scratch?: string;
  /** Wall-clock time (ms) the scratch branch was last checked against `main`'s head. */
  readonly scratchAt?: number;
}

/** How often a machine's scratch branch is checked against `main` (and re-forked if it moved). */
const SCRATCH_CHECK_MS = 24 * 3_600_000;

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

/** Options of {@link createLockManager}. */
export interface LockManagerOptions {
  readonly hub: OxenHub;
  readonly identity: Identity;
  /** @default '0.50.4' */
  readonly minServerVersion?: string;
  /** Where the private keys of your leases are kept (the holder's state folder). @default in memory */
  readonly keys?: KeyStore;
  /** What the manager last learnt of the chain. @default in memory */
  readonly cache?: ChainCache;
  /** Keep at least this many tickets before old ones are deleted (never the top two). @default 6 */
  readonly keepTickets?: number;
  /**
   * Old tickets are deleted only once the previous top is this old on the server's commit clock,
   * and a claim (or a cached read) is trusted as is only for half of it; see the README's safety
   * argument. @default 86400000 (a day)
   */
  readonly cleanupHorizonMs?: number;
  readonly onEvent?: (event: LockEvent) => void;
}

/** Per-call options. */
export interface LockCallOptions {
  readonly signal?: AbortSignal;
  /** Idempotency key: a replay carrying the same nonce recognises its own earlier effect. */
  readonly nonce?: string;
}

/** Manages exclusive locks (leases with fencing tokens) for one Oxen repository. */
export interface LockManager {
  acquire(
    key: string | undefined,
    options: LockCallOptions & { ttlMs: number; comment?: string },
  ): Promise<Grant>;
  renew(
    key: string | undefined,
    options: LockCallOptions & { ttlMs: number; fencingToken?: number },
  ): Promise<Grant>;
  release(
    key: string | undefined,
    options?: LockCallOptions & { fencingToken?: number },
  ): Promise<{ released: boolean; previous: LockState }>;
  /** `serverNow` is the server's clock (its `Date` header), undefined when it sent none. */
  status(
    key: string | undefined,
    options?: LockCallOptions,
  ): Promise<LockState & { serverNow: number | undefined }>;
  /** Every lock in the repository (one read). */
  list(options?: LockCallOptions): Promise<LockState[]>;
  /** Live leases of others on `key`, on a folder containing it, or on one inside it. */
  blockers(key: string | undefined, options?: LockCallOptions): Promise<Lease[]>;
  /** Break: allowed when the lease has lapsed, or with `force`; the audit (who, why) is recorded. */
  break(
    key: string | undefined,
    options: LockCallOptions & { force?: boolean; reason?: string },
  ): Promise<{ broken: boolean; previous: LockState }>;
  /** Is `fencingToken` still the current grant of `key` for you? */
  verify(
    key: string | undefined,
    fencingToken: number,
    options?: LockCallOptions,
  ): Promise<{ valid: boolean; state: LockState }>;
  /** Throws STALE_TOKEN unless `fencingToken` is the current grant. */
  assertFencing(key: string | undefined, fencingToken: number, options?: LockCallOptions): Promise<Lease>;
  /** Settles when background work (clean-up of old tickets) is done. */
  idle(): Promise<void>;
}

/** What a read learnt: the top ticket, the one before it, and the table in force. */
interface Snapshot {
  readonly top?: ChainTicket;
  readonly prev?: ChainTicket;
  /** The table in force: the top, unless the top is a forgery (then the one before it). */
  readonly effective?: ChainTicket;
  /** The valid table a new ticket builds on (the effective one, or before a corrupt top, the one before). */
  readonly base?: ChainTicket;
  /** The server's clock from its `Date` header; undefined when it sent none (then nothing expires). */
  readonly serverNow: number | undefined;
  /** The branch list, when this read had to list (no usable cache). */
  readonly branches?: readonly Branch[];
}

/** A change one transition writes. */
interface Draft {
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
}

/** Creates a {@link LockManager} over a hub. */
export function createLockManager(options: LockManagerOptions): LockManager {
  const { hub, identity } = options;
  const minVersion = options.minServerVersion ?? MIN_SERVER_VERSION;
  const keep = Math.max(2, options.keepTickets ?? 6);
  const horizon = options.cleanupHorizonMs ?? 24 * 3_600_000;
  const trust = horizon / 2;
  const keys = options.keys ?? memoryKeyStore();
  const cache = options.cache ?? memoryChainCache();
  const emit = options.onEvent ?? (() => {});
  const scratchPrefix = `${SCRATCH_ROOT}/${identity.machineId.replace(/[^A-Za-z0-9-]/g, '-')}`;
  let versionChecked = false;
  let background: Promise<void> = Promise.resolve();

  const checkVersion = async (signal?: AbortSignal) => {
    if (versionChecked) return;
    // Oxen Hub may leave out the `oxen-version` header: ask `/api/version`'s body before refusing.
    const version = hub.lastServer.version ?? (await hub.version(signal ? { signal } : {}).catch(() => ''));
    if (!version || compareVersions(version, minVersion) < 0) {
      throw new LockError(
        'SERVER_TOO_OLD',
        `${hub.remote.origin} runs oxen-server ${version || '(unknown)'}, but locks need ${minVersion} or newer (atomic branch creation); upgrade the server.`,
      );
    }
    versionChecked = true;
  };

  /** Is this lease yours: your name and machine, and its key in your state folder? */
  const mine = (lease: TableLease) => {
    if (lease.holder !== identity.holder || lease.machineId !== identity.machineId) return false;
    const secret = keys.get(lease.lockId);
    return secret !== undefined && publicKeyOf(secret) === lease.owner;
  };
  const me = { ...identity, owns: mine };

  /** Commits already read, by id (a ticket's commit never changes). */
  const commits = new Map<string, Pick<Commit, 'id' | 'message' | 'timestamp' | 'author'>>();
  const ticketOf = (
    ticket: number,
    commit: Pick<Commit, 'id' | 'message' | 'timestamp' | 'author'>,
  ): ChainTicket => {
    const record = typeof commit.message === 'string' ? parseTable(commit.message, ticket) : undefined;
    const author = typeof commit.author === 'string' ? cleanText(commit.author, MAX_ID) : '';
    return {
      ticket,
      commitId: String(commit.id),
      committedAt: typeof commit.timestamp === 'string' ? Date.parse(commit.timestamp) : Number.NaN,
      ...(record ? { record } : {}),
      ...(author ? { author } : {}),
    };
  };
  const fromCache = (c: CachedTicket) => {
    const commit = {
      id: c.commitId,
      message: c.message,
      timestamp: new Date(c.committedAt).toISOString(),
      author: c.author ?? '',
    };
    commits.set(c.commitId, commit);
    return ticketOf(c.ticket, commit);
  };
  const toCache = (t: ChainTicket, message: string): CachedTicket => ({
    ticket: t.ticket,
    commitId: t.commitId,
    committedAt: t.committedAt,
    message,
    ...(t.author ? { author: t.author } : {}),
  });
  const messages = new Map<number, string>();

  /**
   * Ticket `n` of the chain, or undefined when it does not exist: `GET` its branch (one request;
   * a 404 is the usual answer to "is there a ticket after the top?"), then its commit unless
   * already known. History listings are not used: their order is not guaranteed to put the head
   * first when the server's clock steps back.
   */
  const readTicket = async (n: number, signal?: AbortSignal): Promise<ChainTicket | undefined> => {
    const o = signal ? { signal } : {};
    const branch = await hub.findBranch(chainTicket(n), o);
    await checkVersion(signal);
    if (!branch) return undefined;
    let commit = commits.get(branch.commit_id);
    if (!commit) {
      commit = await hub.getCommit(branch.commit_id, o);
      commits.set(branch.commit_id, commit);
    }
    messages.set(n, String(commit.message));
    return ticketOf(n, commit);
  };

  /**
   * Is `top` a valid change of `prev`? Every lease it adds, changes or removes must be explained
   * by its own operation: an acquire adds the writer's lease on its key (or takes over one that had
   * ended by the top's commit time); a renew or release is signed with the lease's own key; a
   * break leaves its note; a lease that had ended may be dropped. Anything else is a forgery.
   */
  const validChange = (prev: ChainTicket, top: ChainTicket): { ok: true } | { ok: false; key: string } => {
    const a = prev.record;
    const b = top.record;
    if (!a || !b) return { ok: true };
    const keysOf = new Set([...Object.keys(a.leases), ...Object.keys(b.leases)]);
    for (const k of keysOf) {
      const la = a.leases[k];
      const lb = b.leases[k];
      const ended = la !== undefined && leaseEnded(la, prev.committedAt, top.committedAt);
      if (la && lb) {
        const same =
          la.lockId === lb.lockId &&
          la.owner === lb.owner &&
          la.holder === lb.holder &&
          la.machineId === lb.machineId &&
          la.fencingToken === lb.fencingToken &&
          la.ttlMs === lb.ttlMs &&
          la.comment === lb.comment &&
          renewedAtOf(la, prev.committedAt) === renewedAtOf(lb, top.committedAt);
        if (same) continue;
        const renewed =
          (b.op === 'renew' || b.op === 'acquire') &&
          b.key === k &&
          la.lockId === lb.lockId &&
          la.owner === lb.owner &&
          la.fencingToken === lb.fencingToken &&
          checkProof(la.owner, signedText(b, lb), b.sig);
        const takenOver = b.op === 'acquire' && b.key === k && ended && lb.fencingToken === b.ticket;
        if (!renewed && !takenOver) return { ok: false, key: k };
      } else if (la && !lb) {
        const released = b.op === 'release' && b.key === k && checkProof(la.owner, signedText(b, la), b.sig);
        const broken = b.op === 'break' && b.key === k && b.breaks[k] !== undefined;
        if (!released && !broken && !ended) return { ok: false, key: k };
      } else if (lb) {
        const acquired =
          b.op === 'acquire' &&
          b.key === k &&
          lb.holder === b.writer.holder &&
          lb.machineId === b.writer.machineId &&
          lb.fencingToken === b.ticket;
        if (!acquired) return { ok: false, key: k };
      }
    }
    if (b.op === 'acquire') {
      // A grant must not overlap anyone else's live lease (a folder inside, or one containing it).
      const writer = { ...b.writer };
      const others = blockers(b.key, prev, top.committedAt, writer);
      if (others.length > 0) return { ok: false, key: b.key };
    }
    return { ok: true };
  };

  const save = (top: ChainTicket, prev: ChainTicket | undefined, scratch?: string) => {
    const msg = (t: ChainTicket) => messages.get(t.ticket);
    const tickets = [top, ...(prev ? [prev] : [])]
      .map((t) => ({ t, m: msg(t) }))
      .filter((x): x is { t: ChainTicket; m: string } => x.m !== undefined)
      .map((x) => toCache(x.t, x.m));
    const c = cache.load();
    const kept = scratch ?? c?.scratch;
    cache.save({
      at: Date.now(),
      tickets,
      ...(kept ? { scratch: kept } : {}),
      ...(kept && c?.scratchAt !== undefined ? { scratchAt: c.scratchAt } : {}),
    });
  };

  /**
   * Reads the chain: from the cache, one request (probe the ticket after the cached top; follow
   * on while new ones exist); without a usable cache, list the branches once. A cached top is
   * trusted only while younger than half the clean-up horizon (see the safety argument).
   */
  const read = async (signal?: AbortSignal, depth = 0): Promise<Snapshot> => {
    const cached = cache.load();
    let top: ChainTicket | undefined;
    let prev: ChainTicket | undefined;
    let branches: Branch[] | undefined;
    const warm = cached?.tickets[0] && Date.now() - cached.at < trust && Date.now() >= cached.at;
    if (warm && cached?.tickets[0]) {
      for (const t of cached.tickets) messages.set(t.ticket, t.message);
      top = fromCache(cached.tickets[0]);
      prev = cached.tickets[1] ? fromCache(cached.tickets[1]) : undefined;
      let steps = 0;
      for (; steps < 8; steps++) {
        const next = await readTicket(top.ticket + 1, signal);
        if (!next) break;
        prev = top;
        top = next;
      }
      if (steps === 8) top = undefined;
    }
    if (!top) {
      branches = await hub.listBranches(signal ? { signal } : {});
      await checkVersion(signal);
      const numbers = branches
        .map((b) => parseChainTicket(b.name))
        .filter((n): n is number => n !== undefined);
      const highest = numbers.length ? Math.max(...numbers) : 0;
      if (highest > 0) {
        top = await readTicket(highest, signal);
        // A newer ticket may have appeared since the list; follow on.
        while (top) {
          const next = await readTicket(top.ticket + 1, signal);
          if (!next) break;
          prev = top;
          top = next;
        }
        if (!top) {
          if (depth >= 2) {
            throw new LockError(
              'CORRUPT_RECORD',
              `Lock ticket ${highest} on ${hub.remote.url} is listed but cannot be read; try again, or break the lock with \`oxenvcs lock break --force\`.`,
              { ticket: String(highest) },
            );
          }
          return read(signal, depth + 1);
        }
      }
      prev = prev?.ticket === (top?.ticket ?? 0) - 1 ? prev : undefined;
    }
    const serverNow = hub.lastServer.date;
    if (!top) return { serverNow, ...(branches ? { branches } : {}) };
    let effective = top;
    if (top.ticket > 1) {
      const before = prev?.ticket === top.ticket - 1 ? prev : await readTicket(top.ticket - 1, signal);
      if (before) {
        prev = before;
        const check = top.record ? validChange(before, top) : { ok: true as const };
        if (!check.ok && top.record) {
          emit({ type: 'forged', ticket: top.ticket, key: check.key, writer: top.record.writer.holder });
          effective = before;
        }
      }
    }
    save(top, prev);
    // A corrupt top is shown as corrupt; a break replaces it, building on the ticket before it.
    const base = effective.record ? effective : prev?.record ? prev : undefined;
    return {
      top,
      effective,
      serverNow,
      ...(base ? { base } : {}),
      ...(prev ? { prev } : {}),
      ...(branches ? { branches } : {}),
    };
  };

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
   * fork is made (and the old one dropped in the background), so the server's
   * verification of each ticket (since oxen-server 0.51.3: what the ticket's commit has that
   * `main` lacks) stays small.
   *
   * It is created with the atomic `POST /branches {new_name, commit_id}`, which the server
   * verifies only against `main` (an empty diff here); a branch-creating `PUT` would verify every
   * object of the whole tree, minutes on a big repository of audio. "Already exists" means
   * another process of ours made it. An ambiguous answer is settled by reading it back.
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
        const ambiguous =
          error instanceof OxenError && ['NETWORK', 'TIMEOUT', 'SERVER_ERROR'].includes(error.code);
        if (!(error instanceof OxenError && error.code === 'BRANCH_EXISTS') && !ambiguous) throw error;
        if (ambiguous && !(await hub.findBranch(wanted, o).catch(() => undefined))) throw error;
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

  /** Runs best-effort work off the critical path; {@link LockManager.idle} waits for it. */
  const later = (work: () => Promise<void>) => {
    background = background.then(work).catch(() => {});
  };

  /**
   * Commits the record on a scratch branch. The file's bytes are unique per attempt (a salt
   * beside the record), so a retry after a lost answer never re-uploads identical bytes (which
   * the real server refuses with 422 "No changes to commit"); the commit message, which is what
   * every client reads, is the record itself. Two of our processes uploading at once can get 409
   * "Workspace is behind": the loser tries again. A scratch branch that is gone is forked again.
   */
  const upload = async (text: string, snap: Snapshot, key: string, o: { signal?: AbortSignal }) => {
    let branch = await scratchFor(snap, key, o);
    for (let attempt = 1; ; attempt++) {
      const file = `${JSON.stringify({ record: JSON.parse(text) as unknown, attempt: randomUUID() })}\n`;
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
        if (!(error instanceof OxenError) || attempt >= 4) throw error;
        if (error.code === 'NOT_FOUND' || error.code === 'BRANCH_NOT_FOUND') {
          const c = cache.load();
          if (c) cache.save({ at: c.at, tickets: c.tickets });
          branch = await scratchFor({ ...snap, branches: await hub.listBranches(o) }, key, o);
          continue;
        }
        if (error.code !== 'CONFLICT' && error.code !== 'NOTHING_TO_COMMIT') throw error;
        emit({ type: 'upload-conflict', attempt });
        await new Promise((r) => setTimeout(r, 25 * attempt + Math.floor(Math.random() * 50)));
      }
    }
  };

  const heldError = (key: string, lease: Lease, asked = key) =>
    new LockError(
      'HELD',
      `The lock on ${what(asked)} is held by ${lease.holder}${lease.key !== asked ? ` (who holds ${what(lease.key)})` : ''} since ${lease.acquiredAt} until ${lease.expiresAt}${
        lease.comment ? ` ("${lease.comment}")` : ''
      }; ask them to release it, or wait until it expires.`,
      {
        key: asked,
        holder: lease.holder,
        machineId: lease.machineId,
        acquiredAt: lease.acquiredAt,
        expiresAt: lease.expiresAt,
        fencingToken: lease.fencingToken,
        ...(lease.key !== asked ? { heldKey: lease.key } : {}),
        ...(lease.comment ? { comment: lease.comment } : {}),
      },
    );

  /** Claims ticket N+1 with the record the draft describes; resolves to the new top, or lost. */
  const claim = async (
    snap: Snapshot,
    draft: Draft,
    signal?: AbortSignal,
  ): Promise<{ won: true; ticket: ChainTicket } | { won: false }> => {
    const o = signal ? { signal } : {};
    const next = (snap.top?.ticket ?? 0) + 1;
    const table = carryOver(snap.base, snap.serverNow);
    if (draft.lease === null) delete table.leases[draft.key];
    else if (draft.lease) table.leases[draft.key] = draft.lease;
    if (draft.breakNote) table.breaks[draft.key] = draft.breakNote;
    else if (draft.op === 'acquire') delete table.breaks[draft.key];
    if (draft.last) table.last[draft.key] = draft.last;
    const unsigned = {
      schema: TABLE_SCHEMA,
      ticket: next,
      writer: { holder: identity.holder, machineId: identity.machineId },
      op: draft.op,
      key: draft.key,
      nonce: draft.nonce,
    };
    const record: TableRecord = {
      ...unsigned,
      ...(draft.sign
        ? { sig: signProof(draft.sign.privateKey, signedText(unsigned, draft.sign.lease)) }
        : {}),
      leases: table.leases,
      breaks: table.breaks,
      last: table.last,
    };
    const text = JSON.stringify(record);
    const commit = await upload(text, snap, draft.key, o);
    const committedAt = Date.parse(commit.timestamp);
    if (draft.exclusive && snap.effective) {
      // Confirm on the clock that stamps commits (the one every lease is judged on) that no one
      // else's lease on an overlapping key is live: a `Date` header from a proxy or a second node
      // running ahead, or none at all, must never end a live lease.
      const live = blockers(draft.key, snap.effective, committedAt, me);
      if (live[0]) throw heldError(draft.key, live[0]);
    }
    messages.set(next, text);
    const ticket: ChainTicket = {
      ticket: next,
      commitId: commit.id,
      committedAt,
      record: { ...record },
      author: identity.holder,
    };
    const name = chainTicket(next);
    try {
      await hub.createBranchFromCommit(name, commit.id, o);
      return { won: true, ticket };
    } catch (error) {
      if (error instanceof OxenError && error.code === 'BRANCH_EXISTS') {
        emit({ type: 'race-lost', key: draft.key, ticket: next });
        return { won: false };
      }
      if (!(error instanceof OxenError) || !['NETWORK', 'TIMEOUT', 'SERVER_ERROR'].includes(error.code))
        throw error;
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
      const won = existing?.commit_id === commit.id;
      emit({ type: 'ambiguous-claim', key: draft.key, ticket: next, won });
      if (existing === undefined) throw error;
      return won ? { won: true, ticket } : { won: false };
    }
  };

  /** True when no ticket above `ticket` exists (a slow claim's confirmation). */
  const stillTop = async (ticket: number, signal?: AbortSignal) => {
    const branches = await hub.listBranches(signal ? { signal } : {});
    return !branches.some((b) => (parseChainTicket(b.name) ?? 0) > ticket);
  };

  /**
   * After a won claim, in the background: old tickets go once the chain has been quiet. A claim
   * for ticket T is based on a read of T-1 as the top, made before T existed; T+1's record was
   * uploaded after T existed, and every later top's after that. So when the previous top's commit
   * is older than the horizon (on the commit clock, measured by our own new commit), every ticket
   * up to the previous top was created more than the horizon ago, and any claim or cached read
   * based on one of them began more than the horizon ago: longer than any client trusts one.
   */
  const cleanup = (snap: Snapshot, claimed: ChainTicket) => {
    const previous = snap.top;
    if (!previous || claimed.ticket <= keep) return;
    if (!(claimed.committedAt - previous.committedAt > horizon)) return;
    later(async () => {
      let deleted = 0;
      for (let n = claimed.ticket - 2; n >= 1 && n > claimed.ticket - 2 - 200; n--) {
        try {
          await hub.deleteBranch(chainTicket(n));
          deleted++;
        } catch (error) {
          if (error instanceof OxenError && (error.code === 'BRANCH_NOT_FOUND' || error.code === 'NOT_FOUND'))
            break;
        }
      }
      emit({ type: 'cleanup', deleted });
    });
  };

  type Step<R> =
    | { readonly result: R }
    | { readonly write: Draft; readonly onClaimed: (ticket: ChainTicket) => R };

  /**
   * Every change to a lock is the same loop: read the top ticket, decide, claim the next ticket.
   * Losing the race re-reads and decides again. `fast` lets a renew or release of a lease we wrote
   * last skip the read: the claim of ticket N+1 itself proves nothing came after (two requests).
   */
  const transition = async <R>(
    key: string,
    signal: AbortSignal | undefined,
    decide: (snap: Snapshot, state: LockState) => Step<R>,
    fast = false,
  ): Promise<R> => {
    let useCache = fast;
    for (let round = 0; round < 8; round++) {
      const wallAt = Date.now();
      const monoAt = performance.now();
      let snap: Snapshot | undefined;
      const cached = useCache ? cache.load() : undefined;
      useCache = false;
      if (cached?.tickets[0] && Date.now() - cached.at < trust && Date.now() >= cached.at) {
        for (const t of cached.tickets) messages.set(t.ticket, t.message);
        const top = fromCache(cached.tickets[0]);
        if (
          top.record?.writer.holder === identity.holder &&
          top.record.writer.machineId === identity.machineId
        ) {
          const prev = cached.tickets[1] ? fromCache(cached.tickets[1]) : undefined;
          snap = {
            top,
            effective: top,
            base: top,
            serverNow: hub.lastServer.date,
            ...(prev ? { prev } : {}),
          };
        }
      }
      snap ??= await read(signal);
      const step = decide(snap, tableState(key, snap.effective, snap.serverNow, me));
      if ('result' in step) return step.result;
      const claimed = await claim(snap, step.write, signal);
      if (!claimed.won) continue;
      const took = Math.max(Date.now() - wallAt, performance.now() - monoAt);
      if (took > trust && !(await stillTop(claimed.ticket.ticket, signal))) {
        emit({ type: 'race-lost', key, ticket: claimed.ticket.ticket });
        continue;
      }
      save(claimed.ticket, snap.top);
      cleanup(snap, claimed.ticket);
      return step.onClaimed(claimed.ticket);
    }
    const snap = await read(signal);
    const live = blockers(key, snap.effective, snap.serverNow, me);
    if (live[0]) throw heldError(key, live[0]);
    throw new LockError('HELD', `The lock on ${what(key)} is heavily contended; try again in a moment.`, {
      key,
    });
  };

  const grantOf = (key: string, ticket: ChainTicket, alreadyHeld: boolean): Grant => {
    const lease = ticket.record?.leases[key];
    if (!lease)
      throw new LockError('LOST', `The lock on ${what(key)} is not in the table just written.`, { key });
    return { ...leaseView(key, lease, ticket), alreadyHeld };
  };

  /**
   * The table, when an earlier attempt of this very operation (same nonce) already took effect:
   * the top was written by it, or (for an acquire or renew buried under later tickets of other
   * keys) the key's lease still carries its nonce.
   */
  const replayed = (snap: Snapshot, nonce: string, key?: string) => {
    const r = snap.effective?.record;
    const mineTop =
      r?.nonce === nonce && r.writer.holder === identity.holder && r.writer.machineId === identity.machineId;
    const lease = key === undefined ? undefined : r?.leases[key];
    const ours = lease !== undefined && (lease.nonce === nonce || lease.grantNonce === nonce) && mine(lease);
    return mineTop || ours ? snap.effective : undefined;
  };

  /** Your lease, live or lapsed but not taken over, with its private key. */
  const ownLease = (snap: Snapshot, key: string) => {
    const lease = snap.effective?.record?.leases[key];
    if (!lease || !mine(lease)) return undefined;
    const privateKey = keys.get(lease.lockId);
    return privateKey ? { lease, privateKey } : undefined;
  };

  /** Why a renew or release by someone who does not hold the lease fails. */
  const notHolder = (key: string, state: LockState, fencingToken?: number) => {
    const token = fencingToken === undefined ? {} : { fencingToken };
    switch (state.state) {
      case 'broken':
        return new LockError(
          'LOST',
          `Your lock on ${what(key)} was broken by ${state.brokenBy}${state.reason ? `: ${state.reason}` : ''}; acquire it again before editing.`,
          { key, brokenBy: state.brokenBy, ...(state.reason ? { reason: state.reason } : {}), ...token },
        );
      case 'held-by-other':
      case 'expired':
        return new LockError(
          'NOT_HOLDER',
          `The lock on ${what(key)} is held by ${state.lease.holder} until ${state.lease.expiresAt}, not by you${
            state.lease.holder === identity.holder && state.lease.machineId === identity.machineId
              ? ' (its key is not in this machine’s state folder)'
              : ''
          }; only its holder can renew or release it.`,
          {
            key,
            holder: state.lease.holder,
            acquiredAt: state.lease.acquiredAt,
            expiresAt: state.lease.expiresAt,
            ...token,
          },
        );
      case 'corrupt':
        return corrupt(key, state);
      default:
        return new LockError(
          'NOT_HOLDER',
          `You do not hold the lock on ${what(key)} (it is ${state.state.replace(/-/g, ' ')}); acquire it first.`,
          {
            key,
            ...token,
          },
        );
    }
  };

  const corrupt = (key: string, state: Extract<LockState, { state: 'corrupt' }>) =>
    new LockError(
      'CORRUPT_RECORD',
      `The lock record on ticket ${state.ticket}${state.writtenBy ? ` (written by ${state.writtenBy})` : ''} is invalid; replace it with \`oxenvcs lock break --force\`.`,
      { key, ticket: String(state.ticket), ...(state.writtenBy ? { writtenBy: state.writtenBy } : {}) },
    );

  const manager: LockManager = {
    async acquire(rawKey, o) {
      checkTtl(o.ttlMs);
      const key = normaliseKey(rawKey);
      const nonce = o.nonce ?? randomUUID();
      return transition(key, o.signal, (snap, state): Step<Grant> => {
        const earlier = replayed(snap, nonce, key);
        const replayedLease = earlier?.record?.leases[key];
        if (earlier && replayedLease && mine(replayedLease)) return { result: grantOf(key, earlier, false) };
        if (state.state === 'corrupt') throw corrupt(key, state);
        // Without a server clock (no `Date` header) a lease is never judged over from a read; the
        // commit clock of our prepared record decides instead (the exclusive check in claim).
        const live = blockers(key, snap.effective, snap.serverNow, me);
        if (live[0] && snap.serverNow !== undefined) throw heldError(key, live[0]);
        const own = ownLease(snap, key);
        if (own && (state.state === 'held-by-you' || state.state === 'expired')) {
          // Re-acquiring your own live lock extends it, keeping its fencing token.
          const comment = o.comment ?? own.lease.comment;
          const lease: TableLease = {
            ...own.lease,
            ttlMs: o.ttlMs,
            acquiredAt: leaseView(key, own.lease, snap.base as ChainTicket).acquiredAt,
            nonce,
            ...(comment ? { comment } : {}),
          };
          delete (lease as { renewedAt?: string }).renewedAt;
          return {
            write: {
              op: 'acquire',
              key,
              nonce,
              lease,
              sign: { privateKey: own.privateKey, lease },
              exclusive: true,
            },
            onClaimed: (ticket) => grantOf(key, ticket, true),
          };
        }
        const pair = newLeaseKey();
        const lockId = randomUUID();
        keys.set(lockId, pair.privateKey);
        const next = (snap.top?.ticket ?? 0) + 1;
        const lease: TableLease = {
          lockId,
          holder: identity.holder,
          machineId: identity.machineId,
          fencingToken: next,
          ttlMs: o.ttlMs,
          owner: pair.publicKey,
          nonce,
          grantNonce: nonce,
          ...(o.comment ? { comment: o.comment } : {}),
        };
        return {
          write: { op: 'acquire', key, nonce, lease, exclusive: true },
          onClaimed: (ticket) => grantOf(key, ticket, false),
        };
      });
    },

    async renew(rawKey, o) {
      checkTtl(o.ttlMs);
      const key = normaliseKey(rawKey);
      const nonce = o.nonce ?? randomUUID();
      return transition(
        key,
        o.signal,
        (snap, state): Step<Grant> => {
          const earlier = replayed(snap, nonce, key);
          if (earlier?.record?.leases[key]) return { result: grantOf(key, earlier, true) };
          const own = ownLease(snap, key);
          if (!own) throw notHolder(key, state, o.fencingToken);
          if (o.fencingToken !== undefined && o.fencingToken !== own.lease.fencingToken) {
            throw new LockError(
              'STALE_TOKEN',
              `Fencing token ${o.fencingToken} is stale: the current grant of ${what(key)} is ${own.lease.fencingToken}; acquire the lock again.`,
              { key, fencingToken: o.fencingToken },
            );
          }
          const lease: TableLease = {
            ...own.lease,
            ttlMs: o.ttlMs,
            nonce,
            acquiredAt:
              own.lease.acquiredAt ?? new Date(snap.effective?.committedAt ?? Date.now()).toISOString(),
          };
          delete (lease as { renewedAt?: string }).renewedAt;
          return {
            write: { op: 'renew', key, nonce, lease, sign: { privateKey: own.privateKey, lease } },
            onClaimed: (ticket) => grantOf(key, ticket, true),
          };
        },
        true,
      );
    },

    release(rawKey, o = {}) {
      const key = normaliseKey(rawKey);
      const nonce = o.nonce ?? randomUUID();
      return transition(
        key,
        o.signal,
        (snap, state): Step<{ released: boolean; previous: LockState }> => {
          if (replayed(snap, nonce)) return { result: { released: true, previous: state } };
          if (state.state === 'unlocked' || state.state === 'broken')
            return { result: { released: false, previous: state } };
          const own = ownLease(snap, key);
          if (!own || (o.fencingToken !== undefined && o.fencingToken !== own.lease.fencingToken)) {
            if (own) {
              throw new LockError(
                'STALE_TOKEN',
                `Fencing token ${o.fencingToken} is stale: the current grant of ${what(key)} is ${own.lease.fencingToken}.`,
                { key, ...(o.fencingToken !== undefined ? { fencingToken: o.fencingToken } : {}) },
              );
            }
            throw notHolder(key, state, o.fencingToken);
          }
          return {
            write: {
              op: 'release',
              key,
              nonce,
              lease: null,
              last: own.lease.holder,
              sign: { privateKey: own.privateKey, lease: own.lease },
            },
            onClaimed: () => {
              keys.delete(own.lease.lockId);
              return { released: true, previous: state };
            },
          };
        },
        true,
      );
    },

    async status(rawKey, o = {}) {
      const key = normaliseKey(rawKey);
      const snap = await read(o.signal);
      const state = tableState(key, snap.effective, snap.serverNow, me);
      // Someone else's live lock on a folder around this key, or inside it, holds this key too:
      // say so (the lease names its own key), as acquire and the push guard would.
      if (state.state !== 'held-by-you' && state.state !== 'held-by-other' && state.state !== 'corrupt') {
        const [blocker] = blockers(key, snap.effective, snap.serverNow, me);
        if (blocker) return { state: 'held-by-other', key, lease: blocker, serverNow: snap.serverNow };
      }
      return { ...state, serverNow: snap.serverNow };
    },

    async list(o = {}) {
      const snap = await read(o.signal);
      const r = snap.effective?.record;
      if (snap.effective && !r) return [tableState('.', snap.effective, snap.serverNow, me)];
      if (!r) return [];
      const all = new Set([...Object.keys(r.leases), ...Object.keys(r.breaks)]);
      return [...all].sort().map((k) => tableState(k, snap.effective, snap.serverNow, me));
    },

    async blockers(rawKey, o = {}) {
      const key = normaliseKey(rawKey);
      const snap = await read(o.signal);
      if (snap.effective && !snap.effective.record) {
        throw corrupt(key, {
          state: 'corrupt',
          key,
          ticket: snap.effective.ticket,
          ...(snap.effective.author ? { writtenBy: snap.effective.author } : {}),
        });
      }
      return blockers(key, snap.effective, snap.serverNow, me);
    },

    break(rawKey, o) {
      const key = normaliseKey(rawKey);
      const nonce = o.nonce ?? randomUUID();
      return transition(key, o.signal, (snap, state): Step<{ broken: boolean; previous: LockState }> => {
        const r = snap.effective?.record;
        if (r?.nonce === nonce && r.op === 'break') return { result: { broken: true, previous: state } };
        const corruptTop = snap.effective !== undefined && !r;
        if (!corruptTop && (state.state === 'unlocked' || state.state === 'broken'))
          return { result: { broken: false, previous: state } };
        if ((state.state === 'held-by-other' || state.state === 'held-by-you') && !o.force) {
          throw new LockError(
            'HELD',
            `The lock on ${what(key)} is live (held by ${state.lease.holder} until ${state.lease.expiresAt}); pass --force to break it anyway.`,
            {
              key,
              holder: state.lease.holder,
              acquiredAt: state.lease.acquiredAt,
              expiresAt: state.lease.expiresAt,
            },
          );
        }
        if (corruptTop && !o.force) throw corrupt(key, state as Extract<LockState, { state: 'corrupt' }>);
        const previous = snap.base?.record?.leases[key];
        // Breaking a corrupt table starts a fresh one; the previous holder's note says who and why.
        const write: Draft = {
          op: 'break',
          key,
          nonce,
          lease: null,
          ...(previous
            ? {
                breakNote: {
                  by: identity.holder,
                  previousHolder: previous.holder,
                  previousMachineId: previous.machineId,
                  ...(o.reason ? { reason: o.reason.slice(0, 500) } : {}),
                },
                last: previous.holder,
              }
            : {}),
        };
        return {
          write,
          onClaimed: () => ({ broken: true, previous: state }),
        };
      });
    },

    async verify(rawKey, fencingToken, o = {}) {
      const state = await manager.status(rawKey, o);
      return { valid: state.state === 'held-by-you' && state.lease.fencingToken === fencingToken, state };
    },

    async assertFencing(rawKey, fencingToken, o = {}) {
      const key = normaliseKey(rawKey);
      const { valid, state } = await manager.verify(key, fencingToken, o);
      if (valid && state.state === 'held-by-you') return state.lease;
      const current =
        state.state === 'held-by-you' || state.state === 'held-by-other'
          ? ` (current grant: ${state.lease.fencingToken})`
          : '';
      throw new LockError(
        'STALE_TOKEN',
        `Fencing token ${fencingToken} for ${what(key)} is no longer the current grant${current}; the lock was ${state.state.replace(/-/g, ' ')}. Acquire it again before pushing.`,
        { key, fencingToken },
      );
    },

    idle: () => background,
  };
  return manager;
}

/** Throws INVALID_TTL unless `ttlMs` is a whole number of ms between a second and 30 days. */
function checkTtl(ttlMs: number) {
  if (!Number.isInteger(ttlMs) || ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS) {
    throw new LockError(
      'INVALID_TTL',
      `A lease must last a whole number of milliseconds from ${MIN_TTL_MS} (a second) to ${MAX_TTL_MS} (30 days); got ${ttlMs}.`,
    );
  }
}

/** How a key reads in a message. */
const what = (key: string) => (key === '.' ? 'this project' : key);

export { overlaps };
