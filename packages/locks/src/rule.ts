/**
 * The reading rule, pure: tickets in, verdicts and the table in force out (see the README,
 * "Reading rule"). The caller does the I/O.
 */
import { judgeLines, mayGrant } from './line.js';
import { checkProof } from './proof.js';
import {
  blockers,
  type ChainTicket,
  leaseEnded,
  overlaps,
  renewedAtOf,
  signedText,
  type TableRecord,
} from './table.js';

/**
 * The lock table's reading rule, as pure functions: tickets in, verdicts out; the caller does the
 * I/O. Every reader applies the same rule to the same tickets, so every reader, whatever it had
 * cached, derives the same table in force (see the README's "Reading rule").
 */

/** What one ticket is worth. */
export type TicketVerdict =
  /** A valid change of the table in force: it becomes the table in force. */
  | 'accepted'
  /** Decodable, but a change nobody could prove (a forged or unsigned release, a dropped live lease). */
  | 'rejected'
  /** Not a table this version can read (undecodable, too big, no commit time): the table reads as corrupt. */
  | 'corrupt';

/** What a reader knows after judging the chain up to ticket `verified`. */
export interface ChainState {
  /** Highest ticket judged; 0 before ticket 1 (the empty table). */
  readonly verified: number;
  /** The table in force: the last accepted ticket (or the anchor); undefined is the empty table. */
  readonly effective?: ChainTicket;
  /** An undecodable ticket above `effective` that no accepted ticket has superseded. */
  readonly corrupt?: ChainTicket;
}

/** The state before ticket 1: the empty table. */
export const GENESIS: ChainState = { verified: 0 };

const decodable = (t: ChainTicket): t is ChainTicket & { record: TableRecord } =>
  t.record !== undefined && Number.isFinite(t.committedAt);

/** The runs of consecutive ticket numbers, lowest first. */
export function runsOf(numbers: Iterable<number>): { lowest: number; top: number }[] {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const runs: { lowest: number; top: number }[] = [];
  for (const n of sorted) {
    const last = runs[runs.length - 1];
    if (last && n === last.top + 1) last.top = n;
    else runs.push({ lowest: n, top: n });
  }
  return runs;
}

/**
 * True when a run holds a ticket written by this reading rule (schema 3). The chain is the lowest
 * run that does; a run below it that does not is stranded (an older version's clean-up deleted
 * from the top down and could leave one) and is never read. When no run does (a repository no
 * client of this version has written yet), the chain is the highest run, as older versions read it.
 */
export function writtenByThisRule(run: readonly ChainTicket[]): boolean {
  return run.some((t) => (t.record?.schema ?? 0) >= 3);
}

/**
 * The state a reader starts from when the lowest ticket on the server is `lowest`: ticket 1 is
 * judged against the empty table; a higher lowest ticket is the anchor, taken as it is (clean-up
 * deletes a ticket only when the one above it was accepted, so the anchor always was).
 */
export function anchorAt(lowest: ChainTicket): ChainState {
  if (lowest.ticket === 1) return advance(GENESIS, [lowest]).state;
  return decodable(lowest)
    ? { verified: lowest.ticket, effective: lowest }
    : { verified: lowest.ticket, corrupt: lowest };
}

/**
 * Is `next` a valid change of the table in force (`base`; undefined: the empty table)? A schema 3
 * table names its base's chain time as its `floor`. Every lease
 * it adds, changes or removes must be explained by its own operation: an acquire adds the
 * writer's lease on its key (or takes over one that had ended by `next`'s time); an acquire or
 * renew never leaves someone else's live lease on an overlapping key; a renew, or an acquire extending your own lease, is
 * signed with the lease's key; a release is signed with it; a break leaves its note; a lease that
 * had ended may be dropped. A changed lease is renewed at `next`'s commit time (no `renewedAt` of
 * its own). Anything else is rejected, naming the key.
 */
