import type { ErrorBudget } from './sla/slo';

/**
 * What is POSTed to `ALERT_WEBHOOK_URL`; `text` makes it a valid Slack incoming-webhook message as is. Raised by the
 * registry's evaluation (`sla.*`, `slo.*`: durable-objects/registry/), by the team budgets object (`budget.*`:
 * durable-objects/team-budgets/) and by the isolates' circuit breakers (`breaker.*`, deduplicated by the registry),
 * kept in the registry's alert log, listed by `/sla/alerts` and the dashboard.
 */
export interface AlertPayload {
  type: AlertType;
  route: string;
  status: string;
  previous_status: string;
  window: string;
  at: string;
  violations: string[];
  stats: AlertStats;
  /** Burn-rate alerts: the route's error budget when it fired or resolved. */
  error_budget?: ErrorBudget | null;
  /** Burn-rate alerts: the labels the generated Prometheus rules give the same alert (slo, objective, burn, severity...). */
  labels?: Record<string, string>;
  /** Circuit breaker alerts: the target, and what opened it. */
  breaker?: { target: string; failure_rate: number; calls: number; source: string; window_s: number; cooldown_s: number };
  /** Team budget alerts: the team, period and spend. */
  budget?: { team: string; period: 'day' | 'month'; key: string; spent_usd: number; limit_usd: number; threshold: number };
  text: string;
}

export type AlertType =
  | 'sla.violated'
  | 'sla.recovered'
  | 'slo.burn'
  | 'slo.burn_resolved'
  | 'budget.warning'
  | 'budget.exhausted'
  | 'breaker.opened'
  | 'breaker.closed';

export interface AlertStats {
  count: number;
  success_rate: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  throughput_rps: number;
}

/** An alert as the registry's log keeps it. */
export interface AlertRecord {
  id: number;
  ts: number;
  delivered: boolean;
  attempts: number;
  alert: AlertPayload;
}
