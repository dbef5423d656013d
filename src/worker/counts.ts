import { labelStats } from '../core/labels';

/** Calls recorded under `OVERFLOW_ROUTE` because the route cap was reached, in this isolate since it started. */
export const routeStats = { overflowCalls: 0 };

/**
 * This isolate's bound counts as registry totals (names `[a-z_]+`): labels cut by kind, calls sent to the overflow
 * route. Totals, as the span counts are: the registry keeps the largest it has seen per isolate and sums isolates.
 */
export function boundTotals(): Record<string, number> {
  return {
    labels_cut_model: labelStats.model,
    labels_cut_team: labelStats.team,
    labels_cut_route: labelStats.route,
    routes_overflow_calls: routeStats.overflowCalls,
  };
}
