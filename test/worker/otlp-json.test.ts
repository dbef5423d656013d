import { SpanImpl } from '@microlabs/otel-cf-workers';
import { createTraceState, SpanKind, SpanStatusCode, TraceFlags, type Attributes, type Link } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exportFrame, exportJson, spanJson } from '../../src/telemetry/otlp-json';

/**
 * The gateway writes each span's OTLP JSON itself (`otlp-json.ts`) instead of handing span objects to
 * OpenTelemetry's `JsonTraceSerializer`. The bytes must be the serializer's, for any span: the same spans through
 * both give the same request, byte for byte.
 */
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
/** Strings that need JSON escaping: quotes, backslashes, control characters, non-ASCII, lone surrogates. */
const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('"', '\\', '\u0000\n\t', 'é😀', '\ud800', '</script>'));
const number = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, 2 ** 53, 1e21, 1e-7, 0.1 + 0.2, NaN, Infinity));
const value = fc.oneof(
  text,
  number,
  fc.boolean(),
  fc.array(text, { maxLength: 4 }),
  fc.array(number, { maxLength: 4 }),
  fc.array(fc.boolean(), { maxLength: 3 }),
  fc.array(fc.option(text, { nil: null }), { maxLength: 3 }),
);
const attributes = fc.dictionary(fc.oneof(fc.string({ minLength: 1 }), fc.constantFrom('gen_ai.request.model', 'a"b', '\u2028')), value, { maxKeys: 12 });
/**
 * Whole milliseconds since the epoch, as the gateway's clock gives them (`Date.now()`; workerd's `performance.now()`
 * is whole milliseconds too). Fractional ones are the last test's: there the serializer throws.
 */
const time = fc.integer({ min: 0, max: 4_102_444_800_000 });

const spanArb = fc.record({
  name: text,
  traceId: hex(32),
  spanId: hex(16),
  parent: fc.option(hex(16), { nil: undefined }),
  traceState: fc.option(fc.constantFrom('ot=th:8', 'vendor=x,ot=th:c;rv:abcdefabcdefab', 'a=1'), { nil: undefined }),
  kind: fc.constantFrom(SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER),
  attributes,
  start: time,
  duration: fc.nat(600_000),
  status: fc.option(fc.record({ code: fc.constantFrom(SpanStatusCode.UNSET, SpanStatusCode.OK, SpanStatusCode.ERROR), message: fc.option(text, { nil: undefined }) }), { nil: undefined }),
  events: fc.array(fc.record({ name: text, attributes: fc.option(attributes, { nil: undefined }), at: time }), { maxLength: 2 }),
  links: fc.array(fc.record({ traceId: hex(32), spanId: hex(16), attributes: fc.option(attributes, { nil: undefined }) }), { maxLength: 2 }),
});
type SpanSpec = typeof spanArb extends fc.Arbitrary<infer T> ? T : never;

const resourceAttributes = { 'service.name': 'llm-sla-gateway', 'service.version': '0.1.0', 'cloud.provider': 'cloudflare', 'x.n': 3, 'x.d': 0.5 };
const resource = resourceFromAttributes(resourceAttributes);
const scope = { name: 'llm-sla-gateway', version: '0.1.0' };

