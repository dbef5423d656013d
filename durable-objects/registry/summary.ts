import type { MetricsSnapshot, SlaReport } from '../../src/core/report-types';
import { DEFAULT_SLA_CONFIG, parseSlaConfig } from '../../src/core/sla/config';
import type { RouteBudget } from './slo-report';
import type { RouteSeries } from './dashboard';
import type { DashboardData } from '../../src/core/dashboard';
import type { SlaConfigResult } from '../../src/config/in-force';

/**
 * What /metrics and /sla ask the registry for, in one RPC: the routes' counters and/or the /sla report of one
 * window (null: the config's default window), no older than `maxAgeMs`. Fields may be added (error budgets...).
 */
export interface SummaryQuery {
  maxAgeMs: number;
  metrics?: boolean;
  /** `envConfig`: the worker's `SLA_CONFIG` var (the registry's own env may differ); a runtime config wins over it. */
  sla?: { window: string | null; envConfig: string | null };
  /** The error budget of every route with an SLO (for /metrics' gauges), under the config in force as for `sla`. */
  budgets?: { envConfig: string | null };
  /** `/dashboard/data`: the report of `window` (shared with /sla), each route's last hour per minute, `alerts` alerts. */
  dashboard?: { window: string | null; envConfig: string | null; alerts: number };
}

const parsedConfigs = new Map<string, SlaConfigResult>();
/** The SLA config in force from the runtime override or the worker's var (as `slaConfigInForce`), parsed once per text. */
export function slaConfigOf(envConfig: string | null, override: string | null): SlaConfigResult {
  const text = override ?? envConfig;
  if (text === null) return { ok: true, config: DEFAULT_SLA_CONFIG, source: 'default' };
  let result = parsedConfigs.get(text);
  if (!result) {
    const parsed = parseSlaConfig(text);
    result = parsed.ok ? { ok: true, config: parsed.config, source: override !== null ? 'runtime' : 'env' } : parsed;
    if (parsedConfigs.size >= 8) parsedConfigs.clear();
    parsedConfigs.set(text, result);
  }
  return result;
}

export interface RegistrySummary {
  /** Cumulative counters of every route (as of `metricsAt`), when asked. */
  metrics: Omit<MetricsSnapshot, 'telemetry'> | null;
  metricsAt: number | null;
  /** The /sla report, when asked and the SLA config in force is valid. */
  sla: SlaReport | null;
  /** Problems of the SLA config in force, when it is invalid (then `sla` is null). */
  configProblems: string[] | null;
  /** Error budgets, when asked and the SLA config in force is valid. */
  budgets: RouteBudget[] | null;
  /** The dashboard's data, when asked and the SLA config in force is valid. */
  dashboard: DashboardData | null;
  /** Counts the isolates reported (span export, labels cut, overflowed calls), summed. */
  counters: Record<string, number>;
}

/** /sla reports kept per window asked for; more windows than this evict the oldest. */
const MAX_WINDOWS = 16;

interface Entry<T> {
  at: number;
  value: Promise<T>;
}

/**
 * The registry's cache of what /metrics and /sla cost a fan-out over every route: each is computed at most once per
 * `maxAgeMs` whatever the number of scrapes, and readers arriving while it is computed share that computation.
 */
export class SummaryCache {
  private metrics: Entry<Omit<MetricsSnapshot, 'telemetry'>> | null = null;
  private readonly reports = new Map<string, Entry<SlaReport>>();
  private readonly budgets = new Map<string, Entry<RouteBudget[]>>();
  private readonly series = new Map<string, Entry<RouteSeries[]>>();
  /** Fan-outs run (for tests and the benchmark). */
  refreshes = 0;

  metricsFor(now: number, maxAgeMs: number, compute: () => Promise<Omit<MetricsSnapshot, 'telemetry'>>): Promise<{ value: Omit<MetricsSnapshot, 'telemetry'>; at: number }> {
    const entry =
      this.fresh(this.metrics, now, maxAgeMs) ??
      (this.metrics = this.start(now, compute, (e) => {
        if (this.metrics === e) this.metrics = null;
      }));
    return entry.value.then((value) => ({ value, at: entry.at }));
  }

  reportFor(key: string, now: number, maxAgeMs: number, compute: () => Promise<SlaReport>): Promise<SlaReport> {
    return this.keyed(this.reports, key, now, maxAgeMs, compute);
  }

  /** The routes' error budgets under one config (keyed by its text), as for reports. */
  budgetsFor(key: string, now: number, maxAgeMs: number, compute: () => Promise<RouteBudget[]>): Promise<RouteBudget[]> {
    return this.keyed(this.budgets, key, now, maxAgeMs, compute);
  }

  /** Every route's last hour per minute under one config, as for reports. */
  seriesFor(key: string, now: number, maxAgeMs: number, compute: () => Promise<RouteSeries[]>): Promise<RouteSeries[]> {
    return this.keyed(this.series, key, now, maxAgeMs, compute);
  }

  private keyed<T>(map: Map<string, Entry<T>>, key: string, now: number, maxAgeMs: number, compute: () => Promise<T>): Promise<T> {
    let entry = this.fresh(map.get(key) ?? null, now, maxAgeMs);
    if (!entry) {
      entry = this.start(now, compute, (e) => {
        if (map.get(key) === e) map.delete(key);
      });
      map.delete(key);
      map.set(key, entry);
      for (const k of map.keys()) {
        if (map.size <= MAX_WINDOWS) break;
        map.delete(k);
      }
    }
    return entry.value;
  }

  /** Forgets every cached summary (the SLA config or the set of routes changed). */
  clear(): void {
    this.metrics = null;
    this.reports.clear();
    this.budgets.clear();
    this.series.clear();
  }

  private fresh<T>(entry: Entry<T> | null, now: number, maxAgeMs: number): Entry<T> | null {
    return entry !== null && maxAgeMs > 0 && now - entry.at < maxAgeMs ? entry : null;
  }

  private start<T>(now: number, compute: () => Promise<T>, forget: (entry: Entry<T>) => void): Entry<T> {
    this.refreshes++;
    const entry: Entry<T> = { at: now, value: compute() };
    // A failed computation is not cached: the next reader tries again.
    entry.value.catch(() => forget(entry));
    return entry;
  }
}
