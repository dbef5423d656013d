import { GENAI_DURATION_BOUNDS_S, type ChunkGaps } from '../../core/chunk-gaps';
import type { CallRecord } from '../../core/record';
import { ATTR, OPERATION_NAMES, PROVIDER_NAMES } from './keys';

/**
 * The OpenTelemetry GenAI client metrics, aggregated per isolate as explicit-bucket histograms with the conventions'
 * advisory boundaries, and encoded as an OTLP/HTTP JSON `ExportMetricsServiceRequest` with CUMULATIVE temporality:
 * every export carries the totals since the isolate's start (`startTimeUnixNano`), under a resource with its own
 * `service.instance.id`, so a lost or failed export loses nothing and isolates never overwrite one another.
 */

/** `gen_ai.client.operation.duration`, `.time_to_first_chunk` and `.time_per_output_chunk` (seconds). */
export const DURATION_BOUNDS: readonly number[] = GENAI_DURATION_BOUNDS_S;
/** `gen_ai.client.token.usage` ({token}). */
export const TOKEN_BOUNDS: readonly number[] = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

/** Series per metric before new attribute sets fold into the `otel.metric.overflow=true` series (the SDK default). */
export const SERIES_LIMIT = 2000;

/** OTLP `AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE`. */
export const CUMULATIVE = 2;

type Attr = string | number | boolean;

interface Series {
  readonly attributes: Readonly<Record<string, Attr>>;
  readonly buckets: number[];
  count: number;
  sum: number;
  min: number;
  max: number;
}

class Histogram {
  readonly series = new Map<string, Series>();
  constructor(
    readonly name: string,
    readonly unit: string,
    readonly description: string,
    readonly bounds: readonly number[],
  ) {}

  /**
   * Adds a value to the series `key` names (`attributes()` builds its attributes only when the series is new);
   * answers false when it went to the overflow series.
   */
  record(key: string, attributes: () => Record<string, Attr>, value: number): boolean {
    const { s, fits } = this.seriesFor(key, attributes, value);
    // Explicit buckets are upper-inclusive: (b[i-1], b[i]].
    let i = 0;
    while (i < this.bounds.length && value > (this.bounds[i] as number)) i++;
    s.buckets[i] = (s.buckets[i] ?? 0) + 1;
    s.count++;
    s.sum += value;
    if (value < s.min) s.min = value;
    if (value > s.max) s.max = value;
    return fits;
  }

  /** Adds many values at once, already counted in this histogram's buckets (a stream's chunk gaps). */
  merge(key: string, attributes: () => Record<string, Attr>, h: ChunkGaps): boolean {
    const { s, fits } = this.seriesFor(key, attributes, h.minS);
    for (let i = 0; i < h.counts.length; i++) s.buckets[i] = (s.buckets[i] ?? 0) + (h.counts[i] ?? 0);
    s.count += h.count;
    s.sum += h.sumS;
    if (h.minS < s.min) s.min = h.minS;
    if (h.maxS > s.max) s.max = h.maxS;
    return fits;
  }

  private seriesFor(key: string, attributes: () => Record<string, Attr>, first: number): { s: Series; fits: boolean } {
    let s = this.series.get(key);
    let fits = true;
    if (!s) {
      if (this.series.size >= SERIES_LIMIT) {
        fits = false;
        s = this.series.get(OVERFLOW_KEY);
        if (!s) this.series.set(OVERFLOW_KEY, (s = this.open({ 'otel.metric.overflow': true }, first)));
      } else this.series.set(key, (s = this.open(attributes(), first)));
    }
    return { s, fits };
  }

  private open(attributes: Record<string, Attr>, value: number): Series {
    return { attributes, buckets: new Array<number>(this.bounds.length + 1).fill(0), count: 0, sum: 0, min: value, max: value };
  }
}

const OVERFLOW_KEY = '\u0001overflow';

/** OTLP JSON `KeyValue` list. */
export function otlpAttributes(attributes: Readonly<Record<string, Attr>>): { key: string; value: Record<string, Attr> }[] {
  return Object.entries(attributes).map(([key, v]): { key: string; value: Record<string, Attr> } => {
    if (typeof v === 'string') return { key, value: { stringValue: v } };
    if (typeof v === 'boolean') return { key, value: { boolValue: v } };
    return { key, value: Number.isInteger(v) ? { intValue: v } : { doubleValue: v } };
  });
}

/** The four GenAI client histograms of one isolate. */
export class GenAiMetrics {
  readonly duration = new Histogram('gen_ai.client.operation.duration', 's', 'GenAI operation duration.', DURATION_BOUNDS);
  readonly tokens = new Histogram('gen_ai.client.token.usage', '{token}', 'Number of input and output tokens used.', TOKEN_BOUNDS);
  readonly firstChunk = new Histogram(
    'gen_ai.client.operation.time_to_first_chunk',
    's',
    'Time to receive the first chunk of a streaming response, from when the request was issued.',
    DURATION_BOUNDS,
  );
  readonly perChunk = new Histogram(
    'gen_ai.client.operation.time_per_output_chunk',
    's',
    'Time per output chunk, recorded for each chunk received after the first one, from the end of the previous chunk to the end of the current chunk.',
    DURATION_BOUNDS,
  );
  /** Grows with every value recorded: an export with nothing new is skipped. */
  version = 0;

