import type { HrTime } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTraceJson } from '../../src/worker/ingest/otlp';
import { decodeTraceRequest } from '../../src/worker/ingest/otlp-proto';
import { listenLocal } from '../support/listen';
import { startWranglerDev, type WranglerDev } from '../support/wrangler-dev';

/**
 * An application instrumented with the official OpenTelemetry JS SDK (sdk-trace-base, OTLP/HTTP exporters in JSON
 * and in protobuf with gzip) sends its pipeline's spans to the gateway under `wrangler dev`; `/sla` must show them.
 */
const KEY = 'gk-otel-pipeline-0123456789';
const SLA_CONFIG = {
  default: { min_samples: 10 },
  routes: {
    'otel.retrieval': { max_p95_ms: 100 },
    'otel.embedding': { max_p95_ms: 200, min_success_rate: 0.95 },
    'otel.generation': { max_p95_ms: 5000 },
  },
};
let dev: WranglerDev;
let base: string;

beforeAll(async () => {
  dev = await startWranglerDev({
    RECORDER: 'durable',
    FLUSH_INTERVAL_MS: '100',
    SLA_CONFIG: JSON.stringify(SLA_CONFIG),
    GATEWAY_KEYS: JSON.stringify({ [KEY]: 'pipeline' }),
  });
  base = dev.base;
});

afterAll(async () => dev?.stop());

/** The proto exporter, gzip on: the SDK reads compression from the environment when it is built. */
function protoExporter(url: string, headers: Record<string, string> = {}): SpanExporter {
  process.env['OTEL_EXPORTER_OTLP_TRACES_COMPRESSION'] = 'gzip';
  try {
    return new ProtoExporter({ url, headers });
  } finally {
    delete process.env['OTEL_EXPORTER_OTLP_TRACES_COMPRESSION'];
  }
}

/** `atMs` (whole ms since the epoch) plus `plusMs`, as an exact [s, ns] HrTime. */
function hr(atMs: number, plusMs = 0): HrTime {
  const ns = BigInt(atMs) * 1_000_000n + BigInt(Math.round(plusMs * 1e6));
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

interface Planned {
  route: string;
  name: string;
  /** Whole milliseconds. */
  startMs: number;
  durationMs: number;
  error: boolean;
  attributes: Record<string, string | number>;
}

/** Ends every planned span with its exact start and end through the SDK, then flushes the exporter. */
async function emit(exporter: SpanExporter, spans: Planned[]): Promise<void> {
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 20, maxExportBatchSize: 64 })] });
  const tracer = provider.getTracer('rag-app', '1.0.0');
  for (const p of spans) {
    // Start and end set exactly, to the nanosecond.
    const span = tracer.startSpan(p.name, { startTime: hr(p.startMs), attributes: p.attributes });
    if (p.error) span.setStatus({ code: 2, message: 'stage failed' });
    span.end(hr(p.startMs, p.durationMs));
  }
  await provider.forceFlush();
  await provider.shutdown();
}

function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))] as number;
}

describe('the OTLP decoders read what the official exporters write', () => {
  it('protobuf (gzip) and JSON bodies decode to the same spans, field for field', async () => {
    const bodies: { type: string; encoding: string; bytes: Buffer }[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push({ type: req.headers['content-type'] ?? '', encoding: req.headers['content-encoding'] ?? '', bytes: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': req.headers['content-type'] ?? '' }).end();
      });
    });
    const capture = await listenLocal(server);
    const start = Date.UTC(2026, 10, 23, 1, 2, 3);
    const plan: Planned[] = [
      { route: 'x', name: 'rag.embedding', startMs: start, durationMs: 12.345678, error: false, attributes: { 'gen_ai.usage.input_tokens': 42, 'gen_ai.request.model': 'text-embedding-3-small', ratio: 0.5 } },
      { route: 'x', name: 'retrieval ✓', startMs: start + 20, durationMs: 0.001, error: true, attributes: { 'llm_sla.route': 'rag.retrieval', big: 2 ** 40 } },
    ];
    try {
      await emit(protoExporter(`${capture.url}/v1/traces`), plan);
      await emit(new JsonExporter({ url: `${capture.url}/v1/traces` }), plan);
    } finally {
      await capture.close();
    }
    expect(bodies.map((b) => [b.type, b.encoding])).toEqual([['application/x-protobuf', 'gzip'], ['application/json', '']]);
    const fromProto = decodeTraceRequest(new Uint8Array(gunzipSync(bodies[0]?.bytes ?? Buffer.alloc(0))));
    const fromJson = decodeTraceJson(JSON.parse(bodies[1]?.bytes.toString('utf8') ?? 'null'));
    expect(fromProto).toHaveLength(2);
    const view = (spans: typeof fromProto) =>
      spans.map((s) => ({ name: s.name, start: s.startNs, end: s.endNs, status: s.statusCode, message: s.statusMessage, attributes: Object.fromEntries(s.attributes), idLengths: [s.traceId.length, s.spanId.length] }));
    expect(view(fromProto)).toEqual(view(fromJson));
    const startNs = BigInt(start) * 1_000_000n;
    expect(view(fromProto)).toEqual([
      {
        name: 'rag.embedding', start: startNs, end: startNs + 12_345_678n, status: 0, message: '',
        attributes: { 'gen_ai.usage.input_tokens': 42, 'gen_ai.request.model': 'text-embedding-3-small', ratio: 0.5 }, idLengths: [32, 16],
      },
      {
        name: 'retrieval ✓', start: startNs + 20_000_000n, end: startNs + 20_001_000n, status: 2, message: 'stage failed',
        attributes: { 'llm_sla.route': 'rag.retrieval', big: 2 ** 40 }, idLengths: [32, 16],
      },
    ]);
    for (const s of [...fromProto, ...fromJson]) expect(`${s.traceId}/${s.spanId}`).toMatch(/^[0-9a-f]{32}\/[0-9a-f]{16}$/);
  });
});

