import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import { describe, expect, it } from 'vitest';
import { lastObjectAfterKey } from '../../src/worker/proxy/finish';
import { gateway, GW, jsonPost, only } from './helpers';

const enc = new Tiktoken(cl100k);
const REPLY = 'Estimated tokens come from js-tiktoken when the provider reports no usage at all.';

describe('token estimates when the provider sends no usage', () => {
  it.each([
    ['OpenAI JSON', '/openai/v1/chat/completions', false],
    ['OpenAI stream', '/openai/v1/chat/completions', true],
    ['Anthropic stream', '/anthropic/v1/messages', true],
  ])('%s: counts request and response text with cl100k and labels it estimated (TOKEN_ESTIMATE=on)', async (_name, path, stream) => {
    const gw = gateway({ TOKEN_ESTIMATE: 'on' });
    const prompt = 'How many tokens does this prompt have?';
    // Each provider's own model: prices are looked up per provider (the catalog has no gpt-4o at Anthropic).
    const model = path.startsWith('/anthropic') ? 'claude-sonnet-4-5' : 'gpt-4o';
    const body = { model, max_tokens: 100, messages: [{ role: 'user', content: prompt }], stream };
    const res = await gw.fetch(`${GW}${path}`, jsonPost(body, { 'x-mock-no-usage': '1', 'x-mock-content': REPLY }));
    expect(await res.text()).not.toContain('prompt_tokens');
    const r = only(await gw.settle());
    expect(r.usageSource).toBe('estimated');
    expect(r.usage).toEqual({ input: enc.encode(prompt).length, output: enc.encode(REPLY).length, cacheRead: 0, cacheCreation: 0, reasoning: 0 });
    expect(r.costUsd).toBeGreaterThan(0);
  });

  it('makes no estimate by default (wrangler.toml as shipped): the encoder build would not fit the Free plan', async () => {
    const gw = gateway();
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, { 'x-mock-no-usage': '1' }));
    await res.text();
    expect(only(await gw.settle())).toMatchObject({ usage: null, usageSource: 'none', costUsd: null });
  });

  it('makes no estimate when TOKEN_ESTIMATE is off', async () => {
    const gw = gateway({ TOKEN_ESTIMATE: 'off' });
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ model: 'gpt-4o', messages: [] }, { 'x-mock-no-usage': '1' }));
    await res.text();
    expect(only(await gw.settle())).toMatchObject({ usage: null, usageSource: 'none', costUsd: null });
  });
});

describe('lastObjectAfterKey', () => {
  it('returns the object after the last key, respecting braces inside strings', () => {
    const text = '"data":[{"usage":{"a":1}}],"x":"}{","usage": {"prompt_tokens":3,"s":"}\\"{"}}';
    expect(JSON.parse(lastObjectAfterKey(text, '"usage"') ?? 'null')).toEqual({ prompt_tokens: 3, s: '}"{' });
    expect(lastObjectAfterKey('"usage":null', '"usage"')).toBeNull();
  });
});
