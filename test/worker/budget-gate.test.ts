import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { parseBudgets } from '../../src/core/budget/config';
import { crossed, decide, periodEnd, periodKeys } from '../../src/core/budget/spend';
import type { BudgetReport } from '../../src/core/budget/report';
import { gateway as harness, GW, jsonPost, mockId, mockRequests, type HarnessOptions } from './helpers';

const ADMIN = 'admin-secret-token';
const auth = { authorization: `Bearer ${ADMIN}` };
/** 10 input + 10 output tokens at $500 per million each: every call costs $0.01. */
const PRICES = JSON.stringify({ 'budget-model': { input: 500, output: 500 } });
const USAGE = JSON.stringify({ input: 10, output: 10, cached: 0, reasoning: 0 });
const chat = { model: 'budget-model', messages: [{ role: 'user', content: 'hi' }] };
const claude = { model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] };
const anthropicHeaders = { 'x-api-key': 'sk-ant-budget-0123456789', 'anthropic-version': '2023-06-01' };

/** The real gateway on a clock the test moves; each `gw` has a fresh env object, so a fresh per-isolate cache. */
function gateway(vars: Record<string, string>, bindings: HarnessOptions['bindings'] = {}) {
  let clock = Date.UTC(2026, 11, 2, 23, 58);
  const gw = harness({ PRICES, ADMIN_TOKEN: ADMIN, ...vars }, { now: () => clock, bindings });
  const { fetch, settle } = gw;
  const call = async (team: string, extra: Record<string, string> = {}) => {
    const res = await fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-team': team, 'x-mock-usage': USAGE, ...extra }));
    const body = await res.text();
    await settle();
    return { res, body };
  };
  return { fetch, settle, call, set: (t: number) => (clock = t), get now() { return clock; } };
}

describe('budget config and arithmetic', () => {
  it('validates BUDGETS and fills in the action', () => {
    const ok = parseBudgets('{"a":{"daily_usd":5,"monthly_usd":100},"b":{"monthly_usd":1,"action":"alert"}}');
    expect(ok.ok && Object.fromEntries(ok.budgets)).toEqual({
      a: { daily_usd: 5, monthly_usd: 100, action: 'block', unpriced: 'allow' },
      b: { daily_usd: null, monthly_usd: 1, action: 'alert', unpriced: 'allow' },
    });
    for (const [bad, problem] of [
      ['{"a":{}}', 'set daily_usd, monthly_usd or both'],
      ['{"a":{"daily_usd":-1}}', 'daily_usd'],
      ['{"a":{"daily_usd":1,"action":"stop"}}', 'action'],
      ['{"a b":{"daily_usd":1}}', 'team names are'],
      ['{"a":{"daily_usd":1,"weekly_usd":3}}', 'weekly_usd'],
      ['{"a":{"daily_usd":1,"unpriced":"deny"}}', 'unpriced'],
      ['{"a":{"daily_usd":1,"action":"alert","unpriced":"block"}}', 'unpriced "block" needs action "block"'],
      ['[1', 'not valid JSON'],
    ] as const) {
      const r = parseBudgets(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problems.join('\n')).toContain(problem);
    }
  });

  it('uses UTC days and months, blocks at spent >= limit, and finds the 80 % and 100 % crossings', () => {
    const t = Date.UTC(2026, 11, 31, 23, 59, 59);
    expect(periodKeys(t)).toEqual({ day: '2026-12-31', month: '2026-12' });
    expect(periodEnd('day', t)).toBe(Date.UTC(2027, 0, 1));
    expect(periodEnd('month', t)).toBe(Date.UTC(2027, 0, 1));
    const budget = { daily_usd: 5, monthly_usd: 100, action: 'block' as const, unpriced: 'allow' as const };
    expect(decide(budget, 4.99, 50)).toMatchObject({ blocked: false, remaining: 0.009999999999999787 });
    expect(decide(budget, 5, 50)).toMatchObject({ blocked: true, exhausted: 'day', spent: 5, limit: 5, remaining: 0 });
    expect(decide(budget, 1, 100)).toMatchObject({ blocked: true, exhausted: 'month' });
    expect(decide({ ...budget, action: 'alert' }, 6, 50)).toMatchObject({ blocked: false, exhausted: 'day' });
    expect(crossed(3, 4, 5)).toEqual([0.8]);
    expect(crossed(3.9, 5.2, 5)).toEqual([0.8, 1]);
    expect(crossed(4, 4.5, 5)).toEqual([]);
  });
});

