/**
 * How many hedges a route may send, per isolate: a token bucket filled by the route's calls. Every call adds
 * `maxRatio` of a token, a hedge takes a whole one, and the bucket holds at most the credit of `BURST_CALLS` calls
 * (at least one token). So over any run of calls, hedges are at most `maxRatio` of them plus that credit: a burst of
 * slow calls spends what the calls before it earned, never more. It starts empty (the first hedge waits for
 * 1 / maxRatio calls), and credit left from before a quiet spell of `IDLE_MS` is forgotten: a burst after a lull
 * starts from nothing. A pure state machine driven by `now`.
 */
export const BURST_CALLS = 100;
export const IDLE_MS = 60_000;

export class HedgeBudget {
  private tokens = 0;
  private lastCallAt = Number.NEGATIVE_INFINITY;
  private calls = 0;
  private hedges = 0;
  readonly capacity: number;

  constructor(readonly maxRatio: number) {
    if (!(maxRatio > 0 && maxRatio <= 1)) throw new Error(`A hedge ratio must be in (0, 1], got ${maxRatio}`);
    this.capacity = Math.max(1, maxRatio * BURST_CALLS);
  }

  /** A call of the route started: its share of a hedge is earned. */
  call(now: number): void {
    if (now - this.lastCallAt > IDLE_MS) this.tokens = 0;
    this.lastCallAt = Math.max(this.lastCallAt, now);
    this.tokens = Math.min(this.capacity, this.tokens + this.maxRatio);
    this.calls++;
  }

  /** Whether a hedge may go now; when it may, its token is taken. */
  take(now: number): boolean {
    if (now - this.lastCallAt > IDLE_MS) this.tokens = 0;
    // A float sum of ratios (0.05 x 20) can land a hair under 1.
    if (this.tokens < 1 - 1e-9) return false;
    this.tokens = Math.max(0, this.tokens - 1);
    this.hedges++;
    return true;
  }

  /** Calls and hedges counted since the bucket was made (tests, the benchmark). */
  get counts(): { calls: number; hedges: number; tokens: number } {
    return { calls: this.calls, hedges: this.hedges, tokens: this.tokens };
  }
}
