import { EXPIRY_MARGIN_MS, type Identity, isId, isTime } from './record.js';

/**
 * Waiting in line for a lock, as pure functions over the lock table. A waiter is a record in the
 * table (`waiters[key]`, in the order they joined), so everyone sees the line; it carries a short
 * lease of its own that the waiting process refreshes, so a waiter who gave up or whose machine
 * died leaves the line by itself within `leaseMs` (plus the expiry margin). The fairness rule is
 * part of the reading rule: a new grant on a key is accepted only when no live waiter on an
 * overlapping key stands in line, or when the first of them is the writer, waiting on that very key.
 */

/** Most waiters one key's line may hold. */
export const MAX_WAITERS = 50;
/** Shortest and longest waiter lease: how long a waiter stays in line without refreshing. */
export const MIN_WAITER_LEASE_MS = 10_000;
export const MAX_WAITER_LEASE_MS = 24 * 3_600_000;

/** One waiter in a key's line, as the table stores it. */
export interface TableWaiter {
  /** The wait's own id (the nonce of the ticket that added it): a refresh or a leave names it. */
  readonly id: string;
  readonly holder: string;
  readonly machineId: string;
  /** The ticket number that added this waiter: the line's order across every key. */
  readonly joined: number;
  /** How long the waiter stays in line after it was last seen (ms). */
  readonly leaseMs: number;
  /** Server time the waiter joined; absent: this ticket's commit time. */
  readonly since?: string;
  /** Server time the waiter last refreshed; absent: this ticket's commit time. */
  readonly seenAt?: string;
}

/** A waiter as callers see it: times absolute, its place in the line of the key asked about. */
export interface Waiter {
  /** The key the waiter waits for (it may be a folder around, or inside, the key asked about). */
  readonly key: string;
  readonly id: string;
  readonly holder: string;
  readonly machineId: string;
  /** Server time the waiter joined the line. */
  readonly since: string;
  /** Server time the waiter leaves the line unless it refreshes first. */
  readonly leavesAt: string;
  /** 1 for the first in line. */
  readonly position: number;
}

/** Waiters per key. */
export type Lines = Readonly<Record<string, readonly TableWaiter[]>>;

const iso = (ms: number) => new Date(ms).toISOString();
const id = isId;
const when = isTime;

/** Parses one key's line from a record (untrusted input), or undefined when it is not valid. */
export function parseLine(v: unknown): TableWaiter[] | undefined {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_WAITERS) return undefined;
  const out: TableWaiter[] = [];
  for (const w of v) {
    if (typeof w !== 'object' || w === null) return undefined;
    const x = w as Record<string, unknown>;
    const ok =
      id(x.id) &&
      id(x.holder) &&
      id(x.machineId) &&
      typeof x.joined === 'number' &&
      Number.isSafeInteger(x.joined) &&
      x.joined >= 1 &&
      typeof x.leaseMs === 'number' &&
      Number.isInteger(x.leaseMs) &&
      x.leaseMs >= MIN_WAITER_LEASE_MS &&
      x.leaseMs <= MAX_WAITER_LEASE_MS &&
      when(x.since) &&
      when(x.seenAt);
    if (!ok) return undefined;
    out.push({
      id: x.id as string,
      holder: x.holder as string,
      machineId: x.machineId as string,
      joined: x.joined as number,
      leaseMs: x.leaseMs as number,
      ...(x.since ? { since: x.since as string } : {}),
      ...(x.seenAt ? { seenAt: x.seenAt as string } : {}),
    });
  }
  // In the order they joined (a wait that lapsed and joined again is a new entry).
  if (out.some((w, i) => i > 0 && (out[i - 1] as TableWaiter).joined >= w.joined)) return undefined;
  return out;
}

/** When the waiter was last seen (ms), given the commit time of the ticket holding it. */
const seenOf = (w: TableWaiter, committedAt: number) => (w.seenAt ? Date.parse(w.seenAt) : committedAt);
const sinceOf = (w: TableWaiter, committedAt: number) => (w.since ? Date.parse(w.since) : committedAt);

/** True when the waiter has left the line by time `now` (it did not refresh in time; with the margin). */
export function waiterLapsed(w: TableWaiter, committedAt: number, now: number): boolean {
  return now >= seenOf(w, committedAt) + w.leaseMs + EXPIRY_MARGIN_MS;
}

const same = (a: Identity, b: Identity) => a.holder === b.holder && a.machineId === b.machineId;

/**
 * The line for `key` at time `now`: live waiters on `key` and on every overlapping key, in the
 * order they joined (first come, first served across keys, since a lock on a folder and one on a
 * file inside it exclude each other).
 */
