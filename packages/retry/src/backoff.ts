/** How random spread is added to the exponential delay (AWS architecture blog, "Exponential Backoff And Jitter"). */
export type Jitter = 'full' | 'equal' | 'decorrelated' | 'none';

/** Backoff and limits for {@link retry}. */
export interface RetryPolicy {
  /** Retries after the first attempt (attempts = maxRetries + 1). */
  readonly maxRetries: number;
  /** Base delay before the first retry, in ms. @default 1000 */
  readonly initialDelayMs?: number;
  /** Cap on any computed delay, in ms. @default 30000 */
  readonly maxDelayMs?: number;
  /** Growth per retry. @default 2 */
  readonly factor?: number;
  /** Jitter strategy. @default 'full' */
  readonly jitter?: Jitter;
  /** Total time budget across all attempts and waits, in ms; no wait may run past it. @default undefined (none) */
  readonly deadlineMs?: number;
  /** Longest server-given delay (Retry-After) we accept; a longer one ends retrying. @default 60000 */
  readonly maxServerDelayMs?: number;
}

/** Lock operations: 5 retries, 1 s → 15 s (the original's lock preset). */
export const LOCK_POLICY: RetryPolicy = Object.freeze({
  maxRetries: 5,
  initialDelayMs: 1000,
  maxDelayMs: 15_000,
});
/** Push and pull: 3 retries, 1 s → 30 s (the original's transfer preset). */
export const TRANSFER_POLICY: RetryPolicy = Object.freeze({
  maxRetries: 3,
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
});

/**
 * The delay before retry number `retry` (1-based), pure. `previous` is the last delay used
 * (decorrelated jitter grows from it); `random` returns [0, 1).
 */
export function computeDelay(
  policy: RetryPolicy,
  retry: number,
  random: () => number,
  previous?: number,
): number {
  const initial = policy.initialDelayMs ?? 1000;
  const cap = policy.maxDelayMs ?? 30_000;
  const factor = policy.factor ?? 2;
  const exponential = Math.min(cap, initial * factor ** Math.max(0, retry - 1));
  switch (policy.jitter ?? 'full') {
    case 'none':
      return exponential;
    case 'equal':
      return Math.min(cap, exponential / 2 + random() * (exponential / 2));
    case 'decorrelated': {
      const last = previous ?? initial;
      const upper = Math.max(initial, last * 3);
      return Math.min(cap, initial + random() * (upper - initial));
    }
    default:
      return random() * exponential;
  }
}