export function judge(
  base: ChainTicket | undefined,
  next: ChainTicket,
): { readonly verdict: TicketVerdict; readonly key?: string } {
  if (!decodable(next)) return { verdict: 'corrupt' };
  const a: Pick<TableRecord, 'leases' | 'waiters'> = base?.record ?? { leases: {} };
  const at = base?.committedAt ?? 0;
  const b = next.record;
  const bad = (key: string) => ({ verdict: 'rejected' as const, key });
  // The chain's clock never runs back: a schema 3 table names the chain time of its base.
  if (b.schema >= 3 && b.floor !== base?.committedAt) return bad(b.key);
  for (const k of new Set([...Object.keys(a.leases), ...Object.keys(b.leases)])) {
    const la = a.leases[k];
    const lb = b.leases[k];
    const ended = la !== undefined && leaseEnded(la, at, next.committedAt);
    if (la && lb) {
      const same =
        la.lockId === lb.lockId &&
        la.owner === lb.owner &&
        la.holder === lb.holder &&
        la.machineId === lb.machineId &&
        la.fencingToken === lb.fencingToken &&
        la.ttlMs === lb.ttlMs &&
        la.comment === lb.comment &&
        renewedAtOf(la, at) === renewedAtOf(lb, next.committedAt);
      if (same) continue;
      const fresh = b.key === k && lb.renewedAt === undefined;
      const renewed =
        fresh &&
        (b.op === 'renew' || b.op === 'acquire') &&
        la.lockId === lb.lockId &&
        la.owner === lb.owner &&
        la.fencingToken === lb.fencingToken &&
        checkProof(la.owner, signedText(b, lb), b.sig);
      const takenOver = fresh && b.op === 'acquire' && ended && lb.fencingToken === next.ticket;
      if (!renewed && !takenOver) return bad(k);
    } else if (la && !lb) {
      const released = b.op === 'release' && b.key === k && checkProof(la.owner, signedText(b, la), b.sig);
      const broken = b.op === 'break' && b.key === k && b.breaks[k] !== undefined;
      if (!released && !broken && !ended) return bad(k);
    } else if (lb) {
      const acquired =
        b.op === 'acquire' &&
        b.key === k &&
        lb.renewedAt === undefined &&
        lb.holder === b.writer.holder &&
        lb.machineId === b.writer.machineId &&
        lb.fencingToken === next.ticket;
      if (!acquired) return bad(k);
    }
  }
  // A grant or renewal (of a lease that may have lapsed) must not overlap anyone else's live
  // lease (a folder inside, or one containing it).
  const extends_ = b.op === 'acquire' || (b.op === 'renew' && b.leases[b.key] !== undefined);
  if (extends_ && base && blockers(b.key, base, next.committedAt, b.writer).length > 0) return bad(b.key);
  // The line: every change to it explained by the ticket's operation, and first come, first
  // served: a new grant (not an extension of your own lease) goes only to the first live waiter
  // on an overlapping key, waiting on this key, or to anyone when nobody waits.
  const lineKey = judgeLines(a.waiters, at, {
    ticket: next.ticket,
    committedAt: next.committedAt,
    op: b.op,
    key: b.key,
    writer: b.writer,
    lines: b.waiters,
  });
  if (lineKey !== undefined) return bad(lineKey);
  const granted = b.op === 'acquire' && b.leases[b.key]?.fencingToken === next.ticket;
  if (granted && !mayGrant(b.writer, b.key, a.waiters, at, next.committedAt, overlaps)) return bad(b.key);
  return { verdict: 'accepted' };
}

/** One ticket's verdict, as {@link advance} reports it. */
export interface Judged {
  readonly ticket: ChainTicket;
  readonly verdict: TicketVerdict;
  /** For a rejected ticket: the key whose change nobody could prove. */
  readonly key?: string;
}

/**
 * Judges a run of tickets (ascending, contiguous, starting at `state.verified + 1`) in order, each
 * against the table in force before it: an accepted ticket becomes the table in force (and clears
 * a corrupt one below it); a rejected ticket is never a base; a corrupt one makes the table read
 * as corrupt until an accepted ticket supersedes it. Pure.
 */
export function advance(
  state: ChainState,
  run: readonly ChainTicket[],
): { readonly state: ChainState; readonly judged: readonly Judged[] } {
  let s = state;
  const judged: Judged[] = [];
  for (const ticket of run) {
    if (ticket.ticket !== s.verified + 1) break;
    const { verdict, key } = judge(s.effective, ticket);
    judged.push({ ticket, verdict, ...(key ? { key } : {}) });
    if (verdict === 'accepted') s = { verified: ticket.ticket, effective: ticket };
    else if (verdict === 'corrupt')
      s = { verified: ticket.ticket, ...(s.effective ? { effective: s.effective } : {}), corrupt: ticket };
    else s = { ...s, verified: ticket.ticket };
  }
  return { state: s, judged };
}

/**
 * The state of the chain as a reader derives it from the tickets on the server (`tickets`: every
 * ticket of the chain's run, ascending) and what it verified before (`cached`, or none). A cached
 * state is used when it lies inside the run (its ticket, or the one after it, is there), so the
 * reader judges only tickets it has not verified yet; otherwise the reader starts at the anchor.
 * Both give the same state (the README's argument). Pure.
 */
export function readChain(
  tickets: readonly ChainTicket[],
  cached?: ChainState,
): { readonly state: ChainState; readonly judged: readonly Judged[] } {
  const first = tickets[0];
  if (!first) return { state: cached ?? GENESIS, judged: [] };
  const top = tickets[tickets.length - 1] as ChainTicket;
  const usable = cached !== undefined && cached.verified >= first.ticket - 1 && cached.verified <= top.ticket;
  if (usable)
    return advance(
      cached,
      tickets.filter((t) => t.ticket > cached.verified),
    );
  const start = anchorAt(first);
  const rest = advance(start, tickets.slice(1));
  const anchor: Judged =
    first.ticket === 1
      ? (advance(GENESIS, [first]).judged[0] as Judged)
      : { ticket: first, verdict: start.corrupt ? 'corrupt' : 'accepted' };
  return { state: rest.state, judged: [anchor, ...rest.judged] };
}
