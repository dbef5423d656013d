import {
  DEFAULT_BOUNDS,
  emptyCounters,
  emptyHistogram,
  mergeCounters,
  mergeResilience,
  type HistogramBounds,
  type MetricsSnapshot,
  type ResilienceCounts,
  type RouteCounterData,
  type RouteExtrasSnapshot,
} from '../../src/core/metrics';
import { rebucket, unionBounds } from '../../src/core/metrics-buckets';
import { routeStub, type RouteEntry, type RouteStatsNamespace } from '../../src/core/objects';
import { routeDecisions } from '../../src/core/resilience/decisions';
import { targetLabel, type ResolvedPolicy } from '../../src/core/resilience/policy';
import { RECENT_MS, tailsOf } from '../../src/core/resilience/tails';
import { emptyExtras, mergeExtras } from '../../src/core/route-metrics';

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
): Promise<MetricsSnapshot> {
  const [parts, deadlines] = await Promise.all([
    Promise.all(routes.flatMap((r) => Array.from({ length: r.shards }, (_, i) => routeStub(ns, r.route, i).metrics().then((m) => ({ ...m, route: r.route }))))),
    Promise.all(routes.map((r) => firstTokenTimeouts(ns, r, policyFor(r.route), now))),
  ]);
  const timeouts = new Map(routes.map((r, i) => [r.route, deadlines[i] ?? null]));
  // Shards of one route between two SLO configs may hold different boundaries: every shard onto all of them.
  const bounds = new Map<string, HistogramBounds>();
  for (const p of parts) {
    const b = bounds.get(p.route);
    const own = p.counters.bounds ?? DEFAULT_BOUNDS;
    bounds.set(p.route, b ? { duration: unionBounds(b.duration, own.duration), ttft: unionBounds(b.ttft, own.ttft) } : own);
  }
  const byRoute = new Map<string, RouteCounterData>();
  const extras = new Map<string, RouteExtrasSnapshot>();
  const resilience = new Map<string, ResilienceCounts>();
  let droppedRecords = 0;
  let droppedSamples = 0;
  for (const p of parts) {
    const to = bounds.get(p.route) ?? DEFAULT_BOUNDS;
    let counters = byRoute.get(p.route);
    if (!counters) {
      const empty = emptyCounters();
      counters = to === DEFAULT_BOUNDS ? empty : { ...empty, duration: emptyHistogram(to.duration), ttft: emptyHistogram(to.ttft), bounds: to };
      byRoute.set(p.route, counters);
    }
    const from = p.counters.bounds ?? DEFAULT_BOUNDS;
    mergeCounters(counters, { ...p.counters, duration: rebucket(p.counters.duration, from.duration, to.duration), ttft: rebucket(p.counters.ttft, from.ttft, to.ttft) });
    if (p.extras) extras.set(p.route, addExtras(extras.get(p.route), p.extras));
    if (p.resilience && (p.resilience.attempts.length > 0 || p.resilience.fallbacks.length > 0)) {
      let r = resilience.get(p.route);
      if (!r) resilience.set(p.route, (r = { attempts: [], fallbacks: [] }));
      mergeResilience(r, p.resilience);
    }
    droppedRecords += p.droppedRecords;
    droppedSamples += p.droppedSamples;
  }
  return {
    routes: [...byRoute].map(([route, counters]) => {
      const out = { route, counters, extras: extras.get(route) ?? { ...emptyExtras(), sloEvents: null } };
      const r = resilience.get(route);
      const t = timeouts.get(route);
      return { ...out, ...(r ? { resilience: r } : {}), ...(t ? { firstTokenTimeouts: t } : {}) };
    }),
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

/** Each target's first-token deadline under a policy that derives it (null for the other routes). */
async function firstTokenTimeouts(ns: RouteStatsNamespace, entry: RouteEntry, policy: ResolvedPolicy | null, now: number): Promise<{ target: string; ms: number }[] | null> {
  if (policy?.derivedFirstToken == null) return null;
  const shards = await Promise.all(Array.from({ length: entry.shards }, (_, i) => routeStub(ns, entry.route, i).targetWindows(now - RECENT_MS, now + 1)));
  const decided = routeDecisions(policy, tailsOf(shards), policy.targets.map(targetLabel)).targets;
  return Object.entries(decided).flatMap(([target, d]) => (d.first_token_timeout_ms === null ? [] : [{ target, ms: d.first_token_timeout_ms }]));
}
