import type { LockState, QueueEntry } from '@oxvcs/engine';
import { describe, expect, it } from 'vitest';
import {
  connectivityText,
  entryReason,
  errorText,
  failedText,
  lockLine,
  partOfText,
  queuedText,
  sizeText,
  takeText,
  waitingText,
  wrap,
} from './format.js';

const at = (h: number, m: number) => new Date(2026, 11, 6, h, m).toISOString();
const held: LockState = {
  state: 'held-by-you',
  key: '.',
  lease: {
    key: '.',
    lockId: 'l',
    holder: 'ada@laptop',
    machineId: 'm',
    acquiredAt: at(12, 0),
    expiresAt: at(16, 0),
    lastHeartbeat: at(12, 0),
    ttlMs: 4 * 3_600_000,
    fencingToken: 3,
    ticket: 3,
  },
};
const waiter = (holder: string, position: number, since: string) => ({
  key: '.',
  id: `w${position}`,
  holder,
  machineId: `m-${holder}`,
  since,
  leavesAt: at(23, 0),
  position,
});

describe('the header’s lock line shows who waits in line (issue 22 §1)', () => {
  it('nobody: nothing; one: "bob is waiting since 12:10"; more: each, first first; names are terminal-safe', () => {
    const now = Date.parse(at(12, 30));
    expect(waitingText(held, now)).toBe('');
    expect(
      `${lockLine(held, now)}${waitingText({ ...held, waiters: [waiter('bob@studio', 1, at(12, 10))] }, now)}`,
    ).toBe('Lock: YOURS, 3h30m left (token 3) · bob is waiting since 12:10');
    expect(
      waitingText(
        {
          ...held,
          waiters: [waiter('bob@studio', 1, at(12, 10)), waiter('car\u001b[2Jol@mac', 2, at(12, 14))],
        },
        now,
      ),
    ).toBe(' · waiting: bob since 12:10, carol since 12:14');
  });
});

describe('a take whose push stopped partway (issue 21)', () => {
  it('says how much of it is on the remote, in the take’s unit, or that the push stopped when nothing was seen', () => {
    expect(takeText({ parts: 10, bytes: 2e9, partsOnRemote: 7, bytesOnRemote: 1.4e9 })).toBe(
      'push: 7 of 10 parts on the remote (at least), 1.4 of 2.0 GB',
    );
    expect(takeText({ parts: 3, bytes: 9500 })).toBe(
      'push: a take of 3 parts (9.5 KB) stopped partway; parts on the remote are skipped',
    );
  });
});

describe('codes and facts from the libraries, worded by the TUI', () => {
  it('an engine failure is worded from its facts, without the CLI commands the CLI names', () => {
    const keepAlive = Object.assign(new Error('A keep-alive (pid 7) already renews the lock.'), {
      name: 'EngineError',
      code: 'KEEPALIVE_RUNNING',
      pid: 7,
      key: '.',
    });
    expect(errorText(keepAlive)).toBe('A keep-alive (pid 7) already renews the lock on this project');
    const offline = {
      name: 'EngineError',
      code: 'OFFLINE',
      connectivity: { code: 'timeout', origin: 'http://h', timeoutMs: 5000 },
    };
    expect(errorText(offline)).toBe('Offline: http://h did not answer within 5000 ms');
    const file = {
      name: 'EngineError',
      code: 'INVALID_INPUT',
      field: 'project',
      problem: 'not-a-folder',
      value: 'a.txt',
    };
    expect(errorText(file)).toBe(
      '--project a.txt is a file; give the folder to lock (e.g. the .logicx package).',
    );
    // Anything else: its message, terminal-safe.
    expect(errorText(new Error('disk \u001b[2Jfull'))).toBe('disk full');
  });

  it('why an operation was queued, and what a connectivity check found', () => {
    expect(queuedText({ code: 'behind', count: 2, operations: ['Push main'] })).toBe(
      '2 operations queued before it in this project must finish first; a sync (s) runs them in order',
    );
    expect(connectivityText({ code: 'unreachable', origin: 'http://h', errno: 'ENOTFOUND' })).toBe(
      'http://h is unreachable (ENOTFOUND)',
    );
  });
});

