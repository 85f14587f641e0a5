import { Writable } from 'node:stream';
import type { LockState, QueueEntry } from '@oxvcs/engine';
import { describe, expect, it } from 'vitest';
import { unexpectedFailure } from './base.js';
import { engineErrorWords } from './engine-words.js';
import { createUi } from './output.js';
import {
  connectivityWords,
  describeState,
  entryReason,
  queuedWords,
  reasonWords,
  renderLease,
  renewedHeadline,
} from './render.js';

const now = Date.parse('2026-11-24T12:00:00Z');
const iso = (ms: number) => new Date(now + ms).toISOString();
const lease = (expiresIn: number) => ({
  key: '.',
  holder: 'bob@studio',
  machineId: 'm',
  acquiredAt: iso(-4 * 3_600_000),
  expiresAt: iso(expiresIn),
  lastHeartbeat: iso(-3_600_000),
  ttlMs: 4 * 3_600_000,
  fencingToken: 3,
  lockId: 'l',
});

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _e, done) {
      lines.push(...String(chunk).trimEnd().split('\n'));
      done();
    },
  });
  return { ui: createUi({ stdout: sink, stderr: sink, env: {}, json: false, verbose: false }), lines };
}

describe('lease and lock state lines', () => {
  it('an expired lease reads "Expired: … (ended 5m ago)", not "(in 0s)"', () => {
    const { ui, lines } = capture();
    renderLease(ui, lease(-5 * 60_000) as never, now);
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {2}Expired: \d{4}-\d\d-\d\d \d\d:\d\d \(ended 5m ago\)$/),
    );
    expect(lines.join('\n')).not.toContain('in 0s');
    const live = capture();
    renderLease(live.ui, lease(3_600_000) as never, now);
    expect(live.lines).toContainEqual(expect.stringMatching(/^ {2}Expires: .* \(in 1h 0m\)$/));
  });

  it('the whole project’s key reads "this project"; an expired lock says when it ended', () => {
    const expired = {
      state: 'expired',
      key: '.',
      lease: lease(-5 * 60_000),
      yours: false,
    } as unknown as LockState;
    expect(describeState(expired, now)).toMatch(
      /^this project: expired \d{4}-\d\d-\d\d \d\d:\d\d \(5m ago\), was held by bob@studio$/,
    );
    const sub = { state: 'unlocked', key: 'Song.logicx' } as LockState;
    expect(describeState(sub, now)).toBe('Song.logicx: unlocked');
  });

  it('a renewal headline says extended or shortened against when the lease was to end', () => {
    expect(renewedHeadline(iso(3_600_000), now + 2 * 3_600_000, false, now)).toMatch(
      /^Lock lease shortened to .* \(in 1h 0m\); it was to end .* \(in 2h 0m\)$/,
    );
    expect(renewedHeadline(iso(3_600_000), now + 1_800_000, true, now)).toMatch(
      /^Lock extended until .* \(in 1h 0m\) \(you already held it\)$/,
    );
    expect(renewedHeadline(iso(3_600_000), undefined, false, now)).toMatch(/^Lock renewed until /);
  });

  it('a queued renewal refused for a stale token is reported as not needed, with how to remove it', () => {
    const entry = {
      id: '01ABCDEFGHJKMNPQRSTVWXYZ12',
      status: 'failed',
      operation: { kind: 'renew-lock', key: '.', projectDir: '/p', remote: 'http://h/n/r', ttlMs: 1 },
      reason: {
        code: 'failed',
        facts: {
          kind: 'permanent',
          reason: 'Fencing token 1 is stale: the current grant of . is 2; acquire the lock again.',
        },
      },
      lastError: { message: 'x', kind: 'permanent', code: 'STALE_TOKEN', chain: [] },
    } as unknown as QueueEntry;
    expect(entryReason(entry)).toBe(
      'not needed: it was queued for an earlier grant of the lock on this project, and you hold a newer one; remove it with `oxenvcs queue remove tvwxyz12`',
    );
  });
  it('a queued acquisition refused because others wait in line says what to run next, as the command does', () => {
    const entry = {
      id: '01ABCDEFGHJKMNPQRSTVWXYZ12',
      status: 'failed',
      operation: { kind: 'acquire-lock', key: '.', projectDir: '/p', remote: 'http://h/n/r', ttlMs: 1 },
      reason: {
        code: 'failed',
        facts: {
          kind: 'conflict',
          reason:
            'bob has been waiting in line for this project since 10:00, so this project goes to them first.',
        },
      },
      lastError: {
        message:
          'bob has been waiting in line for this project since 10:00, so this project goes to them first.',
        kind: 'conflict',
        code: 'HELD',
        chain: [
          {
            name: 'LockError',
            code: 'HELD',
            message:
              'bob has been waiting in line for this project since 10:00, so this project goes to them first.',
          },
        ],
        facts: { holder: 'bob', inLine: true },
      },
    } as unknown as QueueEntry;
    expect(entryReason(entry)).toBe(
      'bob has been waiting in line for this project since 10:00, so this project goes to them first; wait your turn with `oxenvcs lock acquire --wait`.',
    );
  });
});