describe('an application instrumented with the OpenTelemetry SDK reports its pipeline to the gateway', () => {
  it('/sla shows every stage with exact counts, percentiles within the sketch bound and the per-operation verdicts', async () => {
    const now = Date.now() - 5_000;
    const plan: Planned[] = [];
    // retrieval: 60 spans, 30-150 ms, p95 above its 100 ms target.
    for (let i = 0; i < 60; i++) plan.push({ route: 'otel.retrieval', name: 'otel.retrieval', startMs: now + i, durationMs: 30 + ((i * 53) % 121) + 0.25, error: false, attributes: {} });
    // embedding: 40 spans, fast, but 4 failures: 90 % < 95 %.
    for (let i = 0; i < 40; i++) plan.push({ route: 'otel.embedding', name: 'otel.embedding', startMs: now + i, durationMs: 4 + (i % 9) * 1.5, error: i % 10 === 3, attributes: { 'gen_ai.usage.input_tokens': 16 } });
    // generation: named by attribute, with usage; well within its target.
    for (let i = 0; i < 20; i++) {
      plan.push({ route: 'otel.generation', name: `chat gpt-4o-mini ${i}`, startMs: now + i, durationMs: 400 + i * 10, error: false, attributes: { 'llm_sla.route': 'otel.generation', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 25 } });
    }
    const json = plan.filter((_, i) => i % 2 === 0);
    const proto = plan.filter((_, i) => i % 2 === 1);
    const headers = { 'x-gateway-key': KEY };
    await emit(new JsonExporter({ url: `${base}/v1/traces`, headers }), json);
    await emit(protoExporter(`${base}/v1/traces`, headers), proto);

    type Stats = { count: number; successes: number; failures: number; tokens: { input: number; output: number }; latency: Record<string, number> | null; sla: { status: string } };
    type Report = { routes: Record<string, Stats>; overall: { count: number }; violations: { message: string }[] };
    let report: Report;
    const deadline = Date.now() + 10_000;
    do {
      report = (await (await fetch(`${base}/sla?window=5m`)).json()) as Report;
      if (report.overall.count >= plan.length) break;
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < deadline);
    expect(report.overall.count).toBe(120);
    expect(report.routes['otel.retrieval']).toMatchObject({ count: 60, successes: 60, failures: 0 });
    expect(report.routes['otel.embedding']).toMatchObject({ count: 40, successes: 36, failures: 4, tokens: { input: 640, output: 0 } });
    expect(report.routes['otel.generation']).toMatchObject({ count: 20, failures: 0, tokens: { input: 2000, output: 500 } });
    for (const route of ['otel.retrieval', 'otel.embedding', 'otel.generation']) {
      const durations = plan.filter((p) => p.route === route).map((p) => p.durationMs);
      for (const [q, key] of [[0.5, 'p50'], [0.9, 'p90'], [0.95, 'p95'], [0.99, 'p99']] as const) {
        const exact = exactQuantile(durations, q);
        expect(Math.abs((report.routes[route]?.latency?.[key] ?? -1) - exact), `${route} ${key}`).toBeLessThanOrEqual(exact * 0.01 + 0.05);
      }
    }
    expect(report.routes['otel.retrieval']?.sla.status).toBe('failed');
    expect(report.routes['otel.embedding']?.sla.status).toBe('failed');
    expect(report.routes['otel.generation']?.sla.status).toBe('passed');
    const messages = report.violations.map((v) => v.message).sort();
    expect(messages).toHaveLength(2);
    expect(messages[0]).toBe(`Route 'otel.embedding' success rate (90.0%) below target (95.0%)`);
    expect(messages[1]).toMatch(/^Route 'otel.retrieval' P95 latency \(\d+\.\dms\) exceeds target \(100.0ms\)$/);
    expect(dev.log()).not.toContain(KEY);
  });
});