export function lineFor(
  key: string,
  lines: Lines | undefined,
  committedAt: number,
  now: number,
  overlaps: (a: string, b: string) => boolean,
): Waiter[] {
  const all: { key: string; w: TableWaiter }[] = [];
  for (const [k, ws] of Object.entries(lines ?? {})) {
    if (!overlaps(k, key)) continue;
    for (const w of ws) if (!waiterLapsed(w, committedAt, now)) all.push({ key: k, w });
  }
  all.sort((a, b) => a.w.joined - b.w.joined);
  return all.map(({ key: k, w }, i) => ({
    key: k,
    id: w.id,
    holder: w.holder,
    machineId: w.machineId,
    since: iso(sinceOf(w, committedAt)),
    leavesAt: iso(seenOf(w, committedAt) + w.leaseMs),
    position: i + 1,
  }));
}

/**
 * The fairness rule: may `writer` be granted `key` at time `now`? Yes when nobody live waits on an
 * overlapping key, or when the first in that line is the writer, waiting on `key` itself. A later
 * waiter never overtakes an earlier one still waiting, and a caller who is not in line (a plain
 * acquire) does not jump an active line.
 */
export function mayGrant(
  writer: Identity,
  key: string,
  lines: Lines | undefined,
  committedAt: number,
  now: number,
  overlaps: (a: string, b: string) => boolean,
): boolean {
  const [first] = lineFor(key, lines, committedAt, now, overlaps);
  return first === undefined || (first.key === key && same(first, writer));
}

/** The lines carried into a new ticket: times made absolute; waiters lapsed at `committedAt` dropped. */
export function carryLines(
  lines: Lines | undefined,
  committedAt: number,
  keepAll = false,
): Record<string, TableWaiter[]> {
  const at = iso(committedAt);
  const out: Record<string, TableWaiter[]> = {};
  for (const [k, ws] of Object.entries(lines ?? {})) {
    const kept = ws
      .filter((w) => keepAll || !waiterLapsed(w, committedAt, committedAt))
      .map((w) => ({ ...w, since: w.since ?? at, seenAt: w.seenAt ?? at }));
    if (kept.length > 0) out[k] = kept;
  }
  return out;
}

/** What the ticket being judged says about itself, for {@link judgeLines}. */
export interface LineChange {
  readonly ticket: number;
  readonly committedAt: number;
  readonly op: string;
  readonly key: string;
  readonly writer: Identity;
  readonly lines: Lines | undefined;
}

/**
 * Is every change to the lines explained by the ticket's own operation? A waiter is added only by
 * a `wait` of its own writer on its key, at the end of the line, with the ticket's number as
 * `joined` and no times of its own; refreshed (no `seenAt`: the ticket's time) only by such a
 * `wait`; otherwise carried unchanged, in order. It leaves the line by a `wait` (leave) or an
 * `acquire` of its own writer on its key, or when it had lapsed by the ticket's time. Returns the
 * first key whose line changed in a way nobody can explain, or undefined.
 */
export function judgeLines(base: Lines | undefined, baseAt: number, next: LineChange): string | undefined {
  const a = base ?? {};
  const b = next.lines ?? {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const before = a[k] ?? [];
    const after = b[k] ?? [];
    const own = next.key === k && (next.op === 'wait' || next.op === 'acquire');
    const entry = (w: TableWaiter) => `${w.id}#${w.joined}`;
    const byId = new Map(before.map((w) => [entry(w), w]));
    // Survivors keep their order; at most one newcomer, at the end.
    let lastOld = -1;
    let added = 0;
    for (const [i, w] of after.entries()) {
      const old = byId.get(entry(w));
      if (!old) {
        const joins =
          next.op === 'wait' &&
          next.key === k &&
          same(w, next.writer) &&
          w.joined === next.ticket &&
          w.since === undefined &&
          w.seenAt === undefined &&
          i === after.length - 1;
        if (!joins || ++added > 1) return k;
        continue;
      }
      const idx = before.indexOf(old);
      if (idx <= lastOld) return k;
      lastOld = idx;
      const kept =
        old.holder === w.holder &&
        old.machineId === w.machineId &&
        old.joined === w.joined &&
        old.leaseMs === w.leaseMs &&
        sinceOf(old, baseAt) === sinceOf(w, next.committedAt);
      if (!kept) return k;
      const unchanged = seenOf(old, baseAt) === seenOf(w, next.committedAt);
      const refreshed =
        next.op === 'wait' && next.key === k && same(w, next.writer) && w.seenAt === undefined;
      if (!unchanged && !refreshed) return k;
      // A waiter who lapsed left the line: coming back means joining again, at the end.
      if (!unchanged && waiterLapsed(old, baseAt, next.committedAt)) return k;
    }
    const kept = new Set(after.map(entry));
    for (const w of before) {
      if (kept.has(entry(w))) continue;
      const left = own && same(w, next.writer);
      if (!left && !waiterLapsed(w, baseAt, next.committedAt)) return k;
    }
  }
  return undefined;
}
