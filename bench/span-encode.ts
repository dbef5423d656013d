import { SpanImpl } from '@microlabs/otel-cf-workers';
import { SpanKind, TraceFlags } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { CallRecord } from '../src/core/record';
import { spanAttributes, spanName, type Attributes, type AttributeValue } from '../src/worker/telemetry/span';

/**
 * Issue 13's lever "a direct OTLP JSON encoder", measured (`npm run bench:micro`): what one export of 512 gateway
 * spans costs to build and serialise, four ways that write the same bytes (checked before they are timed):
 * - what the gateway does: otel-cf-workers' `SpanImpl` per call, kept until the export, serialised by
 *   OpenTelemetry's `JsonTraceSerializer`;
 * - each span's JSON written by hand when it ends, the batch joined (tried in the gateway, 56d2f7e, and reverted);
 * - each span turned into OTLP's JSON shape when it ends, the batch given to `JSON.stringify` once;
 * - no span object at all: the record's attributes straight to OTLP's shape, the batch stringified once.
 */
const record: CallRecord = {
  ts: 1_764_680_000_123,
  route: 'openai/chat',
  provider: 'openai',
  format: 'openai',
  operation: 'chat',
  team: 'search',
  requestModel: 'gpt-4o-mini',
  responseModel: 'gpt-4o-mini-2024-07-18',
  stream: false,
  status: 200,
  outcome: 'success',
  errorType: null,
  totalMs: 412,
  ttfbMs: 388,
  ttftMs: null,
  usage: { input: 12, output: 20, cacheRead: 0, cacheCreation: 0, reasoning: 0 },
  usageSource: 'provider',
  costUsd: 0.0000138,
  responseId: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG',
  finishReasons: ['stop'],
  request: { maxTokens: 256, temperature: 0.2, topP: null },
  server: { address: 'api.openai.com', port: 443 },
  trace: { traceparent: null, tracestate: null },
  priority: 'normal',
  content: null,
};
const limits = { valueLengthLimit: 4096, attributeCountLimit: 128, maxMessages: 20 };
const resourceAttributes = { 'service.name': 'llm-sla-gateway', 'service.version': '0.1.0', 'cloud.provider': 'cloudflare', 'cloud.platform': 'cloudflare.workers' };
const resource = resourceFromAttributes(resourceAttributes);
const scope = { name: 'llm-sla-gateway', version: '0.1.0' };
const utf8 = new TextEncoder();
const BATCH = 512;
const traceId = (i: number) => (i + 1).toString(16).padStart(32, '0');
const spanId = (i: number) => (i + 1).toString(16).padStart(16, '0');

function attributesOf(i: number): Attributes {
  const { attributes } = spanAttributes({ ...record, ts: record.ts + i }, limits);
  attributes['llm_sla.sampled_by'] = 'head';
  return attributes;
}

function spanImpl(i: number): SpanImpl {
  const span = new SpanImpl({
    name: spanName(record),
    attributes: attributesOf(i),
    onEnd: () => {},
    resource,
    spanContext: { traceId: traceId(i), spanId: spanId(i), traceFlags: TraceFlags.SAMPLED },
    spanKind: SpanKind.CLIENT,
    startTime: record.ts + i,
  });
  span.instrumentationScope = scope;
  span.end(record.ts + i + record.totalMs);
  return span;
}

type AnyValue = { stringValue: string } | { intValue: number } | { doubleValue: number } | { boolValue: boolean } | { arrayValue: { values: AnyValue[] } };
const anyValue = (v: AttributeValue): AnyValue =>
  typeof v === 'string'
    ? { stringValue: v }
    : typeof v === 'number'
      ? Number.isInteger(v)
        ? { intValue: v }
        : { doubleValue: v }
      : typeof v === 'boolean'
        ? { boolValue: v }
        : { arrayValue: { values: v.map(anyValue) } };
const keyValues = (a: Readonly<Record<string, AttributeValue>>) => Object.keys(a).map((key) => ({ key, value: anyValue(a[key] as AttributeValue) }));
/** Whole milliseconds as OTLP's decimal nanoseconds. */
const nanos = (ms: number) => `${ms}000000`;

