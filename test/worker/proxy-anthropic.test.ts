import { describe, expect, it } from 'vitest';
import { bytesOf, gateway, GW, jsonPost, MOCK, mockId, mockRequests, only } from './helpers';

const message = (extra: Record<string, unknown> = {}) => ({
  model: 'claude-sonnet-4-20250514',
  max_tokens: 256,
  system: 'Be brief.',
  messages: [{ role: 'user', content: 'Say hello' }],
  ...extra,
});
const headers = { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' };

describe('Anthropic passthrough', () => {
  it('returns a JSON message byte for byte; cache tokens count as input', async () => {
    const gw = gateway();
    const id = mockId();
    const res = await gw.fetch(`${GW}/anthropic/v1/messages`, jsonPost(message(), { ...headers, 'x-mock-id': id }));
    const expected = await fetch(`${MOCK}/v1/messages`, jsonPost(message(), headers));
    expect(res.status).toBe(200);
    expect(res.headers.get('request-id')).toBe('req_mock');
    expect(await bytesOf(res)).toEqual(await bytesOf(expected));
    const [seen] = await mockRequests(id);
    expect(seen?.headers['x-api-key']).toBe('sk-ant-test');
    expect(seen?.headers['anthropic-version']).toBe('2023-06-01');

    const r = only(await gw.settle());
    expect(r).toMatchObject({
      route: 'anthropic/messages',
      format: 'anthropic',
      requestModel: 'claude-sonnet-4-20250514',
      responseModel: 'claude-sonnet-4-20250514',
      outcome: 'success',
      usage: { input: 11 + 4 + 5, output: 7, cacheRead: 5, cacheCreation: 4, reasoning: 0 },
      usageSource: 'provider',
      finishReasons: ['end_turn'],
      responseId: 'msg_mock',
    });
    // claude-sonnet-4: $3 input, $0.30 cache read, $3.75 cache write, $15 output per 1M tokens.
    expect(r.costUsd).toBeCloseTo((11 * 3 + 5 * 0.3 + 4 * 3.75 + 7 * 15) / 1e6, 12);
  });

  it('streams a message unchanged; usage from message_start and message_delta, TTFT at the first delta', async () => {
    const gw = gateway();
    const body = message({ stream: true });
    const res = await gw.fetch(`${GW}/anthropic/v1/messages`, jsonPost(body, { ...headers, 'x-mock-usage': '{"output":42}' }));
    const expected = await fetch(`${MOCK}/v1/messages`, jsonPost(body, { ...headers, 'x-mock-usage': '{"output":42}' }));
    expect(await res.text()).toBe(await expected.text());
    const r = only(await gw.settle());
    expect(r).toMatchObject({ stream: true, usage: { input: 20, output: 42 }, finishReasons: ['end_turn'] });
    expect(r.ttftMs).not.toBeNull();
  });

  it('records tool-use streams and count_tokens', async () => {
    const gw = gateway();
    const res = await gw.fetch(`${GW}/anthropic/v1/messages`, jsonPost(message({ stream: true }), { ...headers, 'x-mock-tool-call': '1' }));
    expect(await res.text()).toContain('input_json_delta');
    const count = await gw.fetch(`${GW}/anthropic/v1/messages/count_tokens`, jsonPost(message(), headers));
    expect(await count.json()).toHaveProperty('input_tokens');
    const [tool, counted] = await gw.settle();
    expect(tool).toMatchObject({ finishReasons: ['tool_use'], outcome: 'success' });
    expect(tool?.ttftMs).not.toBeNull();
    expect(counted).toMatchObject({ operation: 'count_tokens', route: 'anthropic/count_tokens', usageSource: 'none', costUsd: null });
  });

  it('passes Anthropic errors through and classifies them', async () => {
    const gw = gateway();
    for (const status of [400, 401, 429, 500, 529]) {
      const res = await gw.fetch(`${GW}/anthropic/v1/messages`, jsonPost(message(), { ...headers, 'x-mock-status': String(status) }));
      expect(res.status).toBe(status);
      const body = (await res.json()) as { type: string };
      expect(body.type).toBe('error');
      if (status === 429) expect(res.headers.get('retry-after')).toBe('2');
    }
    const outcomes = (await gw.settle()).map((r) => [r.status, r.outcome, r.errorType]);
    expect(outcomes).toEqual([
      [400, 'client_error', '400'],
      [401, 'client_error', '401'],
      [429, 'rate_limited', '429'],
      [500, 'upstream_error', '500'],
      [529, 'upstream_error', '529'],
    ]);
  });

  it('answers gateway-made errors in the Anthropic shape', async () => {
    const gw = gateway({ UPSTREAM_ANTHROPIC: 'http://127.0.0.1:9' });
    const id = mockId();
    const res = await gw.fetch(`${GW}/anthropic/v1/messages`, jsonPost(message(), { ...headers, 'x-mock-id': id }));
    expect(res.status).toBe(502);
    expect(res.headers.get('x-gateway-error')).toBe('upstream_unreachable');
    expect(await res.json()).toEqual({ type: 'error', error: { type: 'api_error', message: 'Could not reach anthropic.' }, request_id: expect.stringMatching(/^req_[0-9a-f]{24}$/) });
    expect(only(await gw.settle())).toMatchObject({ status: 0, outcome: 'network_error', usage: null });
  });
});
