import { BURN_WINDOWS, type ErrorBudget } from '../core/sla/slo';
import type { RouteReport } from '../core/report-types';

const dash = '–';
const rate = (x: number | null) => (x === null ? dash : `${x.toFixed(2)}x`);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const HEADERS = ['Route', 'Objective', 'Period', 'Good', 'Bad', 'Budget left', ...BURN_WINDOWS.map((w) => `Burn ${w}`), 'Runs out', 'Alerts'];

function cells(route: string, b: ErrorBudget): string[] {
  return [
    route,
    pct(b.objective),
    b.period,
    String(b.good),
    String(b.bad),
    pct(b.budget_remaining),
    ...BURN_WINDOWS.map((w) => rate(b.burn_rates[w])),
    b.exhausted_at ?? dash,
    b.burning.length ? b.burning.map((n) => `${n} burn`).join(', ') : dash,
  ];
}

const budgeted = (routes: Record<string, RouteReport>) =>
  Object.entries(routes).flatMap(([route, r]) => (r.error_budget ? [[route, r.error_budget] as const] : []));

/** The error budget section of a Markdown report; empty when no route has an SLO. */
export function errorBudgetMarkdown(routes: Record<string, RouteReport>): string[] {
  const rows = budgeted(routes);
  if (rows.length === 0) return [];
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '',
    '## Error budgets',
    '',
    `| ${HEADERS.join(' | ')} |`,
    `| --- | ${HEADERS.slice(1).map(() => '---:').join(' | ')} |`,
    ...rows.map(([route, b]) => `| ${cells(route, b).map(cell).join(' | ')} |`),
  ];
}

/** The error budget section of an HTML report; empty when no route has an SLO. */
export function errorBudgetHtml(routes: Record<string, RouteReport>, esc: (s: string) => string): string {
  const rows = budgeted(routes);
  if (rows.length === 0) return '';
  const head = `<tr>${HEADERS.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = rows.map(([route, b]) => `<tr class="${b.burning.length ? 'burning' : ''}">${cells(route, b).map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('');
  return `<h2>Error budgets</h2><table>${head}${body}</table>`;
}
