import { describe, expect, it } from 'vitest';
import { gatewayMs } from '../../src/worker/proxy/server-timing';
import { gateway, GW, jsonPost, metricValue, only, scrape } from './helpers';

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

/** `gateway;dur=1.5, upstream;dur=150` -> { gateway: 1.5, upstream: 150 }. */
function timings(header: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (header ?? '').split(',')) {
    const m = /^\s*([\w-]+);dur=([\d.]+)\s*$/.exec(part);
    if (m) out[m[1] as string] = Number(m[2]);
  }
  return out;
}

describe('Server-Timing and the gateway overhead', () => {
  it('tells the upstream wait and the gateway time on JSON, large and streamed responses, as the record does', async () => {
    const gw = gateway();
    const cases: [string, Record<string, string>, unknown][] = [
      ['json', { 'x-mock-latency-ms': '120' }, chat],
      ['stream', { 'x-mock-latency-ms': '80', 'x-mock-chunks': '3' }, { ...chat, stream: true }],
      ['embeddings', { 'x-mock-latency-ms': '60', 'x-mock-embedding-dims': '20000' }, { model: 'text-embedding-3-small', input: 'hi' }],
    ];
    for (const [kind, headers, body] of cases) {
      const path = kind === 'embeddings' ? 'embeddings' : 'chat/completions';
      const res = await gw.fetch(`${GW}/openai/v1/${path}`, jsonPost(body, { 'x-sla-route': `st.${kind}`, ...headers }));
      await res.arrayBuffer();
      const t = timings(res.headers.get('server-timing'));
      expect(Object.keys(t).sort(), kind).toEqual(['gateway', 'upstream']);
      expect(t['upstream'], kind).toBeGreaterThanOrEqual(Number(headers['x-mock-latency-ms']) - 5);
      expect(t['gateway'], kind).toBeGreaterThanOrEqual(0);
      expect(t['gateway'], kind).toBeLessThan(t['upstream'] as number);
      const record = only((await gw.settle()).filter((r) => r.route === `st.${kind}`));
      expect(record.gatewayMs, kind).toBeCloseTo(t['gateway'] as number, 1);
      // The two parts add up to the time until the headers went back, which is within the call's total.
      expect((t['gateway'] as number) + (t['upstream'] as number)).toBeLessThanOrEqual(record.totalMs + 1);
    }
  });

  it('keeps an upstream Server-Timing header and adds its own; gateway errors carry none', async () => {
    const gw = gateway({ UPSTREAM_TIMEOUT_MS: '50' });
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-mock-server-timing': 'db;dur=3' }));
    await res.arrayBuffer();
    const header = res.headers.get('server-timing') ?? '';
    expect(header).toMatch(/^db;dur=3, gateway;dur=[\d.]+, upstream;dur=[\d.]+$/);
    const timeout = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-mock-latency-ms': '300' }));
    expect(timeout.status).toBe(504);
    expect(timeout.headers.get('server-timing')).toBeNull();
    await gw.settle();
  });

  it('computes the overhead as total time minus the upstream wait, null before a response', () => {
    expect(gatewayMs(1000, { fetchAt: 1002, upstreamDoneAt: 1150, respondedAt: 1151 })).toBe(3);
    expect(gatewayMs(1000, { fetchAt: 1002, upstreamDoneAt: null, respondedAt: null })).toBeNull();
  });

  it('exposes llm_sla_gateway_overhead_seconds per route in /metrics, one observation per proxied call', async () => {
    const gw = gateway({}, { durable: true });
    for (let i = 0; i < 4; i++) (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': 'st.metrics' }))).arrayBuffer();
    const records = (await gw.settle()).filter((r) => r.route === 'st.metrics');
    const { text } = await scrape(gw);
    expect(text).toContain('# TYPE llm_sla_gateway_overhead_seconds histogram');
    expect(metricValue(text, 'llm_sla_gateway_overhead_seconds_count{route="st.metrics"}')).toBe(4);
    const sum = records.reduce((t, r) => t + (r.gatewayMs ?? 0), 0) / 1000;
    expect(metricValue(text, 'llm_sla_gateway_overhead_seconds_sum{route="st.metrics"}')).toBeCloseTo(sum, 6);
    expect(metricValue(text, 'llm_sla_gateway_overhead_seconds_bucket{route="st.metrics",le="+Inf"}')).toBe(4);
  });
});
