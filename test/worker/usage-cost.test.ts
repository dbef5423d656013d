import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import { describe, expect, it } from 'vitest';
import { costUsd, findPrice } from '../../src/core/pricing/cost';
import { DEFAULT_PRICES } from '../../src/core/pricing/prices';
import { lastObjectAfterKey } from '../../src/worker/proxy/finish';
import { gateway, GW, jsonPost, only } from './helpers';

const enc = new Tiktoken(cl100k);
const REPLY = 'Estimated tokens come from js-tiktoken when the provider reports no usage at all.';

describe('token estimates when the provider sends no usage', () => {
  it.each([
    ['OpenAI JSON', '/openai/v1/chat/completions', false],
    ['OpenAI stream', '/openai/v1/chat/completions', true],
    ['Anthropic stream', '/anthropic/v1/messages', true],
  ])('%s: counts request and response text with cl100k and labels it estimated', async (_name, path, stream) => {
    const gw = gateway();
    const prompt = 'How many tokens does this prompt have?';
    const body = { model: 'gpt-4o', max_tokens: 100, messages: [{ role: 'user', content: prompt }], stream };
    const res = await gw.fetch(`${GW}${path}`, jsonPost(body, { 'x-mock-no-usage': '1', 'x-mock-content': REPLY }));
    expect(await res.text()).not.toContain('prompt_tokens');
    const r = only(await gw.settle());
    expect(r.usageSource).toBe('estimated');
    expect(r.usage).toEqual({ input: enc.encode(prompt).length, output: enc.encode(REPLY).length, cacheRead: 0, cacheCreation: 0, reasoning: 0 });
    expect(r.costUsd).toBeGreaterThan(0);
  });

  it('makes no estimate when TOKEN_ESTIMATE is off', async () => {
    const gw = gateway({ TOKEN_ESTIMATE: 'off' });
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ model: 'gpt-4o', messages: [] }, { 'x-mock-no-usage': '1' }));
    await res.text();
    expect(only(await gw.settle())).toMatchObject({ usage: null, usageSource: 'none', costUsd: null });
  });
});

describe('prices and cost', () => {
  it('finds prices by model id with or without date suffix, vendor prefix or provider key', () => {
    expect(findPrice(DEFAULT_PRICES, 'openai', 'gpt-4o-2024-08-06')).toBe(DEFAULT_PRICES['gpt-4o']);
    expect(findPrice(DEFAULT_PRICES, 'openai', 'gpt-4o-mini')).toBe(DEFAULT_PRICES['gpt-4o-mini']);
    expect(findPrice(DEFAULT_PRICES, 'anthropic', 'claude-3-5-haiku-latest')).toBe(DEFAULT_PRICES['claude-3-5-haiku']);
    expect(findPrice(DEFAULT_PRICES, 'openrouter', 'openai/gpt-4.1')).toBe(DEFAULT_PRICES['gpt-4.1']);
    expect(findPrice(DEFAULT_PRICES, 'groq', 'llama-3.1-8b-instant')).toBe(DEFAULT_PRICES['groq/llama-3.1-8b-instant']);
    expect(findPrice(DEFAULT_PRICES, 'openai', 'unknown-model')).toBeNull();
    expect(findPrice(DEFAULT_PRICES, 'openai', null)).toBeNull();
  });

  it('is null, never 0, when the price or the usage is unknown', () => {
    const usage = { input: 10, output: 5, cacheRead: 0, cacheCreation: 0, reasoning: 0 };
    expect(costUsd(null, usage)).toBeNull();
    expect(costUsd(DEFAULT_PRICES['gpt-4o'] ?? null, null)).toBeNull();
    expect(costUsd({ input: 1, output: 2 }, usage)).toBeCloseTo(20 / 1e6, 15);
  });

  it('uses PRICES from the env over the table', async () => {
    const gw = gateway({ PRICES: JSON.stringify({ 'gpt-4o': { input: 1000, output: 1000 } }) });
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ model: 'gpt-4o', messages: [] }));
    await res.text();
    expect(only(await gw.settle()).costUsd).toBeCloseTo((18 * 1000) / 1e6, 12);
  });

  it('every price in the table is a non-negative number', () => {
    for (const [model, p] of Object.entries(DEFAULT_PRICES)) {
      for (const v of [p.input, p.output, p.cachedInput ?? 0, p.cacheWrite ?? 0]) {
        expect(v, model).toBeGreaterThanOrEqual(0);
      }
    }
  });
});

describe('lastObjectAfterKey', () => {
  it('returns the object after the last key, respecting braces inside strings', () => {
    const text = '"data":[{"usage":{"a":1}}],"x":"}{","usage": {"prompt_tokens":3,"s":"}\\"{"}}';
    expect(JSON.parse(lastObjectAfterKey(text, '"usage"') ?? 'null')).toEqual({ prompt_tokens: 3, s: '}"{' });
    expect(lastObjectAfterKey('"usage":null', '"usage"')).toBeNull();
  });
});
