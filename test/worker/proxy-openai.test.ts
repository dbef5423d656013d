import { describe, expect, it } from 'vitest';
import { bytesOf, decodeBase64, gateway, GW, jsonPost, MOCK, mockId, mockRequests, only } from './helpers';

const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Say hello' }],
  temperature: 0.2,
  max_tokens: 50,
  ...extra,
});

/** The same request sent straight to the mock: what the client would have got without the gateway. */
async function direct(path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(`${MOCK}${path}`, jsonPost(body, headers));
}

describe('OpenAI passthrough', () => {
  it('returns a JSON chat completion byte for byte and records usage, cost and models', async () => {
    const gw = gateway();
    const id = mockId();
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions?trace=1`, jsonPost(chat(), { 'x-mock-id': id }));
    const expected = await direct('/v1/chat/completions', chat(), { 'x-mock-id': 'direct' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(expected.headers.get('content-type'));
    expect(await bytesOf(res)).toEqual(await bytesOf(expected));

    const [seen] = await mockRequests(id);
    expect(seen?.path).toBe('/v1/chat/completions');
    expect(seen?.query).toBe('?trace=1');
    expect(decodeBase64(seen?.bodyBase64 ?? '')).toBe(JSON.stringify(chat()));

    const r = only(await gw.settle());
    expect(r).toMatchObject({
      route: 'openai/chat',
      provider: 'openai',
      operation: 'chat',
      requestModel: 'gpt-4o-mini',
      responseModel: 'gpt-4o-mini',
      stream: false,
      status: 200,
      outcome: 'success',
      errorType: null,
      ttftMs: null,
      usageSource: 'provider',
      usage: { input: 11, output: 7, cacheRead: 3, cacheCreation: 0, reasoning: 2 },
      responseId: 'chatcmpl-mock',
      finishReasons: ['stop'],
      request: { maxTokens: 50, temperature: 0.2, topP: null },
      server: { address: '127.0.0.1' },
    });
    // gpt-4o-mini: $0.15 input, $0.075 cached input, $0.60 output per 1M tokens.
    expect(r.costUsd).toBeCloseTo((8 * 0.15 + 3 * 0.075 + 7 * 0.6) / 1e6, 12);
    expect(r.totalMs).toBeGreaterThanOrEqual(r.ttfbMs ?? 0);
  });

  it('asks a stream for usage, then hides the extra chunk so the client gets the bytes it would have got', async () => {
    const gw = gateway();
    const id = mockId();
    const body = chat({ stream: true });
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(body, { 'x-mock-id': id }));
    const expected = await direct('/v1/chat/completions', body, { 'x-mock-id': 'direct' });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const got = new TextDecoder().decode(await bytesOf(res));
    expect(got).toBe(await expected.text());
    expect(got).not.toContain('"usage"');

    const [seen] = await mockRequests(id);
    const sent = decodeBase64(seen?.bodyBase64 ?? '');
    expect(sent).toBe(`{"stream_options":{"include_usage":true},${JSON.stringify(body).slice(1)}`);

    const r = only(await gw.settle());
    expect(r).toMatchObject({ stream: true, outcome: 'success', usageSource: 'provider', usage: { input: 11, output: 7 } });
    expect(r.ttftMs).not.toBeNull();
  });

  it('leaves a stream alone when the client asked for usage itself', async () => {
    const gw = gateway();
    const body = chat({ stream: true, stream_options: { include_usage: true } });
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(body));
    const expected = await direct('/v1/chat/completions', body, {});
    const got = await res.text();
    expect(got).toBe(await expected.text());
    expect(got).toContain('"choices":[]');
    expect(only(await gw.settle()).usage).toMatchObject({ input: 11, output: 7 });
  });

  it('does not inject usage when INJECT_STREAM_USAGE is off, and then records no provider usage', async () => {
    const gw = gateway({ INJECT_STREAM_USAGE: 'off', TOKEN_ESTIMATE: 'off' });
    const id = mockId();
    const body = chat({ stream: true });
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(body, { 'x-mock-id': id }));
    await res.text();
    const [seen] = await mockRequests(id);
    expect(decodeBase64(seen?.bodyBase64 ?? '')).toBe(JSON.stringify(body));
    expect(only(await gw.settle())).toMatchObject({ usage: null, usageSource: 'none', costUsd: null });
  });

  it.each([
    ['text_completion', '/v1/completions', { model: 'gpt-3.5-turbo-instruct', prompt: 'Say hello' }],
    ['embeddings', '/v1/embeddings', { model: 'text-embedding-3-small', input: ['a', 'b'] }],
    ['responses', '/v1/responses', { model: 'gpt-4.1', input: 'Say hello' }],
  ])('passes %s through (JSON and stream) and reads its usage', async (operation, path, body) => {
    for (const stream of operation === 'embeddings' ? [false] : [false, true]) {
      const gw = gateway();
      const req = stream ? { ...body, stream: true } : body;
      const res = await gw.fetch(`${GW}/openai${path}`, jsonPost(req));
      const expected = await direct(path, req, {});
      expect(await res.text()).toBe(await expected.text());
      const r = only(await gw.settle());
      expect(r).toMatchObject({ operation, route: `openai/${operation}`, stream, outcome: 'success', usageSource: 'provider' });
      expect(r.usage?.input).toBe(11);
      expect(r.usage?.output).toBe(operation === 'embeddings' ? 0 : 7);
      expect(r.costUsd).toBeGreaterThan(0);
      if (operation === 'responses') expect(r.usage).toMatchObject({ cacheRead: 3, reasoning: 2 });
      if (stream) expect(r.ttftMs).not.toBeNull();
    }
  });

  it('reads usage from the end of a JSON body too large to keep whole', async () => {
    const gw = gateway();
    const body = { model: 'text-embedding-3-large', input: ['x', 'y', 'z'] };
    const res = await gw.fetch(`${GW}/openai/v1/embeddings`, jsonPost(body, { 'x-mock-embedding-dims': '40000' }));
    const size = (await bytesOf(res)).byteLength;
    expect(size).toBeGreaterThan(2 * 1024 * 1024);
    expect(only(await gw.settle())).toMatchObject({
      responseModel: 'text-embedding-3-large',
      usage: { input: 11, output: 0 },
      usageSource: 'provider',
    });
  });

  it('forwards OpenAI-compatible providers to their base URL path', async () => {
    const gw = gateway();
    const id = mockId();
    const res = await gw.fetch(`${GW}/groq/v1/chat/completions`, jsonPost(chat({ model: 'llama-3.3-70b-versatile' }), { 'x-mock-id': id }));
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const [seen] = await mockRequests(id);
    expect(seen?.path).toBe('/openai/v1/chat/completions');
    const r = only(await gw.settle());
    expect(r.route).toBe('groq/chat');
    expect(r.costUsd).toBeCloseTo((11 * 0.59 + 7 * 0.79) / 1e6, 12);
  });

  it("forwards the path a provider's own SDK sends (the base URL's path included) without doubling it", async () => {
    const gw = gateway();
    const id = mockId();
    // groq-sdk given <gateway>/groq sends /openai/v1/...: Groq's API is at https://api.groq.com/openai/v1/...
    const res = await gw.fetch(`${GW}/groq/openai/v1/chat/completions`, jsonPost(chat({ model: 'llama-3.3-70b-versatile' }), { 'x-mock-id': id }));
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect((await mockRequests(id)).map((r) => r.path)).toEqual(['/openai/v1/chat/completions']);
    expect(only(await gw.settle())).toMatchObject({ route: 'groq/chat', operation: 'chat' });
  });
});
