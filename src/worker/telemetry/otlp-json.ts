import type { SpanImpl } from '@microlabs/otel-cf-workers';
// The transformer's request builder (what its JsonTraceSerializer runs before JSON.stringify). The package has no
// `exports` map; this path is its own ESM build, the module its serializer imports.
import { createExportTraceServiceRequest } from '@opentelemetry/otlp-transformer/build/esm/trace/internal';
import { DOUBLE_KEYS } from './keys';

const encoder = new TextEncoder();

/**
 * OTLP/HTTP JSON of a batch of spans: OpenTelemetry's transformer builds the request, as its `JsonTraceSerializer`
 * does, then the attributes whose type is double (`DOUBLE_KEYS`) that it wrote as `intValue` — it decides by the
 * value, and a temperature of 1 or a probability of 1 is a whole number — are made `doubleValue`. One pass over the
 * attribute lists, touching only whole numbers, before the one `JSON.stringify` the serializer would have done.
 */
export function serializeSpans(spans: SpanImpl[]): Uint8Array {
  const request = createExportTraceServiceRequest(spans, { useHex: true, useLongBits: false });
  for (const rs of request.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans ?? []) {
        for (const kv of span.attributes) {
          const v = kv.value;
          if (v.intValue !== undefined && DOUBLE_KEYS.has(kv.key)) kv.value = { doubleValue: Number(v.intValue) };
        }
      }
    }
  }
  return encoder.encode(JSON.stringify(request));
}
