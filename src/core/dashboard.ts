import type { AlertType } from './alerts';
import type { MinutePoint } from './sla/series';
import type { Violation } from './sla/evaluate';
import type { RouteReport } from './report-types';

/** One route on the dashboard: its stats and verdict over the selected window, and its last hour per minute. */
export interface DashboardRoute {
  route: string;
  stats: RouteReport;
  series: MinutePoint[];
}

/** A recent alert as the dashboard lists it. */
export interface DashboardAlert {
  id: number;
  at: string;
  delivered: boolean;
  type: AlertType;
  route: string;
  status: string;
  previous_status: string;
  violations: string[];
}

/** `GET /dashboard/data`: everything the dashboard page draws, in one answer. */
export interface DashboardData {
  /** The window statuses and stats are judged over (as asked, e.g. `5m`). */
  window: string;
  window_ms: number;
  generated_at: string;
  passed: boolean;
  overall: RouteReport;
  violations: Violation[];
  /** The span of every route's `series`: [series_from, series_to), one point per minute. */
  series_from: string;
  series_to: string;
  routes: DashboardRoute[];
  alerts: DashboardAlert[];
}
