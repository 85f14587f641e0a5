import { describe, expect, it } from 'vitest';
import { assessLock, type LockFacts, type LockObservation } from './file-lock.js';

const NOW = 1_800_000_000_000;
const held = (pid: number, mtimeMs: number, host = 'mac', token = 't1', start?: string): LockObservation => ({
  kind: 'held',
  holder: { pid, host, token, acquiredAt: mtimeMs, ...(start ? { start } : {}) },
  mtimeMs,
  id: token,
});
const facts = (observation: LockObservation, over: Partial<LockFacts> = {}): LockFacts => ({
  observation,
  now: NOW,
  watchedMs: 0,
  staleMs: 10_000,
  host: 'mac',
  pid: 100,
  holdsHere: () => false,
  // Process 100 (this one) and 200 run, both started at `s1` (a record without a start time is
  // judged by pid); any other start is another process. Process 400 is stopped.
  isSelf: (h) => h.pid === 100 && (h.start === 's1' || h.start === undefined),
  processOf: (h) =>
    (h.pid === 100 || h.pid === 200) && (h.start === 's1' || h.start === undefined)
      ? 'running'
      : h.pid === 400
        ? 'stopped'
        : 'gone',
  ...over,
});

describe('assessLock', () => {
  it('a dead holder on this machine is taken over at once, whatever the lock is dated', () => {
    for (const mtime of [NOW, NOW - 60_000, NOW + 3_600_000]) {
      expect(assessLock(facts(held(300, mtime)))).toEqual({ action: 'take-over', reason: 'holder-dead' });
    }
  });

  it('a live holder recorded without a start time (an older version) is waited for until its lock is staleMs old', () => {
    expect(assessLock(facts(held(200, NOW - 9_999)))).toEqual({ action: 'wait' });
    expect(assessLock(facts(held(200, NOW - 10_000)))).toEqual({ action: 'take-over', reason: 'stale' });
  });

  it('a lock dated in the future is judged by how long it was watched unchanged, not by the clock', () => {
    const future = held(200, NOW + 3_600_000);
    expect(assessLock(facts(future, { watchedMs: 9_999 }))).toEqual({ action: 'wait' });
    expect(assessLock(facts(future, { watchedMs: 10_000 }))).toEqual({
      action: 'take-over',
      reason: 'stale',
    });
  });

  it('a holder on another machine is never judged by pid', () => {
    expect(assessLock(facts(held(300, NOW, 'other')))).toEqual({ action: 'wait' });
    expect(assessLock(facts(held(300, NOW - 10_000, 'other')))).toEqual({
      action: 'take-over',
      reason: 'stale',
    });
  });

  it('our own pid: a lock we hold is waited for; one we do not hold is a previous process with this pid', () => {
    expect(assessLock(facts(held(100, NOW), { holdsHere: (t) => t === 't1' }))).toEqual({ action: 'wait' });
    expect(assessLock(facts(held(100, NOW)))).toEqual({ action: 'take-over', reason: 'holder-dead' });
  });

  it('a verified working holder (start time recorded and matching, not stopped) is never taken over, however old', () => {
    for (const watchedMs of [0, 10_000, 3_600_000]) {
      expect(assessLock(facts(held(200, NOW - 3_600_000, 'mac', 't1', 's1'), { watchedMs }))).toEqual({
        action: 'wait',
        live: true,
      });
    }
  });

  it('a stopped holder (SIGSTOP) or one recorded without a start time (an older version) is stale after staleMs', () => {
    expect(assessLock(facts(held(400, NOW)))).toEqual({ action: 'wait' });
    expect(assessLock(facts(held(400, NOW), { watchedMs: 10_000 }))).toEqual({
      action: 'take-over',
      reason: 'stale',
    });
    const legacy: LockObservation = {
      kind: 'held',
      holder: { pid: 200, host: 'mac', token: 't9', acquiredAt: NOW },
      mtimeMs: NOW,
      id: 't9',
    };
    expect(assessLock(facts(legacy))).toEqual({ action: 'wait' });
    expect(assessLock(facts(legacy, { watchedMs: 10_000 }))).toEqual({
      action: 'take-over',
      reason: 'stale',
    });
  });

  it('a live pid with another start time is a reused pid: its holder is dead, taken over at once', () => {
    expect(assessLock(facts(held(200, NOW, 'mac', 't1', 's0')))).toEqual({
      action: 'take-over',
      reason: 'holder-dead',
    });
    expect(assessLock(facts(held(100, NOW, 'mac', 't1', 's0'), { holdsHere: () => true }))).toEqual({
      action: 'take-over',
      reason: 'holder-dead',
    });
  });

  it('a lock without a holder record (an older version) is judged by time only', () => {
    const unknown: LockObservation = { kind: 'unknown', mtimeMs: NOW - 1_000, id: 'inode 7' };
    expect(assessLock(facts(unknown))).toEqual({ action: 'wait' });
    expect(assessLock(facts(unknown, { now: NOW + 9_000 }))).toEqual({
      action: 'take-over',
      reason: 'stale',
    });
  });
});
