import { describe, expect, it } from 'vitest';
import { gateway, GW, jsonPost, metricValue, scrape } from './helpers';

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
// Thresholds well above a loaded machine's cold first call, so only the calls made slow on purpose are slow.
const SLO = { objective: 0.99, latency_ms: 1000, ttft_ms: 400 };
const SLA = { routes: { 'rm.slo': { slo: SLO }, 'rm.buckets': { slo: SLO } } };

describe('/metrics for SLO tooling: judged calls per route and histograms on the SLO thresholds', () => {
  it('counts llm_sla_slo_calls_total{route,good} from 0, as the SLO judge judged the calls', async () => {
    const gw = gateway({}, { durable: true, sla: SLA });
    // Configured by name: both series are there, at 0, before the route's first call.
    const before = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(before).toContain('# TYPE llm_sla_slo_calls_total counter');
    expect(metricValue(before, 'llm_sla_slo_calls_total{route="rm.slo",good="true"}')).toBe(0);
    expect(metricValue(before, 'llm_sla_slo_calls_total{route="rm.slo",good="false"}')).toBe(0);

    const call = async (route: string, headers: Record<string, string> = {}, body: unknown = chat) =>
      (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(body, { 'x-sla-route': route, ...headers }))).arrayBuffer();
    for (let i = 0; i < 3; i++) await call('rm.slo');
    await call('rm.slo', { 'x-mock-latency-ms': '1200' }); // too slow: bad
    await call('rm.slo', { 'x-mock-status': '500' }); // failed: bad
    await call('rm.slo', { 'x-mock-status': '400' }); // client error: not judged
    await call('rm.plain'); // no SLO: no series
    await gw.settle();

    const text = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(metricValue(text, 'llm_sla_slo_calls_total{route="rm.slo",good="true"}')).toBe(3);
    expect(metricValue(text, 'llm_sla_slo_calls_total{route="rm.slo",good="false"}')).toBe(2);
    expect(text).not.toContain('llm_sla_slo_calls_total{route="rm.plain"');
    // The same calls as /sla judged them.
    const sla = (await (await gw.fetch(`${GW}/sla`)).json()) as { routes: Record<string, { error_budget: { good: number; bad: number } | null }> };
    expect(sla.routes['rm.slo']?.error_budget).toMatchObject({ good: 3, bad: 2 });
  });

  it('puts each SLO threshold among the histogram buckets, so _bucket{le=threshold} / _count is the fast fraction', async () => {
    const gw = gateway({}, { durable: true, sla: SLA });
    const post = async (headers: Record<string, string>, body: unknown) =>
      (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(body, { 'x-sla-route': 'rm.buckets', ...headers }))).arrayBuffer();
    for (let i = 0; i < 4; i++) await post({}, chat);
    await post({ 'x-mock-latency-ms': '1200' }, chat);
    await post({ 'x-mock-latency-ms': '600', 'x-mock-chunks': '2' }, { ...chat, stream: true }); // first token after 600 ms, past 400
    await gw.settle();
    const { text } = await scrape(gw);
    const d = (le: string) => metricValue(text, `llm_sla_request_duration_seconds_bucket{route="rm.buckets",le="${le}"}`);
    expect(d('1')).toBe(5);
    expect(metricValue(text, 'llm_sla_request_duration_seconds_count{route="rm.buckets"}')).toBe(6);
    // Cumulative buckets stay ordered around the inserted bound.
    expect(d('0.64') as number).toBeLessThanOrEqual(d('1') as number);
    expect(d('1') as number).toBeLessThanOrEqual(d('1.28') as number);
    const t = (le: string) => metricValue(text, `llm_sla_time_to_first_token_seconds_bucket{route="rm.buckets",le="${le}"}`);
    expect(t('0.4')).toBe(0);
    expect(t('+Inf')).toBe(1);
    // A route without an SLO keeps the GenAI boundaries only.
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': 'rm.other' }))).arrayBuffer();
    await gw.settle();
    const { text: other } = await scrape(gw);
    expect(other).toContain('llm_sla_request_duration_seconds_bucket{route="rm.other",le="1.28"}');
    expect(other).not.toContain('llm_sla_request_duration_seconds_bucket{route="rm.other",le="1"}');
  });
});
