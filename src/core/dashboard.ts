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
  /** The routes drawn (at most `DASHBOARD_MAX_ROUTES`: failing first, then the busiest), in route order. */
  routes: DashboardRoute[];
  /** Routes in the report; those past the ones drawn are in `/sla`. */
  routes_total: number;
  /** Violations of every route (`violations` lists at most `DASHBOARD_MAX_VIOLATIONS` of them). */
  violations_total: number;
  alerts: DashboardAlert[];
}

/**
 * Routes the dashboard draws: a page of 500 charts helps no one, and its data every 10 s would be megabytes. Those
 * of a larger report are picked failing first, then by calls; the rest are in `/sla`.
 */
export const DASHBOARD_MAX_ROUTES = 50;
export const DASHBOARD_MAX_VIOLATIONS = 100;

const STATUS_RANK: Record<string, number> = { failed: 0, insufficient_data: 2, passed: 1 };

/** The routes of `report` the dashboard draws, in route order. */
export function dashboardRoutes(report: { routes: Record<string, RouteReport> }, max = DASHBOARD_MAX_ROUTES): string[] {
  const all = Object.entries(report.routes);
  if (all.length <= max) return all.map(([route]) => route);
  const rank = ([route, r]: [string, RouteReport]) => [STATUS_RANK[r.sla.status] ?? 3, -r.count, route] as const;
  const picked = all
    .map((e) => ({ route: e[0], key: rank(e) }))
    .sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || (a.route < b.route ? -1 : 1))
    .slice(0, max)
    .map((x) => x.route);
  return picked.sort();
}
