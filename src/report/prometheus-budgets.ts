import type { BudgetReport } from '../core/budget/report';

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const num = (v: number) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(12))));

/**
 * Team budget metrics: the gate's counters summed over isolates (registry totals), always; each team's spend and
 * limit per period when budgets are on (`report`).
 */
export function renderBudgetMetrics(counters: Readonly<Record<string, number>>, report: BudgetReport | null): string {
  const n = (k: string) => counters[k] ?? 0;
  const lines = [
    '# HELP llm_sla_budget_blocked_total Calls refused because their team had spent a block budget.',
    '# TYPE llm_sla_budget_blocked_total counter',
    `llm_sla_budget_blocked_total ${n('budget_blocked')}`,
    '# HELP llm_sla_budget_blocked_unpriced_total Calls refused because their team refuses unpriced calls (unpriced: block) and the model had no price.',
    '# TYPE llm_sla_budget_blocked_unpriced_total counter',
    `llm_sla_budget_blocked_unpriced_total ${n('budget_blocked_unpriced')}`,
    '# HELP llm_sla_budget_store_errors_total Budget store calls that failed or timed out (calls were let through: fail open).',
    '# TYPE llm_sla_budget_store_errors_total counter',
    `llm_sla_budget_store_errors_total ${n('budget_store_errors')}`,
    '# HELP llm_sla_budget_fail_open_total Budgeted calls judged without any answer from the budget store yet.',
    '# TYPE llm_sla_budget_fail_open_total counter',
    `llm_sla_budget_fail_open_total ${n('budget_fail_open')}`,
    '# HELP llm_sla_budget_spend_dropped_total Call costs that could not be added to the budget store.',
    '# TYPE llm_sla_budget_spend_dropped_total counter',
    `llm_sla_budget_spend_dropped_total ${n('budget_spend_dropped')}`,
  ];
  if (report !== null) {
    lines.push('# HELP llm_sla_budget_spend_usd Team spend in the current UTC day or month (estimated costs included).', '# TYPE llm_sla_budget_spend_usd gauge');
    const teams = Object.entries(report.teams);
    for (const [team, t] of teams) for (const p of ['day', 'month'] as const) lines.push(`llm_sla_budget_spend_usd{team="${escapeLabel(team)}",period="${p}"} ${num(t[p].spent_usd)}`);
    lines.push('# HELP llm_sla_budget_limit_usd Team budget limit per period.', '# TYPE llm_sla_budget_limit_usd gauge');
    for (const [team, t] of teams) {
      for (const p of ['day', 'month'] as const) {
        const limit = t[p].limit_usd;
        if (limit !== null) lines.push(`llm_sla_budget_limit_usd{team="${escapeLabel(team)}",period="${p}"} ${num(limit)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
