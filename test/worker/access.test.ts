import { describe, expect, it } from 'vitest';
import { decodeBase64, gateway, GW, jsonPost, MOCK, mockId, mockRequests, only } from './helpers';

const KEY = 'gk-team-search-0123456789';
const KEYS = JSON.stringify({ [KEY]: 'search', 'gk-other-team-abcdefghij': 'ads' });
const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };
const message = { model: 'claude-3-haiku', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] };

function post(body: unknown, headers: Record<string, string>): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

describe('gateway keys', () => {
  it('refuses a missing or wrong key with 401 in the provider shape, without contacting the upstream', async () => {
    const gw = gateway({ GATEWAY_KEYS: KEYS });
    const id = mockId();
    const missing = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-mock-id': id }));
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: { code: 'unauthorized', message: 'Missing x-gateway-key header.' } });
    const wrong = await gw.fetch(`${GW}/anthropic/v1/messages`, jsonPost(message, { 'x-mock-id': id, 'x-gateway-key': `${KEY}x` }));
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'Invalid gateway key.' }, request_id: expect.stringMatching(/^req_[0-9a-f]{24}$/) });
    expect(await mockRequests(id)).toHaveLength(0);
    expect(await gw.settle()).toHaveLength(0);
  });

  it('lets a valid key through, records its team, and does not forward the key', async () => {
    const gw = gateway({ GATEWAY_KEYS: KEYS });
    const id = mockId();
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-mock-id': id, 'x-gateway-key': KEY, 'x-sla-team': 'spoofed' }));
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const [seen] = await mockRequests(id);
    expect(seen?.headers).not.toHaveProperty('x-gateway-key');
    expect(JSON.stringify(only(await gw.settle()))).not.toContain(KEY);
    expect(gw.recorder.records[0]?.team).toBe('search');
  });

  it('one team identity: a key mapped to "" names no team, and its holder cannot pick one with x-sla-team', async () => {
    const NO_TEAM = 'gk-no-team-key-0123456789';
    // A block budget for "search" that its first priced call spends: were the header believed, the second call
    // would be refused and "search" charged for calls it never made.
    const gw = gateway({ GATEWAY_KEYS: JSON.stringify({ [KEY]: 'search', [NO_TEAM]: '' }), BUDGETS: JSON.stringify({ search: { daily_usd: 0.0000001 } }) });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-gateway-key': NO_TEAM, 'x-sla-team': 'search' }));
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200]);
    const records = await gw.settle();
    expect(records.map((r) => r.team)).toEqual([null, null, null]);
    const report = (await (await gw.fetch(`${GW}/budgets`)).json()) as { teams: Record<string, { day: { calls: number } }> };
    expect(report.teams['search']?.day.calls ?? 0).toBe(0);
  });

  it('adds the managed provider key when an authenticated client sends none, and keeps a client key', async () => {
    const gw = gateway({ GATEWAY_KEYS: KEYS, OPENAI_API_KEY: 'sk-managed-openai', ANTHROPIC_API_KEY: 'sk-ant-managed' });
    const a = mockId();
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, post(chat, { 'x-mock-id': a, 'x-gateway-key': KEY }))).arrayBuffer();
    expect((await mockRequests(a))[0]?.headers['authorization']).toBe('Bearer sk-managed-openai');
    const b = mockId();
    await (await gw.fetch(`${GW}/anthropic/v1/messages`, post(message, { 'x-mock-id': b, 'x-gateway-key': KEY }))).arrayBuffer();
    expect((await mockRequests(b))[0]?.headers['x-api-key']).toBe('sk-ant-managed');
    const c = mockId();
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, post(chat, { 'x-mock-id': c, 'x-gateway-key': KEY, authorization: 'Bearer sk-own' }))).arrayBuffer();
    expect((await mockRequests(c))[0]?.headers['authorization']).toBe('Bearer sk-own');
    const records = JSON.stringify(await gw.settle());
    for (const secret of ['sk-managed-openai', 'sk-ant-managed', 'sk-own', KEY]) expect(records).not.toContain(secret);
  });

  it('refuses to lend provider keys without gateway keys, and never prints a key in a config error', async () => {
    const lend = gateway({ OPENAI_API_KEY: 'sk-managed-openai' });
    const res = await lend.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat));
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).toContain('OPENAI_API_KEY set without GATEWAY_KEYS');
    expect(text).not.toContain('sk-managed-openai');
    const short = gateway({ GATEWAY_KEYS: JSON.stringify({ 'short-key': 'x' }) });
    const bad = await (await short.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat))).text();
    expect(bad).toContain('key #1 is shorter than 16 characters');
    expect(bad).not.toContain('short-key');
  });
});

describe('no open relay', () => {
  // groq's base URL has a path prefix (/openai): nothing may reach the mock outside it, nor any other host.
  const hostile = [
    '/groq/..%2f..%2fv1/models',
    '/groq/%2e%2e/%2e%2e/v1/models',
    '/groq/%2E%2E%2Fv1/models',
    '/groq/v1/..%5c..%5cmodels',
    '/groq/v1\\..\\..\\models',
    '/groq//127.0.0.2/v1/models',
    '/groq/@127.0.0.2/v1/models',
    '/groq/http://127.0.0.2/v1/models',
    '/groq/v1/models?x=@127.0.0.2',
    '/groq/%2F%2F127.0.0.2/v1/models',
    '/groq/v1/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
  ];

  it.each(hostile)('%s stays inside the provider base URL or is refused', async (path) => {
    const gw = gateway();
    const id = mockId();
    const res = await gw.fetch(`${GW}${path}`, { headers: { 'x-mock-id': id, host: 'evil.example' } });
    expect(res.status).not.toBe(502);
    await res.arrayBuffer();
    for (const seen of await mockRequests(id)) expect(seen.path.startsWith('/openai/')).toBe(true);
    if (res.status === 400) expect(res.headers.get('x-gateway-error')).toBe('invalid_request');
  });

  it('sends the upstream its own Host whatever Host the client forged', async () => {
    const gw = gateway();
    const id = mockId();
    await (await gw.fetch(`${GW}/openai/v1/models`, { headers: { 'x-mock-id': id, host: 'evil.example' } })).arrayBuffer();
    expect((await mockRequests(id))[0]?.headers['host']).toBe(new URL(MOCK).host);
  });

  it('forwards the body bytes exactly, whatever they are', async () => {
    const gw = gateway();
    const id = mockId();
    const raw = '{"model":"gpt-4o",  "messages":[{"role":"user","content":"é\\u00e9 \\ud83d\\ude00"}] }';
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, { method: 'POST', body: raw, headers: { 'x-mock-id': id } })).arrayBuffer();
    expect(decodeBase64((await mockRequests(id))[0]?.bodyBase64 ?? '')).toBe(raw);
  });
});
