import type { RouteStats, Verdict, Violation } from './sla/evaluate';
import type { ErrorBudget } from './sla/slo';
import type { Outcome } from './sla/window';

/** One route (or the overall line) in a report: its stats, its verdict, and its error budget (null without an SLO). */
export type RouteReport = Omit<RouteStats, 'exact'> & { sla: Verdict; error_budget?: ErrorBudget | null };

/** A cost for reading: 6 decimals, or 2 significant digits below a millionth of a dollar (never a bare 0). */
export function formatUsd(usd: number): string {
  return usd !== 0 && Math.abs(usd) < 1e-6 ? usd.toPrecision(2) : usd.toFixed(6);
}

/** `GET /sla`: every known route judged over one window. */
export interface SlaReport {
  /** False when any route, or the overall line, failed (insufficient data does not fail). */
  passed: boolean;
  /** As asked, e.g. `5m`. */
  window: string;
  window_ms: number;
  /** ISO time the report was computed. */
  generated_at: string;
  overall: RouteReport;
  violations: Violation[];
  routes: Record<string, RouteReport>;
}

/** One minute of a route, for `GET /sla/<route>` and the dashboard's charts (one type, one path: `routeSeries`). */
export type { MinutePoint as SeriesPoint } from './sla/series';
import type { MinutePoint as SeriesPoint } from './sla/series';

/** `GET /sla/<route>`. */
export interface RouteDetailReport {
  route: string;
  window: string;
  window_ms: number;
  generated_at: string;
  stats: RouteReport;
  series: SeriesPoint[];
}

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

export interface MetricsSnapshot {
  routes: { route: string; series: MetricsSeries[] }[];
  /** Records lost on the way to the Durable Objects (flushes that failed after retries), as reported to them. */
  droppedRecords: number;
  /** Samples the windows could not file (older than retention, or malformed). */
  droppedSamples: number;
  /** Span export counts summed over isolates (registry), by counter name; absent when never reported. */
  telemetry?: Readonly<Record<string, number>>;
}
