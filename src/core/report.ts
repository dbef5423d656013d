import { parseWindow, sloFor, targetsFor, type SlaConfig } from './sla/config';
import { errorBudget, sumWindowCounts, type SloWindowCounts } from './sla/slo';
import { evaluateOverall, evaluateRoute, summarize } from './sla/evaluate';
import { minuteSeries } from './sla/series';
import { deserializeWindow, mergeWindows, type WindowStats } from './sla/window';
import type { RouteReport, RouteDetailReport, SeriesPoint, SlaReport } from './report-types';
import { routeStub, type RouteEntry, type RouteStatsNamespace } from './objects';

const MINUTE = 60_000;


/**
 * The span a window covers: the current minute and the whole minutes before it, `windowMs` in all. Stats are per
 * window length (a 5m window's throughput is its calls / 300 s), so a report is the same whichever second it runs.
 */
export function windowRange(now: number, windowMs: number): { from: number; to: number } {
  const to = Math.floor(now / MINUTE) * MINUTE + MINUTE;
  return { from: to - windowMs, to };
}

/** A route's windows over a range, merged across its shards, and its SLO counts when a period is given. */
export async function routeWindows(
  ns: RouteStatsNamespace,
  entry: RouteEntry,
  from: number,
  to: number,
  sloPeriodHours: number | null = null,
): Promise<{ merged: WindowStats; slo: SloWindowCounts | null }> {
  const shards = await Promise.all(Array.from({ length: entry.shards }, (_, i) => routeStub(ns, entry.route, i).snapshot(from, to, sloPeriodHours)));
  const merged = mergeWindows(shards.map((s) => deserializeWindow(s.merged)), from, to - from);
  const slo = sloPeriodHours === null ? null : sumWindowCounts(shards.flatMap((s) => (s.slo ? [s.slo] : [])));
  return { merged, slo };
}

/** The minute windows a route object keeps: the longest per-minute series. */
export const SERIES_MINUTES = 60;

/**
 * The one per-minute series of `/sla/<route>` and the dashboard: the last `minutes` whole minutes up to and
 * including the current one, dense (empty minutes included), merged across shards.
 */
export async function routeSeries(ns: RouteStatsNamespace, entry: RouteEntry, config: SlaConfig, now: number, minutes = SERIES_MINUTES): Promise<SeriesPoint[]> {
  const { from, to } = windowRange(now, minutes * MINUTE);
  const shards = await Promise.all(Array.from({ length: entry.shards }, (_, i) => routeStub(ns, entry.route, i).minutes(from, to)));
  const windows = shards.flat().map((data) => deserializeWindow(data));
  return minuteSeries(windows, from, to, targetsFor(config, entry.route).count_client_errors);
}

const countClientErrors = (config: SlaConfig, route: string | null): boolean => targetsFor(config, route).count_client_errors;

function report(route: string | null, merged: WindowStats, windowMs: number, config: SlaConfig, slo: SloWindowCounts | null = null, now = 0): RouteReport {
  const stats = summarize(merged, windowMs, countClientErrors(config, route));
  const sla = route === null ? evaluateOverall(stats, config) : evaluateRoute(route, stats, targetsFor(config, route));
  const { exact: _exact, ...shown } = stats;
  const resolved = sloFor(config, route);
  const budget = resolved && slo ? errorBudget(resolved, slo, now, targetsFor(config, route).min_samples) : null;
  return { ...shown, sla, error_budget: budget };
}

/** The SLO period of a route in hours, or null when it has no SLO (its objects are then not asked for counts). */
const sloHours = (config: SlaConfig, route: string) => sloFor(config, route)?.period_hours ?? null;

/** `GET /sla`: every known route over one window, judged against its targets, and the overall line. */
export async function buildSlaReport(
  ns: RouteStatsNamespace,
  routes: readonly RouteEntry[],
  config: SlaConfig,
  window: string,
  now: number,
): Promise<SlaReport> {
  const windowMs = parseWindow(window);
  const { from, to } = windowRange(now, windowMs);
  const merged = await Promise.all(routes.map((r) => routeWindows(ns, r, from, to, sloHours(config, r.route))));
  const out: Record<string, RouteReport> = {};
  routes.forEach((r, i) => (out[r.route] = report(r.route, merged[i]?.merged ?? mergeWindows([], from, windowMs), windowMs, config, merged[i]?.slo ?? null, now)));
  const overall = report(null, mergeWindows(merged.map((m) => m.merged), from, windowMs), windowMs, config);
  const violations = [...Object.values(out).flatMap((r) => r.sla.violations), ...overall.sla.violations];
  const passed = overall.sla.status !== 'failed' && Object.values(out).every((r) => r.sla.status !== 'failed');
  return { passed, window, window_ms: windowMs, generated_at: new Date(now).toISOString(), overall, violations, routes: out };
}

/** `GET /sla/<route>`: one route's stats over the window and its per-minute series (the window's last hour at most). */
export async function buildRouteReport(
  ns: RouteStatsNamespace,
  entry: RouteEntry,
  config: SlaConfig,
  window: string,
  now: number,
): Promise<RouteDetailReport> {
  const windowMs = parseWindow(window);
  const { from, to } = windowRange(now, windowMs);
  const [{ merged, slo }, points] = await Promise.all([
    routeWindows(ns, entry, from, to, sloHours(config, entry.route)),
    routeSeries(ns, entry, config, now, Math.min(windowMs / MINUTE, SERIES_MINUTES)),
  ]);
  return {
    route: entry.route,
    window,
    window_ms: windowMs,
    generated_at: new Date(now).toISOString(),
    stats: report(entry.route, merged, windowMs, config, slo, now),
    series: points,
  };
}
