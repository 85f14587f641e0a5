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
 */
export type FaultKind =
  | 'offline'
  | 'blackhole'
  | 'latency'
  | 'reset'
  | 'error'
  | 'rate-limit'
  | 'maintenance'
  | 'drop-response';

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
  /** For `error`: HTTP status. @default 503 */
  readonly status?: number;
  /** For `rate-limit`: the Retry-After header value. @default "1" */
  readonly retryAfter?: string;
}

/** A rule as stored, with its id and how many times it still applies. */
export interface ActiveFault extends FaultRule {
  readonly id: number;
  remaining: number;
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

/** Picks the rule that applies to a request, consuming one of its uses; pure apart from the rules' counters. */
export function pickFault(
  rules: ActiveFault[],
  request: { method: string; route: string; path: string },
  random: () => number,
): ActiveFault | undefined {
  for (const rule of rules) {
    if (rule.kind === 'offline' || rule.remaining <= 0) continue;
    if (rule.method && rule.method.toUpperCase() !== request.method) continue;
    if (rule.route && !request.route.includes(rule.route) && !request.path.includes(rule.route)) continue;
    if (rule.probability !== undefined && random() >= rule.probability) continue;
    rule.remaining -= 1;
    return rule;
  }
  return undefined;
}
