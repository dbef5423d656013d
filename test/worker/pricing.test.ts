import { describe, expect, it } from 'vitest';
import type { SlaReport } from '../../src/core/report-types';
import { gateway, GW, jsonPost, metricValue, scrape } from './helpers';
import { calcPrice } from '@pydantic/genai-prices';
import { costUsd, findPrice } from '../../src/core/pricing/cost';
import type { ModelPrice } from '../../src/core/pricing/prices';
import { hasPrice, pricer } from '../../src/worker/pricing';

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

async function slaJson(gw: ReturnType<typeof gateway>): Promise<SlaReport> {
  const res = await gw.fetch(`${GW}/sla`);
  expect(res.status).toBe(200);
  return (await res.json()) as SlaReport;
}

describe('cost', () => {
  it('leaves an unpriced model out of llm_sla_cost_usd_total and /sla, and keeps a priced one', async () => {
    const gw = gateway({}, { durable: true });
    for (const model of ['nu-unpriced-model', 'gpt-4o-mini']) {
      const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ ...chat, model }, { 'x-sla-route': `nu.cost.${model}` }));
      await res.arrayBuffer();
    }
    const records = await gw.settle();
    expect(records.map((r) => r.costUsd === null)).toEqual([true, false]);
    const { text } = await scrape(gw);
    expect(text).toContain('llm_sla_requests_total{route="nu.cost.nu-unpriced-model",outcome="success"} 1');
    expect(text).toContain('llm_sla_tokens_total{route="nu.cost.nu-unpriced-model",model="nu-unpriced-model",type="input"}');
    expect(text).not.toContain('llm_sla_cost_usd_total{route="nu.cost.nu-unpriced-model"');
    expect(metricValue(text, 'llm_sla_cost_usd_total{route="nu.cost.gpt-4o-mini",model="gpt-4o-mini"}')).toBeCloseTo(records[1]?.costUsd ?? -1, 15);
    const report = await slaJson(gw);
    expect(report.routes['nu.cost.nu-unpriced-model']).toMatchObject({ cost_usd: null, cost_unknown: 1 });
  });

  it('reports a 6e-8 USD embeddings call exactly in /sla JSON, and readably in Markdown', async () => {
    const gw = gateway({}, { durable: true });
    const res = await gw.fetch(
      `${GW}/openai/v1/embeddings`,
      jsonPost({ model: 'text-embedding-3-small', input: 'hi' }, { 'x-sla-route': 'nu.embed', 'x-mock-usage': '{"input":3}' }),
    );
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const [record] = await gw.settle();
    expect(record?.usage?.input).toBe(3);
    expect(record?.costUsd).toBeCloseTo(6e-8, 20);
    const route = (await slaJson(gw)).routes['nu.embed'];
    expect(route?.cost_usd).toBe(record?.costUsd);
    expect(await (await gw.fetch(`${GW}/sla?format=md`)).text()).toMatch(/\| nu\.embed \|.*\| 6\.0e-8 \|/);
  });
});

/** A table of our own shape, as `PRICES` gives it. */
const TABLE: Readonly<Record<string, ModelPrice>> = {
  'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
  'gpt-4.1': { input: 2, output: 8 },
  'groq/llama-3.1-8b-instant': { input: 0.05, output: 0.08 },
};
const anthropicHeaders = { 'x-api-key': 'sk-ant-pricing-0123456789', 'anthropic-version': '2023-06-01' };
const message = (model: string) => ({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });

