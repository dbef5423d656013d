import { describe, expect, it } from 'vitest';
import { OVERFLOW_ROUTE } from '../../src/core/route-cap';
import { parseConfig } from '../../src/config/resolve';
import { registry } from '../../src/core/objects';
import type { SlaReport } from '../../src/core/report-types';
import { gateway, GW, jsonPost } from './helpers';

type Gateway = ReturnType<typeof gateway>;
const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

async function call(gw: Gateway, route: string): Promise<void> {
  const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': route }));
  expect(res.status).toBe(200);
  await res.arrayBuffer();
}

async function sla(gw: Gateway): Promise<SlaReport> {
  const res = await gw.fetch(`${GW}/sla?window=5m`);
  expect(res.status).toBe(200);
  return (await res.json()) as SlaReport;
}

describe('MAX_ROUTES', () => {
  it('defaults to 500 and is validated', () => {
    const ok = parseConfig({});
    expect(ok.ok && ok.config.maxRoutes).toBe(500);
    const bad = parseConfig({ MAX_ROUTES: '0' });
    expect(bad.ok).toBe(false);
  });

  it('past the cap, calls are still proxied and recorded under _overflow, and counted in /metrics', async () => {
    const gw = gateway({ MAX_ROUTES: '3' }, { durable: true });
    for (let i = 1; i <= 5; i++) await call(gw, `cap.r${i}`);
    expect(await gw.settle()).toHaveLength(5);

    const report = await sla(gw);
    const named = Object.keys(report.routes).filter((r) => r !== OVERFLOW_ROUTE);
    expect(named).toHaveLength(3);
    expect(report.routes[OVERFLOW_ROUTE]?.count).toBe(2);
    expect(report.overall.count).toBe(5);
    const { routes } = await registry(gw.env).state();
    expect(routes.map((r) => r.route).sort()).toEqual([...named, OVERFLOW_ROUTE].sort());

    // Known routes keep their own series; new ones keep going to the overflow route.
    await call(gw, named[0] as string);
    await call(gw, 'cap.r6');
    await gw.settle();
    const after = await sla(gw);
    expect(after.routes[named[0] as string]?.count).toBe(2);
    expect(after.routes[OVERFLOW_ROUTE]?.count).toBe(3);
    expect(Object.keys(after.routes)).toHaveLength(4);

    const metrics = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(metrics).toContain('llm_sla_route_overflow_total 3');
    expect(metrics).toContain(`llm_sla_requests_total{route="${OVERFLOW_ROUTE}",model="gpt-4o-mini",outcome="success"} 3`);
    // A client cannot name the overflow route itself: the header is ignored (the call goes through, with a warning).
    const forged = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': OVERFLOW_ROUTE }));
    expect(forged.status).toBe(200);
    expect(forged.headers.get('x-sla-warning')).toMatch(/x-sla-route ignored/);
    await forged.arrayBuffer();
  });
});

