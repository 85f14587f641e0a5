/**
 * The lock errors the decisions and the claim share: each carries a code and the facts a caller
 * words (holder, key, line, ticket), with a sentence of those facts and no command.
 */
import { LockError } from './errors.js';
import type { Waiter } from './line.js';
import type { Identity, Lease, LockState } from './record.js';

/** How a key reads in a message. */
export const what = (key: string) => (key === '.' ? 'this project' : key);

/** The facts of `lease` an error about `asked` carries (HELD, KEY_LOST). */
const leaseFacts = (lease: Lease, asked: string) => ({
  key: asked,
  holder: lease.holder,
  machineId: lease.machineId,
  acquiredAt: lease.acquiredAt,
  expiresAt: lease.expiresAt,
  fencingToken: lease.fencingToken,
  ...(lease.key !== asked ? { heldKey: lease.key } : {}),
});

/** HELD: `lease` (on `lease.key`) stands in the way of `asked`. */
export const heldError = (lease: Lease, asked: string) =>
  new LockError(
    'HELD',
    `The lock on ${what(asked)} is held by ${lease.holder}${lease.key !== asked ? ` (who holds ${what(lease.key)})` : ''} since ${lease.acquiredAt} until ${lease.expiresAt}${
      lease.comment ? ` ("${lease.comment}")` : ''
    }; ${
      lease.keptAlive
        ? `it is kept alive by a keep-alive, last renewed ${lease.lastHeartbeat}, so it will not expire while their machine is up: ask them to release it.`
        : 'ask them to release it, or wait until it expires.'
    }`,
    {
      ...leaseFacts(lease, asked),
      lastRenewedAt: lease.lastHeartbeat,
      ...(lease.keptAlive ? { keptAlive: true } : {}),
      ...(lease.comment ? { comment: lease.comment } : {}),
    },
  );

/** KEY_LOST: `lease` is `me`'s, from this machine, but its private key is gone from the key store. */
export const keyLostError = (lease: Lease, asked: string) =>
  new LockError(
    'KEY_LOST',
    `The lock on ${what(asked)} is held by you on this machine until ${lease.expiresAt}, but its lease key is missing from this machine's state folder, so it cannot be renewed or released until it expires or a forced break takes it over.`,
    leaseFacts(lease, asked),
  );

/** `lease` stands in the way of `asked`: KEY_LOST when it is `me`'s own (its key gone), else HELD. */
export const blockedError = (lease: Lease, asked: string, me: Identity) =>
  lease.holder === me.holder && lease.machineId === me.machineId
    ? keyLostError(lease, asked)
    : heldError(lease, asked);

/** CORRUPT_RECORD: the table reads as corrupt at `state.ticket`. */
export const corruptError = (key: string, state: Extract<LockState, { state: 'corrupt' }>) =>
  new LockError(
    'CORRUPT_RECORD',
    `The lock record on ticket ${state.ticket}${state.writtenBy ? ` (written by ${state.writtenBy})` : ''} is invalid.`,
    { key, ticket: String(state.ticket), ...(state.writtenBy ? { writtenBy: state.writtenBy } : {}) },
  );

/** HELD: others wait in line for `asked` (a plain acquire does not jump the line); `first` is first. */
export const inLineError = (first: Waiter, asked: string) =>
  new LockError(
    'HELD',
    `${first.holder} has been waiting in line for ${what(first.key)} since ${first.since}, so ${what(asked)} goes to them first.`,
    { key: asked, holder: first.holder, machineId: first.machineId, inLine: true },
  );

/**
 * WAITING: you are in line for `asked` at `position`; `lease` (when any) is the lease you wait
 * behind, `line` the whole line.
 */
export const waitingError = (
  asked: string,
  lease: Lease | undefined,
  line: readonly Waiter[],
  position: number,
  since: string,
  retryAfterMs: number,
) =>
  new LockError(
    'WAITING',
    `You are number ${position} in line for ${what(asked)}${lease ? ` (held by ${lease.holder} since ${lease.acquiredAt})` : ''}; it is yours when those ahead of you are done.`,
    {
      key: asked,
      position,
      since,
      waiters: line,
      retryAfterMs,
      ...(lease
        ? {
            holder: lease.holder,
            machineId: lease.machineId,
            acquiredAt: lease.acquiredAt,
            expiresAt: lease.expiresAt,
            ...(lease.key !== asked ? { heldKey: lease.key } : {}),
          }
        : {}),
    },
  );
