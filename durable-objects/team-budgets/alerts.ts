import type { AlertPayload } from '../../src/core/alerts';
import type { BudgetPeriod } from '../../src/core/budget/spend';

/** The alert for a team's spend reaching `threshold` (0.8 or 1) of a limit; `route` is `budget:<team>`. */
export function budgetAlert(team: string, period: BudgetPeriod, key: string, spent: number, limit: number, threshold: number, action: 'block' | 'alert', now: number): AlertPayload {
  const full = threshold >= 1;
  const what = period === 'day' ? `daily budget for ${key}` : `monthly budget for ${key}`;
  const tail = full ? (action === 'block' ? ' Calls are refused until it resets.' : ' Calls continue (action: alert).') : '';
  const message = `Team '${team}' has spent $${spent.toFixed(2)} of its ${what} of $${limit.toFixed(2)} (${Math.floor(threshold * 100)} %).${tail}`;
  return {
    type: full ? 'budget.exhausted' : 'budget.warning',
    route: `budget:${team}`,
    status: full ? 'exhausted' : 'warning',
    previous_status: full ? 'warning' : 'ok',
    window: period,
    at: new Date(now).toISOString(),
    violations: [message],
    stats: { count: 0, success_rate: null, p95_ms: null, p99_ms: null, throughput_rps: 0 },
    budget: { team, period, key, spent_usd: spent, limit_usd: limit, threshold },
    text: `${full ? ':money_with_wings:' : ':warning:'} ${message}`,
  };
}