/** A span in OTLP JSON's shape, field for field as the transformer writes it (these spans: no parent, events, links). */
function otlpSpan(name: string, i: number, attributes: Readonly<Record<string, AttributeValue>>, start: number, end: number, droppedAttributesCount: number) {
  return {
    traceId: traceId(i),
    spanId: spanId(i),
    name,
    kind: SpanKind.CLIENT + 1,
    startTimeUnixNano: nanos(start),
    endTimeUnixNano: nanos(end),
    attributes: keyValues(attributes),
    droppedAttributesCount,
    events: [],
    droppedEventsCount: 0,
    status: { code: 0 },
    links: [],
    droppedLinksCount: 0,
  };
}
const fromSpanImpl = (s: SpanImpl, i: number) =>
  otlpSpan(s.name, i, s.attributes as Record<string, AttributeValue>, record.ts + i, record.ts + i + record.totalMs, s.droppedAttributesCount);
const fromRecord = (i: number) => otlpSpan(spanName(record), i, attributesOf(i), record.ts + i, record.ts + i + record.totalMs, 0);

const request = (spans: unknown[]) => ({
  resourceSpans: [{ resource: { attributes: keyValues(resourceAttributes), droppedAttributesCount: 0 }, scopeSpans: [{ scope, spans }] }],
});
const suffix = ']}]}]}';
/** The request's text before its first span: `...,"spans":[`. */
const prefix = JSON.stringify(request([])).slice(0, -suffix.length);

const variants: { name: string; encode: (n: number) => Uint8Array }[] = [
  {
    name: 'SpanImpl kept, JsonTraceSerializer (the gateway)',
    encode: (n) => {
      const spans: SpanImpl[] = [];
      for (let i = 0; i < n; i++) spans.push(spanImpl(i));
      return JsonTraceSerializer.serializeRequest(spans) ?? new Uint8Array();
    },
  },
  {
    name: 'SpanImpl -> its JSON when it ends, joined',
    encode: (n) => {
      const spans: string[] = [];
      for (let i = 0; i < n; i++) spans.push(JSON.stringify(fromSpanImpl(spanImpl(i), i)));
      return utf8.encode(prefix + spans.join(',') + suffix);
    },
  },
  {
    name: 'SpanImpl -> OTLP shape when it ends, one stringify',
    encode: (n) => {
      const spans: object[] = [];
      for (let i = 0; i < n; i++) spans.push(fromSpanImpl(spanImpl(i), i));
      return utf8.encode(JSON.stringify(request(spans)));
    },
  },
  {
    name: 'record -> OTLP shape, no span object, one stringify',
    encode: (n) => {
      const spans: object[] = [];
      for (let i = 0; i < n; i++) spans.push(fromRecord(i));
      return utf8.encode(JSON.stringify(request(spans)));
    },
  },
];

/**
 * The ways taken in turns, batch by batch, the order rotating (this machine's speed drifts more between
 * tinybench's back-to-back tasks than the differences measured): median µs per span of each.
 */
export function spanEncodeRounds(rounds = 60): { name: string; usPerSpan: number }[] {
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const expected = text(variants[0]!.encode(3));
  for (const v of variants) if (text(v.encode(3)) !== expected) throw new Error(`span encoders disagree (${v.name}): not timing them`);
  for (const v of variants) v.encode(BATCH); // warm up
  const times = variants.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < variants.length; k++) {
      const j = (r + k) % variants.length;
      const t0 = process.hrtime.bigint();
      variants[j]?.encode(BATCH);
      times[j]?.push(Number(process.hrtime.bigint() - t0) / 1e3 / BATCH);
    }
  }
  return variants.map((v, j) => {
    const sorted = (times[j] ?? []).sort((x, y) => x - y);
    return { name: v.name, usPerSpan: sorted[Math.floor(sorted.length / 2)] ?? NaN };
  });
}
