import { DurableObject } from 'cloudflare:workers';
import { configFor, defaultWindow, type RuntimeOverrides, type SlaConfigResult } from '../../src/config/in-force';
import type { AlertPayload, AlertRecord } from '../../src/core/alerts';
import { routeStub, type RegistryState, type RouteEntry } from '../../src/core/objects';
import type { BreakerEvent, BreakerStatus } from '../../src/core/resilience/breaker';
import type { ResolvedPolicy } from '../../src/core/resilience/policy';
import type { Admission } from '../../src/core/route-cap';
import type { RouteDetailReport } from '../../src/core/report-types';
import { AlertLog, routesByWindow } from './alerts';
import { BreakerBoard } from './breakers';
import { readRouteDetail, readSlaReport } from './fan-out';
import { BatchClaims } from './idempotency';
import { IsolateTotals } from './isolate-totals';
import { Meta } from './meta';
import { RouteList } from './routes';
import { Summaries, type RegistrySummary, type SummaryQuery } from './summary';

export type { RegistryState, RouteEntry } from '../../src/core/objects';

const EVALUATION_INTERVAL_MS = 60_000;
/** The `meta` keys of the runtime SLA config (`PUT /sla/config`) and the runtime policies (`PUT /policies`). */
const SLA_CONFIG_KEY = 'sla_config';
const POLICIES_KEY = 'policies';

/** What `/sla/<route>` gets: the route's report, or why there is none. */
export type RouteDetailAnswer = { detail: RouteDetailReport } | { configProblems: string[] } | { unknown: true };

/**
 * The one registry object, a thin shell over its jobs: route admission (`routes.ts`), the runtime SLA config and
 * the config in force every report is judged by (`src/config/in-force.ts`), the reports and their cache
 * (`summary.ts`, `fan-out.ts`), alerts and the per-minute evaluation alarm (`alerts.ts`), isolate totals for
 * /metrics (`isolate-totals.ts`), `/v1/timings` idempotency (`idempotency.ts`).
 */
export class SlaRegistry extends DurableObject<Env> {
  private readonly meta: Meta;
  private readonly routes: RouteList;
  private readonly log: AlertLog;
  private readonly totals: IsolateTotals;
  private readonly claims: BatchClaims;
  private readonly summaries: Summaries;
  private readonly breakers: BreakerBoard;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    this.meta = new Meta(sql);
    this.routes = new RouteList(sql);
    this.log = new AlertLog(sql, this.meta);
    this.totals = new IsolateTotals(sql);
    this.claims = new BatchClaims(sql);
    this.summaries = new Summaries(env.ROUTE_STATS);
    this.breakers = new BreakerBoard(sql);
    // The registry holds the runtime configs: its copies are the truth, never stale.
    configFor(env).setOverride(this.meta.get(SLA_CONFIG_KEY), Date.now());
    configFor(env).setPolicies(this.meta.get(POLICIES_KEY), Date.now());
  }

  /** The SLA config in force here: the runtime config, else the `SLA_CONFIG` var, else the default. */
  private sla(): SlaConfigResult {
    const inForce = configFor(this.env);
    inForce.setOverride(this.meta.get(SLA_CONFIG_KEY), Date.now());
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
    return { routes: this.routes.list(), configOverride: this.meta.get(SLA_CONFIG_KEY) };
  }

  /** The runtime SLA config alone (what a route object refreshes its copy from). */
  configOverride(): string | null {
    return this.meta.get(SLA_CONFIG_KEY);
  }

  /** Both runtime configs in one answer (what a worker isolate refreshes its copies from). */
  overrides(): RuntimeOverrides {
    return { sla: this.meta.get(SLA_CONFIG_KEY), policies: this.meta.get(POLICIES_KEY) };
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
    const state = {
      routes: this.routes.list(),
      sla: this.sla(),
      configOverride: this.configOverride(),
      counters: this.counters(),
      alerts: (n: number) => this.log.list(n),
      breakers: this.breakers.list(),
      policyFor: (route: string) => this.policyFor(route),
    };
    return this.summaries.answer(query, state, Date.now());
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
    configFor(this.env).setOverride(json, Date.now());
    this.summaries.clear();
    const routes = this.routes.list();
    const told = await Promise.allSettled(
      routes.flatMap((r) => Array.from({ length: r.shards }, (_, i) => routeStub(this.env.ROUTE_STATS, r.route, i).setSlaOverride(json))),
    );
    const failed = told.filter((t) => t.status === 'rejected').length;
    if (failed > 0) console.error(`llm-sla-gateway: ${failed} route objects not told of the new SLA config; they read it within 30 s`);
  }

  /** Forgets one route (or all) and its alert state; the caller resets the route objects themselves. */
  forget(route: string | null): void {
    this.summaries.clear();
    this.routes.forget(route);
    this.log.forget(route);
    this.breakers.forget(route);
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

  /** Every minute: each route judged over its own window by the config in force, alerts raised and delivered. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    try {
      const sla = this.sla();
      if (sla.ok) {
        const byWindow = routesByWindow(this.routes.list(), sla.config);
        // Fresh reads (not the summary's cache, which holds reports over every route).
        const reports = await Promise.all([...byWindow].map(([window, routes]) => readSlaReport(this.env.ROUTE_STATS, routes, sla.config, window, now)));
        this.log.evaluate(reports, sla.config, now);
      }
      const url = configFor(this.env).service.alertWebhookUrl;
      if (url !== null) await this.log.deliver(url);
    } finally {
      await this.ctx.storage.setAlarm(now + EVALUATION_INTERVAL_MS);
    }
  }

  private async ensureAlarm(now: number): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + EVALUATION_INTERVAL_MS);
  }
}