describe('team budgets on the proxy path', () => {
  it('refuses a team over its daily limit before any upstream contact, in each provider shape, until the UTC day rolls over', async () => {
    const gw = gateway({ BUDGETS: JSON.stringify({ 'team-day': { daily_usd: 0.025, monthly_usd: 1 } }) });
    const first = await gw.call('team-day');
    expect(first.res.status).toBe(200);
    expect(first.res.headers.get('x-sla-budget-remaining-usd')).toBe('0.025000');
    expect((await gw.call('team-day')).res.headers.get('x-sla-budget-remaining-usd')).toBe('0.015000');
    expect((await gw.call('team-day')).res.headers.get('x-sla-budget-remaining-usd')).toBe('0.005000');
    // $0.03 spent of $0.025: refused, and the upstream never hears of it.
    const id = mockId('budget');
    const refused = await gw.call('team-day', { 'x-mock-id': id });
    expect(refused.res.status).toBe(429);
    expect(refused.res.headers.get('x-should-retry')).toBe('false');
    expect(JSON.parse(refused.body)).toEqual({
      error: {
        message: "Team 'team-day' has spent its daily budget: $0.0300 of $0.03. It resets at 2026-12-03T00:00:00.000Z.",
        type: 'insufficient_quota',
        param: null,
        code: 'budget_exceeded',
      },
    });
    expect(await mockRequests(id)).toEqual([]);
    const anthropic = await gw.fetch(`${GW}/anthropic/v1/messages`, jsonPost({ model: 'claude-x', max_tokens: 5, messages: [] }, { 'x-sla-team': 'team-day' }));
    expect(anthropic.status).toBe(429);
    expect(((await anthropic.json()) as { type: string; error: { type: string } }).error.type).toBe('rate_limit_error');
    // Other teams, and calls without a team, pass.
    expect((await gw.call('someone-else')).res.status).toBe(200);
    expect((await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat))).status).toBe(200);

    // 00:00:30 UTC next day: the day's spend starts over, the month's ($0.03 of $1) carries on.
    gw.set(Date.UTC(2026, 11, 3, 0, 0, 30));
    const next = await gw.call('team-day');
    expect(next.res.status).toBe(200);
    expect(next.res.headers.get('x-sla-budget-remaining-usd')).toBe('0.025000');
    await gw.settle();
    const report = (await (await gw.fetch(`${GW}/budgets`)).json()) as BudgetReport;
    expect(report.teams['team-day']?.day).toMatchObject({ period: '2026-12-03', spent_usd: 0.01, limit_usd: 0.025, remaining_usd: 0.015, calls: 1, estimated_usd: 0 });
    expect(report.teams['team-day']?.month).toMatchObject({ period: '2026-12', spent_usd: 0.04, limit_usd: 1, remaining_usd: 0.96, calls: 4 });
  });

  it('a current model is priced by the catalog: 20 claude-sonnet-4-5 calls cannot pass a $0.00001 block budget', async () => {
    const gw = gateway({ BUDGETS: JSON.stringify({ 'team-tiny': { daily_usd: 0.00001 } }) });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await gw.fetch(`${GW}/anthropic/v1/messages`, jsonPost(claude, { 'x-sla-team': 'team-tiny', ...anthropicHeaders }));
      statuses.push(res.status);
      await res.arrayBuffer();
      await gw.settle();
    }
    // The first call (about $0.00015) spends the limit; every later one is refused.
    expect(statuses).toEqual([200, ...Array<number>(19).fill(429)]);
    const report = (await (await gw.fetch(`${GW}/budgets`)).json()) as BudgetReport;
    expect(report.teams['team-tiny']?.day).toMatchObject({ calls: 1, unpriced_calls: 0 });
    expect(report.teams['team-tiny']?.day.spent_usd).toBeCloseTo((11 * 3 + 4 * 3.75 + 5 * 0.3 + 7 * 15) / 1e6, 5); // the report rounds to 6 decimals
  });

  it('unpriced: "block" refuses a model without a price before any upstream contact; "allow", the default, lets it through as unpriced', async () => {
    const gw = gateway({ BUDGETS: JSON.stringify({ strict: { daily_usd: 1, unpriced: 'block' }, lenient: { daily_usd: 1 } }) });
    const unpriced = { ...chat, model: 'nu-unpriced-model' };
    const id = mockId('unpriced');
    const refused = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(unpriced, { 'x-sla-team': 'strict', 'x-mock-id': id }));
    expect(refused.status).toBe(403);
    expect(refused.headers.get('x-gateway-error')).toBe('unpriced_model');
    expect(refused.headers.get('x-should-retry')).toBe('false');
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("model 'nu-unpriced-model' has no known price");
    expect(await mockRequests(id)).toEqual([]);
    const anthropic = await gw.fetch(`${GW}/anthropic/v1/messages`, jsonPost({ ...claude, model: 'nu-unpriced-claude' }, { 'x-sla-team': 'strict', ...anthropicHeaders }));
    expect(anthropic.status).toBe(403);
    expect(((await anthropic.json()) as { error: { type: string } }).error.type).toBe('permission_error');
    // Priced by PRICES (budget-model) or by the catalog (claude-sonnet-4-5): admitted.
    expect((await gw.call('strict')).res.status).toBe(200);
    const catalogued = await gw.fetch(`${GW}/anthropic/v1/messages`, jsonPost(claude, { 'x-sla-team': 'strict', ...anthropicHeaders }));
    expect(catalogued.status).toBe(200);
    await catalogued.arrayBuffer();
    // The default lets an unpriced call through; the budget report counts it, its cost unknown.
    const lenient = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(unpriced, { 'x-sla-team': 'lenient' }));
    expect(lenient.status).toBe(200);
    await lenient.arrayBuffer();
    await gw.settle();
    const report = (await (await gw.fetch(`${GW}/budgets`)).json()) as BudgetReport;
    expect(report.teams['lenient']?.day).toMatchObject({ calls: 1, unpriced_calls: 1, spent_usd: 0 });
    expect(report.teams['strict']?.day).toMatchObject({ calls: 2, unpriced_calls: 0 });
  });

  it('alerts at 80 % and 100 % once each, counts estimated costs apart, and lets an alert-only team through', async () => {
    const hook = env.WEBHOOK_BASE;
    await fetch(`${hook}/clear`, { method: 'POST' });
    // TOKEN_ESTIMATE on (off by default): a call without usage is priced on the estimate.
    const gw = gateway({ BUDGETS: JSON.stringify({ 'team-alert': { daily_usd: 0.03, action: 'alert' } }), TOKEN_ESTIMATE: 'on' });
    gw.set(Date.UTC(2026, 11, 5, 12));
    for (let i = 0; i < 4; i++) expect((await gw.call('team-alert')).res.status).toBe(200);
    // No usage from the provider: the gateway estimates the tokens, and says so.
    expect((await gw.call('team-alert', { 'x-mock-no-usage': '1' })).res.status).toBe(200);
    const report = (await (await gw.fetch(`${GW}/budgets`)).json()) as BudgetReport;
    const day = report.teams['team-alert']?.day;
    expect(day?.calls).toBe(5);
    expect(day?.estimated_usd).toBeGreaterThan(0);
    expect(day?.spent_usd).toBeCloseTo(0.04 + (day?.estimated_usd ?? 0), 9);
    const alerts = (await (await gw.fetch(`${GW}/sla/alerts`)).json()) as { alerts: { alert: { type: string; route: string; text: string } }[] };
    const mine = alerts.alerts.filter((a) => a.alert.route === 'budget:team-alert').map((a) => a.alert);
    expect(mine.map((a) => a.type).sort()).toEqual(['budget.exhausted', 'budget.warning']);
    expect(mine.find((a) => a.type === 'budget.exhausted')?.text).toContain("Team 'team-alert' has spent $0.03 of its daily budget for 2026-12-05 of $0.03 (100 %). Calls continue");
  }, 30_000);

  it('takes budgets at runtime with PUT /budgets (admin), validated, and applies them within a refresh', async () => {
    const gw = gateway({ BUDGETS: '{}' });
    gw.set(Date.UTC(2026, 11, 6, 9));
    expect((await gw.call('team-put')).res.headers.get('x-sla-budget-remaining-usd')).toBeNull();
    expect((await gw.fetch(`${GW}/budgets`, { method: 'PUT', body: '{}' })).status).toBe(401);
    const bad = await gw.fetch(`${GW}/budgets`, { method: 'PUT', headers: auth, body: '{"team-put":{"daily_usd":"lots"}}' });
    expect(bad.status).toBe(400);
    // The gateway's one error shape, as PUT /sla/config answers.
    const error = ((await bad.json()) as { error: { message: string; type: string; code: string } }).error;
    expect(error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' });
    expect(error.message).toContain('daily_usd');
    expect(bad.headers.get('x-gateway-error')).toBe('invalid_request');
    const put = await gw.fetch(`${GW}/budgets`, { method: 'PUT', headers: auth, body: '{"team-put":{"daily_usd":0.005}}' });
    expect(put.status).toBe(200);
    expect(((await put.json()) as BudgetReport).source).toBe('runtime');
    // The isolate sees the new budget at its next refresh (at most BUDGET_REFRESH_MS later): the call that notices
    // the stale view refreshes it in waitUntil, and the calls after it are judged on it ($0.01 a call, $0.005 a day).
    gw.set(gw.now + 1500);
    await gw.call('team-put');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await gw.call('team-put')).res.status);
    expect(statuses.slice(-2)).toEqual([429, 429]);
    const report = (await (await gw.fetch(`${GW}/budgets`)).json()) as BudgetReport;
    expect(report.budgets).toEqual({ 'team-put': { daily_usd: 0.005, monthly_usd: null, action: 'block', unpriced: 'allow' } });
    expect((await gw.fetch(`${GW}/budgets`, { method: 'DELETE', headers: auth })).status).toBe(200);
  });

  it('is off without BUDGETS: no header, no refusal, /budgets says how to turn it on', async () => {
    const gw = gateway({});
    const { res } = await gw.call('team-day');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sla-budget-remaining-usd')).toBeNull();
    const off = await gw.fetch(`${GW}/budgets`);
    expect(off.status).toBe(404);
    expect(await off.text()).toContain('set the BUDGETS var');
    expect((await gw.fetch(`${GW}/budgets`, { method: 'PUT', headers: auth, body: '{}' })).status).toBe(404);
  });

  it('fails open when the budget store fails, counts it, and shows it in /metrics', async () => {
    // The budget store's namespace, broken: every stub fails.
    const down: typeof env.TEAM_BUDGETS = Object.assign(Object.create(null) as typeof env.TEAM_BUDGETS, {
      idFromName: env.TEAM_BUDGETS.idFromName.bind(env.TEAM_BUDGETS),
      get: () => {
        throw new Error('budget store down');
      },
    });
    const gw = gateway({ BUDGETS: JSON.stringify({ 'team-down': { daily_usd: 0.001 } }) }, { TEAM_BUDGETS: down });
    for (let i = 0; i < 3; i++) expect((await gw.call('team-down')).res.status).toBe(200);
    const metrics = await (await gw.fetch(`${GW}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(value('llm_sla_budget_store_errors_total')).toBeGreaterThanOrEqual(2);
    expect(value('llm_sla_budget_fail_open_total')).toBeGreaterThanOrEqual(1);
    expect(value('llm_sla_budget_spend_dropped_total')).toBeGreaterThanOrEqual(1);
  });
});
