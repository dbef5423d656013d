import { parseWindow, sloFor, targetsFor, type SlaConfig } from './sla/config';
import { errorBudget, type SloWindowCounts } from './sla/slo';
import { evaluateOverall, evaluateRoute, summarize } from './sla/evaluate';
import { minuteSeries } from './sla/series';
import { mergeWindows, type WindowStats } from './sla/window';
import type { RouteReport, RouteDetailReport, SeriesPoint, SlaReport, TargetReport } from './report-types';
import type { BreakerStatus } from './resilience/breaker';

/**
 * The one SLA report: what the route objects hold (windows merged across shards, SLO counts) judged by one config
 * over one window at one moment. Pure: the registry reads the objects and calls these for `/sla`, `/sla/<route>`,
 * `/dashboard/data`, the error budgets of `/metrics` and its per-minute alert evaluation, so all of them judge a
 * route the same way.
 */

const MINUTE = 60_000;

/** The minute windows a route object keeps: the longest per-minute series. */
export const SERIES_MINUTES = 60;

/**
 * The span a window covers: the current minute and the whole minutes before it, `windowMs` in all. Stats are per
 * window length (a 5m window's throughput is its calls / 300 s), so a report is the same whichever second it runs.
 */
export function windowRange(now: number, windowMs: number): { from: number; to: number } {
  const to = Math.floor(now / MINUTE) * MINUTE + MINUTE;
  return { from: to - windowMs, to };
}

/** What the objects hold of one route over a window: its windows merged across shards, its SLO counts (null: no SLO). */
export interface RouteWindows {
  route: string;
  merged: WindowStats;
  slo: SloWindowCounts | null;
}

/** The SLO period of a route in hours, or null when it has no SLO (its objects are then not asked for counts). */
export function sloHours(config: SlaConfig, route: string): number | null {
  return sloFor(config, route)?.period_hours ?? null;
}

/** One route (null: the overall line) over a window: stats, verdict, and error budget when it has an SLO. */
export function routeReport(route: string | null, merged: WindowStats, windowMs: number, config: SlaConfig, slo: SloWindowCounts | null, now: number): RouteReport {
  const targets = targetsFor(config, route);
  const stats = summarize(merged, windowMs, targets.count_client_errors);
  const sla = route === null ? evaluateOverall(stats, config) : evaluateRoute(route, stats, targets);
  const { exact: _exact, ...shown } = stats;
  const resolved = sloFor(config, route);
  const budget = resolved && slo ? errorBudget(resolved, slo, now, targets.min_samples) : null;
  return { ...shown, sla, error_budget: budget };
}

/** `GET /sla`: every route over one window, each judged against its targets, and the overall line. */
export function slaReport(routes: readonly RouteWindows[], config: SlaConfig, window: string, now: number): SlaReport {
  const windowMs = parseWindow(window);
  const { from } = windowRange(now, windowMs);
  const out: Record<string, RouteReport> = {};
  for (const r of routes) out[r.route] = routeReport(r.route, r.merged, windowMs, config, r.slo, now);
  const overall = routeReport(null, mergeWindows(routes.map((r) => r.merged), from, windowMs), windowMs, config, null, now);
  const violations = [...Object.values(out).flatMap((r) => r.sla.violations), ...overall.sla.violations];
  const passed = overall.sla.status !== 'failed' && Object.values(out).every((r) => r.sla.status !== 'failed');
  return { passed, window, window_ms: windowMs, generated_at: new Date(now).toISOString(), overall, violations, routes: out };
}

/** A route's last hour per minute (the dashboard's charts), and when it was read (its last hour ends there). */
export interface RouteSeries {
  route: string;
  series: SeriesPoint[];
  at: number;
}

/**
 * The one per-minute series of `/sla/<route>` and the dashboard: the last `minutes` whole minutes up to and
 * including the current one, dense (empty minutes included), from the route's minute windows of every shard.
 */
export function routeSeries(route: string, minuteWindows: Iterable<WindowStats>, config: SlaConfig, now: number, minutes = SERIES_MINUTES): SeriesPoint[] {
  const { from, to } = windowRange(now, minutes * MINUTE);
  return minuteSeries(minuteWindows, from, to, targetsFor(config, route).count_client_errors);
}

/** How many minutes of series `/sla/<route>` shows for a window: the window's, an hour at most. */
export function detailMinutes(window: string): number {
  return Math.min(parseWindow(window) / MINUTE, SERIES_MINUTES);
}

/** What the route objects and the registry hold of a route's targets over a window. */
export interface RouteTargetWindows {
  windows: ReadonlyMap<string, WindowStats>;
  breakers: readonly BreakerStatus[];
}

/**
 * Each target of a route over the window, as the target saw its attempts (not judged: a route's SLA judges what
 * the client saw), with its circuit breaker as last heard of. A target with a breaker but no attempt in the window
 * is listed too.
 */
export function targetReports(t: RouteTargetWindows, windowMs: number, countClientErrors: boolean, from: number): Record<string, TargetReport> {
  const out: Record<string, TargetReport> = {};
  const names = new Set([...t.windows.keys(), ...t.breakers.map((b) => b.target)]);
  for (const name of [...names].sort()) {
    const { exact: _exact, ...stats } = summarize(t.windows.get(name) ?? mergeWindows([], from, windowMs), windowMs, countClientErrors);
    const b = t.breakers.find((x) => x.target === name);
    out[name] = { ...stats, breaker: b ? { state: b.state, since: new Date(b.since).toISOString() } : { state: 'closed', since: null } };
  }
  return out;
}

/** `GET /sla/<route>`: one route's report over the window, its per-minute series (the window's last hour at most), its targets. */
export function routeDetailReport(
  r: RouteWindows,
  minuteWindows: Iterable<WindowStats>,
  config: SlaConfig,
  window: string,
  now: number,
  targets: RouteTargetWindows = { windows: new Map(), breakers: [] },
): RouteDetailReport {
  const windowMs = parseWindow(window);
  return {
    route: r.route,
    window,
    window_ms: windowMs,
    generated_at: new Date(now).toISOString(),
    stats: routeReport(r.route, r.merged, windowMs, config, r.slo, now),
    series: routeSeries(r.route, minuteWindows, config, now, detailMinutes(window)),
    targets: targetReports(targets, windowMs, targetsFor(config, r.route).count_client_errors, windowRange(now, windowMs).from),
  };
}
