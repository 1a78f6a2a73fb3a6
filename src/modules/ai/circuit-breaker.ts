export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit skips the provider before letting one probe through. */
  cooldownMs: number;
  /** Injected for tests. */
  now?: () => number;
}

/**
 * Per-provider circuit breaker. Closed: calls go through. After
 * `failureThreshold` consecutive failures it opens: calls are refused (the
 * chain skips to the next provider without waiting) for `cooldownMs`. Then
 * it is half-open: exactly one probe call is let through; its success closes
 * the circuit, its failure opens it for another cooldown. Pure, no timers.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private probeInFlight = false;
  private current: BreakerState = 'closed';
  private readonly now: () => number;

  constructor(private readonly opts: BreakerOptions) {
    this.now = opts.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.opts.cooldownMs) this.current = 'half-open';
    return this.current;
  }

  /**
   * Whether a call may go out now. In half-open state the first caller gets
   * the probe and must report its outcome with success()/failure().
   */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.probeInFlight) return false;
    this.probeInFlight = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.probeInFlight = false;
    this.current = 'closed';
  }

  failure(): void {
    this.probeInFlight = false;
    this.failures += 1;
    if (this.current === 'half-open' || this.failures >= this.opts.failureThreshold) {
      this.current = 'open';
      this.openedAt = this.now();
    }
  }
}
