import { SpanImpl } from '@microlabs/otel-cf-workers';
import { createTraceState, SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ResolvedConfig } from '../../config/resolve';
import type { TelemetryConfig } from '../../config/telemetry';
import type { AttemptRecord, CallRecord } from '../../core/record';
import type { Recorder } from '../recorder/recorder';
import { isolateCounts, type IsolateCounts } from '../counts';
import { AdaptiveRate } from './adaptive';
import { otlpSender, SpanQueue, type SendSpans } from './exporter';
import { ATTR } from './keys';
import { MetricsExporter, type PostOtlp } from './metrics-export';
import { headDecision, parseTraceparent, tailReason, thresholdFor } from './sampling';
import { attemptAttributes, attemptSpanName, spanAttributes, spanName } from './span';

const VERSION = '0.1.0';

/**
 * Turns each finished call into one CLIENT span and exports it over OTLP/HTTP (JSON, optionally gzipped). Runs
 * where every recorder runs: in `ctx.waitUntil`, after the response is complete, so the span covers the whole call
 * (a stream until its last byte) and its export can never delay or break the response.
 *
 * Why not otel-cf-workers' `instrument()` around the handler: it ends its spans when the handler returns (the
 * headers, not a stream's last byte), fixes the exporter per isolate, posts an empty export for unsampled traces,
 * never calls `postProcessor` (upstream #207), and wraps env and ctx in proxies on every request. Building the span
 * from the record uses the library's span type (serialized by OpenTelemetry's OTLP JSON transformer, posted by
 * `otlp-http.ts`, gzipped when configured) without any of that on the response path. The same recorder feeds the
 * GenAI client metrics (`metrics-export.ts`) when a metrics endpoint is configured.
 */
export class SpanRecorder implements Recorder {
  readonly queue: SpanQueue;
  /** Adaptive head sampling (`OTEL_SAMPLING_TARGET_PER_S`), or null. */
  readonly adaptive: AdaptiveRate | null;
  /** GenAI client metrics export, or null when no metrics endpoint is configured. */
  readonly metrics: MetricsExporter | null;
  private readonly resource;
  private readonly secrets: string[];
  private readonly now: () => number;

  constructor(
    private readonly telemetry: TelemetryConfig,
    private readonly slowMsFor: (route: string) => number | null,
    secrets: readonly string[],
    send: SendSpans = otlpSender(telemetry),
    /** Tests drive time (adaptive sampling, the metrics interval) and may post metrics their own way. */
    options: { now?: () => number; postMetrics?: PostOtlp; counts?: IsolateCounts } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.queue = new SpanQueue(telemetry, send, this.now, options.counts);
    this.secrets = [...secrets];
    this.adaptive = telemetry.samplingTargetPerS === null ? null : new AdaptiveRate(telemetry.samplingTargetPerS);
    const resource = {
      'service.name': telemetry.serviceName,
      'service.version': VERSION,
      'telemetry.sdk.name': '@microlabs/otel-cf-workers',
      'telemetry.sdk.language': 'js',
      'cloud.provider': 'cloudflare',
      'cloud.platform': 'cloudflare.workers',
    };
    this.resource = resourceFromAttributes(resource);
    this.metrics =
      telemetry.metricsUrl === null
        ? null
        : new MetricsExporter(
            telemetry,
            // Cumulative series from many isolates: each isolate is its own instance, or their totals would clash.
            { ...resource, 'telemetry.sdk.name': 'llm-sla-gateway', 'service.instance.id': isolateCounts.id() },
            { name: 'llm-sla-gateway', version: VERSION },
            (key, n) => this.queue.count(key, n),
            this.now,
            options.postMetrics,
          );
  }

  record(record: CallRecord): Promise<void> | void {
    const exported = this.telemetry.tracesUrl === null ? undefined : this.sample(record);
    const measured = this.metrics?.record(record);
    // Most calls wait for nothing; the isolate's counts are reported after the exports a call waits for.
    if (!exported && !measured) return;
    return Promise.all([exported, measured]).then(noop);
  }

