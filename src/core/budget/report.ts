import { budgetsInForce, budgetsJson, type BudgetConfig, type TeamBudget } from './config';
import { periodEnd, periodKeys, type PeriodSpend } from './spend';
import type { BudgetView } from './spend';

export interface PeriodReport {
  /** `2026-12-02` (UTC day) or `2026-12` (UTC month). */
  period: string;
  limit_usd: number | null;
  spent_usd: number;
  /** Of `spent_usd`, the cost of calls whose tokens the gateway estimated. */
  estimated_usd: number;
  remaining_usd: number | null;
  calls: number;
  /** Calls of models without a price: counted, their cost unknown (not in `spent_usd`). */
  unpriced_calls: number;
  resets_at: string;
}

export interface BudgetReport {
  source: 'runtime' | 'env';
  generated_at: string;
  budgets: Record<string, TeamBudget>;
  teams: Record<string, { action: 'block' | 'alert'; day: PeriodReport; month: PeriodReport }>;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

function period(kind: 'day' | 'month', key: string, limit: number | null, s: PeriodSpend | null, now: number): PeriodReport {
  const spent = s?.key === key ? s.usd : 0;
  return {
    period: key,
    limit_usd: limit,
    spent_usd: round(spent),
    estimated_usd: round(s?.key === key ? s.estimated_usd : 0),
    remaining_usd: limit === null ? null : round(Math.max(0, limit - spent)),
    calls: s?.key === key ? s.calls : 0,
    unpriced_calls: s?.key === key ? s.unpriced : 0,
    resets_at: new Date(periodEnd(kind, now)).toISOString(),
  };
}

/** `GET /budgets`: every budgeted team's spend, limit and what is left, per UTC day and month. */
export function budgetReport(view: BudgetView, envBudgets: BudgetConfig, now: number): BudgetReport {
  const inForce = budgetsInForce(envBudgets, view.override);
  const budgets = budgetsJson(inForce.budgets);
  const keys = periodKeys(now);
  const teams: BudgetReport['teams'] = {};
  for (const [team, b] of Object.entries(budgets)) {
    const s = view.spend[team];
    teams[team] = { action: b.action, day: period('day', keys.day, b.daily_usd, s?.day ?? null, now), month: period('month', keys.month, b.monthly_usd, s?.month ?? null, now) };
  }
  return { source: inForce.source, generated_at: new Date(now).toISOString(), budgets, teams };
}
