import type { DashboardAlert, DashboardData, DashboardRoute } from '../dashboard/types';
import type { SlaConfig } from '../sla/config';
import type { AlertRecord } from './alerting';
import { buildSlaReport, routeSeries, SERIES_MINUTES, windowRange } from './sla-report';
import type { RouteEntry, RouteStatsNamespace } from '../objects';


const MINUTE = 60_000;

export function dashboardAlert(r: AlertRecord): DashboardAlert {
  const a = r.alert;
  return {
    id: r.id,
    at: new Date(r.ts).toISOString(),
    delivered: r.delivered,
    type: a.type,
    route: a.route,
    status: a.status,
    previous_status: a.previous_status,
    violations: a.violations,
  };
}

/** `GET /dashboard/data`: the `/sla` report over `window`, each route's last hour per minute, recent alerts. */
export async function buildDashboardData(
  ns: RouteStatsNamespace,
  routes: readonly RouteEntry[],
  config: SlaConfig,
  window: string,
  now: number,
  alerts: readonly AlertRecord[],
): Promise<DashboardData> {
  const [report, series] = await Promise.all([
    buildSlaReport(ns, routes, config, window, now),
    Promise.all(routes.map((r) => routeSeries(ns, r, config, now))),
  ]);
  const { from, to } = windowRange(now, SERIES_MINUTES * MINUTE);
  const out: DashboardRoute[] = [];
  routes.forEach((r, i) => {
    const stats = report.routes[r.route];
    if (stats) out.push({ route: r.route, stats, series: series[i] ?? [] });
  });
  return {
    window: report.window,
    window_ms: report.window_ms,
    generated_at: report.generated_at,
    passed: report.passed,
    overall: report.overall,
    violations: report.violations,
    series_from: new Date(from).toISOString(),
    series_to: new Date(to).toISOString(),
    routes: out,
    alerts: alerts.map(dashboardAlert),
  };
}
