import { describe, expect, it } from 'vitest';
import { GenAiMetrics } from '../../src/worker/telemetry/metrics';
import { SpanRecorder } from '../../src/worker/telemetry/recorder';
import { gateway, GW, jsonPost } from './helpers';
import { auth, chat, collector, realRecord, recorderOf, telemetryOf, type DataPoint, type MetricsExport } from './telemetry-support';

describe('GenAI client metrics over OTLP', () => {
  const DURATION = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
  const TOKENS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
  const attrs = (p: DataPoint) => Object.fromEntries(p.attributes.map((kv) => [kv.key, kv.value.stringValue ?? kv.value.boolValue ?? Number(kv.value.intValue ?? kv.value.doubleValue)]));

  it('duration, token usage, time to first chunk and per output chunk: units, advisory buckets, required attributes, cumulative', async () => {
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
    expect(Object.keys(metrics).sort()).toEqual([
      'gen_ai.client.operation.duration',
      'gen_ai.client.operation.time_per_output_chunk',
      'gen_ai.client.operation.time_to_first_chunk',
      'gen_ai.client.token.usage',
    ]);
    const duration = metrics['gen_ai.client.operation.duration']!;
    const tokens = metrics['gen_ai.client.token.usage']!;
    const ttfc = metrics['gen_ai.client.operation.time_to_first_chunk']!;
    const perChunk = metrics['gen_ai.client.operation.time_per_output_chunk']!;
    expect([duration.unit, tokens.unit, ttfc.unit, perChunk.unit]).toEqual(['s', '{token}', 's', 's']);
    for (const m of [duration, tokens, ttfc, perChunk]) {
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
    // Time to first chunk: the stream only, its first chunk (not its first content token).
    const stream = records.find((r) => r.stream)!;
    expect(ttfc.histogram.dataPoints.reduce((t, p) => t + Number(p.count), 0)).toBe(1);
    expect(ttfc.histogram.dataPoints[0]?.sum).toBeCloseTo((stream.ttfcMs ?? NaN) / 1000, 6);
    // Per output chunk: each chunk after the first. The stream: a role delta, 4 content deltas, the finish chunk
    // (the usage chunk the gateway asked for is hidden from the client and not a chunk of its stream).
    expect(perChunk.histogram.dataPoints.reduce((t, p) => t + Number(p.count), 0)).toBe(5);
    expect(perChunk.histogram.dataPoints[0]?.sum).toBeCloseTo(stream.chunkGaps?.sumS ?? NaN, 9);
    // OpenAI's refinements: service tier and system fingerprint on the duration and token usage, not the others.
    for (const p of [...duration.histogram.dataPoints, ...tokens.histogram.dataPoints].filter((x) => attrs(x)['error.type'] === undefined)) {
      expect(attrs(p)).toMatchObject({ 'openai.response.service_tier': 'default', 'openai.response.system_fingerprint': 'fp_mock' });
    }
    for (const p of [...ttfc.histogram.dataPoints, ...perChunk.histogram.dataPoints]) expect(Object.keys(attrs(p)).some((k) => k.startsWith('openai.'))).toBe(false);
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
    const recorder = new SpanRecorder(config, () => null, [], undefined, {
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
    const recorder = new SpanRecorder(config, () => null, [], undefined, { now: () => clock++, postMetrics: async () => ({ ok: true, bytes: 0 }) });
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