describe('/metrics and /sla cost one registry RPC, the fan-out runs once per SUMMARY_MAX_AGE_MS', () => {
  it('scrapes within the max age share one fan-out over the routes', async () => {
    const cached = gateway({ SUMMARY_MAX_AGE_MS: '60000' }, { durable: true });
    const fresh = gateway({}, { durable: true }); // SUMMARY_MAX_AGE_MS=0 in the tests' env: every read fans out
    const line = (n: number) => `llm_sla_requests_total{route="cap.cached",model="gpt-4o-mini",outcome="success"} ${n}`;
    const reg = registry(cached.env);
    await call(cached, 'cap.cached');
    await cached.settle();
    expect(await (await fresh.fetch(`${GW}/metrics`)).text()).toContain(line(1));
    const before = await reg.summaryRefreshes();

    // Within the max age, scrapes are served from that summary: no fan-out, the next call shows at the next refresh.
    expect(await (await cached.fetch(`${GW}/metrics`)).text()).toContain(line(1));
    await call(cached, 'cap.cached');
    await cached.settle();
    expect(await (await cached.fetch(`${GW}/metrics`)).text()).toContain(line(1));
    expect(await reg.summaryRefreshes()).toBe(before);
    expect(await (await fresh.fetch(`${GW}/metrics`)).text()).toContain(line(2));
    expect(await reg.summaryRefreshes()).toBe(before + 1);

    // /sla likewise: the fresh read fans out, the reads within the max age share its report.
    const f = await sla(fresh);
    expect(f.routes['cap.cached']?.count).toBe(2);
    const a = await sla(cached);
    const b = await sla(cached);
    expect(a.generated_at).toBe(f.generated_at);
    expect(b).toEqual(f);
    expect(await reg.summaryRefreshes()).toBe(before + 2);
  });

  it('error budgets on /metrics come from the same summary: no route object is asked per scrape', async () => {
    // A runtime config (the route objects judge calls by the config in force, which their own env does not carry).
    const admin = { authorization: 'Bearer cap-admin' };
    const cached = gateway({ ADMIN_TOKEN: 'cap-admin', SUMMARY_MAX_AGE_MS: '60000' }, { durable: true });
    const fresh = gateway({ ADMIN_TOKEN: 'cap-admin' }, { durable: true });
    const config = { routes: { 'cap.slo': { min_samples: 1, slo: { objective: 0.9, period: '1d' } } } };
    expect((await fresh.fetch(`${GW}/sla/config`, { method: 'PUT', headers: admin, body: JSON.stringify(config) })).status).toBe(200);
    const reg = registry(cached.env);
    const remaining = (text: string) => Number(/^llm_sla_error_budget_remaining\{route="cap\.slo"\} (\S+)/m.exec(text)?.[1]);
    await call(cached, 'cap.slo');
    await cached.settle();
    expect(remaining(await (await fresh.fetch(`${GW}/metrics`)).text())).toBe(1);
    const before = await reg.summaryRefreshes();
    // A failed call, then a scrape within the max age: the budget shown is the summary's, and nothing fanned out.
    const failed = await cached.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': 'cap.slo', 'x-mock-status': '500' }));
    expect(failed.status).toBe(500);
    await failed.arrayBuffer();
    await cached.settle();
    expect(remaining(await (await cached.fetch(`${GW}/metrics`)).text())).toBe(1);
    expect(await reg.summaryRefreshes()).toBe(before);
    // A fresh read asks the route objects again: one bad call of two spends more than the whole 10 % budget.
    expect(remaining(await (await fresh.fetch(`${GW}/metrics`)).text())).toBeLessThan(0);
    expect(await reg.summaryRefreshes()).toBeGreaterThan(before);
    await fresh.fetch(`${GW}/sla/config`, { method: 'DELETE', headers: admin });
  });

  it('/dashboard/data comes from the same summary: its report is the one /sla reads, its series cached alike', async () => {
    const cached = gateway({ SUMMARY_MAX_AGE_MS: '60000' }, { durable: true });
    const fresh = gateway({}, { durable: true });
    const reg = registry(cached.env);
    type Data = { generated_at: string; routes: { route: string; stats: { count: number }; series: { count: number }[] }[] };
    const data = async (gw: Gateway) => (await (await gw.fetch(`${GW}/dashboard/data`)).json()) as Data;
    const count = (d: Data) => d.routes.find((r) => r.route === 'cap.dash')?.stats.count;
    await call(cached, 'cap.dash');
    await cached.settle();
    const first = await data(fresh);
    expect(count(first)).toBe(1);
    expect(first.routes.find((r) => r.route === 'cap.dash')?.series.reduce((n, p) => n + p.count, 0)).toBe(1);
    const before = await reg.summaryRefreshes();
    await call(cached, 'cap.dash');
    await cached.settle();
    // Within the max age: the same report and series, nothing fanned out; /sla reads that very report.
    const served = await data(cached);
    expect(served).toEqual(first);
    expect((await sla(cached)).generated_at).toBe(first.generated_at);
    expect(await reg.summaryRefreshes()).toBe(before);
    expect(count(await data(fresh))).toBe(2);
  });
});
