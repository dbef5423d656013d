import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OtlpDecodeError } from '../../src/worker/ingest/otlp';
import type { SlaReport } from '../../src/core/report-types';
import { decodeTraceRequest, encodeStatus, encodeTraceResponse } from '../../src/worker/ingest/otlp-proto';
import { MAX_AGE_MS } from '../../src/worker/ingest/stage';
import { gateway, GW } from './helpers';

type Gateway = ReturnType<typeof gateway>;

/** Exact quantile by the lower-rank definition the sketch promises to approximate. */
function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))] as number;
}

function post(gw: Gateway, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return gw.fetch(`${GW}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
}

async function sla(gw: Gateway): Promise<SlaReport> {
  const res = await gw.fetch(`${GW}/sla?window=5m`);
  expect(res.status).toBe(200);
  return (await res.json()) as SlaReport;
}

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Nanoseconds as OTLP/JSON writes them: `atMs` (whole ms) plus `plusMs`, exactly. */
const nanos = (atMs: number, plusMs = 0) => (BigInt(atMs) * 1_000_000n + BigInt(Math.round(plusMs * 1e6))).toString();

describe('POST /v1/timings', () => {
  it('lands every timing in its route object: exact counts, percentiles within the sketch bound, per-operation targets', async () => {
    const config = {
      default: { min_samples: 5 },
      routes: { 'ing.retrieval': { max_p95_ms: 100 }, 'ing.embedding': { max_p95_ms: 500, min_success_rate: 0.9 } },
    };
    const gw = gateway({}, { durable: true, sla: config });
    const retrieval = Array.from({ length: 40 }, (_, i) => 20 + ((i * 37) % 140) + i / 10); // p95 well above 100
    const embedding = Array.from({ length: 20 }, (_, i) => 5 + i * 3.25);
    const timings = [
      ...retrieval.map((d) => ({ route: 'ing.retrieval', duration_ms: d, ok: true })),
      ...embedding.map((d, i) => ({ route: 'ing.embedding', duration_ms: d, ok: i % 5 !== 0, attributes: { 'gen_ai.usage.input_tokens': 10 } })),
    ];
    const res = await post(gw, '/v1/timings', timings);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 60, rejected: 0, problems: [] });
    const records = await gw.settle();
    expect(records).toHaveLength(60);
    expect(records[0]).toMatchObject({ provider: 'app', operation: 'other', outcome: 'success', usageSource: 'none', status: 0 });

    const report = await sla(gw);
    const r = report.routes['ing.retrieval'];
    const e = report.routes['ing.embedding'];
    expect(r).toMatchObject({ count: 40, successes: 40, failures: 0 });
    expect(e).toMatchObject({ count: 20, successes: 16, failures: 4, tokens: { input: 200, output: 0 } });
    for (const [values, stats] of [[retrieval, r], [embedding, e]] as const) {
      for (const [q, key] of [[0.5, 'p50'], [0.95, 'p95'], [0.99, 'p99']] as const) {
        const exact = exactQuantile(values, q);
        expect(Math.abs((stats?.latency?.[key] ?? -1) - exact)).toBeLessThanOrEqual(exact * 0.01 + 0.05);
      }
      // The report rounds to 0.1 ms.
      expect(Math.abs((stats?.latency?.max ?? -1) - Math.max(...values))).toBeLessThanOrEqual(0.05 + 1e-9);
    }
    expect(r?.sla.status).toBe('failed');
    expect(e?.sla.status).toBe('failed');
    const messages = report.violations.map((v) => v.message);
    expect(messages.some((m) => m.startsWith(`Route 'ing.retrieval' P95 latency (`) && m.endsWith('exceeds target (100.0ms)'))).toBe(true);
    expect(messages).toContain(`Route 'ing.embedding' success rate (80.0%) below target (90.0%)`);
    expect(messages.some((m) => m.includes(`'ing.embedding' P95`))).toBe(false);
  });

  it('refuses bad timings one by one and counts them; the good ones still land', async () => {
    const gw = gateway({}, { durable: true });
    const now = Date.now();
    const res = await post(gw, '/v1/timings', [
      { route: 'ing.mixed', duration_ms: 12, ok: true },
      { route: 'bad route', duration_ms: 12, ok: true },
      { route: 'ing.mixed', duration_ms: -1, ok: true },
      { route: 'ing.mixed', duration_ms: 5, ok: 'yes' },
      { route: 'ing.mixed', duration_ms: 5, ok: true, ts: now - MAX_AGE_MS - 5_000 },
      { route: 'ing.mixed', duration_ms: 5, ok: true, ts: now + 120_000 },
      { route: 'ing.mixed', duration_ms: 5, ok: true, attributes: { 'gen_ai.usage.input_tokens': -3 } },
      { route: 'ing.mixed', duration_ms: 5, ok: true, attributes: { nested: { a: 1 } } },
      'not an object',
      { route: 'ing.mixed', duration_ms: 7, ok: false, ts: now - 1_000, error_type: 'timeout', attributes: { 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 100 } },
    ]);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { accepted: number; rejected: number; problems: string[] };
    expect(body).toMatchObject({ accepted: 2, rejected: 8 });
    expect(body.problems).toHaveLength(8);
    expect(body.problems[0]).toMatch(/^timing 1: route "bad route" must be/);
    expect(body.problems.join('\n')).toMatch(/timing 4: older than the 47 h/);
    expect(body.problems.join('\n')).toMatch(/timing 5: starts more than 60 s in the future/);
    const records = await gw.settle();
    expect(records).toHaveLength(2);
    expect(records[1]).toMatchObject({ outcome: 'upstream_error', errorType: 'timeout', ts: now - 1_000, totalMs: 7, usageSource: 'provider', requestModel: 'gpt-4o-mini' });
    // gpt-4o-mini is priced: the stage's cost is known.
    expect(records[1]?.costUsd).toBeGreaterThan(0);
    expect((await sla(gw)).routes['ing.mixed']).toMatchObject({ count: 2, successes: 1, failures: 1 });
  });

  it('answers 400 for malformed bodies, 413 past the limits, 415 for other types, and records nothing', async () => {
    const gw = gateway({ INGEST_MAX_ITEMS: '3', INGEST_MAX_BYTES: '2000' });
    const one = { route: 'ing.limits', duration_ms: 1, ok: true };
    const cases: [Promise<Response>, number, RegExp][] = [
      [post(gw, '/v1/timings', '{"route":'), 400, /invalid JSON/],
      [post(gw, '/v1/timings', { route: 'x' }), 400, /JSON array/],
      [post(gw, '/v1/timings', [one, one, one, one]), 413, /4 timings in one request; INGEST_MAX_ITEMS allows 3/],
      [post(gw, '/v1/timings', [{ ...one, attributes: { pad: 'x'.repeat(3000) } }]), 413, /INGEST_MAX_BYTES \(2000 bytes/],
      [post(gw, '/v1/timings', 'not gzip at all', { 'content-encoding': 'gzip' }), 400, /not valid gzip/],
      [post(gw, '/v1/timings', '[]', { 'content-encoding': 'br' }), 415, /content-encoding/],
      [post(gw, '/v1/timings', '[]', { 'content-type': 'text/plain' }), 415, /application\/json/],
      [post(gw, '/v1/timings', '[]', { 'idempotency-key': 'has spaces' }), 400, /idempotency-key/],
    ];
    // A gzip bomb: 100 bytes on the wire, 200 kB inflated.
    const bomb = await gzip(JSON.stringify([{ ...one, attributes: { pad: ' '.repeat(200_000) } }]));
    expect(bomb.length).toBeLessThan(2000);
    cases.push([post(gw, '/v1/timings', bomb, { 'content-encoding': 'gzip' }), 413, /after decompression/]);
    for (const [pending, status, message] of cases) {
      const res = await pending;
      expect(res.status).toBe(status);
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(message);
    }
    const ok = await post(gw, '/v1/timings', await gzip(JSON.stringify([one, one])), { 'content-encoding': 'gzip' });
    expect(await ok.json()).toEqual({ accepted: 2, rejected: 0, problems: [] });
    expect(await gw.settle()).toHaveLength(2);
  });

  it('requires a gateway key when keys are configured; the key labels the records with its team', async () => {
    const gw = gateway({ GATEWAY_KEYS: JSON.stringify({ 'gk-search-team-0123456789': 'search' }) });
    const timing = [{ route: 'ing.keyed', duration_ms: 3, ok: true }];
    expect((await post(gw, '/v1/timings', timing)).status).toBe(401);
    expect((await post(gw, '/v1/timings', timing, { 'x-gateway-key': 'gk-wrong-key-0123456789' })).status).toBe(401);
    expect((await post(gw, '/v1/traces', {}, { 'x-gateway-key': 'gk-wrong-key-0123456789' })).status).toBe(401);
    const res = await post(gw, '/v1/timings', timing, { 'x-gateway-key': 'gk-search-team-0123456789', 'x-sla-team': 'other' });
    expect(res.status).toBe(200);
    const records = await gw.settle();
    expect(records).toHaveLength(1);
    expect(records[0]?.team).toBe('search');
    expect(JSON.stringify(records)).not.toContain('gk-search-team');
  });

  it('with keys, the key names the team: a key mapped to "" names none, whatever x-sla-team or llm_sla.team say', async () => {
    const gw = gateway({ GATEWAY_KEYS: JSON.stringify({ 'gk-search-team-0123456789': 'search', 'gk-no-team-key-0123456789': '' }) });
    const claim = { 'x-gateway-key': 'gk-no-team-key-0123456789', 'x-sla-team': 'search' };
    const timing = [{ route: 'ing.noteam', duration_ms: 3, ok: true, attributes: { 'llm_sla.team': 'search' } }];
    expect((await post(gw, '/v1/timings', timing, claim)).status).toBe(200);
    const t = Date.now() - 1000;
    const spans = [{ traceId: '5B8EFFF798038103D269B633813FC60C', spanId: 'EEE19B7EC3C1B174', name: 'ing.noteam', kind: 1, startTimeUnixNano: nanos(t), endTimeUnixNano: nanos(t, 5), attributes: [{ key: 'llm_sla.team', value: { stringValue: 'search' } }] }];
    const otlp = { resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 't' }, spans }] }] };
    expect((await post(gw, '/v1/traces', otlp, claim)).status).toBe(200);
    // A key with a team: that team, not the attribute's.
    expect((await post(gw, '/v1/timings', [{ ...timing[0], attributes: { 'llm_sla.team': 'ads' } }], { 'x-gateway-key': 'gk-search-team-0123456789' })).status).toBe(200);
    expect((await gw.settle()).map((r) => r.team)).toEqual([null, null, 'search']);
  });

  it('records a batch retried under the same idempotency-key once', async () => {
    const gw = gateway({}, { durable: true });
    const batch = [{ route: 'ing.idem', duration_ms: 4, ok: true }, { route: 'ing.idem', duration_ms: 6, ok: true }];
    const key = `batch-${Date.now()}`;
    const first = await post(gw, '/v1/timings', batch, { 'idempotency-key': key });
    expect(await first.json()).toEqual({ accepted: 2, rejected: 0, problems: [] });
    const again = await post(gw, '/v1/timings', batch, { 'idempotency-key': key });
    expect(await again.json()).toEqual({ accepted: 2, rejected: 0, problems: [], duplicate: true });
    const other = await post(gw, '/v1/timings', batch, { 'idempotency-key': `${key}-2` });
    expect(await other.json()).toEqual({ accepted: 2, rejected: 0, problems: [] });
    expect(await gw.settle()).toHaveLength(4);
    expect((await sla(gw)).routes['ing.idem']?.count).toBe(4);
  });
});

describe('POST /v1/traces (OTLP/HTTP JSON here; protobuf from the official exporter in test/dev)', () => {
  const now = () => Date.now();
  function span(name: string, startMs: number, durMs: number, extra: Record<string, unknown> = {}) {
    return { traceId: '5B8EFFF798038103D269B633813FC60C', spanId: 'EEE19B7EC3C1B174', name, kind: 1, startTimeUnixNano: nanos(startMs), endTimeUnixNano: nanos(startMs, durMs), ...extra };
  }
  const request = (spans: unknown[]) => ({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 't' }, spans }] }] });

  it('makes one record per span: route from llm_sla.route or the name, duration, status, gen_ai usage', async () => {
    const gw = gateway({}, { durable: true });
    const t = now() - 2_000;
    const spans = [
      span('ing.span.retrieval', t, 12.5),
      span('ignored name', t, 30, { attributes: [{ key: 'llm_sla.route', value: { stringValue: 'ing.span.rerank' } }] }),
      span('ing.span.generation', t, 250, {
        status: { code: 2, message: 'model overloaded' },
        attributes: [
          { key: 'gen_ai.usage.input_tokens', value: { intValue: '120' } },
          { key: 'gen_ai.usage.output_tokens', value: { intValue: 30 } },
          { key: 'gen_ai.response.model', value: { stringValue: 'gpt-4o-mini' } },
          { key: 'gen_ai.response.time_to_first_chunk', value: { doubleValue: 0.08 } },
        ],
      }),
      { ...span('ing.span.numeric', t, 1), startTimeUnixNano: t * 1e6, endTimeUnixNano: (t + 1) * 1e6 },
    ];
    const res = await post(gw, '/v1/traces', request(spans));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual({});
    const records = await gw.settle();
    expect(records.slice(0, 3).map((r) => [r.route, r.totalMs, r.outcome])).toEqual([
      ['ing.span.retrieval', 12.5, 'success'],
      ['ing.span.rerank', 30, 'success'],
      ['ing.span.generation', 250, 'upstream_error'],
    ]);
    // Nanoseconds as JSON numbers lose precision past 2^53 (here ~256 ns): still within a microsecond.
    expect(records[3]?.route).toBe('ing.span.numeric');
    expect(records[3]?.totalMs).toBeCloseTo(1, 3);
    expect(records[0]?.ts).toBe(t);
    expect(records[2]).toMatchObject({ errorType: 'model overloaded', usage: { input: 120, output: 30 }, usageSource: 'provider', responseModel: 'gpt-4o-mini', ttftMs: 80 });
    const report = await sla(gw);
    expect(report.routes['ing.span.generation']).toMatchObject({ count: 1, failures: 1, tokens: { input: 120, output: 30 } });
    expect(report.routes['ing.span.rerank']?.count).toBe(1);
  });

  it('answers partialSuccess for refused spans and 400 (a google.rpc.Status) for a payload that is not OTLP', async () => {
    const gw = gateway();
    const t = now();
    const res = await post(gw, '/v1/traces', request([span('ing.ok', t, 1), span('has space', t, 1), { ...span('ing.backwards', t, 1), endTimeUnixNano: nanos(t - 5) }, { name: 'ing.notimes' }]));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { partialSuccess: { rejectedSpans: number; errorMessage: string } };
    expect(body.partialSuccess.rejectedSpans).toBe(3);
    expect(body.partialSuccess.errorMessage).toContain('span 1 ("has space"): route "has space" must be');
    expect(body.partialSuccess.errorMessage).toContain('span 2 ("ing.backwards"): ends before it starts');
    expect(body.partialSuccess.errorMessage).toContain('span 3 ("ing.notimes"): startTimeUnixNano and endTimeUnixNano are required');
    expect(await gw.settle()).toHaveLength(1);

    for (const bad of ['{', '[]', '{"resourceSpans":{}}', '{"resourceSpans":[{"scopeSpans":[{"spans":[1]}]}]}']) {
      const r = await post(gw, '/v1/traces', bad);
      expect(r.status, bad).toBe(400);
      expect(((await r.json()) as { code: number; message: string }).message).toMatch(/^Malformed OTLP json payload/);
    }
    const proto = await post(gw, '/v1/traces', new Uint8Array([0x0a, 0x05, 0x12]), { 'content-type': 'application/x-protobuf' });
    expect(proto.status).toBe(400);
    expect(proto.headers.get('content-type')).toBe('application/x-protobuf');
    expect(new Uint8Array(await proto.arrayBuffer())).toEqual(encodeStatus(3, 'Malformed OTLP protobuf payload: invalid protobuf: length past the end of its message'));
    expect((await post(gw, '/v1/traces', '{}', { 'content-type': 'text/plain' })).status).toBe(415);
    expect(await gw.settle()).toHaveLength(1); // still only the one good span
  });

  it('answers a protobuf request in protobuf: empty on success, partial_success otherwise', async () => {
    const gw = gateway();
    const empty = await post(gw, '/v1/traces', new Uint8Array(0), { 'content-type': 'application/x-protobuf' });
    expect(empty.status).toBe(200);
    expect(empty.headers.get('content-type')).toBe('application/x-protobuf');
    expect((await empty.arrayBuffer()).byteLength).toBe(0);
    // One span with no times: field 1 > field 2 > field 2 > {name = 5: "a b"}.
    const spanBytes = [0x2a, 0x03, 0x61, 0x20, 0x62];
    const scope = [0x12, spanBytes.length, ...spanBytes];
    const resource = [0x12, scope.length, ...scope];
    const bytes = new Uint8Array([0x0a, resource.length, ...resource]);
    expect(decodeTraceRequest(bytes)).toHaveLength(1);
    const res = await post(gw, '/v1/traces', bytes, { 'content-type': 'application/x-protobuf' });
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(encodeTraceResponse(1, 'spans refused: span 0 ("a b"): startTimeUnixNano and endTimeUnixNano are required'.replace(/^/, '1 ')));
  });
});

describe('the protobuf decoder on hostile bytes', () => {
  it('either decodes or throws OtlpDecodeError, for any bytes and any truncation of a valid request', () => {
    const spanBytes = [0x0a, 0x02, 0xab, 0xcd, 0x2a, 0x01, 0x78, 0x39, ...new Array<number>(8).fill(1), 0x41, ...new Array<number>(8).fill(2), 0x7a, 0x02, 0x18, 0x02];
    const scope = [0x12, spanBytes.length, ...spanBytes];
    const resource = [0x12, scope.length, ...scope];
    const valid = new Uint8Array([0x0a, resource.length, ...resource]);
    expect(decodeTraceRequest(valid)).toEqual([
      { traceId: 'abcd', spanId: '', name: 'x', startNs: 0x0101010101010101n, endNs: 0x0202020202020202n, attributes: new Map(), statusCode: 2, statusMessage: '' },
    ]);
    for (let cut = 1; cut < valid.length; cut++) {
      try {
        decodeTraceRequest(valid.subarray(0, cut));
      } catch (err) {
        expect(err).toBeInstanceOf(OtlpDecodeError);
      }
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          expect(Array.isArray(decodeTraceRequest(bytes))).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(OtlpDecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
