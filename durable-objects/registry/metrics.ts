import { mergeHistogram, mergeResilience, type MetricsSeries, type MetricsSnapshot, type ResilienceCounts } from '../../src/core/metrics';
import { routeStub, type RouteEntry, type RouteStatsNamespace } from '../../src/core/objects';

/** The routes' cumulative counters for /metrics, shards of one route added up: one RPC per route shard. */
export async function collectMetrics(ns: RouteStatsNamespace, routes: readonly RouteEntry[]): Promise<Omit<MetricsSnapshot, 'telemetry'>> {
  const parts = await Promise.all(
    routes.flatMap((r) => Array.from({ length: r.shards }, (_, i) => routeStub(ns, r.route, i).metrics().then((m) => ({ ...m, route: r.route })))),
  );
  // Shards of one route hold the same model/outcome series: add them up.
  const byRoute = new Map<string, Map<string, MetricsSeries>>();
  const resilience = new Map<string, ResilienceCounts>();
  let droppedRecords = 0;
  let droppedSamples = 0;
  for (const p of parts) {
    const series = byRoute.get(p.route) ?? new Map<string, MetricsSeries>();
    byRoute.set(p.route, series);
    for (const s of p.series) {
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
    if (p.resilience && (p.resilience.attempts.length > 0 || p.resilience.fallbacks.length > 0)) {
      let r = resilience.get(p.route);
      if (!r) resilience.set(p.route, (r = { attempts: [], fallbacks: [] }));
      mergeResilience(r, p.resilience);
    }
    droppedRecords += p.droppedRecords;
    droppedSamples += p.droppedSamples;
  }
  return {
    routes: [...byRoute].map(([route, series]) => {
      const r = resilience.get(route);
      return r ? { route, series: [...series.values()], resilience: r } : { route, series: [...series.values()] };
    }),
    droppedRecords,
    droppedSamples,
  };
}
