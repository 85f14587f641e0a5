import { describe, expect, it } from 'vitest';
import { type QueueFacts, queueErrorWords } from './queue-words.js';

const file = '/home/ada/.oxenvcs/queue.json';
const folder = '/home/ada/.oxenvcs';
const words = (facts: Omit<QueueFacts, 'name'>) => queueErrorWords({ name: 'QueueError', file, ...facts });

describe('queue failures in the CLI’s words (the queue gives codes and facts)', () => {
  it('a file busy: who holds it, for how long, and what to do', () => {
    const lock = `${file}.lock`;
    expect(
      words({
        code: 'LOCK_TIMEOUT',
        problem: 'taken-in-turn',
        waitedMs: 15_000,
        holderPid: 41,
        holderHost: 'mac',
      }),
    ).toBe(
      `Other processes kept the queue file ${file} busy for 15 s (last process 41 on mac); try again in a moment.`,
    );
    expect(
      words({
        code: 'LOCK_TIMEOUT',
        problem: 'held-here',
        waitedMs: 2_345,
        holderPid: 41,
        holderHost: 'mac',
      }),
    ).toBe(
      `Process 41 on this machine, still running, has held the queue file ${file} for over 2.3 s; wait for it to finish or end it, then run again.`,
    );
    expect(
      words({
        code: 'LOCK_TIMEOUT',
        problem: 'held-here',
        waitedMs: 300,
        holderPid: 41,
        holderHost: 'mac',
        aheadMs: 3_600_000,
      }),
    ).toBe(
      `Process 41 on this machine, still running, has held the queue file ${file} for over 0.3 s; the lock is dated 3600 s in the future, so the clock was set back; wait for it to finish or end it, then run again.`,
    );
    expect(
      words({
        code: 'LOCK_TIMEOUT',
        problem: 'held-elsewhere',
        waitedMs: 15_000,
        holderPid: 7,
        holderHost: 'studio',
        lock,
        aheadMs: 5_000,
      }),
    ).toBe(
      `Process 7 on studio has held the queue file ${file} for over 15 s; the lock is dated 5.0 s in the future, so the two clocks disagree; if that process no longer runs, delete ${lock}, then run again.`,
    );
    expect(words({ code: 'LOCK_TIMEOUT', problem: 'unnamed', waitedMs: 15_000, lock })).toBe(
      `The queue file ${file} has been locked for over 15 s by ${lock}, which names no process (left by an older version?); if no process of this program is running, delete it, then run again.`,
    );
  });

  it('an entry run by a live or a stopped process, or not retryable', () => {
    const entryId = '01KB2Y3ZJ8T3V9Q5X7W1M0P4RS';
    expect(words({ code: 'INVALID_STATE', problem: 'stopped', entryId, runnerPid: 99 })).toBe(
      'Entry w1m0p4rs is held by process 99, which is stopped (suspended); resume it (kill -CONT 99) or end it (kill 99), then run again.',
    );
    expect(words({ code: 'INVALID_STATE', problem: 'running', entryId, runnerPid: 99 })).toBe(
      'Entry w1m0p4rs is being run by process 99 right now; wait for it, or stop that sync (Ctrl-C in its terminal, or kill 99), then run again.',
    );
    expect(words({ code: 'INVALID_STATE', problem: 'not-retryable', entryId, entryStatus: 'pending' })).toBe(
      'Entry w1m0p4rs is pending; only failed or expired entries can be retried.',
    );
  });

  it('a file that is not a queue, too new, unreadable, not a file, not writable, or taken over', () => {
    const redo = 'repair or move the file away, then run again.';
    expect(
      words({
        code: 'CORRUPT',
        problem: 'not-json',
        detail: 'Unexpected end',
        quarantine: `${file}.corrupt-1`,
      }),
    ).toBe(
      `The queue file ${file} is not valid JSON (Unexpected end); a copy is kept at ${file}.corrupt-1. Repair or move the file away, then run again.`,
    );
    expect(words({ code: 'CORRUPT', problem: 'not-json', detail: 'Unexpected end' })).toBe(
      `The queue file ${file} is not valid JSON (Unexpected end), and no copy could be kept beside it. Repair or move the file away, then run again.`,
    );
    expect(words({ code: 'CORRUPT', problem: 'no-version' })).toBe(
      `The queue file ${file} has no schema version; ${redo}`,
    );
    expect(words({ code: 'CORRUPT', problem: 'bad-version', schemaVersion: '4' })).toBe(
      `The queue file ${file} has an invalid schema version ("4"); ${redo}`,
    );
    expect(words({ code: 'CORRUPT', problem: 'no-entries' })).toBe(
      `The queue file ${file} has no "entries" list; ${redo}`,
    );
    expect(words({ code: 'CORRUPT', problem: 'not-an-object' })).toBe(
      `The queue file ${file} is not a queue (no object at the top); ${redo}`,
    );
    expect(words({ code: 'SCHEMA_TOO_NEW', schemaVersion: 5, knownVersion: 4 })).toBe(
      `The queue file ${file} has schema version 5, newer than the 4 this version knows, so it was left unchanged; upgrade to use it.`,
    );
    expect(words({ code: 'UNREADABLE', detail: 'EACCES: permission denied' })).toBe(
      `Cannot read the queue file ${file}: EACCES: permission denied; check its permissions.`,
    );
    expect(words({ code: 'NOT_A_FILE', kind: 'fifo' })).toBe(
      `The queue file ${file} is a named pipe (FIFO), not a regular file; move it away, then run again.`,
    );
    expect(words({ code: 'NOT_A_FILE', kind: 'symlink' })).toMatch(
      /is a symbolic link; state files must be regular files/,
    );
    expect(words({ code: 'NOT_WRITABLE', folder, errno: 'EACCES' })).toBe(
      `Cannot write in the queue folder ${folder}: permission denied; make it writable for this user (chmod u+w "${folder}"), then run again.`,
    );
    expect(words({ code: 'NOT_WRITABLE', folder, errno: 'ENOSPC' })).toBe(
      `Cannot write the queue file ${file}: the disk is full; free some space, then run again.`,
    );
    expect(words({ code: 'NOT_WRITABLE', folder, errno: 'EROFS' })).toMatch(/read-only file system/);
    expect(words({ code: 'NOT_WRITABLE', folder, errno: 'EEXIST' })).toBe(
      `Cannot write the queue file ${file}: ${folder} or a folder above it is a file, not a folder; move that file away, then run again.`,
    );
    expect(words({ code: 'NOT_WRITABLE', folder, errno: 'EIO', detail: 'EIO: i/o error' })).toBe(
      `Cannot write the queue file ${file} (EIO: i/o error); check the folder ${folder}, then run again.`,
    );
    expect(words({ code: 'WRITE_CONFLICT', attempts: 5 })).toBe(
      `The queue file ${file} was not written: its lock was taken over 5 times while this process was paused (nothing was overwritten); run again.`,
    );
  });

  it('ids that select nothing, or too much, say where to find ids', () => {
    expect(words({ code: 'NOT_FOUND', id: 'zzzz' })).toBe(
      'No queue entry matches "zzzz"; run `oxenvcs queue status` to see ids.',
    );
    expect(words({ code: 'NOT_FOUND', id: ' ' })).toBe(
      'No entry id given; run `oxenvcs queue status` to see ids.',
    );
    expect(words({ code: 'ID_TOO_SHORT', id: 'ab', minimum: 4 })).toBe(
      '"ab" is too short to select an entry; give at least 4 characters of its id; run `oxenvcs queue status` to see ids.',
    );
    const candidates = Array.from({ length: 7 }, (_, i) => `01KB2Y3ZJ8T3V9Q5X7W1M0P4R${i}`);
    expect(words({ code: 'AMBIGUOUS_ID', id: '227k', candidates: candidates.slice(0, 2), matches: 2 })).toBe(
      '"227k" matches 2 entries (w1m0p4r0, w1m0p4r1); give more characters.',
    );
    expect(words({ code: 'AMBIGUOUS_ID', id: '227k', candidates, matches: 30 })).toBe(
      '"227k" matches 30 entries (w1m0p4r0, w1m0p4r1, w1m0p4r2, w1m0p4r3, w1m0p4r4 and 25 more); give more characters.',
    );
    expect(words({ code: 'DUPLICATE', idempotencyKey: 'k1' })).toBe(
      'An entry with idempotency key "k1" is already queued.',
    );
  });

  it('leaves other failures to other words', () => {
    expect(queueErrorWords({ name: 'LockError', code: 'HELD' })).toBeUndefined();
  });
});
