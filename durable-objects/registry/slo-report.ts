import { sloFor, targetsFor, type SlaConfig } from '../../src/core/sla/config';
import { errorBudget, sumWindowCounts, type ErrorBudget } from '../../src/core/sla/slo';
import { routeStub, type RouteEntry, type RouteStatsNamespace } from '../../src/core/objects';

export interface RouteBudget {
  route: string;
  budget: ErrorBudget;
}

/**
 * The error budget of every route that has an SLO, counts summed over its shards (for /metrics). Run by the
 * registry as part of its cached summary: a scrape does not ask each route object.
 */
export async function routeBudgets(ns: RouteStatsNamespace, routes: readonly RouteEntry[], config: SlaConfig, now: number): Promise<RouteBudget[]> {
  const withSlo = routes.flatMap((r) => {
    const slo = sloFor(config, r.route);
    return slo ? [{ entry: r, slo }] : [];
  });
  return Promise.all(
    withSlo.map(async ({ entry, slo }) => {
      const shards = await Promise.all(Array.from({ length: entry.shards }, (_, i) => routeStub(ns, entry.route, i).sloCounts(slo.period_hours)));
      return { route: entry.route, budget: errorBudget(slo, sumWindowCounts(shards), now, targetsFor(config, entry.route).min_samples) };
    }),
  );
}
