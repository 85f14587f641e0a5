/** Options of {@link createRetryBudget}; defaults are AWS SDK "standard" retry mode. */
export interface RetryBudgetOptions {
  /** Tokens in a full bucket. @default 500 */
  readonly capacity?: number;
  /** Tokens a retry costs. @default 5 */
  readonly retryCost?: number;
  /** Tokens a retry after a timeout costs. @default 10 */
  readonly timeoutCost?: number;
  /** Tokens a success gives back. @default 1 */
  readonly successRefund?: number;
}

/** A token bucket shared by many operations so one replay cannot hammer a dead server. */
export interface RetryBudget {
  /** Takes the cost of one retry; false (and nothing taken) when the bucket cannot pay. */
  tryAcquire(isTimeout?: boolean): boolean;
  /** Refunds after a success. */
  recordSuccess(): void;
  /** Tokens left. */
  readonly available: number;
}

/** Creates a retry budget (token bucket). */
export function createRetryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const capacity = options.capacity ?? 500;
  const retryCost = options.retryCost ?? 5;
  const timeoutCost = options.timeoutCost ?? 10;
  const refund = options.successRefund ?? 1;
  let tokens = capacity;
  return {
    tryAcquire(isTimeout = false) {
      const cost = isTimeout ? timeoutCost : retryCost;
      if (tokens < cost) return false;
      tokens -= cost;
      return true;
    },
    recordSuccess() {
      tokens = Math.min(capacity, tokens + refund);
    },
    get available() {
      return tokens;
    },
  };
}
