import { describe, expect, it } from 'vitest';
import type { SlaReport } from '../../src/core/report-types';
import { GW, gateway, jsonPost, metricValue, only, scrape } from './helpers';
import { costUsd, findPrice } from '../../src/core/pricing/cost';
import { DEFAULT_PRICES } from '../../src/core/pricing/prices';

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
