/**
 * Adaptive head sampling: scales the configured head ratios so that an isolate keeps about `targetPerS` spans per
 * second whatever its load. It estimates the isolate's *demand* — the spans per second the configured ratios alone
 * would keep (each call adds its priority's ratio; `critical` adds 1) — and answers the scale `target / demand`,
 * at most 1 (a quiet isolate keeps what the ratios say).
 *
 * Estimate: demand per one-second window, smoothed across windows (half the weight on the last one), and never
 * below what the current window has already seen — so a load spike lowers the scale within its first second, and a
 * drop raises it within a few. The scale only sets the probability a call is decided with; each kept span carries
 * that probability, so counts re-weighted by `1 / probability` stay unbiased while the scale moves. Driven by
 * `now`, one number per call: no timers, nothing on the response path.
 */
export class AdaptiveRate {
  private windowStart: number | null = null;
  private windowDemand = 0;
  /** Smoothed demand per second over past windows; null until the first window closes. */
  private smoothed: number | null = null;

  constructor(
    private readonly targetPerS: number,
    private readonly windowMs = 1000,
  ) {}

  /** The scale for a call deciding now (0 < scale <= 1). */
  scale(now: number): number {
    this.roll(now);
    const current = this.windowDemand / (this.windowMs / 1000);
    const demand = Math.max(this.smoothed ?? 0, current);
    return demand <= this.targetPerS ? 1 : this.targetPerS / demand;
  }

  /** Adds a call's weight (its configured head ratio) to the demand of the window `now` falls in. */
  observe(weight: number, now: number): void {
    this.roll(now);
    this.windowDemand += weight;
  }

  /** Demand per second as estimated now (for tests and the bench). */
  demand(now: number): number {
    this.roll(now);
    return Math.max(this.smoothed ?? 0, this.windowDemand / (this.windowMs / 1000));
  }

  private roll(now: number): void {
    if (this.windowStart === null) {
      this.windowStart = now;
      return;
    }
    const elapsed = now - this.windowStart;
    if (elapsed < this.windowMs) return;
    // A window closes: its demand per second over the time it really covered (an idle gap counts as quiet).
    const rate = this.windowDemand / (elapsed / 1000);
    this.smoothed = this.smoothed === null ? rate : (this.smoothed + rate) / 2;
    this.windowStart = now;
    this.windowDemand = 0;
  }
}
