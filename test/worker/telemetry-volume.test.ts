import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve';
import { resolveTelemetry, type TelemetryConfig } from '../../src/config/telemetry';
import type { CallRecord, Priority } from '../../src/record';
import { GenAiMetrics } from '../../src/telemetry/metrics';
import { SpanRecorder, spanRecorderFor } from '../../src/telemetry/recorder';
import { thresholdFor } from '../../src/telemetry/sampling';
import type { ReceivedSpan } from '../support/otlp-receiver';
import { gateway, GW, jsonPost } from './helpers';

type KeyValue = { key: string; value: { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean } };
interface DataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: string;
  timeUnixNano: string;
  count: string;
  sum: number;
  min: number;
  max: number;
  bucketCounts: string[];
  explicitBounds: number[];
}
interface MetricsExport {
  resourceMetrics: {
    resource: { attributes: KeyValue[] };
    scopeMetrics: { scope: { name: string }; metrics: { name: string; unit: string; histogram: { aggregationTemporality: number; dataPoints: DataPoint[] } }[] }[];
  }[];
}

let scopes = 0;
/** A fresh collector scope and the vars that export to it (as in telemetry.test.ts). */
function collector(vars: Record<string, string> = {}) {
  const scope = `v${Date.now()}x${++scopes}`;
  const base = `${env.OTLP_BASE}/__otlp/${scope}`;
  return {
    endpoint: `${env.OTLP_BASE}/${scope}`,
    vars: { OTEL_EXPORTER_OTLP_ENDPOINT: `${env.OTLP_BASE}/${scope}`, OTEL_BSP_SCHEDULE_DELAY: '10', ...vars },
    spans: async (): Promise<ReceivedSpan[]> => (await fetch(`${base}/spans`)).json(),
    metrics: async (): Promise<MetricsExport[]> => (await fetch(`${base}/metrics`)).json(),
    stats: async (): Promise<{ requests: number; metricRequests: number; gzipped: number; bytes: number }> => (await fetch(`${base}/stats`)).json(),
    mode: async (q: string) => void (await fetch(`${base}/mode?${q}`, { method: 'POST' })),
  };
}

function telemetryOf(vars: Record<string, string>): TelemetryConfig {
  const { config, problems } = resolveTelemetry(vars);
  if (!config) throw new Error(problems.join('; '));
  return config;
}

function recorderOf(testEnv: Env): SpanRecorder {
  const result = resolveConfig(testEnv);
  if (!result.ok) throw new Error(result.problems.join('; '));
  const r = spanRecorderFor(result.config, testEnv, null);
  if (!r) throw new Error('no telemetry recorder');
  return r;
}

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }] };
const auth = { authorization: 'Bearer sk-volume-test-0123456789' };

/** One real record from the gateway, to vary. */
async function realRecord(): Promise<CallRecord> {
  const gw = gateway();
  await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, auth))).arrayBuffer();
  const [r] = await gw.settle();
  if (!r) throw new Error('no record');
  return r;
}

