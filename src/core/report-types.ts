import type { RouteStats, Verdict, Violation } from './sla/evaluate';
import type { ErrorBudget } from './sla/slo';
import type { RouteDecisions } from './resilience/decisions';

/** One route (or the overall line) in a report: its stats, its verdict, and its error budget (null without an SLO). */
export type RouteReport = Omit<RouteStats, 'exact'> & { sla: Verdict; error_budget?: ErrorBudget | null };

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

/**
 * One target of a route (a provider, or provider:model, a policy sends its calls to): its attempts' stats over the
 * window and its circuit breaker (`closed` unless an isolate reported it open).
 */
export type TargetReport = Omit<RouteStats, 'exact'> & { breaker: { state: 'open' | 'closed'; since: string | null } };

/** `GET /sla/<route>`. */
export interface RouteDetailReport {
  route: string;
  window: string;
  window_ms: number;
  generated_at: string;
  stats: RouteReport;
  series: SeriesPoint[];
  /** The route's targets, when a policy (`POLICIES`) sent its calls to any: each as it saw its own attempts. */
  targets: Record<string, TargetReport>;
  /**
   * A route with a policy: per target, the measured percentiles its decisions read over the recent windows and what
   * they decide now (first-token deadline, hedge delay; the strategy's order reads the same figures).
   */
  decisions?: RouteDecisions;
}
