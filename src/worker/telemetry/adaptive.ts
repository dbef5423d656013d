/**
 * Adaptive head sampling: scales the configured head ratios so that an isolate keeps about `targetPerS` spans per
 * second whatever its load. It estimates two *demands* in spans per second: the spans that are kept whatever the
 * scale (critical calls, errors and slow calls, a caller's sampled flag: weight 1 each) and the spans the configured
 * ratios alone would keep of the others (each adds its priority's ratio). The scale is what is left of the target
 * after the fixed demand, over the scalable demand, at most 1 (a quiet isolate keeps what the ratios say) and at
 * least 0 (the ratio bounds then hold the floor).
 *
 * Estimate: demand per one-second window, smoothed across windows (half the weight on the last one) but never
 * below the last full window nor what the current window has already seen — so rising load lowers the scale within
 * a second, and falling load raises it over a few (erring toward fewer spans, never a burst). The scale only sets the probability a call is decided with; each kept span carries
 * that probability, so counts re-weighted by `1 / probability` stay unbiased while the scale moves. Driven by
 * `now`, one number per call: no timers, nothing on the response path.
 */
export class AdaptiveRate {
  private windowStart: number | null = null;
  private window = { fixed: 0, scalable: 0 };
  /** Smoothed demands per second over past windows; null until the first window closes. */
  private smoothed: { fixed: number; scalable: number } | null = null;
  /** The last full window's demands per second. */
  private last = { fixed: 0, scalable: 0 };

  constructor(
    private readonly targetPerS: number,
    private readonly windowMs = 1000,
  ) {}

  /** The scale for a call deciding now (0 <= scale <= 1). */
  scale(now: number): number {
    const { fixed, scalable } = this.demand(now);
    if (fixed + scalable <= this.targetPerS) return 1;
    return Math.max(0, this.targetPerS - fixed) / scalable;
  }

  /** Adds a call's weight to the window `now` falls in: a span kept whatever the scale (`fixed`), or its head ratio. */
  observe(weight: number, fixed: boolean, now: number): void {
    this.roll(now);
    if (fixed) this.window.fixed += weight;
    else this.window.scalable += weight;
  }

  /** Demands per second as estimated now: the smoothed past, or the current window's if it has already seen more. */
  demand(now: number): { fixed: number; scalable: number } {
    this.roll(now);
    const perS = 1000 / this.windowMs;
    return {
      fixed: Math.max(this.smoothed?.fixed ?? 0, this.last.fixed, this.window.fixed * perS),
      scalable: Math.max(this.smoothed?.scalable ?? 0, this.last.scalable, this.window.scalable * perS),
    };
  }

  private roll(now: number): void {
    if (this.windowStart === null) {
      this.windowStart = now;
      return;
    }
    const elapsed = now - this.windowStart;
    if (elapsed < this.windowMs) return;
    // A window closes: its demand per second over the time it really covered (an idle gap counts as quiet).
    const fixed = this.window.fixed / (elapsed / 1000);
    const scalable = this.window.scalable / (elapsed / 1000);
    this.smoothed = this.smoothed === null ? { fixed, scalable } : { fixed: (this.smoothed.fixed + fixed) / 2, scalable: (this.smoothed.scalable + scalable) / 2 };
    this.last = { fixed, scalable };
    this.windowStart = now;
    this.window = { fixed: 0, scalable: 0 };
  }
}
