import type { AlertRecord } from '../../src/core/alerts';
import { dashboardRoutes, type DashboardData } from '../../src/core/dashboard';
import type { MetricsExposition, MetricsSnapshot } from '../../src/core/metrics';
import type { BudgetOptions } from '../../src/core/series-budget';
import type { RouteEntry, RouteStatsNamespace } from '../../src/core/objects';
import type { BreakerStatus } from '../../src/core/resilience/breaker';
import type { ResolvedPolicy } from '../../src/core/resilience/policy';
import type { SlaReport } from '../../src/core/report-types';
import { sloFor } from '../../src/core/sla/config';
import type { ErrorBudget } from '../../src/core/sla/slo';
import type { RuntimeSla, SlaConfigResult } from '../../src/config/in-force';
import { defaultWindow } from '../../src/config/in-force';
import { dashboardData } from './dashboard';
import { readSeries, readSlaReport } from './fan-out';
import { collectMetrics } from './metrics';
import { routesWithSlo } from '../../src/core/route-metrics';
import { SummaryCache } from './summary-cache';

/**
 * What /metrics, /sla and /dashboard/data ask the registry for, in one RPC: the routes' counters, the /sla report
 * of one window (null: the config's default window), the error budgets, the dashboard's data; none older than
 * `maxAgeMs`. Every report is judged here, by the registry's config in force.
 */
export interface SummaryQuery {
  maxAgeMs: number;
  metrics?: boolean;
  sla?: { window: string | null };
  /** The error budget of every route with an SLO (for /metrics' gauges): from the report of the default window. */
  budgets?: boolean;
  /** `/dashboard/data`: the report of `window` (shared with /sla), each route's last hour per minute, `alerts` alerts. */
  dashboard?: { window: string | null; alerts: number };
}

export interface RouteBudget {
  route: string;
  budget: ErrorBudget;
}

export interface RegistrySummary {
  /** Cumulative counters of the routes, within the series budget (as of `metricsAt`), when asked. */
  metrics: MetricsExposition | null;
  metricsAt: number | null;
  /** The /sla report, when asked and the SLA config in force is valid. */
  sla: SlaReport | null;
  /** Problems of the SLA config in force, when it is invalid (then no report is given). */
  configProblems: string[] | null;
  /** Error budgets, when asked and the SLA config in force is valid. */
  budgets: RouteBudget[] | null;
  /** The dashboard's data, when asked and the SLA config in force is valid. */
  dashboard: DashboardData | null;
  /** Counts the isolates reported (span export, labels cut, overflowed calls), summed. */
  counters: Record<string, number>;
  /** The runtime SLA config the registry holds (null: none): the asking isolate refreshes its copy from it. */
  configOverride: RuntimeSla;
  /** The circuit breakers as last heard of from the isolates. */
  breakers: BreakerStatus[];
}

/** What the registry knows when it answers a summary. */
export interface SummaryState {
  routes: RouteEntry[];
  sla: SlaConfigResult;
  configOverride: RuntimeSla;
  counters: Record<string, number>;
  alerts: (limit: number) => AlertRecord[];
  /** The /metrics series budget in force, and the ledger that plans the exposition within it. */
  series: { options: BudgetOptions; plan: (snapshot: MetricsSnapshot, options: BudgetOptions, now: number) => MetricsExposition };
  breakers: BreakerStatus[];
  /** The route's policy in force (its first-token deadlines in /metrics). */
  policyFor: (route: string) => ResolvedPolicy | null;
}

/**
 * The registry's summaries: each fan-out over every route (a report per window, the per-minute series, the
 * counters) runs at most once per `maxAgeMs` whatever the number of readers, and readers arriving while it runs
 * share it. Cleared when the config in force or the set of routes changes.
 */
export class Summaries {
  private readonly cache = new SummaryCache();

  constructor(private readonly ns: RouteStatsNamespace) {}

  /** Fan-outs run since the registry started (tests, the benchmark). */
  get refreshes(): number {
    return this.cache.refreshes;
  }

  clear(): void {
    this.cache.clear();
  }

  /** The report of one window, from the cache when fresh enough (also the alarm's, with `maxAgeMs` 0). */
  report(routes: readonly RouteEntry[], sla: SlaConfigResult & { ok: true }, window: string, now: number, maxAgeMs: number): Promise<SlaReport> {
    return this.cache.reportFor(window, now, maxAgeMs, () => readSlaReport(this.ns, routes, sla.config, window, now));
  }

  async answer(query: SummaryQuery, state: SummaryState, now: number): Promise<RegistrySummary> {
    const { routes, sla } = state;
    const out: RegistrySummary = {
      metrics: null,
      metricsAt: null,
      sla: null,
      configProblems: null,
      budgets: null,
      dashboard: null,
      counters: state.counters,
      configOverride: state.configOverride,
      breakers: state.breakers,
    };
    const metrics = query.metrics
      ? this.cache.metricsFor(now, query.maxAgeMs, async () => {
          const snapshot = await collectMetrics(this.ns, routes, state.policyFor, now);
          // The routes with an SLO in force (configured exact keys too): `llm_sla_slo_calls_total` has their series.
          const sloRoutes = sla.ok ? routesWithSlo(sla.config, routes.map((r) => r.route)) : [];
          const breakers = state.breakers.map((b) => ({ route: b.route, target: b.target, state: b.state }));
          return state.series.plan({ ...snapshot, sloRoutes, breakers }, state.series.options, now);
        })
      : null;
    if ((query.sla || query.dashboard || query.budgets) && !sla.ok) out.configProblems = sla.problems;
    if (sla.ok) {
      const config = sla.config;
      if (query.sla) out.sla = await this.report(routes, sla, query.sla.window ?? defaultWindow(config), now, query.maxAgeMs);
      if (query.dashboard) {
        const asked = query.dashboard;
        const report = await this.report(routes, sla, asked.window ?? defaultWindow(config), now, query.maxAgeMs);
        // Only the routes drawn are read per minute (at most DASHBOARD_MAX_ROUTES of them).
        const shown = dashboardRoutes(report);
        const drawn = routes.filter((r) => shown.includes(r.route));
        const series = await this.cache.seriesFor(shown.join('\u0000'), now, query.maxAgeMs, () => readSeries(this.ns, drawn, config, now));
        out.dashboard = dashboardData(report, series, state.alerts(asked.alerts));
      }
      if (query.budgets) {
        // No route with an SLO, nothing to ask: no fan-out.
        const withSlo = routes.some((r) => sloFor(config, r.route) !== null);
        out.budgets = withSlo ? budgetsOf(await this.report(routes, sla, defaultWindow(config), now, query.maxAgeMs)) : [];
      }
    }
    if (metrics) {
      const m = await metrics;
      out.metrics = m.value;
      out.metricsAt = m.at;
    }
    return out;
  }
}

/** The error budgets a report holds (routes with an SLO), as /metrics' gauges show them. */
function budgetsOf(report: SlaReport): RouteBudget[] {
  return Object.entries(report.routes).flatMap(([route, r]) => (r.error_budget ? [{ route, budget: r.error_budget }] : []));
}

