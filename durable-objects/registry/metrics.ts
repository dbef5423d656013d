import { emptyCounters, mergeCounters, type MetricsSnapshot, type RouteCounterData } from '../../src/core/metrics';
import { routeStub, type RouteEntry, type RouteStatsNamespace } from '../../src/core/objects';

/** The routes' cumulative counters for /metrics, shards of one route added up: one RPC per route shard. */
export async function collectMetrics(ns: RouteStatsNamespace, routes: readonly RouteEntry[]): Promise<MetricsSnapshot> {
  const parts = await Promise.all(
    routes.flatMap((r) => Array.from({ length: r.shards }, (_, i) => routeStub(ns, r.route, i).metrics().then((m) => ({ ...m, route: r.route })))),
  );
  const byRoute = new Map<string, RouteCounterData>();
  let droppedRecords = 0;
  let droppedSamples = 0;
  for (const p of parts) {
    let counters = byRoute.get(p.route);
    if (!counters) byRoute.set(p.route, (counters = emptyCounters()));
    mergeCounters(counters, p.counters);
    droppedRecords += p.droppedRecords;
    droppedSamples += p.droppedSamples;
  }
  return { routes: [...byRoute].map(([route, counters]) => ({ route, counters })), droppedRecords, droppedSamples };
}
