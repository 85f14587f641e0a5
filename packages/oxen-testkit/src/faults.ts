/**
 * Kinds of network and server faults the fake can inject:
 * - `offline`: nothing listens on the port (connection refused). Always global.
 * - `blackhole`: the connection is accepted and never answered.
 * - `latency`: the answer is delayed by `ms`, then served normally.
 * - `reset`: the connection is destroyed mid-response (headers and part of the body sent).
 * - `error`: an HTTP `status` (default 503) error envelope.
 * - `rate-limit`: 429 with `Retry-After: retryAfter` (seconds or HTTP-date; default "1"), Hub style.
 * - `maintenance`: oxen-server's own 429 "Repository is busy" with `Retry-After: 5`.
 * - `drop-response`: the request is APPLIED, then the connection is dropped without an answer
 *   (the ambiguous outcome: the client cannot tell whether its write happened).
 * - `stall-body`: the request is APPLIED; the real answer's status and headers (with its full
 *   `Content-Length`) and its first `bytes` body bytes (default: half) are sent, then nothing more
 *   until the client disconnects or the server stops.
 * - `huge-body`: instead of the real answer, a body of `bytes` bytes (default 300 MiB), streamed in
 *   chunks: a JSON-looking success envelope for a 2xx `status` (default 200), an HTML error page
 *   otherwise (a proxy's 502). `Content-Length` is declared unless `chunked` is set.
 *   The request is not applied.
 * - `redirect`: `status` (default 302) with `Location: location`, by default the same path and
 *   query on another origin, `http://127.0.0.2:<port>` (a loopback address on Linux).
 *   The request is not applied.
 * - `drop-body`: the connection drops partway through a matching request's body, after `bytes`
 *   of it (default 0: at its first bytes); the request is not applied, and the server stays up
 *   (the next request is answered). A dropped small-file batch (`POST …/versions`), for one.
 * - `cut`: the link drops after `bytes` request-body bytes of matching requests (counted across
 *   requests, default: all of them): the request in flight is cut mid-body (not applied), and the
 *   server goes offline, as with `offline`, until `online()` or `clear()`. Cuts a push at a point.
 */
export type FaultKind =
  | 'offline'
  | 'blackhole'
  | 'latency'
  | 'reset'
  | 'error'
  | 'rate-limit'
  | 'maintenance'
  | 'drop-response'
  | 'stall-body'
  | 'huge-body'
  | 'redirect'
  | 'drop-body'
  | 'cut';

/** Every {@link FaultKind}, for validation and command-line help. */
export const FAULT_KINDS: readonly FaultKind[] = [
  'offline',
  'blackhole',
  'latency',
  'reset',
  'error',
  'rate-limit',
  'maintenance',
  'drop-response',
  'stall-body',
  'huge-body',
  'redirect',
  'drop-body',
  'cut',
];

/** One fault rule. Rules are checked in order; the first that matches a request applies. */
export interface FaultRule {
  readonly kind: FaultKind;
  /** Only requests with this HTTP method. */
  readonly method?: string;
  /** Only requests whose route template (`/api/repos/:ns/:repo/branches`) or path contains this text. */
  readonly route?: string;
  /** Apply to this many matching requests, then retire. @default unlimited */
  readonly count?: number;
  /** Apply to each matching request with this probability (seeded). @default 1 */
  readonly probability?: number;
  /** For `latency`: delay in ms. @default 1000 */
  readonly ms?: number;
  /** For `error`: HTTP status (default 503); `huge-body`: default 200; `redirect`: default 302. */
  readonly status?: number;
  /** For `rate-limit`: the Retry-After header value. @default "1" */
  readonly retryAfter?: string;
  /**
   * For `huge-body`: the body's size (default 314572800, i.e. 300 MiB). For `stall-body`: how many
   * bytes of the real body are sent before the stall (default: half of it, rounded down). For
   * `cut`: request-body bytes let through before the link drops; `drop-body`: bytes of the
   * request's body that arrive before its connection drops. @default 0
   */
  readonly bytes?: number;
  /** For `huge-body`: send without `Content-Length` (chunked), so only reading reveals the size. @default false */
  readonly chunked?: boolean;
  /** For `redirect`: the `Location` header, used verbatim. @default `http://127.0.0.2:<port><path and query>` */
  readonly location?: string;
}

/** A rule as stored, with its id and how many times it still applies. */
export interface ActiveFault extends FaultRule {
  readonly id: number;
  remaining: number;
  /** For `cut`: request-body bytes still let through. */
  budget?: number;
}

/** Throws a one-sentence error when `rule` is not a usable {@link FaultRule}. */
export function validateFaultRule(rule: unknown): asserts rule is FaultRule {
  const r = rule as Record<string, unknown> | null;
  if (!r || typeof r !== 'object' || !FAULT_KINDS.includes(r.kind as FaultKind)) {
    throw new Error(`Unknown fault kind "${String(r?.kind ?? '')}"; use one of ${FAULT_KINDS.join(', ')}.`);
  }
  for (const key of ['count', 'probability', 'ms', 'status', 'bytes'] as const) {
    const value = r[key];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) {
      throw new Error(`Fault field "${key}" must be a non-negative number, got ${JSON.stringify(value)}.`);
    }
  }
  for (const key of ['method', 'route', 'retryAfter', 'location'] as const) {
    if (r[key] !== undefined && typeof r[key] !== 'string') {
      throw new Error(`Fault field "${key}" must be a string, got ${JSON.stringify(r[key])}.`);
    }
  }
  if (r.chunked !== undefined && typeof r.chunked !== 'boolean') {
    throw new Error(`Fault field "chunked" must be true or false, got ${JSON.stringify(r.chunked)}.`);
  }
}

/** A small seeded PRNG (mulberry32), so flaky-network runs are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Picks the rule that applies to a request, consuming one of its uses; pure apart from the rules'
 * counters. `drop-body` rules apply while the body arrives: picked only when `only` asks for them.
 */
export function pickFault(
  rules: ActiveFault[],
  request: { method: string; route: string; path: string },
  random: () => number,
  only?: 'drop-body',
): ActiveFault | undefined {
  for (const rule of rules) {
    if (rule.kind === 'offline' || rule.kind === 'cut' || rule.remaining <= 0) continue;
    if ((rule.kind === 'drop-body') !== (only === 'drop-body')) continue;
    if (rule.method && rule.method.toUpperCase() !== request.method) continue;
    if (rule.route && !request.route.includes(rule.route) && !request.path.includes(rule.route)) continue;
    if (rule.probability !== undefined && random() >= rule.probability) continue;
    rule.remaining -= 1;
    return rule;
  }
  return undefined;
}

/**
 * Spends `size` request-body bytes against the first live `cut` rule matching `request`. Returns
 * undefined when they pass, else how many of them arrive before the link drops (the rule retires).
 */
export function takeCut(
  rules: ActiveFault[],
  request: { method: string; route: string; path: string },
  size: number,
): number | undefined {
  const index = rules.findIndex(
    (rule) =>
      rule.kind === 'cut' &&
      (!rule.method || rule.method.toUpperCase() === request.method) &&
      (!rule.route || request.route.includes(rule.route) || request.path.includes(rule.route)),
  );
  const rule = rules[index];
  if (!rule) return undefined;
  const budget = rule.budget ?? Math.floor(rule.bytes ?? 0);
  if (size < budget) {
    rule.budget = budget - size;
    return undefined;
  }
  rules.splice(index, 1);
  return budget;
}
