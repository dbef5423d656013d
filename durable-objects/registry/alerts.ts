import type { AlertPayload, AlertRecord } from '../../src/core/alerts';
import type { RouteReport, SlaReport } from '../../src/core/report-types';
import { alertAfter, sloFor, targetsFor, type SlaConfig } from '../../src/core/sla/config';
import { sloLabel } from '../../src/core/sla/prometheus-rules';
import { trackStatus, type AlertState } from '../../src/core/sla/status';
import { trackBurn, type BurnStates } from './burn-alerts';
import type { Meta } from './meta';

const BACKOFF_MS = [0, 250, 1000];
/** Alerts kept in the log; older ones are deleted. */
const KEEP_ALERTS = 500;
/** An alert not delivered after this many alarms is given up (still listed, `delivered: false`). */
const MAX_ATTEMPTS = 10;

/**
 * The registry's alert log and the state that debounces alerts between evaluations: SLA status changes and
 * burn-rate pairs per route (raised here by `evaluate`), team budget alerts (raised by the team budgets object),
 * all delivered to the webhook by the alarm, retried until delivered or given up.
 */
export class AlertLog {
  constructor(
    private readonly sql: SqlStorage,
    private readonly meta: Meta,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,
      route TEXT, payload TEXT NOT NULL, delivered INTEGER NOT NULL, attempts INTEGER NOT NULL)`);
  }

  insert(ts: number, route: string, payload: AlertPayload): void {
    this.sql.exec('INSERT INTO alerts (ts, route, payload, delivered, attempts) VALUES (?, ?, ?, 0, 0)', ts, route, JSON.stringify(payload));
    this.sql.exec('DELETE FROM alerts WHERE id <= (SELECT max(id) - ? FROM alerts)', KEEP_ALERTS);
  }

  /** The alerts logged after `id`, oldest first (Alertmanager delivery reads them once). */
  since(id: number): { id: number; alert: AlertPayload }[] {
    return this.sql
      .exec<{ id: number; payload: string }>('SELECT id, payload FROM alerts WHERE id > ? ORDER BY id', id)
      .toArray()
      .map((r) => ({ id: r.id, alert: JSON.parse(r.payload) as AlertPayload }));
  }

  list(limit = 100): AlertRecord[] {
    return this.sql
      .exec<{ id: number; ts: number; payload: string; delivered: number; attempts: number }>(
        'SELECT id, ts, payload, delivered, attempts FROM alerts ORDER BY id DESC LIMIT ?',
        limit,
      )
      .toArray()
      .map((r) => ({ id: r.id, ts: r.ts, delivered: r.delivered === 1, attempts: r.attempts, alert: JSON.parse(r.payload) as AlertPayload }));
  }

  /**
   * One evaluation, over the reports of every window in use (each route judged over its own window): an alert on a
   * passed <-> failed change confirmed `alert_after` times, and on each burn-rate pair starting or resolving.
   */
  evaluate(reports: readonly SlaReport[], config: SlaConfig, now: number): void {
    const states = { ...this.statusStates() };
    const previousBurn = this.burnStates();
    const burn: BurnStates = {};
    for (const report of reports) {
      for (const [route, r] of Object.entries(report.routes)) {
        const { state, change } = trackStatus(states[route] ?? null, r.sla.status, alertAfter(config));
        states[route] = state;
        const alerting = change && change.from !== 'insufficient_data' && change.to !== 'insufficient_data';
        if (alerting) this.insert(now, route, statusAlert(route, r, change.from, report.window, now));
        const slo = sloFor(config, route);
        const burning = trackBurn(previousBurn[route] ?? [], route, r, now, slo ? { name: sloLabel(config, route, slo), slo } : null);
        if (burning.state.length > 0) burn[route] = burning.state;
        for (const a of burning.alerts) this.insert(now, route, a);
      }
    }
    this.meta.set('alert_state', JSON.stringify(states));
    this.meta.set('burn_state', JSON.stringify(burn));
  }

  /** POSTs every undelivered alert to the webhook (retried with backoff; given up after `MAX_ATTEMPTS` alarms). */
  async deliver(url: string): Promise<void> {
    const pending = this.sql
      .exec<{ id: number; payload: string }>('SELECT id, payload FROM alerts WHERE delivered = 0 AND attempts < ? ORDER BY id', MAX_ATTEMPTS)
      .toArray();
    for (const p of pending) {
      const delivered = await post(url, p.payload);
      this.sql.exec('UPDATE alerts SET attempts = attempts + 1, delivered = ? WHERE id = ?', delivered ? 1 : 0, p.id);
    }
  }

  /** Forgets the alert state of one route, or of all (null); the log itself stays. */
  forget(route: string | null): void {
    if (route === null) {
      this.meta.set('alert_state', null);
      this.meta.set('burn_state', null);
      return;
    }
    const states = this.statusStates();
    delete states[route];
    this.meta.set('alert_state', JSON.stringify(states));
  }

  private statusStates(): Record<string, AlertState> {
    const raw = this.meta.get('alert_state');
    return raw ? (JSON.parse(raw) as Record<string, AlertState>) : {};
  }

  private burnStates(): BurnStates {
    return JSON.parse(this.meta.get('burn_state') ?? '{}') as BurnStates;
  }
}

/** The windows the routes are judged over, each with its routes: one report per window. */
export function routesByWindow<T extends { route: string }>(routes: readonly T[], config: SlaConfig): Map<string, T[]> {
  const byWindow = new Map<string, T[]>();
  for (const r of routes) {
    const w = targetsFor(config, r.route).window;
    byWindow.set(w, [...(byWindow.get(w) ?? []), r]);
  }
  return byWindow;
}

function statusAlert(route: string, r: RouteReport, previous: string, window: string, now: number): AlertPayload {
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
async function post(url: string, body: string): Promise<boolean> {
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
