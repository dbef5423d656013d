import type { MetricsSnapshot } from '../core/metrics';
import { emptyHistogram } from '../core/metrics';
import { OVERHEAD_BUCKETS_S } from '../core/route-metrics';
import { Exposition } from './prometheus';

/**
 * The per-route families SLO tooling and overhead dashboards read: `llm_sla_slo_calls_total{route,good}` for every
 * route with an SLO in force (both series from 0: `increase()` sees the first call), and the gateway's own time on
 * each call, `llm_sla_gateway_overhead_seconds{route}`.
 */
export function renderRouteExtras(snapshot: Pick<MetricsSnapshot, 'routes'>, sloRoutes: readonly string[]): string {
  const out = new Exposition();
  const byRoute = new Map(snapshot.routes.map((r) => [r.route, r]));
  out.family('llm_sla_slo_calls_total', 'counter', "Calls judged under the route's SLO when filed: good (succeeded within its thresholds) or not.");
  for (const route of sloRoutes) {
    const events = byRoute.get(route)?.extras?.sloEvents ?? { good: 0, bad: 0 };
    out.sample('llm_sla_slo_calls_total', { route, good: 'true' }, events.good);
    out.sample('llm_sla_slo_calls_total', { route, good: 'false' }, events.bad);
  }
  out.family('llm_sla_gateway_overhead_seconds', 'histogram', 'Time the gateway itself added to a proxied call: before the upstream was called and after its headers came back (Server-Timing gateway).');
  for (const r of [...snapshot.routes].sort((a, b) => (a.route < b.route ? -1 : 1))) {
    out.histogram('llm_sla_gateway_overhead_seconds', { route: r.route }, OVERHEAD_BUCKETS_S, r.extras?.overhead ?? emptyHistogram(OVERHEAD_BUCKETS_S));
  }
  return out.toString();
}
