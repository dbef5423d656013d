import { describe, expect, it } from 'vitest';
import { gateway, GW, jsonPost } from './helpers';
import { auth, chat, collector, recorderOf, telemetryOf } from './telemetry-support';

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
