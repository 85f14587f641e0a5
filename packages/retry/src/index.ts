export { computeDelay, type Jitter, LOCK_POLICY, type RetryPolicy, TRANSFER_POLICY } from './backoff.js';
export {
  type BreakerState,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  createCircuitBreaker,
} from './breaker.js';
export { createRetryBudget, type RetryBudget, type RetryBudgetOptions } from './budget.js';
export { type Classification, classify, isRetryable } from './classify.js';
export { type ErrorKind, isOxvcsError, OxvcsError, RetryError, type RetryErrorCode } from './errors.js';
export { type RetryEvent, type RetryOptions, retry } from './retry.js';
export { parseRetryAfter } from './retry-after.js';
