import { mergeHistogram, type MetricsSeries, type MetricsSnapshot, type RouteExtrasSnapshot } from '../../src/core/metrics';
import { DEFAULT_BOUNDS, rebucket, unionBounds, type HistogramBounds } from '../../src/core/metrics-buckets';
import { routeStub, type RouteEntry, type RouteStatsNamespace } from '../../src/core/objects';
import { emptyExtras, mergeExtras } from '../../src/core/route-metrics';

/** The routes' cumulative counters for /metrics, shards of one route added up: one RPC per route shard. */
export async function collectMetrics(ns: RouteStatsNamespace, routes: readonly RouteEntry[]): Promise<Omit<MetricsSnapshot, 'telemetry'>> {
  const parts = await Promise.all(
    routes.flatMap((r) => Array.from({ length: r.shards }, (_, i) => routeStub(ns, r.route, i).metrics().then((m) => ({ ...m, route: r.route })))),
  );
  // Shards of one route between two SLO configs may hold different boundaries: every shard onto all of them.
  const bounds = new Map<string, HistogramBounds>();
  for (const p of parts) {
    const b = bounds.get(p.route);
    const own = p.bounds ?? DEFAULT_BOUNDS;
    bounds.set(p.route, b ? { duration: unionBounds(b.duration, own.duration), ttft: unionBounds(b.ttft, own.ttft) } : own);
  }
  // Shards of one route hold the same model/outcome series: add them up.
  const byRoute = new Map<string, Map<string, MetricsSeries>>();
  const extras = new Map<string, RouteExtrasSnapshot>();
  let droppedRecords = 0;
  let droppedSamples = 0;
  for (const p of parts) {
    const series = byRoute.get(p.route) ?? new Map<string, MetricsSeries>();
    byRoute.set(p.route, series);
    const from = p.bounds ?? DEFAULT_BOUNDS;
    const to = bounds.get(p.route) ?? DEFAULT_BOUNDS;
    for (const raw of p.series) {
      const s = { ...raw, duration: rebucket(raw.duration, from.duration, to.duration), ttft: rebucket(raw.ttft, from.ttft, to.ttft) };
      const key = `${s.model}\u0000${s.outcome}`;
      const prev = series.get(key);
      if (!prev) series.set(key, structuredClone(s));
      else {
        prev.count += s.count;
        prev.inputTokens += s.inputTokens;
        prev.outputTokens += s.outputTokens;
        prev.costUsd += s.costUsd;
        if (s.pricedCount !== undefined) prev.pricedCount = (prev.pricedCount ?? 0) + s.pricedCount;
        mergeHistogram(prev.duration, s.duration);
        mergeHistogram(prev.ttft, s.ttft);
      }
    }
    if (p.extras) extras.set(p.route, addExtras(extras.get(p.route), p.extras));
    droppedRecords += p.droppedRecords;
    droppedSamples += p.droppedSamples;
  }
  return {
    routes: [...byRoute].map(([route, series]) => ({ route, series: [...series.values()], bounds: bounds.get(route) ?? DEFAULT_BOUNDS, extras: extras.get(route) ?? { ...emptyExtras(), sloEvents: null } })),
    droppedRecords,
    droppedSamples,
  };
}

/** Two shards' extras added up; the SLO counts stay null only when no shard has an SLO in force. */
function addExtras(into: RouteExtrasSnapshot | undefined, from: RouteExtrasSnapshot): RouteExtrasSnapshot {
  const out = { ...emptyExtras() };
  if (into) mergeExtras(out, { ...into, sloEvents: into.sloEvents ?? { good: 0, bad: 0 } });
  mergeExtras(out, { ...from, sloEvents: from.sloEvents ?? { good: 0, bad: 0 } });
  return { ...out, sloEvents: into?.sloEvents || from.sloEvents ? out.sloEvents : null };
}
