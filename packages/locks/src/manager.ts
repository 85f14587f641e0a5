import { randomUUID } from 'node:crypto';
import { type Branch, type Commit, compareVersions, OxenError, type OxenHub } from '@oxvcs/oxen';
import { retry } from '@oxvcs/retry';
import { LockError } from './errors.js';
import { keyFromSlug, keySlug, normaliseKey, parseTicketBranch, TICKET_ROOT, ticketBranch } from './key.js';
import {
  cleanText,
  type Identity,
  type Lease,
  type LockRecord,
  type LockState,
  leaseOf,
  leaseOver,
  lockState,
  MAX_ID,
  parseRecord,
  RECORD_SCHEMA,
  type Ticket,
} from './record.js';

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
  | { readonly type: 'cleanup'; readonly key: string; readonly deleted: number }
  /** The repository has no `main`: the scratch branch forks from `base` instead (claims cost more). */
  | { readonly type: 'no-main-branch'; readonly base: string }
  /** Two uploads to our scratch branch overlapped (409 "Workspace is behind"); retried. */
  | { readonly type: 'upload-conflict'; readonly attempt: number };

/** Options of {@link createLockManager}. */
export interface LockManagerOptions {
  readonly hub: OxenHub;
  readonly identity: Identity;
  /** @default '0.50.4' */
  readonly minServerVersion?: string;
  /** Keep at most this many tickets per key before old ones are deleted (never the top two). @default 6 */
  readonly keepTickets?: number;
  /**
   * Old tickets are deleted only once the lock's top ticket is this old on the server's commit
   * clock, so no claim still in flight can re-create a deleted ticket (see the README's safety
   * argument). @default 600000 (10 minutes)
   */
  readonly cleanupHorizonMs?: number;
  /**
   * A won claim is trusted as is only when it took less than this since the read it was based
   * on (wall clock or monotonic, whichever is longer: a laptop asleep mid-claim counts); slower
   * ones are confirmed by checking that no higher ticket exists. Must stay well under
   * `cleanupHorizonMs`. @default 60000
   */
  readonly claimTrustMs?: number;
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
  list(options?: LockCallOptions): Promise<LockState[]>;
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
}

interface Snapshot {
  branches: Branch[];
  tickets: Array<{ branch: string; ticket: number; commitId: string }>;
  top?: Ticket;
  /** The server's clock from its `Date` header; undefined when it sent none (then nothing expires). */
  serverNow: number | undefined;
}

