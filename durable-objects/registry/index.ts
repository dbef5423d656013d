import { DurableObject } from 'cloudflare:workers';
import { serviceConfig } from '../../src/config/resolve';
import type { RegistryState, RouteEntry } from '../../src/core/objects';
import { OVERFLOW_ROUTE, type Admission } from '../../src/core/route-cap';
import { evaluateAlarm, type AlertPayload, type AlertRecord } from './alerts';
import { collectMetrics } from './metrics';
import { defaultWindow } from '../../src/config/in-force';
import { buildSlaReport } from '../../src/core/report';
import { routeBudgets } from './slo-report';
import { dashboardData, routesSeries } from './dashboard';
import { sloFor } from '../../src/core/sla/config';
import { slaConfigOf, SummaryCache, type RegistrySummary, type SummaryQuery } from './summary';

export type { RegistryState, RouteEntry } from '../../src/core/objects';

const EVALUATION_INTERVAL_MS = 60_000;
/** An isolate whose telemetry totals have not changed for this long is folded into the retired sums. */
const ISOLATE_IDLE_MS = 24 * 3600_000;

/**
 * The one object that knows every route key (so /sla can enumerate them), holds SLA config set at runtime, and runs
 * the per-minute evaluation alarm that sends alerts. Routes are registered once per isolate, not per call.
 */
