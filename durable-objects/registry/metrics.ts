import { mergeHistogram, mergeResilience, type MetricsSeries, type MetricsSnapshot, type ResilienceCounts } from '../../src/core/metrics';
import { routeStub, type RouteEntry, type RouteStatsNamespace } from '../../src/core/objects';
import { routeDecisions } from '../../src/core/resilience/decisions';
import { targetLabel, type ResolvedPolicy } from '../../src/core/resilience/policy';
import { RECENT_MS, tailsOf } from '../../src/core/resilience/tails';

/**
 * The routes' cumulative counters for /metrics, shards of one route added up: one RPC per route shard; and for the
 * routes whose policy derives its first-token deadlines from the targets' tails, each target's deadline as an attempt
 * gets it now (one more RPC per shard of those routes).
 */
export async function collectMetrics(
  ns: RouteStatsNamespace,
  routes: readonly RouteEntry[],
  policyFor: (route: string) => ResolvedPolicy | null = () => null,
  now = Date.now(),
): Promise<Omit<MetricsSnapshot, 'telemetry'>> {
  const [parts, deadlines] = await Promise.all([
    Promise.all(routes.flatMap((r) => Array.from({ length: r.shards }, (_, i) => routeStub(ns, r.route, i).metrics().then((m) => ({ ...m, route: r.route }))))),
    Promise.all(routes.map((r) => firstTokenTimeouts(ns, r, policyFor(r.route), now))),
  ]);
  const timeouts = new Map(routes.map((r, i) => [r.route, deadlines[i] ?? null]));
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
      const t = timeouts.get(route);
      return { route, series: [...series.values()], ...(r ? { resilience: r } : {}), ...(t ? { firstTokenTimeouts: t } : {}) };
    }),
    droppedRecords,
    droppedSamples,
  };
}

/** Each target's first-token deadline under a policy that derives it (null for the other routes). */
async function firstTokenTimeouts(ns: RouteStatsNamespace, entry: RouteEntry, policy: ResolvedPolicy | null, now: number): Promise<{ target: string; ms: number }[] | null> {
  if (policy?.derivedFirstToken == null) return null;
  const shards = await Promise.all(Array.from({ length: entry.shards }, (_, i) => routeStub(ns, entry.route, i).targetWindows(now - RECENT_MS, now + 1)));
  const decided = routeDecisions(policy, tailsOf(shards), policy.targets.map(targetLabel)).targets;
  return Object.entries(decided).flatMap(([target, d]) => (d.first_token_timeout_ms === null ? [] : [{ target, ms: d.first_token_timeout_ms }]));
}