/** Creates a {@link LockManager} over a hub. */
export function createLockManager(options: LockManagerOptions): LockManager {
  const { hub, identity } = options;
  const minVersion = options.minServerVersion ?? MIN_SERVER_VERSION;
  const keep = Math.max(2, options.keepTickets ?? 6);
  const horizon = options.cleanupHorizonMs ?? 600_000;
  const claimTrust = Math.min(options.claimTrustMs ?? 60_000, horizon / 2);
  const emit = options.onEvent ?? (() => {});
  const scratchPrefix = `${SCRATCH_ROOT}/${identity.machineId.replace(/[^A-Za-z0-9-]/g, '-')}`;
  let versionChecked = false;

  const checkVersion = async (signal?: AbortSignal) => {
    if (versionChecked) return;
    // Oxen Hub may leave out the `oxen-version` header: ask `/api/version`'s body before refusing.
    const version = hub.lastServer.version ?? (await hub.version(signal ? { signal } : {}).catch(() => ''));
    if (!version || compareVersions(version, minVersion) < 0) {
      throw new LockError(
        'SERVER_TOO_OLD',
        `${hub.remote.origin} runs oxen-server ${version ?? '(unknown)'}, but locks need ${minVersion} or newer (atomic branch creation); upgrade the server.`,
      );
    }
    versionChecked = true;
  };

  const read = async (key: string, signal?: AbortSignal): Promise<Snapshot> => {
    const o = signal ? { signal } : {};
    const branches = await hub.listBranches(o);
    await checkVersion(signal);
    const slug = keySlug(key);
    const tickets = branches
      .map((b) => ({ b, t: parseTicketBranch(b.name) }))
      .filter((x) => x.t?.slug === slug)
      .map((x) => ({ branch: x.b.name, ticket: x.t!.ticket, commitId: x.b.commit_id }))
      .sort((a, b) => b.ticket - a.ticket);
    const head = tickets[0];
    if (!head) return { branches, tickets, serverNow: hub.lastServer.date };
    const commit = await hub.getCommit(head.commitId, o);
    const top = ticketOf(head.ticket, head.branch, head.commitId, commit);
    return { branches, tickets, top, serverNow: hub.lastServer.date };
  };

  /** A ticket as read: its record validated (see parseRecord), its commit time, its author. */
  const ticketOf = (ticket: number, branch: string, commitId: string, commit: Commit): Ticket => {
    const record = typeof commit.message === 'string' ? parseRecord(commit.message) : undefined;
    const author = typeof commit.author === 'string' ? cleanText(commit.author).slice(0, MAX_ID) : '';
    return {
      ticket,
      branch,
      commitId,
      committedAt: typeof commit.timestamp === 'string' ? Date.parse(commit.timestamp) : Number.NaN,
      ...(record ? { record } : {}),
      ...(author ? { author } : {}),
    };
  };

  const mine = (r: LockRecord | undefined) =>
    r?.holder === identity.holder && r?.machineId === identity.machineId;

  /** The branch our scratch branch forks from: `main`, else (with an event) the first other user branch. */
  const baseOf = (branches: readonly Branch[], key: string): Branch => {
    const main = branches.find((b) => b.name === 'main');
    if (main) return main;
    const other = branches
      .filter((b) => !b.name.startsWith(`${TICKET_ROOT}/`) && !b.name.startsWith(`${SCRATCH_ROOT}/`))
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

  /** Our scratch branches: `oxvcs-scratch/<machine>.<base commit>` (and the older `oxvcs-scratch/<machine>`). */
  const ourScratches = (branches: readonly Branch[]) =>
    branches.filter((b) => b.name === scratchPrefix || b.name.startsWith(`${scratchPrefix}.`));

  /**
   * The scratch branch a claim writes its record on. Its name carries the commit it forked from.
   * A new lease forks afresh when `main` has moved since (renewals and releases keep the
   * session's branch), so the server's verification of each ticket (since oxen-server 0.51.3,
   * everything the ticket's commit has that `main` lacks) stays small.
   *
   * It is created with the atomic `POST /branches {new_name, commit_id}`, which the server
   * verifies only against `main` (an empty diff here); a branch-creating `PUT` would verify every
   * object of the whole tree, minutes on a big repository of audio. "Already exists" means
   * another process of ours made it: fine. An ambiguous answer is settled by reading it back.
   */
  const scratchFor = async (
    branches: readonly Branch[],
    key: string,
    fresh: boolean,
    o: { signal?: AbortSignal },
  ): Promise<string> => {
    const existing = ourScratches(branches);
    const base = baseOf(branches, key);
    const wanted = `${scratchPrefix}.${base.commit_id.slice(0, 16)}`;
    if (existing.some((b) => b.name === wanted)) return wanted;
    if (!fresh && existing[0]) return existing[0].name;
    try {
      await hub.createBranchFromCommit(wanted, base.commit_id, o);
    } catch (error) {
      if (error instanceof OxenError && error.code === 'BRANCH_EXISTS') return wanted;
      if (!(error instanceof OxenError) || !['NETWORK', 'TIMEOUT', 'SERVER_ERROR'].includes(error.code))
        throw error;
      if (!(await hub.findBranch(wanted, o).catch(() => undefined))) throw error;
    }
    return wanted;
  };

  /**
   * Commits the record on a scratch branch. The file's bytes are unique per attempt (a salt
   * beside the record), so a retry after a lost answer never re-uploads identical bytes (which
   * the real server refuses with 422 "No changes to commit"); the commit message, which is what
   * every client reads, is the record itself, nonce included. Two of our processes uploading at
   * once can get 409 "Workspace is behind": the loser tries again. A scratch branch deleted
   * meanwhile (our own clean-up in another process) is forked again.
   */
  const upload = async (
    text: string,
    target: string,
    branches: readonly Branch[],
    key: string,
    o: { signal?: AbortSignal },
  ) => {
    let branch = target;
    for (let attempt = 1; ; attempt++) {
      const file = `${JSON.stringify({ record: JSON.parse(text) as unknown, attempt: randomUUID() })}\n`;
      try {
        const commit = await hub.uploadFile(
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
        return { commit, branch };
      } catch (error) {
        if (!(error instanceof OxenError) || attempt >= 4) throw error;
        if (error.code === 'NOT_FOUND' || error.code === 'BRANCH_NOT_FOUND') {
          branch = await scratchFor(
            branches.filter((b) => b.name !== branch),
            key,
            true,
            o,
          );
          continue;
        }
        if (error.code !== 'CONFLICT' && error.code !== 'NOTHING_TO_COMMIT') throw error;
        emit({ type: 'upload-conflict', attempt });
        await new Promise((r) => setTimeout(r, 25 * attempt + Math.floor(Math.random() * 50)));
      }
    }
  };

  /** Prepares the record on our scratch branch, then claims ticket N+1 with the atomic create. */
  const claim = async (
    key: string,
    snap: Snapshot,
    record: Omit<LockRecord, 'schema' | 'key' | 'holder' | 'machineId' | 'fencingToken'> & {
      fencingToken?: number;
    },
    signal?: AbortSignal,
    takeover?: boolean,
  ): Promise<{ won: true; ticket: Ticket; scratch: string } | { won: false }> => {
    const o = signal ? { signal } : {};
    const next = (snap.top?.ticket ?? 0) + 1;
    const target = await scratchFor(snap.branches, key, record.op === 'acquire', o);
    const full: LockRecord = {
      schema: RECORD_SCHEMA,
      key,
      holder: identity.holder,
      machineId: identity.machineId,
      ...record,
      fencingToken: record.fencingToken ?? next,
    };
    const text = JSON.stringify(full);
    const { commit, branch: scratch } = await upload(text, target, snap.branches, key, o);
    const top = snap.top;
    if (takeover && top?.record && !leaseOver({ ...top, record: top.record }, Date.parse(commit.timestamp))) {
      // The lease looked over by the `Date` header, but not on the clock that stamps commits
      // (a proxy or a second node with its own clock): it is live. Never take it over.
      throw heldError(key, leaseOf(key, { ...top, record: top.record }));
    }
    const name = ticketBranch(key, next);
    const ticket: Ticket = {
      ticket: next,
      branch: name,
      commitId: commit.id,
      committedAt: Date.parse(commit.timestamp),
      record: full,
    };
    try {
      await hub.createBranchFromCommit(name, commit.id, o);
      return { won: true, ticket, scratch };
    } catch (error) {
      if (error instanceof OxenError && error.code === 'BRANCH_EXISTS') {
        emit({ type: 'race-lost', key, ticket: next });
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
      emit({ type: 'ambiguous-claim', key, ticket: next, won });
      if (existing === undefined) throw error;
      return won ? { won: true, ticket, scratch } : { won: false };
    }
  };

  /** True when no ticket of `key` above `ticket` exists (a slow claim's confirmation). */
  const stillTop = async (key: string, ticket: number, signal?: AbortSignal) => {
    const slug = keySlug(key);
    const branches = await hub.listBranches(signal ? { signal } : {});
    return !branches.some((b) => {
      const t = parseTicketBranch(b.name);
      return t?.slug === slug && t.ticket > ticket;
    });
  };

  /**
   * After a won claim: our scratch branches from earlier sessions go, and old tickets go once the
   * lock has been quiet. A claim for ticket T is based on a read of T-1 as the top, made before T
   * existed; T+1's record was uploaded after T existed, and every later top's after that. So when
   * the previous top's commit is older than the horizon (on the commit clock, measured by our own
   * new commit), every ticket up to the previous top was created more than the horizon ago, and
   * any claim based on reading one of them began more than the horizon ago: longer than any
   * client trusts a claim (claimTrustMs). Deleting them can never let a late claim re-create a
   * ticket and be believed.
   */
  const cleanup = async (key: string, snap: Snapshot, claimed: Ticket, scratch: string) => {
    for (const old of ourScratches(snap.branches)) {
      if (old.name !== scratch) await hub.deleteBranch(old.name).catch(() => {});
    }
    const newTop = claimed.ticket;
    const all = [...snap.tickets.map((t) => t.ticket), newTop].sort((a, b) => b - a);
    if (all.length <= keep || !snap.top) return;
    if (!(claimed.committedAt - snap.top.committedAt > horizon)) return;
    const doomed = snap.tickets.filter((t) => t.ticket <= newTop - 2);
    let deleted = 0;
    for (const t of doomed) {
      try {
        await hub.deleteBranch(t.branch);
        deleted++;
      } catch {
        // Best effort: a ticket left behind costs a list entry, never correctness.
      }
    }
    emit({ type: 'cleanup', key, deleted });
  };

  const heldError = (key: string, lease: Lease) =>
    new LockError(
      'HELD',
      `The lock on ${key === '.' ? 'this project' : key} is held by ${lease.holder} since ${lease.acquiredAt} until ${lease.expiresAt}${
        lease.comment ? ` ("${lease.comment}")` : ''
      }; ask them to release it, or wait until it expires.`,
      {
        key,
        holder: lease.holder,
        machineId: lease.machineId,
        acquiredAt: lease.acquiredAt,
        expiresAt: lease.expiresAt,
        fencingToken: lease.fencingToken,
        ...(lease.comment ? { comment: lease.comment } : {}),
      },
    );

  const lostError = (key: string, state: LockState, fencingToken?: number) => {
    const what = key === '.' ? 'this project' : key;
    const token = fencingToken === undefined ? {} : { fencingToken };
    switch (state.state) {
      case 'broken':
        return new LockError(
          'LOST',
          `Your lock on ${what} was broken by ${state.brokenBy}${state.reason ? `: ${state.reason}` : ''}; acquire it again before editing.`,
          {
            key,
            brokenBy: state.brokenBy,
            ...(state.reason ? { reason: state.reason } : {}),
            ...token,
          },
        );
      case 'held-by-other':
      case 'expired':
        return new LockError(
          'LOST',
          `Your lock on ${what} was taken over by ${state.lease.holder}; your changes must wait until you hold it again.`,
          {
            key,
            holder: state.lease.holder,
            acquiredAt: state.lease.acquiredAt,
            expiresAt: state.lease.expiresAt,
            ...token,
          },
        );
      default:
        return new LockError(
          'LOST',
          `You no longer hold the lock on ${what} (it is ${state.state.replace(/-/g, ' ')}); acquire it again.`,
          {
            key,
            ...token,
          },
        );
    }
  };

  const grantOf = (key: string, ticket: Ticket, alreadyHeld: boolean): Grant => ({
    ...leaseOf(key, ticket as Ticket & { record: LockRecord }),
    alreadyHeld,
  });

  type Draft = Parameters<typeof claim>[2];
  /** What one round decides: a result with nothing to write, or a record to claim and what to return then. */
  type Step<R> =
    | { readonly result: R }
    | {
        readonly write: Draft;
        readonly onClaimed: (ticket: Ticket) => R;
        /** Takes over someone else's lapsed lease: confirmed on the commit clock before claiming. */
        readonly takeover?: boolean;
      };

  /**
   * Every change to a lock is the same loop: read the top ticket, decide, claim the next ticket.
   * Losing the race to another client re-reads and decides again.
   */
  const transition = async <R>(
    key: string,
    signal: AbortSignal | undefined,
    decide: (snap: Snapshot, state: LockState) => Step<R>,
  ): Promise<R> => {
    for (let round = 0; round < 8; round++) {
      const wallAt = Date.now();
      const monoAt = performance.now();
      const snap = await read(key, signal);
      const step = decide(snap, lockState(key, snap.top, snap.serverNow, identity));
      if ('result' in step) return step.result;
      const claimed = await claim(key, snap, step.write, signal, step.takeover);
      if (!claimed.won) continue;
      const took = Math.max(Date.now() - wallAt, performance.now() - monoAt);
      if (took > claimTrust && !(await stillTop(key, claimed.ticket.ticket, signal))) {
        emit({ type: 'race-lost', key, ticket: claimed.ticket.ticket });
        continue;
      }
      await cleanup(key, snap, claimed.ticket, claimed.scratch);
      return step.onClaimed(claimed.ticket);
    }
    const snap = await read(key, signal);
    const state = lockState(key, snap.top, snap.serverNow, identity);
    if (state.state === 'held-by-other') throw heldError(key, state.lease);
    throw new LockError('HELD', `The lock on ${key} is heavily contended; try again in a moment.`, { key });
  };

  /** The top ticket, when an earlier attempt of this very operation (same nonce) wrote it. */
  const replayed = (snap: Snapshot, nonce: string) =>
    snap.top?.record?.nonce === nonce && mine(snap.top.record) ? snap.top : undefined;

  /** Your lease, live or lapsed but not taken over. */
  const ownLease = (state: LockState) =>
    state.state === 'held-by-you' || (state.state === 'expired' && state.yours) ? state.lease : undefined;

  const manager: LockManager = {
    acquire(rawKey, o) {
      const key = normaliseKey(rawKey);
      const nonce = o.nonce ?? randomUUID();
      return transition(key, o.signal, (snap, state): Step<Grant> => {
        const earlier = replayed(snap, nonce);
        if (earlier) return { result: grantOf(key, earlier, false) };
        // Without a server clock (no `Date` header) a lease is never judged over from a read; the
        // commit clock of our prepared record decides instead (see claim's takeover check).
        const unclocked = state.state === 'held-by-other' && snap.serverNow === undefined;
        if (state.state === 'held-by-other' && !unclocked) throw heldError(key, state.lease);
        if (state.state === 'corrupt') {
          throw new LockError(
            'CORRUPT_RECORD',
            `The lock record on ticket ${state.ticket} for ${key === '.' ? 'this project' : key}${state.writtenBy ? ` (written by ${state.writtenBy})` : ''} is invalid; replace it with \`oxenvcs lock break --force\`.`,
            { key, ticket: String(state.ticket), ...(state.writtenBy ? { writtenBy: state.writtenBy } : {}) },
          );
        }
        if (state.state === 'held-by-you') {
          // Re-acquiring your own live lock extends it, keeping its fencing token.
          const lease = state.lease;
          const comment = o.comment ?? lease.comment;
          return {
            write: {
              lockId: lease.lockId,
              op: 'renew',
              ttlMs: o.ttlMs,
              acquiredAt: lease.acquiredAt,
              fencingToken: lease.fencingToken,
              nonce,
              ...(comment ? { comment } : {}),
            },
            onClaimed: (ticket) => grantOf(key, ticket, true),
          };
        }
        return {
          write: {
            lockId: randomUUID(),
            op: 'acquire',
            ttlMs: o.ttlMs,
            nonce,
            ...(o.comment ? { comment: o.comment } : {}),
          },
          onClaimed: (ticket) => grantOf(key, ticket, false),
          takeover: unclocked || (state.state === 'expired' && !state.yours),
        };
      });
    },

    renew(rawKey, o) {
      const key = normaliseKey(rawKey);
      const nonce = o.nonce ?? randomUUID();
      return transition(key, o.signal, (snap, state): Step<Grant> => {
        const earlier = replayed(snap, nonce);
        if (earlier) return { result: grantOf(key, earlier, true) };
        const lease = ownLease(state);
        if (!lease) throw lostError(key, state, o.fencingToken);
        if (o.fencingToken !== undefined && o.fencingToken !== lease.fencingToken) {
          throw new LockError(
            'STALE_TOKEN',
            `Fencing token ${o.fencingToken} is stale: the current grant of ${key} is ${lease.fencingToken}; acquire the lock again.`,
            { key, fencingToken: o.fencingToken },
          );
        }
        return {
          write: {
            lockId: lease.lockId,
            op: 'renew',
            ttlMs: o.ttlMs,
            acquiredAt: lease.acquiredAt,
            fencingToken: lease.fencingToken,
            nonce,
            ...(lease.comment ? { comment: lease.comment } : {}),
          },
          onClaimed: (ticket) => grantOf(key, ticket, true),
        };
      });
    },

    release(rawKey, o = {}) {
      const key = normaliseKey(rawKey);
      const nonce = o.nonce ?? randomUUID();
      return transition(key, o.signal, (snap, state): Step<{ released: boolean; previous: LockState }> => {
        if (replayed(snap, nonce)) return { result: { released: true, previous: state } };
        if (state.state === 'unlocked' || state.state === 'broken')
          return { result: { released: false, previous: state } };
        const lease = ownLease(state);
        if (!lease || (o.fencingToken !== undefined && o.fencingToken !== lease.fencingToken)) {
          throw lostError(key, state, o.fencingToken);
        }
        return {
          write: { lockId: lease.lockId, op: 'release', ttlMs: 0, fencingToken: lease.fencingToken, nonce },
          onClaimed: () => ({ released: true, previous: state }),
        };
      });
    },

    async status(rawKey, o = {}) {
      const key = normaliseKey(rawKey);
      const snap = await read(key, o.signal);
      return { ...lockState(key, snap.top, snap.serverNow, identity), serverNow: snap.serverNow };
    },

    async list(o = {}) {
      const branches = await hub.listBranches(o.signal ? { signal: o.signal } : {});
      await checkVersion(o.signal);
      const tops = new Map<string, Branch & { ticket: number }>();
      for (const b of branches) {
        const t = parseTicketBranch(b.name);
        if (!t) continue;
        const current = tops.get(t.slug);
        if (!current || current.ticket < t.ticket) tops.set(t.slug, { ...b, ticket: t.ticket });
      }
      const states: LockState[] = [];
      for (const [slug, top] of tops) {
        // The key is the one the branch encodes, never what a record claims.
        const key = keyFromSlug(slug);
        if (key === undefined) continue;
        const commit = await hub.getCommit(top.commit_id, o.signal ? { signal: o.signal } : {});
        const ticket = ticketOf(top.ticket, top.name, top.commit_id, commit);
        states.push(lockState(key, ticket, hub.lastServer.date, identity));
      }
      return states;
    },

    break(rawKey, o) {
      const key = normaliseKey(rawKey);
      const nonce = o.nonce ?? randomUUID();
      return transition(key, o.signal, (snap, state): Step<{ broken: boolean; previous: LockState }> => {
        if (snap.top?.record?.nonce === nonce && snap.top.record.op === 'break')
          return { result: { broken: true, previous: state } };
        if (state.state === 'unlocked' || state.state === 'broken')
          return { result: { broken: false, previous: state } };
        if ((state.state === 'held-by-other' || state.state === 'held-by-you') && !o.force) {
          throw new LockError(
            'HELD',
            `The lock on ${key === '.' ? 'this project' : key} is live (held by ${state.lease.holder} until ${state.lease.expiresAt}); pass --force to break it anyway.`,
            {
              key,
              holder: state.lease.holder,
              acquiredAt: state.lease.acquiredAt,
              expiresAt: state.lease.expiresAt,
            },
          );
        }
        const previous = state.state === 'corrupt' ? undefined : state.lease;
        return {
          write: {
            lockId: previous?.lockId ?? randomUUID(),
            op: 'break',
            ttlMs: 0,
            nonce,
            ...(previous ? { previousHolder: previous.holder, previousMachineId: previous.machineId } : {}),
            ...(o.reason ? { reason: o.reason } : {}),
          },
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
        `Fencing token ${fencingToken} for ${key === '.' ? 'this project' : key} is no longer the current grant${current}; the lock was ${state.state.replace(/-/g, ' ')}. Acquire it again before pushing.`,
        { key, fencingToken },
      );
    },
  };
  return manager;
}
