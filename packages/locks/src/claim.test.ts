import { describe, expect, it } from 'vitest';
import { FRESH_FLIGHT_MS, mustConfirm, type WonClaim } from './claim.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A renew built on ticket 7, its commit a second later, answered in 40 ms. */
const fresh: WonClaim = {
  ticket: 8,
  newGrant: false,
  baseAt: Date.parse('2026-12-06T12:00:00Z'),
  commitAt: Date.parse('2026-12-06T12:00:01Z'),
  flightMs: 40,
  horizonMs: DAY,
  ambiguous: false,
};

describe('when a won claim reads the ticket below back (mustConfirm)', () => {
  it('a fresh renew or release does not; ticket 1, a new grant, an ambiguous create or a rejected top always does', () => {
    expect(mustConfirm(fresh)).toBe(false);
    expect(mustConfirm({ ...fresh, ticket: 1 })).toBe(true);
    expect(mustConfirm({ ...fresh, newGrant: true })).toBe(true);
    expect(mustConfirm({ ...fresh, ambiguous: true })).toBe(true);
    expect(mustConfirm({ ...fresh, baseAt: undefined })).toBe(true);
    expect(mustConfirm({ ...fresh, commitAt: Number.NaN })).toBe(true);
  });

  it('a commit half a horizon from its base (either way: a stale cache, a stepped clock) or a slow create does', () => {
    expect(mustConfirm({ ...fresh, commitAt: fresh.baseAt! + DAY / 2 - 1 })).toBe(false);
    expect(mustConfirm({ ...fresh, commitAt: fresh.baseAt! + DAY / 2 })).toBe(true);
    expect(mustConfirm({ ...fresh, commitAt: fresh.baseAt! + 25 * HOUR })).toBe(true);
    expect(mustConfirm({ ...fresh, commitAt: fresh.baseAt! - 25 * HOUR })).toBe(true);
    expect(mustConfirm({ ...fresh, flightMs: FRESH_FLIGHT_MS - 1 })).toBe(false);
    expect(mustConfirm({ ...fresh, flightMs: FRESH_FLIGHT_MS })).toBe(true);
  });
});