/** A deterministic generator, so a failure can be replayed. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('adaptive head sampling', () => {
  it('re-weighted counts are within 5 % of the truth under a load swing, and the kept rate follows the target', async () => {
    const c = collector();
    const base = await realRecord();
    const config = telemetryOf({
      ...c.vars,
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_SAMPLING_TARGET_PER_S: '100',
      TELEMETRY_PRIORITY_RATIOS: 'high=1,normal=0.5,low=0.1',
      OTEL_BSP_MAX_QUEUE_SIZE: '100000',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '512',
    });
    let clock = 1_000_000;
    const recorder = new SpanRecorder(config, () => null, [], null, undefined, { now: () => clock });
    const random = lcg(15);
    // 10 s quiet (50 calls/s), 10 s spike (2,000/s), 10 s medium (300/s): 24,500 calls.
    const phases = [
      { perS: 50, seconds: 10 },
      { perS: 2000, seconds: 10 },
      { perS: 300, seconds: 10 },
    ];
    const truth = { all: 0, errors: 0, low: 0 };
    const pending: Promise<void>[] = [];
    for (const phase of phases) {
      for (let i = 0; i < phase.perS * phase.seconds; i++) {
        clock += 1000 / phase.perS;
        const u = random();
        const priority: Priority = u < 0.02 ? 'critical' : u < 0.12 ? 'high' : u < 0.8 ? 'normal' : 'low';
        const failed = random() < 0.01;
        const record: CallRecord = { ...base, ts: Math.round(clock), priority, ...(failed ? { outcome: 'upstream_error', status: 500, errorType: '500' } : {}) };
        truth.all++;
        if (failed) truth.errors++;
        if (priority === 'low') truth.low++;
        const p = recorder.record(record);
        if (p) pending.push(p);
      }
    }
    await Promise.all(pending);
    await recorder.queue.flush();
    const spans = await c.spans();
    expect(recorder.queue.counts.spans_exported).toBe(spans.length);
    const weight = (s: ReceivedSpan) => 1 / (s.attributes['llm_sla.sampling.probability'] as number);
    const sum = (list: ReceivedSpan[]) => list.reduce((t, s) => t + weight(s), 0);
    expect(Math.abs(sum(spans) - truth.all) / truth.all).toBeLessThan(0.05);
    // Errors are always kept, each standing for itself.
    const errors = spans.filter((s) => s.attributes['llm_sla.outcome'] === 'upstream_error');
    expect(errors).toHaveLength(truth.errors);
    expect(sum(errors)).toBe(truth.errors);
    // Low priority alone (~2 % of it kept in the spike): within 4 standard errors (the Horvitz-Thompson variance
    // estimate, sum of (1 - p) / p^2 over the kept spans).
    const low = spans.filter((s) => s.attributes['llm_sla.priority'] === 'low');
    const variance = low.reduce((t, s) => t + (weight(s) - 1) * weight(s), 0);
    expect(Math.abs(sum(low) - truth.low)).toBeLessThan(4 * Math.sqrt(variance));
    // Critical calls: probability 1. Every span's tracestate threshold says the same probability as its attribute,
    // and its trace id passes that threshold (a consistent-probability sampler downstream would decide alike).
    for (const s of spans) {
      const p = s.attributes['llm_sla.sampling.probability'] as number;
      if (s.attributes['llm_sla.priority'] === 'critical') expect(p).toBe(1);
      const th = /(?:^|,)ot=th:([0-9a-f]+)/.exec(s.traceState)?.[1];
      expect(th).toBe(thresholdFor(p).th);
      const t56 = BigInt(`0x${(th ?? '').padEnd(14, '0')}`);
      if (s.attributes['llm_sla.sampled_by'] === 'head') expect(BigInt(`0x${s.traceId.slice(-14)}`) >= t56).toBe(true);
    }
    // Kept spans per second in each phase's last 5 s (the estimate has settled): near the 100/s target where the
    // load exceeds it, everything the ratios keep where it does not (50/s x mean ratio 0.44 = 22/s, plus errors).
    const perSecond = (from: number, to: number) => spans.filter((s) => {
      const at = Number(BigInt(s.startNs) / 1_000_000n) - 1_000_000;
      return at >= from * 1000 && at < to * 1000;
    }).length / (to - from);
    expect(perSecond(5, 10)).toBeLessThan(40);
    expect(perSecond(15, 20)).toBeGreaterThan(80);
    expect(perSecond(15, 20)).toBeLessThan(140);
    expect(perSecond(25, 30)).toBeGreaterThan(80);
    expect(perSecond(25, 30)).toBeLessThan(140);
  }, 60_000);

  it('the ratio stays within OTEL_SAMPLING_MIN_RATIO and OTEL_SAMPLING_MAX_RATIO; a ratio of 0 stays off', async () => {
    const c = collector();
    const base = await realRecord();
    const config = telemetryOf({ ...c.vars, OTEL_METRICS_EXPORTER: 'none', OTEL_SAMPLING_TARGET_PER_S: '1', OTEL_SAMPLING_MIN_RATIO: '0.2', OTEL_SAMPLING_MAX_RATIO: '0.5', TELEMETRY_PRIORITY_RATIOS: 'low=0', OTEL_BSP_MAX_QUEUE_SIZE: '100000' });
    let clock = 0;
    const recorder = new SpanRecorder(config, () => null, [], null, undefined, { now: () => clock });
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 3000; i++) {
      clock += 1;
      const p = recorder.record({ ...base, priority: i % 2 === 0 ? 'normal' : 'low' });
      if (p) pending.push(p);
    }
    await Promise.all(pending);
    await recorder.queue.flush();
    const spans = await c.spans();
    expect(spans.every((s) => s.attributes['llm_sla.priority'] === 'normal')).toBe(true);
    const ps = new Set(spans.map((s) => s.attributes['llm_sla.sampling.probability'] as number));
    // Demand far above 1/s: the scale wants ~0.001, the floor holds 0.2; the first call (no estimate yet) is capped at 0.5.
    expect(Math.min(...ps)).toBeCloseTo(0.2, 6);
    expect(Math.max(...ps)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(spans.length - 1500 * 0.2)).toBeLessThan(5 * Math.sqrt(1500 * 0.2 * 0.8));
    expect(() => telemetryOf({ ...c.vars, OTEL_SAMPLING_MIN_RATIO: '0.6', OTEL_SAMPLING_MAX_RATIO: '0.5' })).toThrow(/OTEL_SAMPLING_MIN_RATIO/);
  });

  it('through the gateway: x-sla-priority picks the rate, each span says its probability, /metrics unaffected', async () => {
    const c = collector({ TELEMETRY_PRIORITY_RATIOS: 'high=1,normal=0.5,low=0' });
    const gw = gateway(c.vars);
    for (const priority of ['critical', 'high', 'low']) {
      const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { ...auth, 'x-sla-priority': priority }));
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    await gw.settle();
    const spans = await c.spans();
    expect(spans.map((s) => s.attributes['llm_sla.priority']).sort()).toEqual(['critical', 'high']);
    for (const s of spans) {
      expect(s.attributes['llm_sla.sampling.probability']).toBe(1);
      expect(s.traceState).toContain('ot=th:0');
    }
    expect(recorderOf(gw.env).queue.counts.spans_unsampled).toBe(1);
  });
});

describe('span queue overflow', () => {
  for (const overflow of ['drop_oldest', 'drop_newest'] as const) {
    it(`${overflow}: a full queue keeps the ${overflow === 'drop_oldest' ? 'newest' : 'oldest'} spans, drops counted per reason and shown in /metrics`, async () => {
      // Ten spans fit; the export waits 2 s (schedule delay), so 30 calls overflow it by 20.
      const c = collector({ TELEMETRY_QUEUE_OVERFLOW: overflow, OTEL_BSP_MAX_QUEUE_SIZE: '10', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '100', OTEL_BSP_SCHEDULE_DELAY: '1500', OTEL_METRICS_EXPORTER: 'none' });
      const gw = gateway(c.vars);
      for (let i = 0; i < 30; i++) {
        const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { ...auth, 'x-sla-team': `t${i}` }));
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
      await gw.settle();
      const teams = (await c.spans()).map((s) => Number(String(s.attributes['llm_sla.team']).slice(1))).sort((a, b) => a - b);
      const counts = recorderOf(gw.env).queue.counts;
      if (overflow === 'drop_oldest') {
        expect(teams).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
        expect(counts.spans_dropped_queue_evicted).toBe(20);
        expect(counts.spans_dropped_queue_full).toBe(0);
      } else {
        expect(teams).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(counts.spans_dropped_queue_full).toBe(20);
        expect(counts.spans_dropped_queue_evicted).toBe(0);
      }
      const metrics = await (await gw.fetch(`${GW}/metrics`)).text();
      expect(metrics).toMatch(/llm_sla_telemetry_spans_total\{result="dropped_queue_evicted"\} \d+/);
      const shown = (result: string) => Number(new RegExp(`llm_sla_telemetry_spans_total\\{result="${result}"\\} (\\d+)`).exec(metrics)?.[1]);
      expect(shown(overflow === 'drop_oldest' ? 'dropped_queue_evicted' : 'dropped_queue_full')).toBeGreaterThanOrEqual(20);
    }, 20_000);
  }
});

describe('gzip export', () => {
  async function calls(vars: Record<string, string>, n = 20) {
    const gw = gateway(vars);
    for (let i = 0; i < n; i++) await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, auth))).arrayBuffer();
    await gw.settle();
    return recorderOf(gw.env);
  }

  it('a collector that requires gzip refuses plain exports (counted as failed) and takes OTEL_EXPORTER_OTLP_COMPRESSION=gzip ones', async () => {
    const plain = collector({ OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_METRICS_EXPORTER: 'none' });
    await plain.mode('requireGzip=1');
    const refused = await calls(plain.vars);
    expect(await plain.spans()).toHaveLength(0);
    expect(refused.queue.counts.exports_failed).toBeGreaterThan(0);
    expect(refused.queue.counts.spans_dropped_export_failed + refused.queue.counts.spans_dropped_breaker_open).toBe(20);

    const zipped = collector({ OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_METRICS_EXPORTER: 'none', OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' });
    await zipped.mode('requireGzip=1');
    const sent = await calls(zipped.vars);
    const spans = await zipped.spans();
    expect(spans).toHaveLength(20);
    expect(spans[0]?.attributes['gen_ai.request.model']).toBe('gpt-4o-mini');
    const stats = await zipped.stats();
    expect(stats.gzipped).toBe(stats.requests);
    expect(sent.queue.counts.export_bytes).toBe(stats.bytes);

    // Same spans uncompressed, to a collector that does not insist: gzip sends several times fewer bytes.
    const open = collector({ OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_METRICS_EXPORTER: 'none' });
    await calls(open.vars);
    const openStats = await open.stats();
    expect(openStats.gzipped).toBe(0);
    expect(stats.bytes * 3).toBeLessThan(openStats.bytes);
  });

  it('OTEL_EXPORTER_OTLP_TRACES_COMPRESSION wins over the general setting', async () => {
    const c = collector({ OTEL_EXPORTER_OTLP_COMPRESSION: 'none', OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip', OTEL_METRICS_EXPORTER: 'none' });
    await c.mode('requireGzip=1');
    await calls(c.vars, 3);
    expect(await c.spans()).toHaveLength(3);
    expect(() => telemetryOf({ OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint, OTEL_EXPORTER_OTLP_COMPRESSION: 'brotli' })).toThrow(/OTEL_EXPORTER_OTLP_COMPRESSION/);
  });
});

describe('GenAI client metrics over OTLP', () => {
  const DURATION = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
  const TOKENS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
  const attrs = (p: DataPoint) => Object.fromEntries(p.attributes.map((kv) => [kv.key, kv.value.stringValue ?? kv.value.boolValue ?? Number(kv.value.intValue ?? kv.value.doubleValue)]));

  it('duration, token usage and time to first chunk: units, advisory buckets, required attributes, cumulative', async () => {
    const c = collector({ OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'gzip' });
    const gw = gateway(c.vars);
    const usage = JSON.stringify({ input: 120, output: 30 });
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { ...auth, 'x-mock-usage': usage }))).arrayBuffer();
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ ...chat, stream: true }, { ...auth, 'x-mock-chunks': '4' }))).arrayBuffer();
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { ...auth, 'x-mock-status': '500' }))).arrayBuffer();
    const records = await gw.settle();
    expect(records).toHaveLength(3);
    const recorder = recorderOf(gw.env);
    await recorder.metrics?.flush();
    const exports = await c.metrics();
    // The first call exported at once (the interval had not started), the flush carried all three.
    const last = exports.at(-1) as MetricsExport;
    const rm = last.resourceMetrics[0];
    const resource = Object.fromEntries((rm?.resource.attributes ?? []).map((kv) => [kv.key, kv.value.stringValue]));
    expect(resource['service.name']).toBe('llm-sla-gateway');
    expect(resource['service.instance.id']).toMatch(/^[0-9a-f-]{36}$/);
    const metrics = Object.fromEntries((rm?.scopeMetrics[0]?.metrics ?? []).map((m) => [m.name, m]));
    expect(Object.keys(metrics).sort()).toEqual(['gen_ai.client.operation.duration', 'gen_ai.client.operation.time_to_first_chunk', 'gen_ai.client.token.usage']);
    const duration = metrics['gen_ai.client.operation.duration']!;
    const tokens = metrics['gen_ai.client.token.usage']!;
    const ttfc = metrics['gen_ai.client.operation.time_to_first_chunk']!;
    expect([duration.unit, tokens.unit, ttfc.unit]).toEqual(['s', '{token}', 's']);
    for (const m of [duration, tokens, ttfc]) {
      expect(m.histogram.aggregationTemporality).toBe(2); // CUMULATIVE
      for (const p of m.histogram.dataPoints) {
        expect(p.explicitBounds).toEqual(m === tokens ? TOKENS : DURATION);
        expect(p.bucketCounts).toHaveLength(15);
        expect(p.bucketCounts.reduce((t, n) => t + Number(n), 0)).toBe(Number(p.count));
        expect(BigInt(p.timeUnixNano)).toBeGreaterThanOrEqual(BigInt(p.startTimeUnixNano));
        const a = attrs(p);
        expect(a['gen_ai.operation.name']).toBe('chat');
        expect(a['gen_ai.provider.name']).toBe('openai');
        expect(a['gen_ai.request.model']).toBe('gpt-4o-mini');
        expect(a['server.address']).toBe('127.0.0.1');
      }
    }
    // Duration: the two successes share a series, the failure has its own with error.type.
    const failed = duration.histogram.dataPoints.find((p) => attrs(p)['error.type'] !== undefined);
    expect(attrs(failed!)['error.type']).toBe('500');
    expect(failed!.count).toBe('1');
    const ok = duration.histogram.dataPoints.filter((p) => attrs(p)['error.type'] === undefined);
    expect(ok.reduce((t, p) => t + Number(p.count), 0)).toBe(2);
    const okRecords = records.filter((r) => r.errorType === null);
    expect(ok.reduce((t, p) => t + p.sum, 0)).toBeCloseTo(okRecords.reduce((t, r) => t + r.totalMs / 1000, 0), 6);
    // Tokens: input and output per call with usage; the JSON call's 120 input tokens land in the (64, 256] bucket.
    const input = tokens.histogram.dataPoints.filter((p) => attrs(p)['gen_ai.token.type'] === 'input');
    expect(input.reduce((t, p) => t + p.sum, 0)).toBe(records.reduce((t, r) => t + (r.usage?.input ?? 0), 0));
    expect(input.some((p) => Number(p.bucketCounts[4]) >= 1)).toBe(true); // bucket 4 is (64, 256]
    expect(tokens.histogram.dataPoints.filter((p) => attrs(p)['gen_ai.token.type'] === 'output').length).toBeGreaterThan(0);
    // Time to first chunk: the stream only.
    const stream = records.find((r) => r.stream)!;
    expect(ttfc.histogram.dataPoints.reduce((t, p) => t + Number(p.count), 0)).toBe(1);
    expect(ttfc.histogram.dataPoints[0]?.sum).toBeCloseTo((stream.ttftMs ?? NaN) / 1000, 6);
    // Gzipped on the wire (OTEL_EXPORTER_OTLP_METRICS_COMPRESSION) and counted.
    const stats = await c.stats();
    expect(stats.metricRequests).toBe(exports.length);
    expect(stats.gzipped).toBeGreaterThanOrEqual(exports.length);
    expect(recorder.queue.counts.metric_exports_ok).toBe(exports.length);
  });

  it('at most one export per OTEL_METRIC_EXPORT_INTERVAL, totals only grow, a failed export is carried by the next', async () => {
    const c = collector();
    const base = await realRecord();
    let clock = 0;
    const posts: { ok: boolean; body: MetricsExport }[] = [];
    let fail = false;
    const config = telemetryOf({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${c.endpoint}/v1/metrics`, OTEL_METRIC_EXPORT_INTERVAL: '1000' });
    expect(config.tracesUrl).toBeNull();
    const recorder = new SpanRecorder(config, () => null, [], null, undefined, {
      now: () => clock,
      postMetrics: async (_url, _headers, body) => {
        posts.push({ ok: !fail, body: JSON.parse(new TextDecoder().decode(body)) as MetricsExport });
        return { ok: !fail, bytes: body.byteLength };
      },
    });
    const count = (e: MetricsExport) =>
      e.resourceMetrics[0]!.scopeMetrics[0]!.metrics.find((m) => m.name === 'gen_ai.client.operation.duration')!.histogram.dataPoints.reduce((t, p) => t + Number(p.count), 0);
    for (let i = 0; i < 50; i++) {
      clock += 100; // 50 calls over 5 s
      if (i === 20) fail = true;
      if (i === 31) fail = false;
      await recorder.record(base);
    }
    expect(posts.length).toBeGreaterThanOrEqual(4);
    expect(posts.length).toBeLessThanOrEqual(6);
    const counts = posts.map((p) => count(p.body));
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThan(counts[i - 1]!);
    expect(recorder.queue.counts.metric_exports_failed).toBeGreaterThan(0);
    await recorder.metrics?.flush();
    expect(count(posts.at(-1)!.body)).toBe(50);
    expect(recorder.queue.counts.spans_exported + recorder.queue.counts.spans_unsampled).toBe(0);
    expect((await c.stats()).requests).toBe(0);
  });

  it('new attribute sets beyond the series limit fold into the overflow series, counted', async () => {
    const base = await realRecord();
    const config = telemetryOf({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://127.0.0.1:9/v1/metrics', OTEL_METRIC_EXPORT_INTERVAL: '3600000' });
    let clock = 0;
    const recorder = new SpanRecorder(config, () => null, [], null, undefined, { now: () => clock++, postMetrics: async () => ({ ok: true, bytes: 0 }) });
    for (let i = 0; i < 2010; i++) await recorder.record({ ...base, usage: null, requestModel: `model-${i}` });
    const duration = recorder.metrics!.metrics.duration;
    expect(duration.series.size).toBe(2001);
    const overflow = [...duration.series.values()].find((s) => s.attributes['otel.metric.overflow'] === true);
    expect(overflow?.count).toBe(10);
    expect(recorder.queue.counts.metric_points_overflow).toBe(10);
  });

  it('operations that export the same gen_ai.operation.name share one series (no duplicate attribute sets)', async () => {
    const base = await realRecord();
    const metrics = new GenAiMetrics(0);
    metrics.record({ ...base, operation: 'chat', usage: null });
    metrics.record({ ...base, operation: 'responses', usage: null });
    expect(metrics.duration.series.size).toBe(1);
    expect([...metrics.duration.series.values()][0]?.count).toBe(2);
    expect([...metrics.duration.series.values()][0]?.attributes['gen_ai.operation.name']).toBe('chat');
  });
});
