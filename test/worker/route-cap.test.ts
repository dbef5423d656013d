import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { OVERFLOW_ROUTE } from '../../src/core/route-cap';
import { parseConfig } from '../../src/config/resolve';
import { registry } from '../../src/core/objects';
import type { SlaReport } from '../../src/core/report-types';
import { gateway, GW, jsonPost, metricValue, scrape } from './helpers';
import type { SlaRegistry } from '../../src/index';

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

    const { text: metrics } = await scrape(gw);
    expect(metrics).toContain('llm_sla_route_overflow_total 3');
    expect(metrics).toContain(`llm_sla_requests_total{route="${OVERFLOW_ROUTE}",outcome="success"} 3`);
    // A client cannot name the overflow route itself: the header is ignored (the call goes through, with a warning).
    const forged = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': OVERFLOW_ROUTE }));
    expect(forged.status).toBe(200);
    expect(forged.headers.get('x-sla-warning')).toMatch(/x-sla-route ignored/);
    await forged.arrayBuffer();
  });
});

/** Routes the registry lists now (this file's tests share its storage), not counting the overflow route. */
async function listed(): Promise<string[]> {
  return (await registry(env).state()).routes.map((r) => r.route).filter((r) => r !== OVERFLOW_ROUTE);
}

describe('the route cap drains, and one request cannot fill it', () => {
  it('one /v1/timings request adds at most INGEST_MAX_NEW_ROUTES routes; the rest go to _overflow, counted', async () => {
    const before = await listed();
    const gw = gateway({ MAX_ROUTES: String(before.length + 100), INGEST_MAX_NEW_ROUTES: '5' }, { durable: true });
    const overflowBefore = (await sla(gw)).routes[OVERFLOW_ROUTE]?.count ?? 0;
    const timings = Array.from({ length: 60 }, (_, i) => ({ route: `drain.t${i}`, duration_ms: 5, ok: true }));
    const res = await gw.fetch(`${GW}/v1/timings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(timings) });
    expect(await res.json()).toEqual({ accepted: 60, rejected: 0, problems: [] });
    await gw.settle();
    const added = (await listed()).filter((r) => !before.includes(r) && r.startsWith('drain.'));
    expect(added.sort()).toEqual(['drain.t0', 'drain.t1', 'drain.t2', 'drain.t3', 'drain.t4']);
    expect((await sla(gw)).routes[OVERFLOW_ROUTE]?.count).toBe(overflowBefore + 55);
    const metrics = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(metricValue(metrics, 'llm_sla_ingest_new_routes_limited_total')).toBeGreaterThanOrEqual(55);
    // Routes already listed count as known: a second request about them adds nothing new, and is not limited.
    const again = await gw.fetch(`${GW}/v1/timings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(timings.slice(0, 5)) });
    expect(again.status).toBe(200);
    await gw.settle();
    expect((await sla(gw)).routes['drain.t4']?.count).toBe(2);
  });

  it("the proxy's default route keys (<provider>/<operation>) have room beyond the cap", async () => {
    const gw = gateway({ MAX_ROUTES: '1' }, { durable: true });
    expect((await listed()).length).toBeGreaterThanOrEqual(1); // full already
    await call(gw, 'drain.named'); // past the cap: _overflow
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat));
    await res.arrayBuffer();
    const emb = await gw.fetch(`${GW}/openai/v1/embeddings`, jsonPost({ model: 'text-embedding-3-small', input: 'hi' }));
    await emb.arrayBuffer();
    await gw.settle();
    const report = await sla(gw);
    expect(report.routes['drain.named']).toBeUndefined();
    expect(report.routes['openai/chat']?.count).toBeGreaterThanOrEqual(1);
    expect(report.routes['openai/embeddings']?.count).toBeGreaterThanOrEqual(1);
    // A default key does not take a slot: the count under the cap is unchanged.
    const { routes } = await registry(env).state();
    expect(routes.find((r) => r.route === 'openai/chat')?.reserved).toBe(true);
  });

  it('routes unseen past their objects\' retention leave the registry at its alarm, and free their slots', async () => {
    const gw = gateway({ MAX_ROUTES: '10000' }, { durable: true });
    for (const r of ['drain.idle', 'drain.busy', 'drain.slo']) await call(gw, r);
    await gw.settle();
    const stub = registry(env);
    const HOUR = 3_600_000;
    // Seen 50 h ago: past the 48 h of windows (and the hour an isolate may take to register a route again). A route
    // with an SLO keeps its good/bad counters for its period (here 30 days): it stays.
    await runInDurableObject(stub, (_instance: SlaRegistry, state) => {
      const sql = state.storage.sql;
      sql.exec('UPDATE routes SET last_seen = ? WHERE route IN (?, ?)', Date.now() - 50 * HOUR, 'drain.idle', 'drain.slo');
    });
    await stub.setConfig(JSON.stringify({ routes: { 'drain.slo': { slo: { objective: 0.99, period: '30d' } } } }));
    try {
      expect(await runDurableObjectAlarm(stub)).toBe(true);
    } finally {
      await stub.setConfig(null);
    }
    const names = await listed();
    expect(names).not.toContain('drain.idle');
    expect(names).toContain('drain.busy');
    expect(names).toContain('drain.slo');
    expect((await sla(gw)).routes['drain.idle']).toBeUndefined();
    // A route that comes back is registered again (its isolate registers it again within the hour).
  });
});

describe('/metrics and /sla cost one registry RPC, the fan-out runs once per SUMMARY_MAX_AGE_MS', () => {
  it('scrapes within the max age share one fan-out over the routes', async () => {
    const cached = gateway({ SUMMARY_MAX_AGE_MS: '60000' }, { durable: true });
    const fresh = gateway({}, { durable: true }); // SUMMARY_MAX_AGE_MS=0 in the tests' env: every read fans out
    const line = (n: number) => `llm_sla_requests_total{route="cap.cached",outcome="success"} ${n}`;
    const reg = registry(cached.env);
    await call(cached, 'cap.cached');
    await cached.settle();
    // The route's first exposure starts its counters at 0; the next refresh counts its call.
    expect(await (await fresh.fetch(`${GW}/metrics`)).text()).toContain(line(0));
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
