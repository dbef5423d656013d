import { DurableObject } from 'cloudflare:workers';
import { configFor, defaultWindow, type RuntimeOverrides, type RuntimeSla, type SlaConfigResult } from '../../src/config/in-force';
import type { AlertPayload, AlertRecord } from '../../src/core/alerts';
import { routeStub, type RegistryState, type RouteEntry } from '../../src/core/objects';
import type { BreakerEvent, BreakerStatus } from '../../src/core/resilience/breaker';
import type { ResolvedPolicy } from '../../src/core/resilience/policy';
import { routeIdleLimitMs, type Admission } from '../../src/core/route-cap';
import { sloFor } from '../../src/core/sla/config';
import { MAX_PERIOD_HOURS } from '../../src/core/sla/slo';
import type { RouteDetailReport } from '../../src/core/report-types';
import { AlertLog, routesByWindow } from './alerts';
import { AlertmanagerDelivery } from './alertmanager';
import { BreakerBoard } from './breakers';
import { readRouteDetail, readSlaReport } from './fan-out';
import { BatchClaims } from './idempotency';
import { IsolateTotals } from './isolate-totals';
import { Meta } from './meta';
import { RouteList } from './routes';
import { SeriesLedger } from './series-ledger';
import { Summaries, type RegistrySummary, type SummaryQuery } from './summary';
import { METRICS_MAX_BYTES_DEFAULT, METRICS_MODELS_PER_ROUTE, type BudgetOptions } from '../../src/core/series-budget';

export type { RegistryState, RouteEntry } from '../../src/core/objects';

/**
 * The `meta` keys of the runtime SLA config (`PUT /sla/config`), OpenSLO documents (`PUT /sla/openslo`) and
 * policies (`PUT /policies`).
 */
const SLA_CONFIG_KEY = 'sla_config';
const OPENSLO_KEY = 'openslo';
const POLICIES_KEY = 'policies';

/** What `/sla/<route>` gets: the route's report, or why there is none. */
export type RouteDetailAnswer = { detail: RouteDetailReport } | { configProblems: string[] } | { unknown: true };

/**
 * The one registry object, a thin shell over its jobs: route admission (`routes.ts`), the runtime SLA config and
 * the config in force every report is judged by (`src/config/in-force.ts`), the reports and their cache
 * (`summary.ts`, `fan-out.ts`), alerts and the per-minute evaluation alarm (`alerts.ts`), isolate totals for
 * /metrics (`isolate-totals.ts`), `/v1/timings` idempotency (`idempotency.ts`), the runtime policies and the circuit
 * breakers as the isolates report them (`breakers.ts`).
 */
