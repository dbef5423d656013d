import { OUTCOMES, type Outcome } from './sla/sample';

/**
 * Cumulative per-route counters for /metrics: what a route object keeps (`RouteCounterData`), the histogram
 * arithmetic both the route objects (adding calls) and the registry (adding shards up) use, and what /metrics
 * exposes of them after the series budget (`MetricsExposition`, planned in `series-budget.ts`).
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

/** Tokens and cost of one model on a route. */
export interface ModelCounters {
  model: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** Sum over the calls with a known price. */
  costUsd: number;
  /** Calls with a known price; 0 means the cost is unknown (absent from /metrics, never 0). */
  pricedCount: number;
}

/**
 * What a route object counts for /metrics since it was created (or reset): calls per outcome, the duration and
 * TTFT histograms of the route (calls that were not aborted: a client that left is not a latency measurement, as in
 * /sla), and tokens and cost per model (its first 50 models; later ones under `other`).
 */
export interface RouteCounterData {
  outcomes: Record<Outcome, number>;
  duration: HistogramCounts;
  ttft: HistogramCounts;
  models: ModelCounters[];
  /** The boundaries of `duration` and `ttft` (absent: the defaults, `DEFAULT_BOUNDS`). */
  bounds?: HistogramBounds;
}

/**
 * The boundaries of a route's duration and TTFT histograms: the GenAI ones plus the route's SLO thresholds, so a
 * latency SLO reads off the histogram (`metrics-buckets.ts` chooses them).
 */
export interface HistogramBounds {
  /** `llm_sla_request_duration_seconds`. */
  duration: readonly number[];
  /** `llm_sla_time_to_first_token_seconds`. */
  ttft: readonly number[];
}

export const DEFAULT_BOUNDS: HistogramBounds = { duration: DURATION_BUCKETS_S, ttft: TTFT_BUCKETS_S };

/** Bucket bounds of `llm_sla_gateway_overhead_seconds`: from half a millisecond to a second. */
export const OVERHEAD_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] as const;

/** A route's SLO event counts (null: no SLO in force) and gateway overhead histogram (`route-metrics.ts`). */
export interface RouteExtrasSnapshot {
  sloEvents: { good: number; bad: number } | null;
  overhead: HistogramCounts;
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

/** Every route's counters, shards added up, as the registry collects them. */
export interface MetricsSnapshot {
  /**
   * Per route: its counters, its SLO event counts and overhead histogram (`route-metrics.ts`; absent: none kept),
   * and the attempts and fallbacks of the calls a policy handled (absent: none).
   */
  routes: {
    route: string;
    counters: RouteCounterData;
    extras?: RouteExtrasSnapshot;
    resilience?: ResilienceCounts;
    /** A route whose policy derives first-token deadlines: each target's as an attempt gets it now, ms. */
    firstTokenTimeouts?: { target: string; ms: number }[];
  }[];
  /** The circuit breakers of the routes' policies, as the registry last heard of them (absent: none). */
  breakers?: readonly BreakerGauge[];
  /**
   * Routes with an SLO in force: the known ones and the exact keys of the config's route blocks, so a route
   * configured by name has its `llm_sla_slo_calls_total` from 0 before its first call (`route-metrics.ts`).
   */
  sloRoutes?: readonly string[];
  /** Records lost on the way to the Durable Objects (flushes that failed after retries), as reported to them. */
  droppedRecords: number;
  /** Samples the windows could not file (older than retention, or malformed). */
  droppedSamples: number;
}

/** One route as /metrics shows it: only the groups of series the budget holds (a group just admitted shows 0). */
export interface ExposedRoute {
  route: string;
  /** `llm_sla_requests_total{route,outcome}`, every outcome. */
  outcomes: Record<Outcome, number> | null;
  duration: HistogramCounts | null;
  ttft: HistogramCounts | null;
  /** The boundaries of `duration` and `ttft`. */
  bounds: HistogramBounds;
  /** Tokens and cost per model: the route's first models, the rest under `other`. */
  models: ModelCounters[];
  /** `llm_sla_slo_calls_total{route,good}`: calls judged under the route's SLO (null: no SLO, or no room). */
  slo: { good: number; bad: number } | null;
  /** `llm_sla_gateway_overhead_seconds{route}` (null: no proxied call yet, or no room). */
  overhead: HistogramCounts | null;
  /** `llm_sla_attempts_total{route,target,outcome}`: per target, every outcome (targets with room). */
  attempts: { target: string; outcomes: Record<Outcome, number> }[];
  /** `llm_sla_fallbacks_total{route,from,to,reason}` (moves with room). */
  fallbacks: { from: string; to: string; reason: string; count: number }[];
  /** `llm_sla_breaker_state{route,target,state}` (a gauge: shown as it is, no zero start). */
  breakers: { target: string; state: 'open' | 'closed' }[];
  /** `llm_sla_hedges_total{route,result}` (null: the route never hedged, or no room). */
  hedges: { won: number; lost: number } | null;
  /** `llm_sla_first_token_timeout_ms{route,target}` (a gauge): the deadline an attempt at each target gets now. */
  firstTokenTimeouts: { target: string; ms: number }[];
}

/** What /metrics renders of the routes, after the series budget. */
export interface MetricsExposition {
  routes: ExposedRoute[];
  droppedRecords: number;
  droppedSamples: number;
  /** Series the budget holds and the bytes their lines take, the budget (bytes), and the series of groups with data it had no room for. */
  series: { exported: number; bytes: number; budget: number; refused: number };
}

export function emptyOutcomes(): Record<Outcome, number> {
  return Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
}

export function emptyCounters(): RouteCounterData {
  return { outcomes: emptyOutcomes(), duration: emptyHistogram(DURATION_BUCKETS_S), ttft: emptyHistogram(TTFT_BUCKETS_S), models: [] };
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

/** Adds `from` into `into` (shards of one route): outcomes, histograms, models by name. */
export function mergeCounters(into: RouteCounterData, from: RouteCounterData): void {
  for (const o of OUTCOMES) into.outcomes[o] += from.outcomes[o] ?? 0;
  mergeHistogram(into.duration, from.duration);
  mergeHistogram(into.ttft, from.ttft);
  for (const m of from.models) {
    const mine = into.models.find((x) => x.model === m.model);
    if (!mine) into.models.push({ ...m });
    else {
      mine.calls += m.calls;
      mine.inputTokens += m.inputTokens;
      mine.outputTokens += m.outputTokens;
      mine.costUsd += m.costUsd;
      mine.pricedCount += m.pricedCount;
    }
  }
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