  /** Head decision (adaptive when configured), tail rules, then the span into the queue. */
  private sample(record: CallRecord): Promise<void> | void {
    const parent = parseTraceparent(record.trace.traceparent);
    const traceId = parent?.traceId ?? randomHex(16);
    const t = this.telemetry;
    const slowMs = () => t.slowMs ?? this.slowMsFor(record.route);
    let adaptive = null;
    let tail: 'error' | 'slow' | null | undefined;
    if (this.adaptive) {
      // The call is over: whether the tail rules keep it is known, and such calls count as fixed demand.
      tail = tailReason(record, slowMs());
      const now = this.now();
      adaptive = { scale: this.adaptive.scale(now), min: t.samplingMinRatio, max: t.samplingMaxRatio };
      const fixed = tail !== null || record.priority === 'critical' || (parent !== null && t.sampler.startsWith('parentbased_'));
      this.adaptive.observe(fixed ? (parent && !parent.sampled && tail === null ? 0 : 1) : t.ratios[record.priority], fixed, now);
    }
    const head = headDecision(t, record, traceId, parent, adaptive);
    // Errors and slow calls are always kept, so their probability is 1 whatever the head said.
    if (tail === undefined) tail = head.probability === 1 || (head.keep && head.probability === null) ? null : tailReason(record, slowMs());
    const keptBy = head.keep ? 'head' : tail;
    // A call a policy sent to more than one attempt has one CLIENT span per attempt under its own (each HTTP request
    // it made, as the conventions ask of retried requests); one answered by its first attempt is that request, as on
    // the plain path. One fate for all.
    const attempts = record.resilience && record.resilience.attempts.length > 1 ? record.resilience.attempts : null;
    if (keptBy === null) {
      this.queue.count('spans_unsampled', 1 + (attempts?.length ?? 0));
      return;
    }
    const probability = keptBy !== 'head' || tail !== null ? 1 : head.probability;
    const spanId = randomHex(8);
    const call = this.queue.add(this.span(record, traceId, spanId, parent?.spanId ?? null, keptBy, probability));
    if (!attempts) return call;
    const added = attempts.map((a, i) => this.queue.add(this.attemptSpan(record, a, i, traceId, spanId)));
    return Promise.all([call, ...added]).then(noop);
  }

  private attemptSpan(record: CallRecord, attempt: AttemptRecord, index: number, traceId: string, parentSpanId: string): SpanImpl {
    const start = record.ts + attempt.atMs;
    const span = new SpanImpl({
      name: attemptSpanName(record, attempt),
      attributes: attemptAttributes(record, attempt, index, this.telemetry),
      onEnd: () => {},
      resource: this.resource,
      spanContext: { traceId, spanId: randomHex(8), traceFlags: TraceFlags.SAMPLED },
      parentSpanId,
      parentSpanContext: { traceId, spanId: parentSpanId, traceFlags: TraceFlags.SAMPLED },
      spanKind: SpanKind.CLIENT,
      startTime: start,
    });
    span.instrumentationScope = { name: 'llm-sla-gateway', version: VERSION };
    if (attempt.errorType !== null && attempt.outcome !== 'aborted') span.setStatus({ code: SpanStatusCode.ERROR, message: attempt.errorType });
    span.end(start + attempt.totalMs);
    return span;
  }

  private span(record: CallRecord, traceId: string, spanId: string, parentSpanId: string | null, keptBy: string, probability: number | null): SpanImpl {
    const { attributes, dropped } = spanAttributes(record, this.telemetry, this.secrets);
    attributes[ATTR.SLA_SAMPLED_BY] = keptBy;
    let traceState = record.trace.tracestate ? safeTraceState(record.trace.tracestate) : undefined;
    if (probability !== null) {
      attributes[ATTR.SLA_SAMPLING_PROBABILITY] = probability;
      traceState = withThreshold(traceState ?? createTraceState(), thresholdFor(probability).th);
    }
    const span = new SpanImpl({
      name: spanName(record),
      attributes,
      onEnd: () => {},
      resource: this.resource,
      spanContext: { traceId, spanId, traceFlags: TraceFlags.SAMPLED, ...(traceState ? { traceState } : {}) },
      ...(parentSpanId ? { parentSpanId, parentSpanContext: { traceId, spanId: parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: true } } : {}),
      spanKind: SpanKind.CLIENT,
      startTime: record.ts,
    });
    span.instrumentationScope = { name: 'llm-sla-gateway', version: VERSION };
    if (dropped > 0) (span as unknown as { _droppedAttributesCount: number })._droppedAttributesCount = dropped;
    if (record.errorType !== null && record.outcome !== 'aborted') span.setStatus({ code: SpanStatusCode.ERROR, message: record.errorType });
    span.end(record.ts + record.totalMs);
    return span;
  }
}

function noop(): void {}

/** Sets `th` in the OpenTelemetry `ot` tracestate entry, keeping its other sub-keys (`rv`...). */
function withThreshold(state: ReturnType<typeof createTraceState>, th: string) {
  const others = (state.get('ot') ?? '').split(';').filter((kv) => kv !== '' && !kv.startsWith('th:'));
  return state.set('ot', [`th:${th}`, ...others].join(';'));
}

function safeTraceState(raw: string) {
  try {
    return createTraceState(raw);
  } catch {
    return undefined;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i] as number];
  return s;
}

/** The span recorder for a config, or null when no OTLP endpoint is configured (the isolate keeps one per env). */
export function spanRecorderOf(config: ResolvedConfig, secrets: readonly string[], slowMsFor: (route: string) => number | null): SpanRecorder | null {
  return config.telemetry ? new SpanRecorder(config.telemetry, slowMsFor, secrets) : null;
}
