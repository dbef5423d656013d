import type { MetricsExposition } from '../../src/core/metrics';
import type { SlaReport } from '../../src/core/report-types';
import type { RouteSeries } from '../../src/core/report';

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
  private metrics: Entry<MetricsExposition> | null = null;
  private readonly reports = new Map<string, Entry<SlaReport>>();
    private readonly series = new Map<string, Entry<RouteSeries[]>>();
  /** Fan-outs run (for tests and the benchmark). */
  refreshes = 0;

  metricsFor(now: number, maxAgeMs: number, compute: () => Promise<MetricsExposition>): Promise<{ value: MetricsExposition; at: number }> {
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

  /** Every route's last hour per minute, as for reports (one key: the config in force is the registry's). */
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