describe('errors no oxvcs package described', () => {
  const system = (code: string, syscall: string, path?: string) =>
    Object.assign(new Error(`${code}: failed, ${syscall} '${path}'`), {
      code,
      syscall,
      errno: -1,
      ...(path ? { path } : {}),
    });

  it.each([
    ['ENOSPC', 'write', 'could not write /home/ada/.local/share/oxenvcs/queue.json: the disk is full'],
    ['EACCES', 'open', 'could not open /home/ada/.local/share/oxenvcs/queue.json: permission denied'],
    [
      'EROFS',
      'mkdir',
      'could not create the folder /home/ada/.local/share/oxenvcs/queue.json: the file system is read-only',
    ],
    ['EMFILE', 'open', 'could not open /home/ada/.local/share/oxenvcs/queue.json: too many files are open'],
    [
      'ENOENT',
      'scandir',
      'could not list the folder /home/ada/.local/share/oxenvcs/queue.json: it does not exist',
    ],
  ])('%s names the path and what to do', (code, syscall, message) => {
    const r = unexpectedFailure(
      system(code, syscall, '/home/ada/.local/share/oxenvcs/queue.json'),
      'oxenvcs push',
    );
    expect(r.code).toBe(code);
    expect(r.message).toContain(`oxenvcs push ${message}`);
    expect(r.message).toMatch(/; [a-z].*\.$/);
  });

  it('finds the system error in a cause chain; without a path it still says what to do', () => {
    const wrapped = new Error('write failed', { cause: system('ENOSPC', 'write') });
    expect(unexpectedFailure(wrapped, 'oxenvcs lock acquire')).toEqual({
      code: 'ENOSPC',
      message:
        'oxenvcs lock acquire failed (ENOSPC): the disk is full; free some space and run the command again.',
    });
  });

  it('anything else names the command and asks for a bug report', () => {
    const r = unexpectedFailure(
      new TypeError("Cannot read properties of null (reading 'map')"),
      'oxenvcs lock list',
    );
    expect(r).toEqual({
      code: 'UNEXPECTED',
      message:
        "oxenvcs lock list failed unexpectedly (Cannot read properties of null (reading 'map')); run it again with --verbose, and if it fails the same way, report a bug with that output.",
    });
  });
});

describe('reason words', () => {
  it('every reason code the queue and the engine store has words, never the bare code', () => {
    const facts = {
      reason: 'r',
      kind: 'transient',
      attempts: 3,
      expiresAt: iso(0),
      text: 't',
      entry: 'abcd1234',
      at: iso(0),
      project: '/music/Song',
      field: 'branch',
      problem: 'option-like',
    };
    for (const code of [
      'will-retry',
      'gave-up',
      'failed',
      'expired',
      'interrupted',
      'note',
      'cancelled-by-release',
      'cancelled-with-acquire',
      'replaced',
      'lease-ended',
      'project-gone',
      'invalid-input',
    ]) {
      const words = reasonWords({ reason: { code, facts } } as unknown as QueueEntry);
      expect(words, code).toBeDefined();
      expect(words, code).not.toBe(code);
    }
    expect(
      reasonWords({ reason: { code: 'replaced', facts: { entry: 'abcd1234' } } } as unknown as QueueEntry),
    ).toBe('Replaced by abcd1234, the same request typed again: one run does both.');
    expect(
      reasonWords({
        reason: { code: 'invalid-input', facts: { field: 'branch', problem: 'option-like' } },
      } as unknown as QueueEntry),
    ).toBe(
      'Not run: the branch name it was queued with starts with "-", so oxen would read it as an option (an older version queued it unchecked); remove it.',
    );
  });
});

