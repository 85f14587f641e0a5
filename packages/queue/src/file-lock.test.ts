import { describe, expect, it } from 'vitest';
import { assessLock, isProcessAlive, type LockFacts, type LockObservation } from './file-lock.js';

const NOW = 1_800_000_000_000;
const held = (pid: number, mtimeMs: number, host = 'mac', token = 't1'): LockObservation => ({
  kind: 'held',
  holder: { pid, host, token, acquiredAt: mtimeMs },
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
  isAlive: (pid) => pid === 200,
  ...over,
});

describe('assessLock', () => {
  it('a dead holder on this machine is taken over at once, whatever the lock is dated', () => {
    for (const mtime of [NOW, NOW - 60_000, NOW + 3_600_000]) {
      expect(assessLock(facts(held(300, mtime)))).toEqual({ action: 'take-over', reason: 'holder-dead' });
    }
  });

  it('a live holder is waited for until its lock is staleMs old', () => {
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

  it('a lock without a holder record (an older version) is judged by time only', () => {
    const unknown: LockObservation = { kind: 'unknown', mtimeMs: NOW - 1_000, id: 'inode 7' };
    expect(assessLock(facts(unknown))).toEqual({ action: 'wait' });
    expect(assessLock(facts(unknown, { now: NOW + 9_000 }))).toEqual({
      action: 'take-over',
      reason: 'stale',
    });
  });
});

describe('isProcessAlive', () => {
  it('this process is alive; a pid that cannot exist is not', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(2 ** 30)).toBe(false);
    expect(isProcessAlive(0)).toBe(false);
  });
});
