// A neutral domain for the queue's tests: a booking system. Each operation belongs to a project and
// talks to a booking server (a lane is a project and its server). `reserve` takes a seat, the slot
// that `extend`, `cancel` and a `send` naming the seat need; `fetch` reads a list and needs nothing.
// The rules reproduce every mechanism the queue offers: priority between lanes, a prerequisite
// (provides/requires), supersession of pending entries and of the new one, an incoming entry stored
// expired, and the facts of a failure worth keeping.
import { shortId } from '../plan.js';
import type { EnqueueRule, QueueEntry, QueueRules } from '../types.js';

/** Where a booking operation belongs and what it talks to. */
interface BookingBase {
  /** The project (an event, say) the booking belongs to: the scope. */
  readonly project: string;
  /** The booking server's URL: the target. */
  readonly server: string;
}

/** Hold `seat` for `guest` for `holdMs`: provides the seat to what follows in the lane. */
export interface ReserveOp extends BookingBase {
  readonly kind: 'reserve';
  readonly seat: string;
  readonly holdMs: number;
  readonly guest: string;
  readonly note?: string;
}
/** Give the seat back; `ticket` when the reservation's ticket was known at enqueue time. */
export interface CancelOp extends BookingBase {
  readonly kind: 'cancel';
  readonly seat: string;
  readonly guest: string;
  readonly ticket?: number;
}
/** Keep the seat longer; pointless once the hold being extended has ended (`until`). */
export interface ExtendOp extends BookingBase {
  readonly kind: 'extend';
  readonly seat: string;
  readonly guest: string;
  readonly holdMs: number;
  readonly ticket?: number;
  /** ISO time the hold being extended ends; after it the extension is stored expired. */
  readonly until?: string;
}
/** Send a confirmation to `to`; about `seat` (then it needs that reservation) when given. */
export interface SendOp extends BookingBase {
  readonly kind: 'send';
  readonly to: string;
  readonly seat?: string;
  readonly ticket?: number;
}
/** Read a list from the server (the menu, the seating plan). */
export interface FetchOp extends BookingBase {
  readonly kind: 'fetch';
  readonly list: string;
}

export type BookingOp = ReserveOp | CancelOp | ExtendOp | SendOp | FetchOp;
export type BookingEntry = QueueEntry<BookingOp>;

/** Seat operations run before the others between lanes. */
const SEAT_PRIORITY = 100;

const isSeatOp = (op: BookingOp): op is ReserveOp | CancelOp | ExtendOp =>
  op.kind === 'reserve' || op.kind === 'cancel' || op.kind === 'extend';

/** Facts of a failure worth keeping with a dead-lettered entry. */
const FACT_KEYS = ['guest', 'until', 'note', 'status'] as const;

/** A cancel meeting its still-pending reserve: neither runs; pending extends of that seat go too. */
function cancelRule(incoming: QueueEntry<CancelOp>, lane: readonly BookingEntry[]): EnqueueRule | undefined {
  const seat = incoming.operation.seat;
  const sameSeat = (kind: BookingOp['kind']) =>
    lane.filter(
      (e) =>
        e.status === 'pending' &&
        e.operation.kind === kind &&
        'seat' in e.operation &&
        e.operation.seat === seat,
    );
  const reserves = sameSeat('reserve');
  const first = reserves[0];
  if (!first) return undefined;
  return {
    outcome: 'cancelled',
    supersede: {
      ids: [...reserves, ...sameSeat('extend')].map((e) => e.id),
      reason: { code: 'cancelled', facts: { by: shortId(incoming.id) } },
    },
    incoming: {
      status: 'superseded',
      supersededBy: first.id,
      reason: { code: 'cancelled-with-reserve', facts: { entry: shortId(first.id) } },
    },
  };
}

/** An extend whose hold has already ended is stored expired. */
function extendRule(incoming: QueueEntry<ExtendOp>, now: number): EnqueueRule | undefined {
  const until = incoming.operation.until;
  if (!until || Date.parse(until) > now) return undefined;
  return {
    outcome: 'expired',
    incoming: { status: 'expired', reason: { code: 'hold-ended', facts: { at: until } } },
  };
}

/** A fetch identical to the last entry of its lane, still pending, replaces it (one fetch, fresh). */
function fetchRule(incoming: QueueEntry<FetchOp>, lane: readonly BookingEntry[]): EnqueueRule | undefined {
  const last = lane.findLast((e) => e.status !== 'superseded');
  if (last?.status !== 'pending' || last.operation.kind !== 'fetch') return undefined;
  if (last.operation.list !== incoming.operation.list) return undefined;
  return {
    outcome: 'collapsed',
    supersede: { ids: [last.id], reason: { code: 'replaced', facts: { entry: shortId(incoming.id) } } },
  };
}

/** The queue's rules for bookings. */
export const BOOKING_RULES: QueueRules<BookingOp> = {
  scope: (op) => op.project,
  target: (op) => op.server,
  priority: (op) => (isSeatOp(op) ? SEAT_PRIORITY : 0),
  provides: (op) => (op.kind === 'reserve' ? op.seat : undefined),
  requires: (op) =>
    op.kind === 'cancel' || op.kind === 'extend' ? op.seat : op.kind === 'send' ? op.seat : undefined,
  onEnqueue(incoming, lane, now) {
    const op = incoming.operation;
    if (op.kind === 'cancel') return cancelRule(incoming as QueueEntry<CancelOp>, lane);
    if (op.kind === 'extend') return extendRule(incoming as QueueEntry<ExtendOp>, now);
    if (op.kind === 'fetch') return fetchRule(incoming as QueueEntry<FetchOp>, lane);
    return undefined;
  },
  errorFacts(error) {
    if (!error || typeof error !== 'object') return undefined;
    const facts: Record<string, unknown> = {};
    for (const key of FACT_KEYS) {
      const value = (error as Record<string, unknown>)[key];
      if (value !== undefined) facts[key] = value;
    }
    return facts;
  },
};