describe('codes and facts from the libraries, worded by the CLI', () => {
  it('every connectivity reason reads as the sentence it was before it became a code', () => {
    const origin = 'http://oxen.local:3000';
    expect(connectivityWords({ code: 'unreachable', origin, errno: 'ECONNREFUSED' })).toBe(
      `${origin} is unreachable (ECONNREFUSED).`,
    );
    expect(connectivityWords({ code: 'timeout', origin, timeoutMs: 300 })).toBe(
      `${origin} did not answer within 300 ms.`,
    );
    expect(connectivityWords({ code: 'oxen-answered', origin, status: 429, serverVersion: '0.54.0' })).toBe(
      `${origin} answered (HTTP 429, oxen 0.54.0).`,
    );
    expect(connectivityWords({ code: 'not-oxen', origin, status: 200 })).toBe(
      `${origin} answered HTTP 200 but not as an Oxen server (a captive portal or proxy?).`,
    );
  });

  it('why an operation was queued: offline, behind the project queue, the deadline, the breaker', () => {
    expect(queuedWords({ code: 'offline' })).toBe('Network is offline');
    expect(queuedWords({ code: 'behind', count: 1, operations: ['Push main'] })).toBe(
      'An operation queued before it in this project must finish first (Push main); `oxenvcs queue sync` runs them in order',
    );
    expect(queuedWords({ code: 'behind', count: 6, operations: ['a', 'b', 'c', 'd', 'e'] })).toMatch(
      /^6 operations queued before it in this project must finish first \(a, b, c and 2 more\)/,
    );
    expect(queuedWords({ code: 'deadline', origin: 'http://h', timeoutMs: 1500 })).toBe(
      'Gave up for now: http://h did not finish within 1.5 s',
    );
    expect(queuedWords({ code: 'resting', origin: 'http://h', restMs: 30_000 })).toBe(
      'http://h failed repeatedly and is being rested for up to 30 s',
    );
  });

  it('engine failures that name commands, flags or settings are worded here, from their facts', () => {
    const engineError = (code: string, facts: Record<string, unknown>) => ({
      name: 'EngineError',
      code,
      ...facts,
    });
    expect(engineErrorWords(engineError('KEEPALIVE_RUNNING', { pid: 4242, key: 'Song.logicx' }))).toBe(
      'A keep-alive (pid 4242) already renews the lock on Song.logicx; stop it with `oxenvcs lock heartbeat --stop` first.',
    );
    expect(
      engineErrorWords(
        engineError('OFFLINE', {
          origin: 'http://h',
          operation: 'lock-status',
          connectivity: { code: 'unreachable', origin: 'http://h', errno: 'ECONNREFUSED' },
        }),
      ),
    ).toBe(
      'http://h is unreachable (ECONNREFUSED); lock status needs the remote, so try again when you are back online.',
    );
    expect(
      engineErrorWords(
        engineError('DEADLINE', { origin: 'http://h', operation: 'lock-list', timeoutMs: 2500 }),
      ),
    ).toBe(
      'http://h did not answer lock list within 2.5 s; try again, or raise connectivity.request_timeout_ms.',
    );
    expect(
      engineErrorWords(
        engineError('INVALID_INPUT', { field: 'project', problem: 'no-such-folder', value: 'Bass.logicx' }),
      ),
    ).toBe(
      "--project Bass.logicx: no such folder here; give an existing folder inside the repository (pull it first if it is someone else's).",
    );
    // A code whose engine message names no command keeps that message.
    expect(engineErrorWords(engineError('NOTHING_TO_COMMIT', {}))).toBeUndefined();
    expect(engineErrorWords({ name: 'LockError', code: 'HELD' })).toBeUndefined();
  });
});
