/**
 * Circuit breaker for span export: `threshold` consecutive failures open it; while open nothing is sent; after
 * `cooldownMs` one probe export goes through (half-open): success closes it, failure opens it for another cool-down.
 */
export class Breaker {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  state: 'closed' | 'open' | 'half_open' = 'closed';
  opens = 0;

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
  ) {}

  /** Whether an export may be sent now. In half-open state only the one probe may. */
  allow(now: number): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open' && now - this.openedAt >= this.cooldownMs) {
      this.state = 'half_open';
      this.probing = false;
    }
    if (this.state === 'half_open' && !this.probing) {
      this.probing = true;
      return true;
    }
    return false;
  }

  /** Whether new spans are worth queueing: false while open and cooling down. */
  accepting(now: number): boolean {
    return this.state !== 'open' || now - this.openedAt >= this.cooldownMs;
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
    this.state = 'closed';
  }

  failure(now: number): void {
    this.failures++;
    this.probing = false;
    if (this.state === 'half_open' || this.failures >= this.threshold) {
      if (this.state !== 'open') this.opens++;
      this.state = 'open';
      this.openedAt = now;
      this.failures = 0;
    }
  }
}
