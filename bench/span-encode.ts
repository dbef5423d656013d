import { SpanImpl } from '@microlabs/otel-cf-workers';
import { SpanKind, TraceFlags } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { CallRecord } from '../src/record';
import { exportFrame, exportJson, exportObjectsJson, spanJson, spanObject } from '../src/telemetry/otlp-json';
import { spanAttributes, spanName } from '../src/telemetry/span';

/**
 * What one export of 512 gateway spans costs to build and serialise, three ways (`npm run bench:micro`): the
 * span objects kept until the export and serialised by OpenTelemetry's transformer (the gateway before issue 13's
 * encoder); each span written as JSON when it ends (`spanJson`, otlp-json.ts) and the batch joined; and, without
 * otel-cf-workers' span object, the record's attributes straight to the same JSON.
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
const head = { resource: resourceAttributes, scope };
const frame = exportFrame(head);
const utf8 = new TextEncoder();
const BATCH = 512;

function spanImpl(i: number): SpanImpl {
  const { attributes } = spanAttributes({ ...record, ts: record.ts + i }, limits);
  attributes['llm_sla.sampled_by'] = 'head';
  const span = new SpanImpl({
    name: spanName(record),
    attributes,
    onEnd: () => {},
    resource,
    spanContext: { traceId: (i + 1).toString(16).padStart(32, '0'), spanId: (i + 1).toString(16).padStart(16, '0'), traceFlags: TraceFlags.SAMPLED },
    spanKind: SpanKind.CLIENT,
    startTime: record.ts + i,
  });
  span.instrumentationScope = scope;
  span.end(record.ts + i + record.totalMs);
  return span;
}

/** The record's attributes straight to the span JSON, no span object (what a third way would write). */
function directJson(i: number): string {
  return JSON.stringify(directObject(i));
}

function directObject(i: number): object {
  const { attributes } = spanAttributes({ ...record, ts: record.ts + i }, limits);
  attributes['llm_sla.sampled_by'] = 'head';
  const start = record.ts + i;
  const end = start + record.totalMs;
  return {
    traceId: (i + 1).toString(16).padStart(32, '0'),
    spanId: (i + 1).toString(16).padStart(16, '0'),
    name: spanName(record),
    kind: SpanKind.CLIENT + 1,
    startTimeUnixNano: `${start}000000`,
    endTimeUnixNano: `${end}000000`,
    attributes: Object.keys(attributes).map((key) => {
      const v = attributes[key];
      return {
        key,
        value:
          typeof v === 'string'
            ? { stringValue: v }
            : typeof v === 'number'
              ? Number.isInteger(v)
                ? { intValue: v }
                : { doubleValue: v }
              : typeof v === 'boolean'
                ? { boolValue: v }
                : { arrayValue: { values: (v ?? []).map((s) => ({ stringValue: s })) } },
      };
    }),
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    status: { code: 0 },
    links: [],
    droppedLinksCount: 0,
  };
}

const variants: { name: string; run: () => void }[] = [
  {
    name: 'SpanImpl kept, JsonTraceSerializer',
    run: () => {
      const spans: SpanImpl[] = [];
      for (let i = 0; i < BATCH; i++) spans.push(spanImpl(i));
      JsonTraceSerializer.serializeRequest(spans);
    },
  },
  {
    name: 'SpanImpl -> spanJson when it ends, joined',
    run: () => {
      const spans: string[] = [];
      for (let i = 0; i < BATCH; i++) spans.push(spanJson(spanImpl(i)));
      utf8.encode(exportJson(frame, spans));
    },
  },
  {
    name: 'record -> JSON, no span object, joined',
    run: () => {
      const spans: string[] = [];
      for (let i = 0; i < BATCH; i++) spans.push(directJson(i));
      utf8.encode(exportJson(frame, spans));
    },
  },
  {
    name: 'SpanImpl -> OTLP object when it ends, batch stringified',
    run: () => {
      const spans: object[] = [];
      for (let i = 0; i < BATCH; i++) spans.push(spanObject(spanImpl(i)));
      utf8.encode(exportObjectsJson(head, spans));
    },
  },
  {
    name: 'record -> OTLP object, no span object, batch stringified',
    run: () => {
      const spans: object[] = [];
      for (let i = 0; i < BATCH; i++) spans.push(directObject(i));
      utf8.encode(exportObjectsJson(head, spans));
    },
  },
];

/**
 * The three ways taken in turns, batch by batch, the order rotating (this machine's speed drifts more between
 * tinybench's back-to-back tasks than the differences measured): median µs per span of each. First checks that
 * the three write the same bytes, so that like is timed against like.
 */
export function spanEncodeRounds(rounds = 60): { name: string; usPerSpan: number }[] {
  const one = (f: (i: number) => string) => f(0);
  const a = new TextDecoder().decode(JsonTraceSerializer.serializeRequest([spanImpl(0)]));
  const b = exportJson(frame, [one((i) => spanJson(spanImpl(i)))]);
  const c = exportJson(frame, [one(directJson)]);
  const d = exportObjectsJson(head, [spanObject(spanImpl(0))]);
  const e = exportObjectsJson(head, [directObject(0)]);
  if (a !== b || a !== c || a !== d || a !== e) throw new Error('span encoders disagree: not timing them');
  for (const v of variants) v.run(); // warm up
  const times = variants.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < variants.length; k++) {
      const j = (r + k) % variants.length;
      const t0 = process.hrtime.bigint();
      variants[j]?.run();
      times[j]?.push(Number(process.hrtime.bigint() - t0) / 1e3 / BATCH);
    }
  }
  return variants.map((v, j) => {
    const sorted = (times[j] ?? []).sort((x, y) => x - y);
    return { name: v.name, usPerSpan: sorted[Math.floor(sorted.length / 2)] ?? NaN };
  });
}
