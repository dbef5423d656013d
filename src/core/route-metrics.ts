import { addToHistogram, emptyHistogram, mergeHistogram, OVERHEAD_BUCKETS_S, type HistogramCounts } from './metrics';

export { OVERHEAD_BUCKETS_S };
import type { SloCounts } from './sla/slo';
import { sloFor, type SlaConfig } from './sla/config';

/**
 * The per-route /metrics families a route object keeps beside its model/outcome counters: the calls its SLO judge
 * judged (`llm_sla_slo_calls_total{route,good}`) and the gateway's own time on each call
 * (`llm_sla_gateway_overhead_seconds{route}`). Shards of one route add up.
 */


export interface RouteExtras {
  /** Calls judged good or bad under the route's SLO since the object was created (or reset). */
  sloEvents: SloCounts;
  /** The gateway's own time on each proxied call, seconds. */
  overhead: HistogramCounts;
}

export function emptyExtras(): RouteExtras {
  return { sloEvents: { good: 0, bad: 0 }, overhead: emptyHistogram(OVERHEAD_BUCKETS_S) };
}

/** Adds the gateway's time on each call of a batch (ms; null or invalid values are skipped). */
export function addOverheads(into: RouteExtras, overheadMs: readonly unknown[] | undefined): void {
  for (const ms of overheadMs ?? []) {
    if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) addToHistogram(into.overhead, OVERHEAD_BUCKETS_S, ms / 1000);
  }
}

export function mergeExtras(into: RouteExtras, from: RouteExtras): void {
  into.sloEvents.good += from.sloEvents.good;
  into.sloEvents.bad += from.sloEvents.bad;
  mergeHistogram(into.overhead, from.overhead);
}

/** Extras as stored (JSON), checked: anything malformed starts again from zero. */
export function extrasFromJSON(data: unknown): RouteExtras {
  const out = emptyExtras();
  const d = data as Partial<RouteExtras> | null;
  const count = (x: unknown) => (Number.isSafeInteger(x) && (x as number) >= 0 ? (x as number) : 0);
  if (d?.sloEvents) out.sloEvents = { good: count(d.sloEvents.good), bad: count(d.sloEvents.bad) };
  const h = d?.overhead;
  if (h && Array.isArray(h.counts) && h.counts.length === OVERHEAD_BUCKETS_S.length + 1) out.overhead = { counts: h.counts.map(count), sum: Number(h.sum) || 0, count: count(h.count) };
  return out;
}

/**
 * The routes with an SLO in force, for `llm_sla_slo_calls_total`: the known routes, and the exact keys of the
 * config's route blocks (a route configured by name has its series from 0 before its first call, so Prometheus'
 * `increase()` sees that call too). Sorted.
 */
export function routesWithSlo(config: SlaConfig, known: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const r of known) if (sloFor(config, r) !== null) out.add(r);
  for (const key of Object.keys(config.routes ?? {})) if (!key.includes('*') && sloFor(config, key) !== null) out.add(key);
  return [...out].sort();
}
