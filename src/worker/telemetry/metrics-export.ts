import type { TelemetryConfig } from '../../config/telemetry';
import type { CallRecord } from '../../core/record';
import type { TelemetryCounts } from './exporter';
import { GenAiMetrics } from './metrics';
import { postOtlp, type Posted } from './otlp-http';

export type PostOtlp = typeof postOtlp;

const encoder = new TextEncoder();

/**
 * Aggregates every call into this isolate's GenAI histograms and exports the cumulative totals at most once per
 * `metricsIntervalMs` (`OTEL_METRIC_EXPORT_INTERVAL`). `record()` runs in the call's `ctx.waitUntil`: the first
 * call after the interval is over exports (and waits for that export); every other call only adds to the
 * histograms and waits for nothing. No timer keeps an invocation alive: an isolate that goes quiet sends its last
 * values with its next call after the interval (the totals are cumulative, so they are late, never lost).
 */
export class MetricsExporter {
  readonly metrics: GenAiMetrics;
  private lastAt = -Infinity;
  private exportedVersion = 0;

  constructor(
    private readonly config: Pick<TelemetryConfig, 'metricsUrl' | 'headers' | 'compression' | 'metricsIntervalMs' | 'exportTimeoutMs'>,
    private readonly resource: Readonly<Record<string, string>>,
    private readonly scope: { name: string; version: string },
    private readonly count: (key: keyof TelemetryCounts, n?: number) => void,
    private readonly now: () => number = Date.now,
    private readonly post: PostOtlp = postOtlp,
  ) {
    this.metrics = new GenAiMetrics(now());
  }

  record(record: CallRecord): Promise<void> | void {
    const overflow = this.metrics.record(record);
    if (overflow > 0) this.count('metric_points_overflow', overflow);
    if (this.now() < this.lastAt + this.config.metricsIntervalMs) return;
    return this.flush();
  }

  /** Exports the totals now if anything changed since the last answered export; never rejects. */
  async flush(): Promise<void> {
    const url = this.config.metricsUrl;
    this.lastAt = this.now();
    const version = this.metrics.version;
    if (url === null || version === this.exportedVersion) return;
    const body = encoder.encode(JSON.stringify(this.metrics.toOtlp(this.resource, this.scope, this.now())));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<Posted>((resolve) => (timer = setTimeout(() => resolve({ ok: false, bytes: 0 }), this.config.exportTimeoutMs)));
    const posted = await Promise.race([this.post(url, this.config.headers, body, this.config.compression.metrics), timedOut]);
    clearTimeout(timer);
    if (posted.ok) {
      this.exportedVersion = Math.max(this.exportedVersion, version);
      this.count('metric_exports_ok');
    } else this.count('metric_exports_failed');
  }
}
