import OpenAI, { RateLimitError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream';
import { startWranglerDev, type WranglerDev } from '../support/wrangler-dev';

/** Team budgets under `wrangler dev`, driven by the official openai SDK; every call costs $0.01 (PRICES, x-mock-usage). */
const BUDGETS = { 'team-small': { daily_usd: 0.02 }, 'team-load': { daily_usd: 0.2, monthly_usd: 100 }, 'team-cold': { daily_usd: 0.2 } };
let mock: MockUpstream;
let dev: WranglerDev;
let base: string;

beforeAll(async () => {
  mock = await startMockUpstream();
  dev = await startWranglerDev({
    UPSTREAM_OPENAI: mock.url,
    RECORDER: 'none',
    BUDGETS: JSON.stringify(BUDGETS),
    PRICES: JSON.stringify({ 'budget-model': { input: 500, output: 500 } }),
  });
  base = dev.base;
});

afterAll(async () => {
  await dev?.stop();
  await mock?.close();
});

const client = (team: string) =>
  new OpenAI({
    baseURL: `${base}/openai/v1`,
    apiKey: 'sk-node-secret-key',
    defaultHeaders: { 'x-sla-team': team, 'x-mock-usage': JSON.stringify({ input: 10, output: 10, cached: 0, reasoning: 0 }) },
  });
const ask = (c: OpenAI) => c.chat.completions.create({ model: 'budget-model', messages: [{ role: 'user', content: 'hi' }] });

async function spentToday(team: string): Promise<number> {
  const report = (await (await fetch(`${base}/budgets`)).json()) as { teams: Record<string, { day: { spent_usd: number } }> };
  return report.teams[team]?.day.spent_usd ?? NaN;
}

describe('team budgets through wrangler dev', () => {
  it('a team over its limit gets a 429 the openai SDK raises as RateLimitError, and is not retried', async () => {
    const c = client('team-small');
    const { data, response } = await ask(c).withResponse();
    expect(data.choices[0]?.message.content).toBe('Hello from the mock upstream!');
    expect(response.headers.get('x-sla-budget-remaining-usd')).toBe('0.020000');
    await ask(c);
    // The isolate counts a call's cost when its record is built, just after the answer: give it that moment.
    await new Promise((r) => setTimeout(r, 300));
    const error = await ask(c).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).status).toBe(429);
    expect((error as RateLimitError).message).toContain("Team 'team-small' has spent its daily budget: $0.0200 of $0.02.");
    expect((error as RateLimitError).code).toBe('budget_exceeded');
    expect(await spentToday('team-small')).toBeCloseTo(0.02, 9);
  });
});
