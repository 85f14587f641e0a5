import type { ErrorKind } from './errors.js';
import { clampServerDelay, parseRetryAfter } from './retry-after.js';

/** The verdict of {@link classify}. */
export interface Classification {
  /** What to do: retry (`transient`, `rate-limited`) or stop. */
  readonly kind: ErrorKind;
  /** One human sentence explaining the verdict. */
  readonly reason: string;
  /** For `rate-limited` (and any answer carrying Retry-After): how long the server asked us to wait. */
  readonly retryAfterMs?: number;
  /** The network code or HTTP status that decided it, when one did. */
  readonly code?: string;
}

/** Node and undici network error codes that mean "the network or the server is briefly unavailable". */
export const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EPIPE',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

const PERMANENT_UNDICI_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_INVALID_RETURN_VALUE',
  'UND_ERR_NOT_SUPPORTED',
]);

const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Message fragments of network failures that arrive without a code (oxen CLI, proxies). */
const TRANSIENT_MESSAGES: readonly RegExp[] = [
  /^Network error: error sending request/m,
  /socket hang up/i,
  /other side closed/i,
  /connection (?:refused|reset)/i,
];

const KINDS: ReadonlySet<string> = new Set([
  'transient',
  'rate-limited',
  'permanent',
  'conflict',
  'auth',
  'cancelled',
]);

type Node = Record<string, unknown> & { message?: unknown; name?: unknown };

function statusOf(node: Node): number | undefined {
  for (const candidate of [node.status, node.statusCode, (node.response as Node | undefined)?.status]) {
    if (typeof candidate === 'number' && candidate >= 100 && candidate < 600) return candidate;
  }
  return undefined;
}

function headerOf(node: Node, name: string): string | undefined {
  const holders = [(node.response as Node | undefined)?.headers, node.headers];
  for (const headers of holders) {
    if (headers == null) continue;
    if (typeof (headers as Headers).get === 'function') {
      const value = (headers as Headers).get(name);
      if (value != null) return value;
    } else if (typeof headers === 'object') {
      const value =
        (headers as Record<string, unknown>)[name] ??
        (headers as Record<string, unknown>)[name.toLowerCase()];
      if (typeof value === 'string') return value;
    }
  }
  return undefined;
}

function retryAfterOf(node: Node, now: number): number | undefined {
  if (typeof node.retryAfterMs === 'number' && node.retryAfterMs >= 0)
    return clampServerDelay(node.retryAfterMs);
  return parseRetryAfter(headerOf(node, 'retry-after'), now);
}

function describe(node: Node): string {
  const message =
    typeof node.message === 'string' && node.message !== '' ? node.message : String(node.name ?? 'error');
  return message.split('\n')[0] ?? message;
}

function withDelay(base: Omit<Classification, 'retryAfterMs'>, delay: number | undefined): Classification {
  return delay === undefined ? base : { ...base, retryAfterMs: delay };
}

/** Verdict for one node of the chain, or undefined when the node says nothing definite. */
function classifyNode(node: Node, now: number): Classification | undefined {
  const name = typeof node.name === 'string' ? node.name : '';
  const code = typeof node.code === 'string' ? node.code : undefined;
  if (name === 'AbortError' || code === 'ABORT_ERR' || code === 'UND_ERR_ABORTED') {
    return { kind: 'cancelled', reason: 'The operation was cancelled.', code: code ?? 'ABORT_ERR' };
  }
  if (typeof node.retryKind === 'string' && KINDS.has(node.retryKind)) {
    return withDelay(
      { kind: node.retryKind as ErrorKind, reason: describe(node), ...(code ? { code } : {}) },
      retryAfterOf(node, now),
    );
  }
  if (name === 'TimeoutError' || code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return { kind: 'transient', reason: `Timed out: ${describe(node)}`, code: code ?? 'TIMEOUT' };
  }
  if (code && TRANSIENT_NETWORK_CODES.has(code)) {
    return { kind: 'transient', reason: `Network error ${code}: ${describe(node)}`, code };
  }
  if (code?.startsWith('UND_ERR_')) {
    if (PERMANENT_UNDICI_CODES.has(code)) return { kind: 'permanent', reason: describe(node), code };
    return { kind: 'transient', reason: `Network error ${code}: ${describe(node)}`, code };
  }
  const status = statusOf(node);
  if (status !== undefined) {
    const delay = retryAfterOf(node, now);
    const base = { reason: `HTTP ${status}: ${describe(node)}`, code: String(status) };
    if (status === 429) return withDelay({ ...base, kind: 'rate-limited' }, delay);
    if (status === 401 || status === 403) return { ...base, kind: 'auth' };
    if (status === 409) return { ...base, kind: 'conflict' };
    if (TRANSIENT_STATUS.has(status) || status >= 500)
      return withDelay({ ...base, kind: 'transient' }, delay);
    if (status >= 400) return { ...base, kind: 'permanent' };
  }
  const message = typeof node.message === 'string' ? node.message : '';
  if (TRANSIENT_MESSAGES.some((re) => re.test(message))) {
    return { kind: 'transient', reason: describe(node) };
  }
  return undefined;
}

/**
 * Decides whether an error is worth retrying. Walks the error, its whole `cause` chain and the
 * members of `AggregateError`s (outermost first) and returns the first definite verdict:
 * cancellation, a kind the error declares itself (`retryKind`), a Node/undici network code,
 * an HTTP status (with `Retry-After`), or a known network message. Anything else is permanent,
 * and the reason says that it was not recognised.
 */
export function classify(error: unknown, now: number = Date.now()): Classification {
  const queue: unknown[] = [error];
  const seen = new Set<unknown>();
  while (queue.length > 0) {
    const current = queue.shift();
    if (current == null || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    const node = current as Node;
    const verdict = classifyNode(node, now);
    if (verdict) return verdict;
    if (Array.isArray(node.errors)) queue.push(...node.errors);
    if ('cause' in node) queue.push(node.cause);
  }
  const text = error instanceof Error ? describe(error as unknown as Node) : String(error);
  return { kind: 'permanent', reason: `Unrecognised error, treated as permanent: ${text}` };
}

/** True for the kinds that `retry` retries: `transient` and `rate-limited`. */
export function isRetryable(kind: ErrorKind): boolean {
  return kind === 'transient' || kind === 'rate-limited';
}
