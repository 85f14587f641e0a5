import { describe, expect, it } from 'vitest';
import { classify } from './classify.js';
import { isOxvcsError, OxvcsError } from './errors.js';
import { parseRetryAfter } from './retry-after.js';

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });
const status = (s: number, headers: Record<string, string> = {}) =>
  Object.assign(new Error(`HTTP ${s}`), { response: { status: s, headers: new Headers(headers) } });

describe('classify', () => {
  it.each([
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'ENETUNREACH',
    'EHOSTUNREACH',
    'EAI_AGAIN',
    'ENOTFOUND',
    'EPIPE',
    'UND_ERR_SOCKET',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_CONNECT_TIMEOUT',
  ])('%s is transient', (code) => {
    expect(classify(withCode(code)).kind).toBe('transient');
  });

  it('finds a network code wrapped deep in causes (fetch failed → cause)', () => {
    const error = new Error('Could not acquire lock', {
      cause: new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') }),
    });
    expect(classify(error)).toMatchObject({ kind: 'transient', code: 'ECONNREFUSED' });
  });

  it('looks inside AggregateError members (happy eyeballs)', () => {
    const error = new TypeError('fetch failed', {
      cause: new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'connect failed'),
    });
    expect(classify(error).kind).toBe('transient');
  });

  it.each([
    [408, 'transient'],
    [425, 'transient'],
    [429, 'rate-limited'],
    [500, 'transient'],
    [502, 'transient'],
    [503, 'transient'],
    [504, 'transient'],
    [400, 'permanent'],
    [401, 'auth'],
    [403, 'auth'],
    [404, 'permanent'],
    [409, 'conflict'],
    [410, 'permanent'],
    [422, 'permanent'],
  ])('HTTP %i is %s', (code, kind) => {
    expect(classify(status(code)).kind).toBe(kind);
  });

  it('carries the Retry-After of a 429', () => {
    expect(classify(status(429, { 'Retry-After': '5' }))).toMatchObject({
      kind: 'rate-limited',
      retryAfterMs: 5000,
    });
  });

  it('lets an adapter error declare its own kind', () => {
    class BranchExists extends OxvcsError {
      override readonly name = 'BranchExistsError';
      readonly code = 'BRANCH_EXISTS';
      override readonly retryKind = 'conflict' as const;
    }
    const error = new BranchExists('Branch already exists: x');
    expect(classify(error).kind).toBe('conflict');
    expect(isOxvcsError(error)).toBe(true);
    expect(isOxvcsError(new Error('x'))).toBe(false);
  });

  it('treats cancellation as cancelled, even when wrapped', () => {
    expect(classify(new Error('x', { cause: new DOMException('stop', 'AbortError') })).kind).toBe(
      'cancelled',
    );
  });

  it('recognises the oxen CLI network message', () => {
    expect(
      classify(new Error('Network error: error sending request for url (http://localhost:3000/api/version)'))
        .kind,
    ).toBe('transient');
  });

  it('defaults unknown errors to permanent and says so', () => {
    const verdict = classify(new Error('disk full of kittens'));
    expect(verdict.kind).toBe('permanent');
    expect(verdict.reason).toBe('Unrecognised error, treated as permanent: disk full of kittens');
    expect(classify('a string').kind).toBe('permanent');
  });
});

describe('parseRetryAfter', () => {
  it('reads delta seconds and HTTP dates, rejects junk', () => {
    const now = Date.parse('2026-11-24T10:00:00Z');
    expect(parseRetryAfter('5', now)).toBe(5000);
    expect(parseRetryAfter('Tue, 24 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 24 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-3', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('clamps absurd server numbers to a day (they used to crash the queue with "Invalid time value")', () => {
    const now = Date.parse('2026-11-24T10:00:00Z');
    expect(parseRetryAfter('99999999999999999999', now)).toBe(24 * 3_600_000);
    expect(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', now)).toBe(24 * 3_600_000);
    const huge = Object.assign(new Error('busy'), { status: 429, retryAfterMs: 1e300 });
    expect(classify(huge).retryAfterMs).toBe(24 * 3_600_000);
  });
});
