import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { gateway, GW } from './helpers';

describe('official SDKs inside workerd, base URL pointed at the gateway', () => {
  it('openai: chat completion, streamed chat with usage, embeddings', async () => {
    const gw = gateway();
    const client = new OpenAI({ baseURL: `${GW}/openai/v1`, apiKey: 'sk-test-key', fetch: gw.fetch, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]?.message.content).toBe('Hello from the mock upstream!');
    expect(completion.usage?.prompt_tokens).toBe(11);

    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      expect(chunk.usage).toBeUndefined();
    }
    expect(text).toBe('Hello from the mock upstream!');
    expect(chunks).toBeGreaterThan(2);

    const emb = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' });
    expect(emb.data).toHaveLength(1);

    const records = await gw.settle();
    expect(records.map((r) => [r.operation, r.stream, r.usageSource])).toEqual([
      ['chat', false, 'provider'],
      ['chat', true, 'provider'],
      ['embeddings', false, 'provider'],
    ]);
  });

  it('openai: errors surface as the SDK error classes', async () => {
    const gw = gateway();
    const client = new OpenAI({ baseURL: `${GW}/openai/v1`, apiKey: 'sk-test-key', fetch: gw.fetch, maxRetries: 0 });
    const call = client.chat.completions.create(
      { model: 'gpt-4o', messages: [] },
      { headers: { 'x-mock-status': '429' } },
    );
    await expect(call).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    const missing = new OpenAI({ baseURL: `${GW}/nope/v1`, apiKey: 'k', fetch: gw.fetch, maxRetries: 0 });
    await expect(missing.models.list()).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('anthropic: message and streamed message', async () => {
    const gw = gateway();
    const client = new Anthropic({ baseURL: `${GW}/anthropic`, apiKey: 'sk-ant-test', fetch: gw.fetch, maxRetries: 0 });
    const msg = await client.messages.create({
      model: 'claude-sonnet-4-20250514',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'Hello from the mock upstream!' });
    expect(msg.usage.input_tokens).toBe(11);

    const stream = client.messages.stream({
      model: 'claude-sonnet-4-20250514',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'Hello from the mock upstream!' });
    expect(final.usage.output_tokens).toBe(7);

    const records = await gw.settle();
    expect(records.map((r) => [r.route, r.stream, r.usage?.input])).toEqual([
      ['anthropic/messages', false, 20],
      ['anthropic/messages', true, 20],
    ]);
  });
});
