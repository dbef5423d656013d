import type { AlertRecord } from '../../src/core/alerts';
import { DASHBOARD_MAX_VIOLATIONS, type DashboardAlert, type DashboardData, type DashboardRoute } from '../../src/core/dashboard';
import { SERIES_MINUTES, windowRange } from '../../src/core/report';
import type { SlaReport } from '../../src/core/report-types';
import type { RouteSeries } from '../../src/core/report';

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

/**
 * `GET /dashboard/data`: the `/sla` report over its window, the last hour per minute of the routes drawn (`series`:
 * at most `DASHBOARD_MAX_ROUTES`, `dashboardRoutes`), recent alerts. Put together by the registry from its summary
 * (the report shared with `/sla`, the series cached the same way).
 */
export function dashboardData(report: SlaReport, series: readonly RouteSeries[], alerts: readonly AlertRecord[]): DashboardData {
  const at = series[0]?.at ?? Date.parse(report.generated_at);
  const { from, to } = windowRange(at, SERIES_MINUTES * MINUTE);
  const out: DashboardRoute[] = [];
  for (const s of series) {
    const stats = report.routes[s.route];
    if (stats) out.push({ route: s.route, stats, series: s.series });
  }
  return {
    window: report.window,
    window_ms: report.window_ms,
    generated_at: report.generated_at,
    passed: report.passed,
    overall: report.overall,
    violations: report.violations.slice(0, DASHBOARD_MAX_VIOLATIONS),
    violations_total: report.violations.length,
    series_from: new Date(from).toISOString(),
    series_to: new Date(to).toISOString(),
    routes: out,
    routes_total: Object.keys(report.routes).length,
    alerts: alerts.map(dashboardAlert),
  };
}