  constructor(readonly startMs: number) {}

  /** Adds one call; answers how many of its points went to an overflow series. */
  record(r: CallRecord): number {
    // One key string per call (attribute objects are built only for a new series), from the exported values.
    const operation = OPERATION_NAMES[r.operation] ?? r.operation;
    const provider = PROVIDER_NAMES[r.provider] ?? r.provider;
    const base = `${operation}\u0000${provider}\u0000${r.requestModel ?? '\u0001'}\u0000${r.responseModel ?? '\u0001'}\u0000${r.server.address}\u0000${r.server.port}`;
    const attributes = (): Record<string, Attr> => {
      const a: Record<string, Attr> = {
        [ATTR.GEN_AI_OPERATION_NAME]: operation,
        [ATTR.GEN_AI_PROVIDER_NAME]: provider,
      };
      if (r.requestModel !== null) a[ATTR.GEN_AI_REQUEST_MODEL] = r.requestModel;
      if (r.responseModel !== null) a[ATTR.GEN_AI_RESPONSE_MODEL] = r.responseModel;
      a[ATTR.SERVER_ADDRESS] = r.server.address;
      a[ATTR.SERVER_PORT] = r.server.port;
      return a;
    };
    // The conventions' OpenAI refinements of the duration and token usage add the response's service tier and
    // system fingerprint, for provider "openai" only.
    const openai = provider === 'openai' && (r.serviceTier !== null || r.systemFingerprint !== null);
    const withOpenAI = (a: Record<string, Attr>): Record<string, Attr> => {
      if (r.serviceTier !== null) a[ATTR.OPENAI_RESPONSE_SERVICE_TIER] = r.serviceTier;
      if (r.systemFingerprint !== null) a[ATTR.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = r.systemFingerprint;
      return a;
    };
    const billed = openai ? `${base}\u0000${r.serviceTier ?? '\u0001'}\u0000${r.systemFingerprint ?? '\u0001'}` : base;
    const billedAttributes = openai ? () => withOpenAI(attributes()) : attributes;
    let overflow = 0;
    // error.type only on the duration (the conventions' others have no failed-call form).
    const error = r.errorType;
    if (!this.duration.record(error === null ? billed : `${billed}\u0000e${error}`, () => (error === null ? billedAttributes() : { ...billedAttributes(), [ATTR.ERROR_TYPE]: error }), r.totalMs / 1000)) overflow++;
    // Streams only: the first chunk received (of any kind, not the first content token) and the gaps after it.
    if (r.stream && r.ttfcMs !== null && !this.firstChunk.record(base, attributes, r.ttfcMs / 1000)) overflow++;
    if (r.stream && r.chunkGaps !== null && !this.perChunk.merge(base, attributes, r.chunkGaps)) overflow++;
    if (r.usage) {
      if (!this.tokens.record(`${billed}\u0000input`, () => ({ ...billedAttributes(), [ATTR.GEN_AI_TOKEN_TYPE]: 'input' }), r.usage.input)) overflow++;
      if (!this.tokens.record(`${billed}\u0000output`, () => ({ ...billedAttributes(), [ATTR.GEN_AI_TOKEN_TYPE]: 'output' }), r.usage.output)) overflow++;
    }
    this.version++;
    return overflow;
  }

  /** The OTLP/HTTP JSON export of the totals so far. */
  toOtlp(resource: Readonly<Record<string, Attr>>, scope: { name: string; version: string }, nowMs: number): unknown {
    const start = nanos(this.startMs);
    const time = nanos(Math.max(nowMs, this.startMs));
    const metric = (h: Histogram) => ({
      name: h.name,
      unit: h.unit,
      description: h.description,
      histogram: {
        aggregationTemporality: CUMULATIVE,
        dataPoints: [...h.series.values()].map((s) => ({
          attributes: otlpAttributes(s.attributes),
          startTimeUnixNano: start,
          timeUnixNano: time,
          count: String(s.count),
          sum: s.sum,
          min: s.min,
          max: s.max,
          bucketCounts: s.buckets.map(String),
          explicitBounds: h.bounds,
        })),
      },
    });
    const metrics = [this.duration, this.tokens, this.firstChunk, this.perChunk].filter((h) => h.series.size > 0).map(metric);
    return { resourceMetrics: [{ resource: { attributes: otlpAttributes(resource) }, scopeMetrics: [{ scope, metrics }] }] };
  }
}

function nanos(ms: number): string {
  return `${Math.round(ms)}000000`;
}
