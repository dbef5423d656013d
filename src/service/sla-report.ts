import { parseWindow, sloFor, targetsFor, type SlaConfig } from '../sla/config';
import { errorBudget, sumWindowCounts, type SloWindowCounts } from '../sla/slo';
import { evaluateOverall, evaluateRoute, summarize } from '../sla/evaluate';
import { deserializeWindow, mergeWindows, type WindowStats } from '../sla/window';
import type { RouteReport, RouteDetailReport, SeriesPoint, SlaReport } from '../report/types';
import type { RouteStats as RouteStatsDO } from '../../durable-objects/route-stats';
import type { RouteEntry } from '../../durable-objects/registry';

const MINUTE = 60_000;

/** The Durable Object of one shard of a route. */
export function routeStub(ns: DurableObjectNamespace<RouteStatsDO>, route: string, shard: number): DurableObjectStub<RouteStatsDO> {
  return ns.get(ns.idFromName(`${route}#${shard}`));
}

/**
 * The span a window covers: the current minute and the whole minutes before it, `windowMs` in all. Stats are per
 * window length (a 5m window's throughput is its calls / 300 s), so a report is the same whichever second it runs.
 */
export function windowRange(now: number, windowMs: number): { from: number; to: number } {
  const to = Math.floor(now / MINUTE) * MINUTE + MINUTE;
  return { from: to - windowMs, to };
}

/** A route's windows over a range, merged across its shards; series of per-minute windows when asked. */
export async function routeWindows(
  ns: DurableObjectNamespace<RouteStatsDO>,
  entry: RouteEntry,
  from: number,
  to: number,
  withSeries = false,
  sloPeriodHours: number | null = null,
): Promise<{ merged: WindowStats; series: WindowStats[]; slo: SloWindowCounts | null }> {
  const shards = await Promise.all(
    Array.from({ length: entry.shards }, (_, i) => routeStub(ns, entry.route, i).snapshot(from, to, withSeries, sloPeriodHours)),
  );
  const merged = mergeWindows(shards.map((s) => deserializeWindow(s.merged)), from, to - from);
  const byStart = new Map<number, WindowStats>();
  for (const s of shards) {
    for (const data of s.series ?? []) {
      const w = deserializeWindow(data);
      const prev = byStart.get(w.start);
      byStart.set(w.start, prev ? mergeWindows([prev, w], w.start, MINUTE) : w);
    }
  }
  const slo = sloPeriodHours === null ? null : sumWindowCounts(shards.flatMap((s) => (s.slo ? [s.slo] : [])));
  return { merged, series: [...byStart.values()].sort((a, b) => a.start - b.start), slo };
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
  ns: DurableObjectNamespace<RouteStatsDO>,
  routes: readonly RouteEntry[],
  config: SlaConfig,
  window: string,
  now: number,
): Promise<SlaReport> {
  const windowMs = parseWindow(window);
  const { from, to } = windowRange(now, windowMs);
  const merged = await Promise.all(routes.map((r) => routeWindows(ns, r, from, to, false, sloHours(config, r.route))));
  const out: Record<string, RouteReport> = {};
  routes.forEach((r, i) => (out[r.route] = report(r.route, merged[i]?.merged ?? mergeWindows([], from, windowMs), windowMs, config, merged[i]?.slo ?? null, now)));
  const overall = report(null, mergeWindows(merged.map((m) => m.merged), from, windowMs), windowMs, config);
  const violations = [...Object.values(out).flatMap((r) => r.sla.violations), ...overall.sla.violations];
  const passed = overall.sla.status !== 'failed' && Object.values(out).every((r) => r.sla.status !== 'failed');
  return { passed, window, window_ms: windowMs, generated_at: new Date(now).toISOString(), overall, violations, routes: out };
}

/** `GET /sla/<route>`: one route's stats and its per-minute series over the window. */
export async function buildRouteReport(
  ns: DurableObjectNamespace<RouteStatsDO>,
  entry: RouteEntry,
  config: SlaConfig,
  window: string,
  now: number,
): Promise<RouteDetailReport> {
  const windowMs = parseWindow(window);
  const { from, to } = windowRange(now, windowMs);
  const { merged, series, slo } = await routeWindows(ns, entry, from, to, true, sloHours(config, entry.route));
  const cce = countClientErrors(config, entry.route);
  const points: SeriesPoint[] = series.map((w) => {
    const s = summarize(w, MINUTE, cce);
    return {
      start: new Date(w.start).toISOString(),
      count: s.count,
      success_rate: s.success_rate,
      throughput_rps: s.throughput_rps,
      p50: s.latency?.p50 ?? null,
      p95: s.latency?.p95 ?? null,
      p99: s.latency?.p99 ?? null,
      ttft_p95: s.ttft?.p95 ?? null,
    };
  });
  return {
    route: entry.route,
    window,
    window_ms: windowMs,
    generated_at: new Date(now).toISOString(),
    stats: report(entry.route, merged, windowMs, config, slo, now),
    series: points,
  };
}