export class SlaRegistry extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly summaries = new SummaryCache();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS routes (route TEXT PRIMARY KEY, shards INTEGER NOT NULL, first_seen INTEGER NOT NULL)`);
    this.sql.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    this.sql.exec(`CREATE TABLE IF NOT EXISTS alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,
      route TEXT, payload TEXT NOT NULL, delivered INTEGER NOT NULL, attempts INTEGER NOT NULL)`);
    this.sql.exec('CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)');
    this.sql.exec(`CREATE TABLE IF NOT EXISTS isolate_counters (isolate TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,
      updated INTEGER NOT NULL, PRIMARY KEY (isolate, name))`);
    this.sql.exec('CREATE TABLE IF NOT EXISTS ingest_batches (key TEXT PRIMARY KEY, expires INTEGER NOT NULL, result TEXT NOT NULL)');
    this.sql.exec('CREATE INDEX IF NOT EXISTS ingest_batches_expires ON ingest_batches (expires)');
  }

  /**
   * Idempotency of `/v1/timings` batches that carry an `idempotency-key`: the first claim of a key stores the
   * batch's result (JSON) and returns null, so the caller records the batch; a claim of a key already seen within
   * `ttlMs` returns the stored result instead, so a retried batch is answered without being counted twice.
   */
  claimBatch(key: string, result: string, ttlMs: number): string | null {
    const now = Date.now();
    this.sql.exec('DELETE FROM ingest_batches WHERE expires <= ?', now);
    const seen = this.sql.exec<{ result: string }>('SELECT result FROM ingest_batches WHERE key = ?', key).toArray()[0];
    if (seen) return seen.result;
    this.sql.exec('INSERT INTO ingest_batches (key, expires, result) VALUES (?, ?, ?)', key, now + ttlMs, result);
    return null;
  }

  /**
   * An isolate's telemetry totals since it started (span export results), so /metrics shows them whichever isolate
   * answers. Totals, not deltas: a report lost on the way (its request cancelled, the RPC failed) loses nothing, the
   * next one carries it, and a report that arrives twice or late counts once (a total only grows). Isolates not
   * heard from for a day are folded into `counters`, so the sums stay monotonic and the table small.
   */
  reportTotals(isolate: string, totals: Record<string, number>): void {
    if (!/^[\w-]{1,64}$/.test(isolate)) return;
    const now = Date.now();
    for (const [name, n] of Object.entries(totals)) {
      if (!/^[a-z_]{1,64}$/.test(name) || !Number.isSafeInteger(n) || n <= 0) continue;
      this.sql.exec(
        `INSERT INTO isolate_counters (isolate, name, value, updated) VALUES (?, ?, ?, ?)
         ON CONFLICT(isolate, name) DO UPDATE SET value = max(value, excluded.value), updated = excluded.updated`,
        isolate,
        name,
        n,
        now,
      );
    }
    const idle = now - ISOLATE_IDLE_MS;
    this.sql.exec(
      `INSERT INTO counters (name, value) SELECT name, sum(value) FROM isolate_counters WHERE updated < ? GROUP BY name
       ON CONFLICT(name) DO UPDATE SET value = value + excluded.value`,
      idle,
    );
    this.sql.exec('DELETE FROM isolate_counters WHERE updated < ?', idle);
  }

  counters(): Record<string, number> {
    const rows = this.sql
      .exec<{ name: string; value: number }>(
        `SELECT name, sum(value) AS value FROM (SELECT name, value FROM counters UNION ALL SELECT name, value FROM isolate_counters) GROUP BY name`,
      )
      .toArray();
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  }

  /**
   * Registers routes, at most `maxRoutes` of them (the overflow route is always admitted, beyond the cap). Answers
   * which of `entries` are known now and whether the cap is reached; the caller files the others as overflow.
   */
  async register(entries: RouteEntry[], maxRoutes: number = Number.POSITIVE_INFINITY): Promise<Admission> {
    const now = Date.now();
    let count = this.routeCount();
    const admitted: string[] = [];
    for (const e of entries) {
      const known = this.sql.exec('SELECT 1 FROM routes WHERE route = ?', e.route).toArray().length > 0;
      if (!known && e.route !== OVERFLOW_ROUTE) {
        if (count >= maxRoutes) continue;
        count++;
      }
      this.sql.exec(
        `INSERT INTO routes (route, shards, first_seen) VALUES (?, ?, ?)
         ON CONFLICT(route) DO UPDATE SET shards = max(shards, excluded.shards)`,
        e.route,
        e.shards,
        now,
      );
      admitted.push(e.route);
    }
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + EVALUATION_INTERVAL_MS);
    return { admitted, full: count >= maxRoutes };
  }

  /** Routes registered, not counting the overflow route. */
  private routeCount(): number {
    return this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM routes WHERE route != ?', OVERFLOW_ROUTE).one().n;
  }

  state(): RegistryState {
    const routes = this.sql.exec<{ route: string; shards: number }>('SELECT route, shards FROM routes ORDER BY route').toArray();
    return { routes: routes.map((r) => ({ route: r.route, shards: r.shards })), configOverride: this.getMeta('sla_config') };
  }

  /** The runtime SLA config alone (what an isolate refreshes its copy from; route objects judge calls by it). */
  configOverride(): string | null {
    return this.getMeta('sla_config');
  }

  /**
   * What /metrics and /sla need, in one RPC: the fan-out over every route runs here at most once per
   * `query.maxAgeMs` (shared by concurrent readers), so a scrape costs one RPC whatever the number of routes.
   */
  async summary(query: SummaryQuery): Promise<RegistrySummary> {
    const now = Date.now();
    const { routes, configOverride } = this.state();
    const out: RegistrySummary = { metrics: null, metricsAt: null, sla: null, configProblems: null, budgets: null, dashboard: null, counters: this.counters() };
    const metrics = query.metrics
      ? this.summaries.metricsFor(now, query.maxAgeMs, () => collectMetrics(this.env.ROUTE_STATS, routes))
      : null;
    if (query.sla) {
      const cfg = slaConfigOf(query.sla.envConfig, configOverride);
      if (!cfg.ok) out.configProblems = cfg.problems;
      else {
        const window = query.sla.window ?? defaultWindow(cfg.config);
        // Keyed by the config's text too: workers with another SLA_CONFIG never read each other's verdicts.
        const key = reportKey(window, configOverride ?? query.sla.envConfig ?? '');
        out.sla = await this.summaries.reportFor(key, now, query.maxAgeMs, () => buildSlaReport(this.env.ROUTE_STATS, routes, cfg.config, window, now));
      }
    }
    if (query.dashboard) {
      const asked = query.dashboard;
      const cfg = slaConfigOf(asked.envConfig, configOverride);
      if (!cfg.ok) out.configProblems = cfg.problems;
      else {
        const config = cfg.config;
        const window = asked.window ?? defaultWindow(config);
        const text = configOverride ?? asked.envConfig ?? '';
        const [report, series] = await Promise.all([
          this.summaries.reportFor(reportKey(window, text), now, query.maxAgeMs, () => buildSlaReport(this.env.ROUTE_STATS, routes, config, window, now)),
          this.summaries.seriesFor(text, now, query.maxAgeMs, () => routesSeries(this.env.ROUTE_STATS, routes, config, now)),
        ]);
        out.dashboard = dashboardData(report, series, this.alerts(asked.alerts));
      }
    }
    if (query.budgets) {
      const envConfig = query.budgets.envConfig;
      const cfg = slaConfigOf(envConfig, configOverride);
      if (cfg.ok) {
        const config = cfg.config;
        const key = configOverride ?? envConfig ?? '';
        // No route with an SLO, nothing to ask: no fan-out.
        const withSlo = routes.filter((r) => sloFor(config, r.route) !== null);
        out.budgets = withSlo.length === 0 ? [] : await this.summaries.budgetsFor(key, now, query.maxAgeMs, () => routeBudgets(this.env.ROUTE_STATS, withSlo, config, now));
      }
    }
    if (metrics) {
      const m = await metrics;
      out.metrics = m.value;
      out.metricsAt = m.at;
    }
    return out;
  }

  /** Fan-outs the summary has run since this object started (tests, the benchmark). */
  summaryRefreshes(): number {
    return this.summaries.refreshes;
  }

  setConfig(json: string | null): void {
    this.summaries.clear();
    if (json === null) this.sql.exec('DELETE FROM meta WHERE key = ?', 'sla_config');
    else this.setMeta('sla_config', json);
  }

  /** Forgets one route (or all) and its alert state; the caller resets the route objects themselves. */
  forget(route: string | null): void {
    this.summaries.clear();
    if (route === null) {
      this.sql.exec('DELETE FROM routes');
      this.sql.exec('DELETE FROM meta WHERE key = ?', 'alert_state');
      this.sql.exec('DELETE FROM meta WHERE key = ?', 'burn_state');
      return;
    }
    this.sql.exec('DELETE FROM routes WHERE route = ?', route);
    const states = this.alertStates();
    delete states[route];
    this.setMeta('alert_state', JSON.stringify(states));
  }

  /** Alerts raised elsewhere (team budgets), logged here and delivered by the next evaluation alarm. */
  async recordAlerts(alerts: { ts: number; route: string; payload: AlertPayload }[]): Promise<void> {
    for (const a of alerts) this.insertAlert(a.ts, a.route, a.payload);
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + EVALUATION_INTERVAL_MS);
  }

  private insertAlert(ts: number, route: string, payload: AlertPayload): void {
    this.sql.exec('INSERT INTO alerts (ts, route, payload, delivered, attempts) VALUES (?, ?, ?, 0, 0)', ts, route, JSON.stringify(payload));
    this.sql.exec('DELETE FROM alerts WHERE id <= (SELECT max(id) - 500 FROM alerts)');
  }

  alerts(limit = 100): AlertRecord[] {
    return this.sql
      .exec<{ id: number; ts: number; payload: string; delivered: number; attempts: number }>(
        'SELECT id, ts, payload, delivered, attempts FROM alerts ORDER BY id DESC LIMIT ?',
        limit,
      )
      .toArray()
      .map((r) => ({ id: r.id, ts: r.ts, delivered: r.delivered === 1, attempts: r.attempts, alert: JSON.parse(r.payload) as AlertRecord['alert'] }));
  }

  /** Every minute: evaluate every route, alert on confirmed status changes, retry undelivered alerts. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    try {
      await evaluateAlarm(this.env, serviceConfig(this.env), this.state(), now, {
        states: this.alertStates(),
        saveStates: (s) => this.setMeta('alert_state', JSON.stringify(s)),
        burnStates: JSON.parse(this.getMeta('burn_state') ?? '{}') as import('./burn-alerts').BurnStates,
        saveBurnStates: (s) => this.setMeta('burn_state', JSON.stringify(s)),
        record: (ts, route, payload) => this.insertAlert(ts, route, payload),
        undelivered: () =>
          this.sql
            .exec<{ id: number; payload: string; attempts: number }>('SELECT id, payload, attempts FROM alerts WHERE delivered = 0 AND attempts < 10 ORDER BY id')
            .toArray()
            .map((r) => ({ id: r.id, attempts: r.attempts, payload: r.payload })),
        markAttempt: (id, delivered) =>
          this.sql.exec('UPDATE alerts SET attempts = attempts + 1, delivered = ? WHERE id = ?', delivered ? 1 : 0, id),
      });
    } finally {
      await this.ctx.storage.setAlarm(now + EVALUATION_INTERVAL_MS);
    }
  }

  private alertStates(): Record<string, import('../../src/core/sla/status').AlertState> {
    const raw = this.getMeta('alert_state');
    return raw ? (JSON.parse(raw) as Record<string, import('../../src/core/sla/status').AlertState>) : {};
  }

  private getMeta(key: string): string | null {
    return this.sql.exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', key).toArray()[0]?.value ?? null;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', key, value);
  }
}

/** A cached /sla report's key: its window and the config text it was judged by (/sla and the dashboard share it). */
function reportKey(window: string, configText: string): string {
  return `${window}\u0000${configText}`;
}
