import { HealthBuckets, sumSince, type HealthBucket } from './health';
import type { BreakerSpec } from './policy';

export type BreakerState = 'closed' | 'open' | 'half_open';

/** A change of state worth telling: `open` when the breaker trips, `closed` when a probe brought it back. */
export interface BreakerChange {
  readonly to: 'open' | 'closed';
  readonly at: number;
  /** The window's calls and failure rate that opened it (the probe's single call when it closes). */
  readonly calls: number;
  readonly failureRate: number;
  /** `local`: this isolate's own calls; `shared`: every isolate's, as the route objects last said. */
  readonly source: 'local' | 'shared' | 'probe';
}

/**
 * One circuit breaker (per route and target), a pure state machine driven by `now`:
 * - closed: every call goes; it opens when, over the last `windowMs`, the calls reach `minCalls` and the failures
 *   `failureRate` — judged on this isolate's own calls (at once) and on every isolate's calls as the route objects
 *   last reported them (`observeShared`), whichever trips first;
 * - open: the target is skipped until `cooldownMs` has passed, then one call goes as a probe (half-open);
 * - half-open: the probe's outcome decides — success closes, failure opens it again for another cooldown. A probe
 *   that never reports (its record lost) is replaced after another cooldown.
 * Outcomes from before the last change of state never count again, so a closed breaker is not tripped by the
 * failures that opened it.
 */
export class Breaker {
  private current: BreakerState = 'closed';
  private openedAt = Number.NEGATIVE_INFINITY;
  private since = Number.NEGATIVE_INFINITY;
  private probeAt: number | null = null;
  private readonly local: HealthBuckets;
  private shared: readonly HealthBucket[] = [];

  constructor(readonly spec: BreakerSpec) {
    this.local = new HealthBuckets(spec.windowMs + 10_000);
  }

  get state(): BreakerState {
    return this.current;
  }

  /** When the open breaker lets a probe through (null unless open). */
  get probeDueAt(): number | null {
    return this.current === 'open' ? this.openedAt + this.spec.cooldownMs : null;
  }

  /**
   * What `allow(now)` would answer, without taking the probe: `closed` (calls go), `probe` (the next call is the
   * probe), `open` (skipped). What a strategy orders by and a hedge asks: a hedge only ever goes to a closed breaker.
   */
  peek(now: number): 'closed' | 'probe' | 'open' {
    if (this.current === 'closed') return 'closed';
    if (this.current === 'half_open') return this.probeAt !== null && now - this.probeAt < this.spec.cooldownMs ? 'open' : 'probe';
    return now < this.openedAt + this.spec.cooldownMs ? 'open' : 'probe';
  }

  /**
   * Whether a call may go to the target now. Asked only for the target about to be tried: in the open state, the
   * first call after the cooldown is let through as the probe and the state becomes half-open.
   */
  allow(now: number): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'half_open') {
      if (this.probeAt !== null && now - this.probeAt < this.spec.cooldownMs) return false;
      this.probeAt = now;
      return true;
    }
    if (now < this.openedAt + this.spec.cooldownMs) return false;
    this.current = 'half_open';
    this.probeAt = now;
    return true;
  }

  /**
   * Files one attempt's outcome: `true` succeeded, `false` failed (5xx, 429, network error, timeout), `null` says
   * nothing of the target's health (a client error, a call the client or the gateway cancelled). `forced`: the call
   * went although the breaker is open (every target was open): it decides like a probe.
   */
  record(ok: boolean | null, now: number, forced = false): BreakerChange | null {
    if (ok === null) return null;
    if (this.current === 'half_open' || (this.current === 'open' && forced)) {
      this.probeAt = null;
      if (ok) return this.close(now);
      this.reopen(now);
      return null;
    }
    if (this.current === 'open') return null; // a call that started before it opened
    this.local.add(now, !ok);
    return ok ? null : this.judge(now);
  }

  /** Every isolate's recent outcomes of the target (the route objects' buckets); may trip a closed breaker. */
  observeShared(buckets: readonly HealthBucket[], now: number): BreakerChange | null {
    this.shared = buckets;
    return this.current === 'closed' ? this.judge(now) : null;
  }

  private judge(now: number): BreakerChange | null {
    const from = Math.max(now - this.spec.windowMs, this.since);
    for (const [source, seen] of [['local', this.local.since(from)], ['shared', sumSince(this.shared, from)]] as const) {
      if (seen.calls >= this.spec.minCalls && seen.failures / seen.calls >= this.spec.failureRate) {
        this.current = 'open';
        this.openedAt = now;
        this.since = now;
        this.local.clear();
        return { to: 'open', at: now, calls: seen.calls, failureRate: seen.failures / seen.calls, source };
      }
    }
    return null;
  }

  private reopen(now: number): void {
    this.current = 'open';
    this.openedAt = now;
    this.since = now;
  }

  private close(now: number): BreakerChange {
    this.current = 'closed';
    this.since = now;
    this.local.clear();
    return { to: 'closed', at: now, calls: 1, failureRate: 0, source: 'probe' };
  }
}

/** A circuit breaker of an isolate changing state (src/worker/proxy/health.ts -> `SlaRegistry.breakerChanged`): a `BreakerChange` with its route and target. */
export interface BreakerEvent {
  route: string;
  target: string;
  state: 'open' | 'closed';
  at: number;
  calls: number;
  failureRate: number;
  /** What tripped it: this isolate's calls, every isolate's (the route objects), or a probe (closing). */
  source: 'local' | 'shared' | 'probe';
  windowS: number;
  cooldownS: number;
}

/** A breaker as the registry last heard of it (`/metrics`, `/sla/<route>`). */
export interface BreakerStatus {
  route: string;
  target: string;
  state: 'open' | 'closed';
  since: number;
  calls: number;
  failureRate: number;
}