describe('sizes and wrapped lines, as the push notes use them', () => {
  it('sizes read as a take’s, in decimal units with one decimal, a part in its total’s unit', () => {
    expect([512, 1_000_000, 1_400_000, 2e9, 3e12].map(sizeText)).toEqual([
      '512 B',
      '1.0 MB',
      '1.4 MB',
      '2.0 GB',
      '3.0 TB',
    ]);
    expect(partOfText(1.4e9, 2e9)).toBe('1.4 of 2.0 GB');
    expect(partOfText(900_000, 3_840_015)).toBe('0.9 of 3.8 MB');
    expect(partOfText(0, 700)).toBe('0 of 700 B');
  });

  it('wraps at spaces, indents the lines after the first, cuts a word longer than a line, drops controls', () => {
    expect(wrap('⚠ one two three four', 9)).toEqual(['⚠ one two', '  three', '  four']);
    expect(wrap('short', 80)).toEqual(['short']);
    expect(wrap('', 10)).toEqual(['']);
    expect(wrap('a http://example.test/a/very/long/path end', 12)).toEqual([
      'a',
      '  http://exa',
      '  mple.test/',
      '  a/very/lon',
      '  g/path end',
    ]);
    expect(wrap('x\u001b[2J\ny', 10)).toEqual(['x y']);
    for (const line of wrap('word '.repeat(40), 17)) expect(line.length).toBeLessThanOrEqual(17);
  });
});

describe('a lock refusal’s times', () => {
  it('are told against the server’s clock of the refusal (serverNow), not this machine’s', () => {
    const server = Date.parse('2026-03-08T12:00:00Z');
    const iso = (ms: number) => new Date(ms).toISOString();
    const held = Object.assign(
      new Error(
        `The lock on this project is held by bob@studio since ${iso(server - 10 * 60_000)} until ${iso(server + 50 * 60_000)}; ask them to release it, or wait until it expires.`,
      ),
      { name: 'LockError', code: 'HELD', serverNow: server },
    );
    const hm = (ms: number) => new Date(ms).toTimeString().slice(0, 5);
    expect(errorText(held)).toBe(
      `The lock on this project is held by bob@studio since ${hm(server - 10 * 60_000)} (10m ago) until ${hm(server + 50 * 60_000)} (in 50m); ask them to release it, or wait until it expires.`,
    );
  });
});

describe('failedText', () => {
  const refused = (status?: number) =>
    ({
      id: '01ABCDEFGHJKMNPQRSTVWXYZ12',
      status: 'failed',
      operation: { kind: 'pull', branch: 'main', projectDir: '/p', remote: 'http://hub.example:3000/n/r' },
      reason: { code: 'failed', facts: { kind: 'permanent', reason: '401 Unauthorized' } },
      lastError: {
        message: '401 Unauthorized',
        kind: 'permanent',
        code: 'AUTH',
        chain: [{ name: 'OxenError', code: 'AUTH', message: '401 Unauthorized' }],
        ...(status ? { facts: { status } } : {}),
      },
    }) as unknown as QueueEntry;
  it('a stored refusal of the credentials says to store a token with auth login, as the CLI does', () => {
    expect(failedText(refused())).toBe(
      'http://hub.example:3000 refused the credentials (HTTP 401): the token stored for it is missing or not valid; store one with `oxenvcs auth login`.',
    );
    expect(failedText(refused(403))).toContain('(HTTP 403): the token stored for it may not do this');
    expect(entryReason(refused(), Date.now())).toContain('`oxenvcs auth login`');
  });

  it('a queued push refused because someone else pushed first says to pull, then push again, as the CLI does', () => {
    const bare = 'oxen push failed: Branch main is behind remote commit 9f3c2a1b. Run `oxen pull` first.';
    const behind = {
      id: '01ABCDEFGHJKMNPQRSTVWXYZ13',
      status: 'failed',
      operation: { kind: 'push', branch: 'main', projectDir: '/p', remote: 'http://hub.example:3000/n/r' },
      reason: { code: 'failed', facts: { kind: 'conflict', reason: bare } },
      lastError: {
        message: bare,
        kind: 'conflict',
        code: 'NON_FAST_FORWARD',
        chain: [{ name: 'OxenError', code: 'NON_FAST_FORWARD', message: bare }],
      },
    } as unknown as QueueEntry;
    const words =
      'Not pushed: the remote branch has commits this copy does not have (someone else pushed first), so it was left as it is; run `oxenvcs pull`, then push again.';
    expect(failedText(behind)).toBe(words);
    expect(entryReason(behind, Date.now())).toBe(words);
  });
});
