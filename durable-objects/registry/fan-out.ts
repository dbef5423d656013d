import { routeStub, type RouteEntry, type RouteStatsNamespace } from '../../src/core/objects';
import type { BreakerStatus } from '../../src/core/resilience/breaker';
import { routeDecisions } from '../../src/core/resilience/decisions';
import { targetLabel, type ResolvedPolicy } from '../../src/core/resilience/policy';
import { RECENT_MS, tailsOf } from '../../src/core/resilience/tails';
import { detailMinutes, routeDetailReport, routeSeries, sloHours, slaReport, windowRange, SERIES_MINUTES, type RouteSeries, type RouteWindows } from '../../src/core/report';
import type { RouteDetailReport, SlaReport } from '../../src/core/report-types';
import { parseWindow, type SlaConfig } from '../../src/core/sla/config';
import { sumWindowCounts } from '../../src/core/sla/slo';
import { deserializeWindow, mergeWindows, type WindowStats } from '../../src/core/sla/window';

/**
 * The registry's reads of the route objects (one RPC per route shard), handed to the one report function
 * (`src/core/report.ts`). Only the registry runs these: every report is built here, by the config in force here.
 */

const MINUTE = 60_000;

/** A route's windows over [from, to), merged across its shards, and its SLO counts when its config gives an SLO. */
export async function readRouteWindows(ns: RouteStatsNamespace, entry: RouteEntry, config: SlaConfig, from: number, to: number): Promise<RouteWindows> {
  const hours = sloHours(config, entry.route);
  const shards = await Promise.all(Array.from({ length: entry.shards }, (_, i) => routeStub(ns, entry.route, i).snapshot(from, to, hours)));
  const merged = mergeWindows(shards.map((s) => deserializeWindow(s.merged)), from, to - from);
  const slo = hours === null ? null : sumWindowCounts(shards.flatMap((s) => (s.slo ? [s.slo] : [])));
  return { route: entry.route, merged, slo };
}

/** A route's minute windows of the last `minutes`, every shard's (the series merges shards of one minute). */
async function readMinutes(ns: RouteStatsNamespace, entry: RouteEntry, now: number, minutes: number): Promise<WindowStats[]> {
  const { from, to } = windowRange(now, minutes * MINUTE);
  const shards = await Promise.all(Array.from({ length: entry.shards }, (_, i) => routeStub(ns, entry.route, i).minutes(from, to)));
  return shards.flat().map((data) => deserializeWindow(data));
}

/** `/sla` (and the alarm's evaluation, the dashboard, the error budgets): the routes over one window. */
export async function readSlaReport(ns: RouteStatsNamespace, routes: readonly RouteEntry[], config: SlaConfig, window: string, now: number): Promise<SlaReport> {
  const { from, to } = windowRange(now, parseWindow(window));
  const windows = await Promise.all(routes.map((r) => readRouteWindows(ns, r, config, from, to)));
  return slaReport(windows, config, window, now);
}

/** Each target's windows over [from, to), merged across the route's shards. */
async function readTargetWindows(ns: RouteStatsNamespace, entry: RouteEntry, from: number, to: number): Promise<Map<string, WindowStats>> {
  const shards = await Promise.all(Array.from({ length: entry.shards }, (_, i) => routeStub(ns, entry.route, i).targetWindows(from, to)));
  const byTarget = new Map<string, WindowStats[]>();
  for (const shard of shards) for (const [target, data] of Object.entries(shard)) byTarget.set(target, [...(byTarget.get(target) ?? []), deserializeWindow(data)]);
  return new Map([...byTarget].map(([target, ws]) => [target, mergeWindows(ws, from, to - from)]));
}

/** `/sla/<route>`: the route, its per-minute series, and each of its targets (with the breakers as last heard of). */
export async function readRouteDetail(
  ns: RouteStatsNamespace,
  entry: RouteEntry,
  config: SlaConfig,
  window: string,
  now: number,
  breakers: readonly BreakerStatus[] = [],
  policy: ResolvedPolicy | null = null,
): Promise<RouteDetailReport> {
  const { from, to } = windowRange(now, parseWindow(window));
  const [windows, minutes, targets, tails] = await Promise.all([
    readRouteWindows(ns, entry, config, from, to),
    readMinutes(ns, entry, now, detailMinutes(window)),
    readTargetWindows(ns, entry, from, to),
    // The decisions read the targets' recent tails whatever the report's window: the same read as an isolate's.
    policy === null ? null : Promise.all(Array.from({ length: entry.shards }, (_, i) => routeStub(ns, entry.route, i).targetWindows(now - RECENT_MS, now + 1))),
  ]);
  const detail = routeDetailReport(windows, minutes, config, window, now, { windows: targets, breakers });
  return policy === null || tails === null ? detail : { ...detail, decisions: routeDecisions(policy, tailsOf(tails), policy.targets.map(targetLabel)) };
}

/** Each route's last hour per minute (the dashboard's charts). */
export async function readSeries(ns: RouteStatsNamespace, routes: readonly RouteEntry[], config: SlaConfig, now: number): Promise<RouteSeries[]> {
  const minutes = await Promise.all(routes.map((r) => readMinutes(ns, r, now, SERIES_MINUTES)));
  return routes.map((r, i) => ({ route: r.route, series: routeSeries(r.route, minutes[i] ?? [], config, now), at: now }));
}
