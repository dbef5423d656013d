import { BURN_ALERTS, type BurnAlertName, type ResolvedSlo } from '../../src/core/sla/slo';
import { burnAlertLabels } from '../../src/core/sla/prometheus-rules';
import type { RouteReport } from '../../src/core/report-types';
import type { AlertPayload } from '../../src/core/alerts';

/** Burn-rate alert pairs firing per route, as the registry keeps them between evaluations. */
export type BurnStates = Record<string, BurnAlertName[]>;

/**
 * One evaluation of a route's burn-rate alerts: a pair starts when both its windows burn above its factor and
 * resolves when either falls back (the short window makes it resolve soon after the burning stops). One alert per
 * start and one per resolve; a route without an SLO has none.
 */
export function trackBurn(
  previous: readonly BurnAlertName[],
  route: string,
  r: RouteReport,
  now: number,
  slo: { name: string; slo: Pick<ResolvedSlo, 'objective' | 'labels'> } | null = null,
): { state: BurnAlertName[]; alerts: AlertPayload[] } {
  const budget = r.error_budget ?? null;
  const state = budget?.burning ?? [];
  const alerts: AlertPayload[] = [];
  for (const pair of BURN_ALERTS) {
    const was = previous.includes(pair.name);
    const is = state.includes(pair.name);
    if (was === is || budget === null && !was) continue;
    const rates = budget ? `${pair.long} ${fmt(budget.burn_rates[pair.long])}x, ${pair.short} ${fmt(budget.burn_rates[pair.short])}x` : 'no SLO';
    const speed = pair.severity === 'page' ? 'fast' : 'steadily';
    const message = is
      ? `Route '${route}' burns its error budget ${speed}: ${rates} (${pair.severity} above ${pair.factor}x in both)`
      : `Route '${route}' no longer burns its error budget above ${pair.factor}x (${rates})`;
    const remaining = budget ? ` · budget remaining ${(budget.budget_remaining * 100).toFixed(1)}% of ${budget.period}` : '';
    alerts.push({
      type: is ? 'slo.burn' : 'slo.burn_resolved',
      route,
      status: is ? `burning_${pair.name}` : 'ok',
      previous_status: is ? 'ok' : `burning_${pair.name}`,
      window: `${pair.long}/${pair.short}`,
      at: new Date(now).toISOString(),
      violations: [message],
      stats: { count: r.count, success_rate: r.success_rate, p95_ms: r.latency?.p95 ?? null, p99_ms: r.latency?.p99 ?? null, throughput_rps: r.throughput_rps },
      error_budget: budget,
      ...(slo ? { labels: burnAlertLabels(slo.name, slo.slo, pair) } : {}),
      text: `${is ? ':fire:' : ':white_check_mark:'} ${message}${remaining}`,
    });
  }
  return { state, alerts };
}

const fmt = (x: number | null) => (x === null ? '–' : x.toFixed(1));
