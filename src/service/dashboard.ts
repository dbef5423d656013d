import type { DashboardAlert, DashboardData, DashboardRoute } from '../dashboard/types';
import { targetsFor, type SlaConfig } from '../sla/config';
import { minuteSeries } from '../sla/series';
import { deserializeWindow } from '../sla/window';
import type { AlertRecord } from './alerting';
import { buildSlaReport, routeStub, windowRange } from './sla-report';
import type { RouteStats as RouteStatsDO } from '../../durable-objects/route-stats';
import type { RouteEntry } from '../../durable-objects/registry';

const MINUTE = 60_000;
/** The charts' span: the minute windows a route object keeps. */
export const SERIES_MINUTES = 60;

/** The last `minutes` whole minutes up to and including the current one, per minute, merged across shards. */
export async function routeSeries(
  ns: DurableObjectNamespace<RouteStatsDO>,
  entry: RouteEntry,
  config: SlaConfig,
  now: number,
  minutes = SERIES_MINUTES,
): Promise<DashboardRoute['series']> {
  const { from, to } = windowRange(now, minutes * MINUTE);
  const shards = await Promise.all(Array.from({ length: entry.shards }, (_, i) => routeStub(ns, entry.route, i).minutes(from, to)));
  const windows = shards.flat().map((data) => deserializeWindow(data));
  return minuteSeries(windows, from, to, targetsFor(config, entry.route).count_client_errors);
}

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
  ns: DurableObjectNamespace<RouteStatsDO>,
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
