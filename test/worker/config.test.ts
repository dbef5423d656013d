import { describe, expect, it } from 'vitest';
import { gateway, GW, jsonPost, MOCK, mockId, mockRequests, only } from './helpers';

const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };

describe('configuration', () => {
  it('adds providers from PROVIDERS and overrides base URLs with UPSTREAM_<NAME>', async () => {
    const gw = gateway({
      PROVIDERS: JSON.stringify({ local: { baseUrl: 'https://example.invalid/api', format: 'anthropic' } }),
      UPSTREAM_LOCAL: `${MOCK}/prefix`,
    });
    const id = mockId();
    const res = await gw.fetch(`${GW}/local/v1/messages`, jsonPost({ model: 'claude-3-haiku', max_tokens: 5, messages: [] }, { 'x-mock-id': id }));
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect((await mockRequests(id))[0]?.path).toBe('/prefix/v1/messages');
    expect(only(await gw.settle())).toMatchObject({ provider: 'local', format: 'anthropic', route: 'local/messages' });
  });

  it('rejects invalid configuration with a clear error listing every problem', async () => {
    const gw = gateway({
      PROVIDERS: JSON.stringify({ 'Bad Name': { baseUrl: 'ftp://x', format: 'soap' } }),
      UPSTREAM_TIMEOUT_MS: 'soon',
      UPSTREAM_NOWHERE: 'http://127.0.0.1:1',
      ALERT_INTERVAL_MS: '5',
    });
    const res = await gw.fetch(`${GW}/anthropic/v1/messages`, jsonPost(chat));
    expect(res.status).toBe(500);
    const body = (await res.json()) as { type: string; error: { message: string } };
    expect(body.type).toBe('error');
    for (const part of ['PROVIDERS', 'UPSTREAM_TIMEOUT_MS', 'UPSTREAM_NOWHERE', 'must be http or https', 'ALERT_INTERVAL_MS']) {
      expect(body.error.message).toContain(part);
    }
    const health = await gw.fetch(`${GW}/healthz`);
    expect(health.status).toBe(500);
  });

  it('rejects PROVIDERS that is not JSON', async () => {
    const gw = gateway({ PROVIDERS: '{not json' });
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat));
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/PROVIDERS.*invalid JSON/);
  });
});
