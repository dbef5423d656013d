/**
 * OTLP/HTTP JSON for spans: one span's JSON as soon as the span ends (`spanJson`), an export request from the
 * spans' texts (`exportJson`). The same bytes as OpenTelemetry's `JsonTraceSerializer`
 * (`@opentelemetry/otlp-transformer`: hex ids, nanosecond times as decimal strings, the same fields in the same
 * order — `otlp-json.test.ts` holds the two equal), without its BigInt times, its grouping pass over a batch, or
 * span objects kept until the export: a span waiting for its export is one flat string.
 */

/** An attribute value as OpenTelemetry's API allows it (arrays of one primitive type, nulls allowed in them). */
type Primitive = string | number | boolean;
type AttributeValue = Primitive | readonly (Primitive | null | undefined)[];
export type SpanAttributes = Readonly<Record<string, AttributeValue | undefined>>;

/** `[seconds, nanoseconds]`, OpenTelemetry's HrTime. */
type HrTime = readonly [number, number];

/** What the encoder reads of a span: a subset of OpenTelemetry's `ReadableSpan` (otel-cf-workers' `SpanImpl` is one). */
export interface EncodableSpan {
  readonly name: string;
  readonly kind: number;
  spanContext(): { traceId: string; spanId: string; traceState?: { serialize(): string } | undefined };
  readonly parentSpanContext?: { spanId: string } | undefined;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly status: { code: number; message?: string | undefined };
  readonly attributes: SpanAttributes;
  readonly droppedAttributesCount: number;
  readonly events: readonly { name: string; time: HrTime; attributes?: SpanAttributes | undefined; droppedAttributesCount?: number | undefined }[];
  readonly droppedEventsCount: number;
  readonly links: readonly {
    context: { traceId: string; spanId: string; traceState?: { serialize(): string } | undefined };
    attributes?: SpanAttributes | undefined;
    droppedAttributesCount?: number | undefined;
  }[];
  readonly droppedLinksCount: number;
}

/** The resource and instrumentation scope every span of one export shares (one recorder's). */
export interface ExportHead {
  readonly resource: SpanAttributes;
  readonly scope: { readonly name: string; readonly version?: string | undefined };
}

/**
 * An export request's text around its spans: `prefix + spans.join(',') + suffix`. Computed once per recorder: the
 * resource and scope never change.
 */
export function exportFrame(head: ExportHead): { prefix: string; suffix: string } {
  const resource = JSON.stringify({ attributes: keyValues(head.resource), droppedAttributesCount: 0 });
  const scope = JSON.stringify({ name: head.scope.name, version: head.scope.version });
  return { prefix: `{"resourceSpans":[{"resource":${resource},"scopeSpans":[{"scope":${scope},"spans":[`, suffix: ']}]}]}' };
}

/** One export request from spans already encoded by `spanJson`. */
export function exportJson(frame: { prefix: string; suffix: string }, spans: readonly string[]): string {
  return frame.prefix + spans.join(',') + frame.suffix;
}

/**
 * One span as OTLP JSON (an element of `scopeSpans[].spans`): a plain object in the transformer's shape, field for
 * field, given to `JSON.stringify` once. That is one flat string per waiting span; concatenating the JSON by hand
 * was measured slower (every `+` leaves a rope node that the export then walks and flattens).
 */
export function spanJson(span: EncodableSpan): string {
  return JSON.stringify(spanObject(span));
}

/** The span in OTLP JSON's shape, for `JSON.stringify` now or with its batch. */
export function spanObject(span: EncodableSpan): object {
  const ctx = span.spanContext();
  const status = span.status;
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: span.parentSpanContext?.spanId || undefined,
    traceState: ctx.traceState?.serialize(),
    name: span.name,
    kind: span.kind == null ? 0 : span.kind + 1,
    startTimeUnixNano: nanos(span.startTime),
    endTimeUnixNano: nanos(span.endTime),
    attributes: keyValues(span.attributes),
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events.map((e) => ({
      attributes: e.attributes ? keyValues(e.attributes) : [],
      name: e.name,
      timeUnixNano: nanos(e.time),
      droppedAttributesCount: e.droppedAttributesCount || 0,
    })),
    droppedEventsCount: span.droppedEventsCount,
    status: { code: status.code, message: status.message },
    links: span.links.map((l) => ({
      attributes: l.attributes ? keyValues(l.attributes) : [],
      spanId: l.context.spanId,
      traceId: l.context.traceId,
      traceState: l.context.traceState?.serialize(),
      droppedAttributesCount: l.droppedAttributesCount || 0,
    })),
    droppedLinksCount: span.droppedLinksCount,
  };
}

/** A whole export request from span objects (`spanObject`): one `JSON.stringify`. */
export function exportObjectsJson(head: ExportHead, spans: readonly object[]): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: keyValues(head.resource), droppedAttributesCount: 0 },
        scopeSpans: [{ scope: { name: head.scope.name, version: head.scope.version }, spans }],
      },
    ],
  });
}

interface KeyValue {
  key: string;
  value: AnyValue;
}
type AnyValue = { stringValue: string } | { intValue: number } | { doubleValue: number } | { boolValue: boolean } | { arrayValue: { values: AnyValue[] } } | Record<string, never>;

function keyValues(attrs: SpanAttributes): KeyValue[] {
  const out: KeyValue[] = [];
  for (const key in attrs) {
    if (Object.prototype.hasOwnProperty.call(attrs, key)) out.push({ key, value: anyValue(attrs[key]) });
  }
  return out;
}

/** OTLP `AnyValue`, as the transformer's `toAnyValue`: integers as `intValue`, other numbers as `doubleValue`. */
function anyValue(v: AttributeValue | null | undefined): AnyValue {
  switch (typeof v) {
    case 'string':
      return { stringValue: v };
    case 'number':
      return Number.isInteger(v) ? { intValue: v } : { doubleValue: v };
    case 'boolean':
      return { boolValue: v };
    default:
      return Array.isArray(v) ? { arrayValue: { values: v.map(anyValue) } } : {};
  }
}

/**
 * HrTime as decimal nanoseconds, exactly (seconds and nanoseconds joined as digits, no float). A time made from
 * fractional milliseconds can carry a fraction of a nanosecond (`millisToHrTime(0.1)`): rounded to the nearest
 * nanosecond here, where the transformer's `BigInt()` throws and the whole export would be lost.
 */
function nanos(t: HrTime): string {
  const [sec, ns] = t;
  if (Number.isSafeInteger(sec) && Number.isSafeInteger(ns) && sec >= 0 && ns >= 0 && ns < 1e9) {
    return sec === 0 ? String(ns) : `${sec}${String(ns).padStart(9, '0')}`;
  }
  return (BigInt(Math.round(sec)) * 1_000_000_000n + BigInt(Math.round(ns))).toString();
}
