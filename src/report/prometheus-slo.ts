import { BURN_WINDOWS, type ErrorBudget } from '../core/sla/slo';

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const num = (v: number) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(12))));

/** Error budget gauges per route with an SLO: what is left of the budget, and the burn rate over each window. */
export function renderSloMetrics(budgets: readonly { route: string; budget: ErrorBudget }[]): string {
  if (budgets.length === 0) return '';
  const lines = [
    '# HELP llm_sla_error_budget_remaining Fraction of the error budget left over the SLO period (negative once overspent).',
    '# TYPE llm_sla_error_budget_remaining gauge',
    ...budgets.map((b) => `llm_sla_error_budget_remaining{route="${escapeLabel(b.route)}"} ${num(b.budget.budget_remaining)}`),
    '# HELP llm_sla_burn_rate Error rate over the window divided by the error rate the SLO allows (1 spends the budget in exactly one period).',
    '# TYPE llm_sla_burn_rate gauge',
  ];
  for (const b of budgets) {
    for (const w of BURN_WINDOWS) {
      const rate = b.budget.burn_rates[w];
      if (rate !== null) lines.push(`llm_sla_burn_rate{route="${escapeLabel(b.route)}",window="${w}"} ${num(rate)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