describe('prices: the catalog, PRICES over it', () => {
  it('prices a current model from the catalog: claude-sonnet-4-5 (and its dated id) at $3 / $15 per 1M, cache reads and writes apart', async () => {
    const gw = gateway();
    for (const model of ['claude-sonnet-4-5', 'claude-sonnet-4-5-20250929']) {
      const res = await gw.fetch(`${GW}/anthropic/v1/messages`, jsonPost(message(model), anthropicHeaders));
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    // The mock's Anthropic usage: 11 uncached input, 4 cache writes, 5 cache reads, 7 output tokens.
    const expected = (11 * 3 + 4 * 3.75 + 5 * 0.3 + 7 * 15) / 1e6;
    for (const r of await gw.settle()) expect(r.costUsd).toBeCloseTo(expected, 15);
  });

  it('prices OpenAI, Groq, Mistral, DeepSeek and OpenRouter models as the catalog does, by the call time', async () => {
    const price = await pricer({});
    const usage = { input: 1000, output: 200, cacheRead: 400, cacheCreation: 0, reasoning: 0 };
    const at = Date.UTC(2026, 11, 1, 12);
    for (const [provider, model] of [
      ['openai', 'gpt-4o-mini-2024-07-18'],
      ['groq', 'llama-3.3-70b-versatile'],
      ['mistral', 'mistral-small-latest'],
      ['deepseek', 'deepseek-chat'],
      ['openrouter', 'anthropic/claude-sonnet-4.5'],
    ] as const) {
      const want = calcPrice({ input_tokens: 1000, output_tokens: 200, cache_read_tokens: 400, cache_write_tokens: 0 }, model, { providerId: provider, timestamp: new Date(at) });
      expect(want, model).not.toBeNull();
      expect(price(provider, model, usage, at), model).toBeCloseTo(want?.total_price ?? NaN, 15);
    }
    expect(price('openai', 'gpt-4o-mini', usage, at)).toBeCloseTo((600 * 0.15 + 400 * 0.075 + 200 * 0.6) / 1e6, 15);
  });

  it('PRICES wins over the catalog, prices what the catalog lacks, and an unknown model is null, never 0', async () => {
    const gw = gateway({ PRICES: JSON.stringify({ 'gpt-4o': { input: 1000, output: 1000 }, 'house-model': { input: 1, output: 2 } }) });
    for (const model of ['gpt-4o', 'house-model', 'nu-unknown-model']) await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ model, messages: [] }))).arrayBuffer();
    const [own, house, unknown] = await gw.settle();
    expect(own?.costUsd).toBeCloseTo((18 * 1000) / 1e6, 12);
    expect(house?.costUsd).toBeCloseTo((11 * 1 + 7 * 2) / 1e6, 15);
    expect(unknown?.costUsd).toBeNull();
    expect(await hasPrice({}, 'anthropic', 'claude-sonnet-4-5', Date.now())).toBe(true);
    expect(await hasPrice({}, 'openai', 'nu-unknown-model', Date.now())).toBe(false);
    expect(await hasPrice({ 'house-model': { input: 1, output: 1 } }, 'openai', 'house-model', Date.now())).toBe(true);
  });
});

describe('PRICES lookups and cost arithmetic', () => {
  it('finds PRICES entries by model id with or without date suffix, vendor prefix or provider key', () => {
    expect(findPrice(TABLE, 'openai', 'gpt-4o-2024-08-06')).toBe(TABLE['gpt-4o']);
    expect(findPrice(TABLE, 'anthropic', 'claude-3-5-haiku-latest')).toBe(TABLE['claude-3-5-haiku']);
    expect(findPrice(TABLE, 'openrouter', 'openai/gpt-4.1')).toBe(TABLE['gpt-4.1']);
    expect(findPrice(TABLE, 'groq', 'llama-3.1-8b-instant')).toBe(TABLE['groq/llama-3.1-8b-instant']);
    expect(findPrice(TABLE, 'openai', 'unknown-model')).toBeNull();
    expect(findPrice(TABLE, 'openai', null)).toBeNull();
  });

  it('is null, never 0, when the price or the usage is unknown', () => {
    const usage = { input: 10, output: 5, cacheRead: 0, cacheCreation: 0, reasoning: 0 };
    expect(costUsd(null, usage)).toBeNull();
    expect(costUsd(TABLE['gpt-4o'] ?? null, null)).toBeNull();
    expect(costUsd({ input: 1, output: 2 }, usage)).toBeCloseTo(20 / 1e6, 15);
  });
});
