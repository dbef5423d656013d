import type { SpanImpl } from '@microlabs/otel-cf-workers';
import type { TelemetryConfig } from '../../config/telemetry';
import { openBatch, type Batch } from '../settle';
import { isolateCounts, type IsolateCounts } from '../counts';
import { Breaker } from './breaker';
import { postOtlp, type Posted } from './otlp-http';
import { serializeSpans } from './otlp-json';

/** What happened to spans and exports in this isolate (all counters only grow). */
export interface TelemetryCounts {
  spans_exported: number;
  spans_unsampled: number;
  spans_dropped_breaker_open: number;
  /** drop_newest: a new span refused by a full queue. */
  spans_dropped_queue_full: number;
  /** drop_oldest: the oldest waiting span evicted by a full queue for a new one. */
  spans_dropped_queue_evicted: number;
  spans_dropped_export_failed: number;
  exports_ok: number;
  exports_failed: number;
  /** Body bytes of span exports put on the wire (after gzip when it is on). */
  export_bytes: number;
  breaker_opens: number;
  /** GenAI metrics exports (`metrics.ts`): answered 2xx, or failed (the next carries the same cumulative totals). */
  metric_exports_ok: number;
  metric_exports_failed: number;
  /** Metric points folded into the overflow series because a metric reached its series limit. */
  metric_points_overflow: number;
}

export const TELEMETRY_COUNTERS: readonly (keyof TelemetryCounts)[] = [
  'spans_exported',
  'spans_unsampled',
  'spans_dropped_breaker_open',
  'spans_dropped_queue_full',
  'spans_dropped_queue_evicted',
  'spans_dropped_export_failed',
  'exports_ok',
  'exports_failed',
  'export_bytes',
  'breaker_opens',
  'metric_exports_ok',
  'metric_exports_failed',
  'metric_points_overflow',
];

export function zeroCounts(): TelemetryCounts {
  return Object.fromEntries(TELEMETRY_COUNTERS.map((k) => [k, 0])) as unknown as TelemetryCounts;
}

/** How an export is sent: OTLP/HTTP JSON in production (`otlpSender`); tests may pass their own. */
export type SendSpans = (spans: SpanImpl[]) => Promise<Posted | boolean>;

/**
 * OTLP/HTTP JSON, built by OpenTelemetry's own transformer with doubles typed as doubles (`otlp-json.ts`), gzipped
 * when the traces compression says so.
 */
export function otlpSender(config: Pick<TelemetryConfig, 'tracesUrl' | 'headers' | 'compression'>): SendSpans {
  const url = config.tracesUrl;
  if (url === null) return () => Promise.resolve(false);
  return (spans) => postOtlp(url, config.headers, serializeSpans(spans), config.compression.traces);
}

interface Spans {
  spans: SpanImpl[];
}

/**
 * Per-isolate span queue: spans of many calls share one export, sent `scheduleDelayMs` after the first of a batch
 * or at once when `maxBatch` wait. `add()` (run inside the call's `ctx.waitUntil`) never throws and returns nothing,
 * except to the call that opened the batch and the one that filled it: those run the export and wait for it
 * (`openBatch`). Bounded: spans waiting plus spans in unanswered exports never exceed
 * `maxQueue`; beyond that the `overflow` strategy drops the new span (`drop_newest`) or evicts the oldest waiting one
 * (`drop_oldest`; spans already in an export cannot be taken back, so then the new one is dropped). While the breaker is open, and when an export fails or times out, spans are dropped and
 * counted. Nothing here can delay or fail a response.
 */
export class SpanQueue {
  readonly counts = zeroCounts();
  readonly breaker: Breaker;
  private batch: Batch<Spans> | null = null;
  private inFlight = 0;

  constructor(
    private readonly config: Pick<TelemetryConfig, 'scheduleDelayMs' | 'maxBatch' | 'maxQueue' | 'overflow' | 'exportTimeoutMs' | 'breakerFailures' | 'breakerCooldownMs'>,
    private readonly send: SendSpans,
    private readonly now: () => number = Date.now,
    /** Where the counts are totalled for the registry: the isolate's (tests may give their own). */
    private readonly totals: IsolateCounts = isolateCounts,
  ) {
    this.breaker = new Breaker(config.breakerFailures, config.breakerCooldownMs);
  }

  /** Spans waiting for an export plus spans in exports not yet answered (nor timed out). */
  get size(): number {
    return (this.batch?.fields.spans.length ?? 0) + this.inFlight;
  }

  /** Counts here (this queue's own view, for tests) and in the isolate's totals (reported to the registry). */
  count(key: keyof TelemetryCounts, n = 1): void {
    this.counts[key] += n;
    this.totals.add(key, n);
  }

  add(span: SpanImpl): Promise<void> | void {
    if (!this.breaker.accepting(this.now())) {
      this.count('spans_dropped_breaker_open');
      return;
    }
    if (this.size >= this.config.maxQueue) {
      const waiting = this.batch?.fields.spans;
      if (this.config.overflow === 'drop_oldest' && waiting && waiting.length > 0) {
        waiting.shift();
        this.count('spans_dropped_queue_evicted');
      } else {
        this.count('spans_dropped_queue_full');
        return;
      }
    }
    let wait: Promise<void> | undefined;
    if (!this.batch) {
      const batch: Batch<Spans> = openBatch({ spans: [] }, this.config.scheduleDelayMs, (f) => this.batch?.fields === f, () => this.flush());
      this.batch = batch;
      wait = batch.owned;
    }
    const spans = this.batch.fields.spans;
    spans.push(span);
    if (spans.length >= this.config.maxBatch) return this.flush();
    return wait;
  }

  /** Exports what is waiting now; never rejects. */
  async flush(): Promise<void> {
    const batch = this.batch;
    if (!batch) return;
    this.batch = null;
    batch.taken();
    await this.export(batch.fields.spans);
  }

  private async export(spans: SpanImpl[]): Promise<void> {
    if (spans.length === 0) return;
    if (!this.breaker.allow(this.now())) {
      this.count('spans_dropped_breaker_open', spans.length);
      return;
    }
    const n = spans.length;
    this.inFlight += n;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // A sender that throws instead of rejecting is a failed export too (counted, the slot freed), never a lost one.
    const answered = sendSafely(this.send, spans).then(
      (r) => {
        if (typeof r === 'boolean') return r;
        this.count('export_bytes', r.bytes);
        return r.ok;
      },
      () => false,
    );
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.config.exportTimeoutMs)));
    const ok = await Promise.race([answered, timedOut]);
    clearTimeout(timer);
    // The slot is free once the export is answered or given up: a request the collector never answers is cancelled
    // with the invocation that made it when its waitUntil work ends, so it holds nothing of this queue.
    this.inFlight -= n;
    if (ok) {
      this.breaker.success();
      this.count('exports_ok');
      this.count('spans_exported', n);
      return;
    }
    const opensBefore = this.breaker.opens;
    this.breaker.failure(this.now());
    this.count('exports_failed');
    this.count('spans_dropped_export_failed', n);
    if (this.breaker.opens > opensBefore) {
      this.count('breaker_opens');
      console.warn(`llm-sla-gateway: span export failing, pausing it for ${this.config.breakerCooldownMs} ms (spans dropped meanwhile are counted)`);
    }
  }
}

function sendSafely(send: SendSpans, spans: SpanImpl[]): Promise<Posted | boolean> {
  try {
    return send(spans);
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