export class SlaRegistry extends DurableObject<Env> {
  private readonly meta: Meta;
  private readonly routes: RouteList;
  private readonly log: AlertLog;
  private readonly alertmanager: AlertmanagerDelivery;
  private readonly totals: IsolateTotals;
  private readonly claims: BatchClaims;
  private readonly summaries: Summaries;
  private readonly series: SeriesLedger;
  private readonly breakers: BreakerBoard;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    this.meta = new Meta(sql);
    this.routes = new RouteList(sql);
    this.log = new AlertLog(sql, this.meta);
    this.alertmanager = new AlertmanagerDelivery(this.meta, this.log);
    this.totals = new IsolateTotals(sql);
    this.claims = new BatchClaims(sql);
    this.summaries = new Summaries(env.ROUTE_STATS);
    this.series = new SeriesLedger(sql);
    this.breakers = new BreakerBoard(sql);
    // The registry holds the runtime configs: its copies are the truth, never stale.
    configFor(env).setOverride(this.configOverride(), Date.now());
    configFor(env).setPolicies(this.meta.get(POLICIES_KEY), Date.now());
  }

  /** The SLA config in force here: the runtime config, else the `SLA_CONFIG` var, else the default. */
  private sla(): SlaConfigResult {
    const inForce = configFor(this.env);
    inForce.setOverride(this.configOverride(), Date.now());
    return inForce.sla();
  }

  claimBatch(key: string, result: string, ttlMs: number): string | null {
    return this.claims.claim(key, result, ttlMs, Date.now());
  }

  /** An isolate's counts since it started (`src/worker/counts.ts`), as totals. */
  reportTotals(isolate: string, totals: Record<string, number>): void {
    this.totals.report(isolate, totals, Date.now());
  }

  counters(): Record<string, number> {
    return this.totals.sums();
  }

  /**
   * Registers routes, at most `maxRoutes` of them (the overflow route is always admitted, beyond the cap). Answers
   * which of `entries` are known now and whether the cap is reached; the caller files the others as overflow.
   */
  async register(entries: RouteEntry[], maxRoutes: number = Number.POSITIVE_INFINITY): Promise<Admission> {
    const now = Date.now();
    const admission = this.routes.register(entries, maxRoutes, now);
    await this.ensureAlarm(now);
    return admission;
  }

  state(): RegistryState {
    return { routes: this.routes.list(), configOverride: this.configOverride() };
  }

  /** The runtime SLA config and OpenSLO documents (what an isolate or a route object refreshes its copy from). */
  configOverride(): RuntimeSla {
    return { config: this.meta.get(SLA_CONFIG_KEY), openslo: this.meta.get(OPENSLO_KEY) };
  }

  /** Every runtime config in one answer (what a worker isolate refreshes its copies from). */
  overrides(): RuntimeOverrides {
    return { sla: this.configOverride(), policies: this.meta.get(POLICIES_KEY) };
  }

  /**
   * Sets the runtime policies (null: back to the `POLICIES` var), validated by the worker that took the `PUT`.
   * Isolates read them within `SLA_OVERRIDE_MAX_AGE_MS` (the one that took the `PUT` at once).
   */
  setPolicies(json: string | null): void {
    this.meta.set(POLICIES_KEY, json);
    configFor(this.env).setPolicies(json, Date.now());
    this.summaries.clear();
  }

  /**
   * What /metrics, /sla and /dashboard/data need, in one RPC: the fan-out over every route runs here at most once
   * per `query.maxAgeMs` (shared by concurrent readers), so a read costs one RPC whatever the number of routes.
   */
  summary(query: SummaryQuery): Promise<RegistrySummary> {
    const series = { options: this.seriesBudget(), plan: this.series.plan.bind(this.series) };
    const state = {
      routes: this.routes.list(),
      sla: this.sla(),
      configOverride: this.configOverride(),
      counters: this.counters(),
      alerts: (n: number) => this.log.list(n),
      series,
      breakers: this.breakers.list(),
      policyFor: (route: string) => this.policyFor(route),
    };
    return this.summaries.answer(query, state, Date.now());
  }

  /** The /metrics series budget: `METRICS_MAX_BYTES`, room kept for the `calls` series of `MAX_ROUTES` routes and `_overflow`. */
  private seriesBudget(): BudgetOptions {
    const result = configFor(this.env).result;
    const config = result.ok ? result.config : null;
    return { budget: config?.metricsMaxBytes ?? METRICS_MAX_BYTES_DEFAULT, routeSlots: (config?.maxRoutes ?? 500) + 1, modelsPerRoute: METRICS_MODELS_PER_ROUTE };
  }

  /** `/sla/<route>`: one route over a window (null: the config's default) and its per-minute series. */
  async routeDetail(route: string, window: string | null): Promise<RouteDetailAnswer> {
    const sla = this.sla();
    if (!sla.ok) return { configProblems: sla.problems };
    const entry = this.routes.list().find((r) => r.route === route);
    if (!entry) return { unknown: true };
    const breakers = this.breakers.list().filter((b) => b.route === route);
    return { detail: await readRouteDetail(this.env.ROUTE_STATS, entry, sla.config, window ?? defaultWindow(sla.config), Date.now(), breakers, this.policyFor(route)) };
  }

  /** A route's policy in force here (the runtime policies, else the `POLICIES` var), or null. */
  private policyFor(route: string): ResolvedPolicy | null {
    return configFor(this.env).policies().table?.for(route) ?? null;
  }

  /** Fan-outs the summary has run since this object started (tests, the benchmark). */
  summaryRefreshes(): number {
    return this.summaries.refreshes;
  }

  /**
   * Sets the runtime SLA config (null: back to the var). Every route object is told at once, so the calls it files
   * next are judged by the new SLO; one that does not answer reads it within `SLA_OVERRIDE_MAX_AGE_MS`.
   */
  async setConfig(json: string | null): Promise<void> {
    this.meta.set(SLA_CONFIG_KEY, json);
    await this.pushConfig();
  }

  /** Sets the runtime OpenSLO documents (null: back to the `OPENSLO` var), pushed as `setConfig` pushes. */
  async setOpenSlo(text: string | null): Promise<void> {
    this.meta.set(OPENSLO_KEY, text);
    await this.pushConfig();
  }

  private async pushConfig(): Promise<void> {
    const runtime = this.configOverride();
    configFor(this.env).setOverride(runtime, Date.now());
    this.summaries.clear();
    const routes = this.routes.list();
    const told = await Promise.allSettled(
      routes.flatMap((r) => Array.from({ length: r.shards }, (_, i) => routeStub(this.env.ROUTE_STATS, r.route, i).setSlaOverride(runtime))),
    );
    const failed = told.filter((t) => t.status === 'rejected').length;
    if (failed > 0) console.error(`llm-sla-gateway: ${failed} route objects not told of the new SLA config; they read it within 30 s`);
  }

  /** Forgets one route (or all, or a list) and its alert state; the caller resets the route objects themselves. */
  forget(route: string | null | readonly string[]): void {
    this.summaries.clear();
    for (const r of typeof route === 'string' || route === null ? [route] : route) {
      this.routes.forget(r);
      this.log.forget(r);
      // Its /metrics series go too (their room freed): a route listed again starts them at 0 again.
      this.series.forget(r);
      this.breakers.forget(r);
    }
  }

  /**
   * An isolate's circuit breaker opened or closed. The first isolate to say so changes the state kept here and
   * raises the alert (delivered by the next evaluation alarm); the same news from others changes nothing.
   */
  async breakerChanged(e: BreakerEvent): Promise<void> {
    const alert = this.breakers.change(e);
    if (alert === null) return;
    this.log.insert(e.at, e.route, alert);
    await this.ensureAlarm(Date.now());
  }

  /** The breakers as last heard of (tests; /metrics reads them from the summary). */
  breakerStates(): BreakerStatus[] {
    return this.breakers.list();
  }

  /** Alerts raised elsewhere (team budgets), logged here and delivered by the next evaluation alarm. */
  async recordAlerts(alerts: { ts: number; route: string; payload: AlertPayload }[]): Promise<void> {
    for (const a of alerts) this.log.insert(a.ts, a.route, a.payload);
    await this.ensureAlarm(Date.now());
  }

  alerts(limit = 100): AlertRecord[] {
    return this.log.list(limit);
  }

  /**
   * Every minute (`ALERT_INTERVAL_MS`): each route judged over its own window by the config in force, alerts raised
   * and delivered to the webhook and to Alertmanager.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    try {
      const sla = this.sla();
      // Routes unseen past their objects' retention leave the list (and the cap): their data is gone anyway. With
      // an invalid SLA config, every route is taken to keep the longest SLO period.
      const gone = this.routes.expire(now, (route) => routeIdleLimitMs(sla.ok ? (sloFor(sla.config, route)?.period_hours ?? null) : MAX_PERIOD_HOURS));
      if (gone.length > 0) this.forget(gone);
      if (sla.ok) {
        const byWindow = routesByWindow(this.routes.list(), sla.config);
        // Fresh reads (not the summary's cache, which holds reports over every route).
        const reports = await Promise.all([...byWindow].map(([window, routes]) => readSlaReport(this.env.ROUTE_STATS, routes, sla.config, window, now)));
        this.log.evaluate(reports, sla.config, now);
      }
      const service = configFor(this.env).service;
      // Each way of delivery on its own: a webhook that fails does not hold Alertmanager back, nor the reverse.
      await Promise.all([
        service.alertWebhookUrl === null ? null : this.log.deliver(service.alertWebhookUrl),
        service.alertmanagerUrls.length === 0 ? null : this.alertmanager.deliver(service.alertmanagerUrls, service.publicUrl, Date.now()),
      ]);
    } finally {
      await this.ctx.storage.setAlarm(now + this.interval());
    }
  }

  /** `ALERT_INTERVAL_MS`: how often alerts are evaluated and delivered. */
  private interval(): number {
    return configFor(this.env).service.alertIntervalMs;
  }

  private async ensureAlarm(now: number): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + this.interval());
  }
}
