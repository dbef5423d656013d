import { describe, expect, it } from 'vitest';
import { isolateCounts } from '../../src/worker/counts';
import { gateway, GW, jsonPost, metricValue } from './helpers';

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

describe('an invalid x-sla-route', () => {
  it('never breaks the call: forwarded, recorded under the default route key, a warning header and a counted warning', async () => {
    const gw = gateway({}, { durable: true });
    const before = isolateCounts.totals().gateway_warning_invalid_route_header ?? 0;
    for (const path of ['/anthropic/v1/messages', '/openai/v1/chat/completions']) {
      const body = path.includes('anthropic') ? { model: 'claude-haiku-4-5', max_tokens: 10, messages: chat.messages } : chat;
      const res = await gw.fetch(`${GW}${path}`, jsonPost(body, { 'x-sla-route': 'bad route!' }));
      expect(res.status).toBe(200);
      expect(res.headers.get('x-sla-warning')).toMatch(/^x-sla-route ignored: .*default route key/);
      await res.arrayBuffer();
    }
    const ok = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': 'nu.good' }));
    expect(ok.headers.get('x-sla-warning')).toBeNull();
    await ok.arrayBuffer();
    expect((await gw.settle()).map((r) => r.route)).toEqual(['anthropic/messages', 'openai/chat', 'nu.good']);
    expect(isolateCounts.totals().gateway_warning_invalid_route_header).toBe(before + 2);
    const text = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(metricValue(text, 'llm_sla_warnings_total{warning="invalid_route_header"}')).toBe(before + 2);
  });
});
