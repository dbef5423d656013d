import { trackStatus, type AlertState } from '../../src/core/sla/status';
import { alertAfter, targetsFor } from '../../src/core/sla/config';
import type { RouteReport } from '../../src/core/report-types';
import type { ServiceConfig } from '../../src/config/service';
import type { RegistryState, RouteEntry } from '../../src/core/objects';
import { buildSlaReport } from '../../src/core/report';
import { slaConfigInForce } from '../../src/config/in-force';
import { trackBurn, type BurnStates } from './burn-alerts';
import type { ErrorBudget } from '../../src/core/sla/slo';

/** What is POSTed to `ALERT_WEBHOOK_URL`; `text` makes it a valid Slack incoming-webhook message as is. */
export interface AlertPayload {
  /** `slo.*`: burn-rate alerts (`burn-alerts.ts`); `budget.*`: team cost budgets (`budget/alerts.ts`). */
  type: 'sla.violated' | 'sla.recovered' | 'slo.burn' | 'slo.burn_resolved' | 'budget.warning' | 'budget.exhausted';
  route: string;
  status: string;
  previous_status: string;
  window: string;
  at: string;
  violations: string[];
  stats: { count: number; success_rate: number | null; p95_ms: number | null; p99_ms: number | null; throughput_rps: number };
  /** Burn-rate alerts: the route's error budget when it fired or resolved. */
  error_budget?: ErrorBudget | null;
  /** Team budget alerts: the team, period and spend. */
  budget?: { team: string; period: 'day' | 'month'; key: string; spent_usd: number; limit_usd: number; threshold: number };
  text: string;
}

export interface AlertRecord {
  id: number;
  ts: number;
  delivered: boolean;
  attempts: number;
  alert: AlertPayload;
}

export interface AlertStore {
  states: Record<string, AlertState>;
  saveStates(states: Record<string, AlertState>): void;
  burnStates: BurnStates;
  saveBurnStates(states: BurnStates): void;
  record(ts: number, route: string, payload: AlertPayload): void;
  undelivered(): { id: number; attempts: number; payload: string }[];
  markAttempt(id: number, delivered: boolean): void;
}

const BACKOFF_MS = [0, 250, 1000];

/** One evaluation: each route over its own window, alerts on passed <-> failed changes confirmed `alert_after` times. */
export async function evaluateAlarm(env: Env, service: ServiceConfig, registry: RegistryState, now: number, store: AlertStore): Promise<void> {
  const cfg = slaConfigInForce(service, registry.configOverride);
  if (cfg.ok) {
    const byWindow = new Map<string, RouteEntry[]>();
    for (const r of registry.routes) {
      const w = targetsFor(cfg.config, r.route).window;
      byWindow.set(w, [...(byWindow.get(w) ?? []), r]);
    }
    const states = { ...store.states };
    const burn: BurnStates = {};
    for (const [window, routes] of byWindow) {
      const report = await buildSlaReport(env.ROUTE_STATS, routes, cfg.config, window, now);
      for (const [route, r] of Object.entries(report.routes)) {
        const { state, change } = trackStatus(states[route] ?? null, r.sla.status, alertAfter(cfg.config));
        states[route] = state;
        const alerting = change && change.from !== 'insufficient_data' && change.to !== 'insufficient_data';
        if (alerting) store.record(now, route, payload(route, r, change.from, window, now));
        const burning = trackBurn(store.burnStates[route] ?? [], route, r, now);
        if (burning.state.length > 0) burn[route] = burning.state;
        for (const a of burning.alerts) store.record(now, route, a);
      }
    }
    store.saveStates(states);
    store.saveBurnStates(burn);
  }
  const url = service.alertWebhookUrl;
  if (url === null) return;
  for (const pending of store.undelivered()) store.markAttempt(pending.id, await deliver(url, pending.payload));
}

function payload(route: string, r: RouteReport, previous: string, window: string, now: number): AlertPayload {
  const violated = r.sla.status === 'failed';
  const messages = r.sla.violations.map((v) => v.message);
  const head = violated ? `:red_circle: SLA violated on route '${route}'` : `:large_green_circle: SLA recovered on route '${route}'`;
  return {
    type: violated ? 'sla.violated' : 'sla.recovered',
    route,
    status: r.sla.status,
    previous_status: previous,
    window,
    at: new Date(now).toISOString(),
    violations: messages,
    stats: {
      count: r.count,
      success_rate: r.success_rate,
      p95_ms: r.latency?.p95 ?? null,
      p99_ms: r.latency?.p99 ?? null,
      throughput_rps: r.throughput_rps,
    },
    text: [`${head} (window ${window})`, ...messages.map((m) => `• ${m}`)].join('\n'),
  };
}

/** POSTs one alert, retried with backoff; true once a 2xx came back. Never throws. */
async function deliver(url: string, body: string): Promise<boolean> {
  for (const wait of BACKOFF_MS) {
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.body?.cancel();
      if (res.ok) return true;
    } catch {
      // network failure: try again
    }
  }
  return false;
}
