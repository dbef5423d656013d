import type { Outcome } from './sla/sample';

/**
 * Cumulative per-route counters for /metrics: what a route object keeps per model and outcome, and the histogram
 * arithmetic both the route objects (adding calls) and the registry (adding shards up) use.
 */

/**
 * Bucket upper bounds in seconds: the OpenTelemetry GenAI semantic conventions' advisory boundaries for
 * `gen_ai.client.operation.duration` and `gen_ai.server.time_to_first_token`.
 */
export const DURATION_BUCKETS_S = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] as const;
export const TTFT_BUCKETS_S = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] as const;

/** A histogram as kept: `counts[i]` calls with value <= bounds[i] and > bounds[i-1]; the last entry is +Inf. */
export interface HistogramCounts {
  counts: number[];
  sum: number;
  count: number;
}

/** Cumulative counters since the route's object was created (or reset), per model and outcome. */
export interface MetricsSeries {
  model: string;
  outcome: Outcome;
  count: number;
  duration: HistogramCounts;
  ttft: HistogramCounts;
  inputTokens: number;
  outputTokens: number;
  /** Sum over the calls with a known price. */
  costUsd: number;
  /** Calls with a known price; 0 means the cost is unknown (absent from /metrics, never 0). Absent in data kept before it existed. */
  pricedCount?: number;
}

/** Cumulative counts of the calls a policy handled, per route: attempts per target and outcome, fallbacks. */
export interface ResilienceCounts {
  attempts: { target: string; outcome: string; count: number }[];
  fallbacks: { from: string; to: string; reason: string; count: number }[];
  /** Calls that sent a hedge, by whether its answer was the client's (`won`) or not (`lost`). */
  hedges?: { result: string; count: number }[];
}

/** A circuit breaker's state for /metrics (`llm_sla_breaker_state`). */
export interface BreakerGauge {
  route: string;
  target: string;
  state: 'open' | 'closed';
}

export interface MetricsSnapshot {
  routes: {
    route: string;
    series: MetricsSeries[];
    resilience?: ResilienceCounts;
    /** A route whose policy derives first-token deadlines: each target's as an attempt gets it now, ms. */
    firstTokenTimeouts?: { target: string; ms: number }[];
  }[];
  /** The circuit breakers as the registry last heard of them. */
  breakers?: BreakerGauge[];
  /** Records lost on the way to the Durable Objects (flushes that failed after retries), as reported to them. */
  droppedRecords: number;
  /** Samples the windows could not file (older than retention, or malformed). */
  droppedSamples: number;
  /** Span export counts summed over isolates (registry), by counter name; absent when never reported. */
  telemetry?: Readonly<Record<string, number>>;
}

/** Index in `counts` a value falls in: the first bound it does not exceed, else the +Inf slot. */
export function bucketIndex(bounds: readonly number[], valueSeconds: number): number {
  for (let i = 0; i < bounds.length; i++) if (valueSeconds <= (bounds[i] as number)) return i;
  return bounds.length;
}

export function emptyHistogram(bounds: readonly number[]): HistogramCounts {
  return { counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 };
}

export function addToHistogram(h: HistogramCounts, bounds: readonly number[], valueSeconds: number): void {
  const i = bucketIndex(bounds, valueSeconds);
  h.counts[i] = (h.counts[i] ?? 0) + 1;
  h.sum += valueSeconds;
  h.count++;
}

export function mergeHistogram(into: HistogramCounts, from: HistogramCounts): void {
  from.counts.forEach((n, i) => (into.counts[i] = (into.counts[i] ?? 0) + n));
  into.sum += from.sum;
  into.count += from.count;
}

/** Adds `from`'s counts into `into` (shards of one route). */
export function mergeResilience(into: ResilienceCounts, from: ResilienceCounts): void {
  const add = <T extends { count: number }>(list: T[], item: T, same: (a: T) => boolean) => {
    const hit = list.find(same);
    if (hit) hit.count += item.count;
    else list.push({ ...item });
  };
  for (const a of from.attempts) add(into.attempts, a, (x) => x.target === a.target && x.outcome === a.outcome);
  for (const f of from.fallbacks) add(into.fallbacks, f, (x) => x.from === f.from && x.to === f.to && x.reason === f.reason);
  for (const h of from.hedges ?? []) add((into.hedges ??= []), h, (x) => x.result === h.result);
}
