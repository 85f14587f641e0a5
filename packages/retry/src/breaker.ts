/** Serialisable breaker state, so a short-lived CLI process can keep it across runs. */
export interface BreakerState {
  readonly state: 'closed' | 'open' | 'half-open';
  readonly consecutiveFailures: number;
  /** Epoch ms when the breaker opened, when it is open. */
  readonly openedAt?: number;
}

/** Options of {@link createCircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. @default 5 */
  readonly failureThreshold?: number;
  /** How long an open breaker waits before letting one trial through, in ms. @default 30000 */
  readonly halfOpenAfterMs?: number;
  /** Where to start (from {@link CircuitBreaker.toJSON}). @default closed */
  readonly initialState?: BreakerState;
  /** Clock. @default Date */
  readonly clock?: { now(): number };
}

/** A consecutive-failure circuit breaker with a half-open trial. */
export interface CircuitBreaker {
  /** True when a request may go out now (closed, or the half-open trial). */
  canRequest(): boolean;
  recordSuccess(): void;
  recordFailure(): void;
  /** Current state (an open breaker past its wait reads as half-open). */
  readonly state: BreakerState['state'];
  toJSON(): BreakerState;
}

/** Creates a circuit breaker; see {@link CircuitBreakerOptions}. */
export function createCircuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreaker {
  const threshold = options.failureThreshold ?? 5;
  const wait = options.halfOpenAfterMs ?? 30_000;
  const clock = options.clock ?? Date;
  let state: BreakerState = options.initialState ?? { state: 'closed', consecutiveFailures: 0 };
  let trialInFlight = false;

  const current = (): BreakerState['state'] => {
    if (state.state === 'open' && clock.now() >= (state.openedAt ?? 0) + wait) return 'half-open';
    return state.state;
  };

  return {
    canRequest() {
      const now = current();
      if (now === 'closed') return true;
      if (now === 'half-open' && !trialInFlight) {
        trialInFlight = true;
        return true;
      }
      return false;
    },
    recordSuccess() {
      trialInFlight = false;
      state = { state: 'closed', consecutiveFailures: 0 };
    },
    recordFailure() {
      const wasTrial = current() === 'half-open';
      trialInFlight = false;
      const failures = state.consecutiveFailures + 1;
      state =
        wasTrial || failures >= threshold
          ? { state: 'open', consecutiveFailures: failures, openedAt: clock.now() }
          : { state: 'closed', consecutiveFailures: failures };
    },
    get state() {
      return current();
    },
    toJSON() {
      return { ...state, state: current() === 'half-open' ? 'half-open' : state.state };
    },
  };
}
