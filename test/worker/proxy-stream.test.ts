import { describe, expect, it } from 'vitest';
import { gateway, GW, jsonPost, MOCK, mockId, mockState, only } from './helpers';

const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true };
const message = { model: 'claude-3-5-haiku-latest', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], stream: true };

async function readAll(res: Response): Promise<string> {
  return res.text();
}

describe('streams', () => {
  it.each([
    ['openai', '/openai/v1/chat/completions', chat],
    ['anthropic', '/anthropic/v1/messages', message],
  ])('%s: the client gets the first chunk before the upstream sends the second', async (_name, path, body) => {
    const gw = gateway();
    const id = mockId();
    const res = await gw.fetch(`${GW}${path}`, jsonPost(body, { 'x-mock-id': id, 'x-mock-chunk-delay-ms': '200' }));
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    expect((await mockState(id)).eventsSent).toBe(1);
    while (!(await reader.read()).done) {
      // drain
    }
    expect((await mockState(id)).finished).toBe(true);
    const r = only(await gw.settle());
    // The first content token comes with the second event (the first carries only the role / message_start).
    expect(r.ttfbMs).toBeLessThan(200);
    expect(r.ttftMs).toBeGreaterThanOrEqual(195);
    expect(r.totalMs).toBeGreaterThanOrEqual(r.ttftMs ?? Infinity);
  });

  it.each([1, 3, 7, 64])('usage, TTFT and bytes are the same when events are split every %i bytes', async (split) => {
    for (const [path, body] of [
      ['/openai/v1/chat/completions', chat],
      ['/anthropic/v1/messages', message],
      ['/openai/v1/responses', { model: 'gpt-4.1', input: 'hi', stream: true }],
    ] as const) {
      const gw = gateway();
      const res = await gw.fetch(`${GW}${path}`, jsonPost(body, { 'x-mock-split': String(split) }));
      const direct = await fetch(`${MOCK}${path.replace(/^\/(openai|anthropic)/, '')}`, jsonPost(body));
      expect(await readAll(res)).toBe(await direct.text());
      const r = only(await gw.settle());
      expect(r.usageSource).toBe('provider');
      expect(r.usage?.output).toBe(7);
      expect(r.ttftMs).not.toBeNull();
      expect(r.outcome).toBe('success');
    }
  });

  it('a client that goes away cancels the upstream request and is recorded as aborted', async () => {
    const gw = gateway();
    const id = mockId();
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-mock-id': id, 'x-mock-chunk-delay-ms': '100', 'x-mock-chunks': '20' }));
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    const r = only(await gw.settle());
    expect(r.outcome).toBe('aborted');
    let state = await mockState(id);
    for (let i = 0; i < 50 && !state.aborted; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      state = await mockState(id);
    }
    expect(state).toMatchObject({ aborted: true, finished: false });
  });

  it('an upstream reset mid-stream ends the client stream in error, outcome network_error', async () => {
    const gw = gateway();
    const res = await gw.fetch(`${GW}/anthropic/v1/messages`, jsonPost(message, { 'x-mock-fail': 'reset-mid-stream' }));
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(only(await gw.settle())).toMatchObject({ outcome: 'network_error', status: 200 });
  });

  it('a JSON body cut short of its declared length fails at the client, outcome network_error', async () => {
    const gw = gateway({ TOKEN_ESTIMATE: 'on' });
    for (const path of ['/anthropic/v1/messages', '/openai/v1/chat/completions']) {
      const res = await gw.fetch(`${GW}${path}`, jsonPost(path.startsWith('/anthropic') ? { ...message, stream: false } : { ...chat, stream: false }, { 'x-mock-fail': 'reset-mid-body' }));
      expect(res.status).toBe(200);
      await expect(res.text()).rejects.toThrow();
    }
    const records = await gw.settle();
    // No usage arrived: the labelled js-tiktoken estimate stands in, as for any 200 without usage.
    expect(records.map((r) => [r.outcome, r.status, r.usageSource])).toEqual([
      ['network_error', 200, 'estimated'],
      ['network_error', 200, 'estimated'],
    ]);
  });

  it('a stream that falls silent longer than UPSTREAM_TIMEOUT_MS is cut, outcome timeout', async () => {
    const gw = gateway({ UPSTREAM_TIMEOUT_MS: '150' });
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-mock-chunk-delay-ms': '600' }));
    await expect(res.text()).rejects.toThrow();
    expect(only(await gw.settle())).toMatchObject({ outcome: 'timeout' });
  });

  it('a stream whose chunks each come within UPSTREAM_TIMEOUT_MS is never cut, however long it runs', async () => {
    // One idle timer per stream re-arms itself for the rest of the current wait: 6 gaps of 100 ms under a 150 ms
    // timeout run 600 ms in all and must complete.
    const gw = gateway({ UPSTREAM_TIMEOUT_MS: '150' });
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-mock-chunk-delay-ms': '100', 'x-mock-chunks': '6' }));
    const direct = await fetch(`${MOCK}/v1/chat/completions`, jsonPost(chat, { 'x-mock-chunks': '6' }));
    expect(await res.text()).toBe(await direct.text());
    const r = only(await gw.settle());
    expect(r).toMatchObject({ outcome: 'success' });
    expect(r.totalMs).toBeGreaterThanOrEqual(500);
  });

  it('malformed SSE passes through unchanged and yields no usage', async () => {
    const gw = gateway();
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-mock-fail': 'malformed' }));
    const direct = await fetch(`${MOCK}/v1/chat/completions`, jsonPost(chat, { 'x-mock-fail': 'malformed' }));
    expect(await res.text()).toBe(await direct.text());
    expect(only(await gw.settle())).toMatchObject({ usage: null, usageSource: 'none' });
  });
});
