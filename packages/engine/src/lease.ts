import { MAX_TTL_MS } from '@oxvcs/locks';

// The one home of the lease lengths a user may ask for: the config (`lock.timeout_hours`), the
// engine (`ttlHours`) and the CLI (`--timeout`) all read these.

const HOUR = 3_600_000;

/** The shortest lease a user may ask for: 1 minute (a shorter one lapses before it could be renewed). */
export const MIN_LEASE_MS = 60_000;
/** The longest: the lock record's own limit, 30 days (`MAX_TTL_MS` of `@oxvcs/locks`). */
export const MAX_LEASE_MS = MAX_TTL_MS;
/** {@link MIN_LEASE_MS} in hours (0.0167). */
export const MIN_LEASE_HOURS = MIN_LEASE_MS / HOUR;
/** {@link MAX_LEASE_MS} in hours (720). */
export const MAX_LEASE_HOURS = MAX_LEASE_MS / HOUR;

/** Whether `hours` is a lease length a user may ask for. */
export const isLeaseHours = (hours: number): boolean =>
  Number.isFinite(hours) && hours >= MIN_LEASE_HOURS && hours <= MAX_LEASE_HOURS;