function build(spec: SpanSpec): SpanImpl {
  const links: Link[] = spec.links.map((l) => ({
    context: { traceId: l.traceId, spanId: l.spanId, traceFlags: TraceFlags.SAMPLED },
    ...(l.attributes ? { attributes: l.attributes as Attributes } : {}),
  }));
  const span = new SpanImpl({
    name: spec.name,
    attributes: spec.attributes,
    onEnd: () => {},
    resource,
    spanContext: {
      traceId: spec.traceId,
      spanId: spec.spanId,
      traceFlags: TraceFlags.SAMPLED,
      ...(spec.traceState ? { traceState: createTraceState(spec.traceState) } : {}),
    },
    ...(spec.parent ? { parentSpanId: spec.parent, parentSpanContext: { traceId: spec.traceId, spanId: spec.parent, traceFlags: TraceFlags.SAMPLED, isRemote: true } } : {}),
    spanKind: spec.kind,
    startTime: spec.start,
    links,
  });
  span.instrumentationScope = scope;
  for (const e of spec.events) span.addEvent(e.name, e.attributes as Attributes | undefined, e.at);
  if (spec.status) span.setStatus(spec.status);
  span.end(spec.start + spec.duration);
  return span;
}

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('spans written as OTLP JSON by hand', () => {
  const frame = exportFrame({ resource: resourceAttributes, scope });

  it('are byte for byte what OpenTelemetry JsonTraceSerializer writes, for any span', () => {
    fc.assert(
      fc.property(fc.array(spanArb, { minLength: 1, maxLength: 5 }), (specs) => {
        const spans = specs.map(build);
        const ours = exportJson(frame, spans.map(spanJson));
        const theirs = decode(JsonTraceSerializer.serializeRequest(spans) ?? new Uint8Array());
        expect(ours).toBe(theirs);
      }),
      { numRuns: 400 },
    );
  });

  it('a gateway-shaped span: the same bytes, and JSON a collector reads back', () => {
    const span = build({
      name: 'chat gpt-4o-mini',
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      parent: '00f067aa0ba902b7',
      traceState: 'ot=th:8',
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.usage.input_tokens': 12,
        'gen_ai.response.time_to_first_chunk': 0.0123,
        'gen_ai.response.finish_reasons': ['stop'],
        'gen_ai.request.stream': false,
      },
      start: 1_764_680_000_123,
      duration: 250,
      status: { code: SpanStatusCode.ERROR, message: 'upstream_timeout' },
      events: [],
      links: [],
    });
    const ours = exportJson(frame, [spanJson(span)]);
    expect(ours).toBe(decode(JsonTraceSerializer.serializeRequest([span]) ?? new Uint8Array()));
    const parsed = JSON.parse(ours) as { resourceSpans: { scopeSpans: { spans: { startTimeUnixNano: string; endTimeUnixNano: string; kind: number; parentSpanId: string }[] }[] }[] };
    const s = parsed.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    expect(s?.kind).toBe(3);
    expect(s?.parentSpanId).toBe('00f067aa0ba902b7');
    expect(s?.startTimeUnixNano).toBe('1764680000123000000');
    expect(BigInt(s?.endTimeUnixNano ?? 0) - BigInt(s?.startTimeUnixNano ?? 0)).toBe(250_000_000n);
  });

  it('fractional milliseconds: the nearest nanosecond, where the serializer throws and loses the whole export', () => {
    fc.assert(
      fc.property(spanArb, fc.double({ min: 0, max: 4_102_444_800_000, noNaN: true }), fc.double({ min: 0, max: 600_000, noNaN: true }), (spec, start, duration) => {
        const span = build({ ...spec, start, duration, events: [] });
        const parsed = JSON.parse(exportJson(frame, [spanJson(span)])) as { resourceSpans: { scopeSpans: { spans: { startTimeUnixNano: string }[] }[] }[] };
        const written = BigInt(parsed.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.startTimeUnixNano ?? '-1');
        const [sec, ns] = span.startTime;
        expect(written).toBe(BigInt(sec) * 1_000_000_000n + BigInt(Math.round(ns)));
      }),
      { numRuns: 200 },
    );
    const fractional = build({ name: 'x', traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parent: undefined, traceState: undefined, kind: SpanKind.CLIENT, attributes: {}, start: 1_764_680_000_123.456, duration: 0.1, status: undefined, events: [], links: [] });
    expect(() => JsonTraceSerializer.serializeRequest([fractional])).toThrow(RangeError);
    expect(JSON.parse(exportJson(frame, [spanJson(fractional)])).resourceSpans[0].scopeSpans[0].spans[0].name).toBe('x');
  });
});
