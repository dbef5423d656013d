import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { gateway, GW, jsonPost } from './helpers';

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

describe('common base-URL mistakes', () => {
  const message = async (res: Response) => {
    const body = (await res.json()) as { error: { message: string } };
    return body.error.message;
  };

  it('answers a path without /v1 with the base URL to use, in the provider shape, contacting nothing', async () => {
    const gw = gateway();
    const openai = await gw.fetch(`${GW}/openai/chat/completions`, jsonPost(chat));
    expect(openai.status).toBe(404);
    expect(await message(openai)).toContain('use base URL http://gateway.test/openai/v1');
    const groq = await gw.fetch(`${GW}/groq/models`);
    expect(await message(groq)).toContain('use base URL http://gateway.test/groq/v1');
    // The Vercel AI SDK's Anthropic provider given the Anthropic SDK's base URL posts /anthropic/messages.
    const anthropic = await gw.fetch(`${GW}/anthropic/messages`, jsonPost({ model: 'claude-haiku-4-5', max_tokens: 5, messages: chat.messages }));
    expect(anthropic.status).toBe(404);
    const body = (await anthropic.json()) as { type: string; error: { message: string } };
    expect(body.type).toBe('error');
    expect(body.error.message).toContain('http://gateway.test/anthropic/v1 for the Vercel AI SDK');
    expect(await gw.settle()).toHaveLength(0);
  });

  it('answers the gateway root or /v1 alone as base URL with the base URL to use, not "Unknown provider"', async () => {
    const gw = gateway();
    for (const path of ['/chat/completions', '/v1/chat/completions', '/embeddings', '/v1/responses']) {
      const res = await gw.fetch(`${GW}${path}`, jsonPost(chat));
      expect(res.status, path).toBe(404);
      const text = await message(res);
      expect(text, path).toContain('use base URL http://gateway.test/openai/v1');
      expect(text, path).not.toContain('Unknown provider');
    }
    const messages = await gw.fetch(`${GW}/v1/messages`, jsonPost(chat));
    expect(await message(messages)).toContain('use base URL http://gateway.test/anthropic for the Anthropic SDK');
    // A provider whose configured base URL already ends in /v1 is left alone.
    const custom = gateway({ PROVIDERS: JSON.stringify({ local: { baseUrl: `${env.UPSTREAM_OPENAI}/v1`, format: 'openai' } }) });
    const res = await custom.fetch(`${GW}/local/chat/completions`, jsonPost(chat));
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });
});
