import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { registry, routeStub } from '../../src/core/objects';
import type { RouteDetailReport, SlaReport } from '../../src/core/report-types';
import type { Sample } from '../../src/core/sla/sample';
import { gateway, GW, jsonPost } from './helpers';

const ADMIN = 'admin-secret-token';
const auth = { authorization: `Bearer ${ADMIN}` };
const ROUTE = 'slo.e2e';
const MIN = 60_000;

const sample = (ts: number, over: Partial<Sample> = {}): Sample => ({ ts, outcome: 'success', totalMs: 300, ttftMs: null, inputTokens: 1, outputTokens: 1, costUsd: null, ...over });
const many = (n: number, make: (i: number) => Sample) => Array.from({ length: n }, (_, i) => make(i));

async function ingest(samples: Sample[]): Promise<void> {
  await routeStub(env.ROUTE_STATS, ROUTE, 0).ingest({ route: ROUTE, samples, models: samples.map(() => 'gpt-4o-mini'), droppedBefore: 0 });
}

describe('error budgets through the route objects, /sla, /metrics and the alert webhook', () => {
  it('counts good and bad calls against the SLO in force, reports burn rates and alerts on burn start and resolve', async () => {
    const hook = env.WEBHOOK_BASE;
    await fetch(`${hook}/clear`, { method: 'POST' });
    const gw = gateway({ ADMIN_TOKEN: ADMIN }, { durable: true });
    const config = { routes: { 'slo.*': { min_samples: 10, slo: { objective: 0.99, period: '30d', latency_ms: 2000, ttft_ms: 800 } } } };
    expect((await gw.fetch(`${GW}/sla/config`, { method: 'PUT', headers: auth, body: JSON.stringify(config) })).status).toBe(200);

    // Three real calls through the proxy: successes well within 2 s, so good.
    for (let i = 0; i < 3; i++) {
      const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { 'x-sla-route': ROUTE }));
      await res.arrayBuffer();
    }
    await gw.settle();

    const now = Date.now();
    // Two hours ago: 200 good. The last few minutes: 60 good, 20 failures, 10 slow successes, 5 slow first tokens,
    // 5 aborted (not judged) and 5 client errors (not counted by default).
    await ingest([
      ...many(200, () => sample(now - 2 * 60 * MIN)),
      ...many(60, (i) => sample(now - (i % 3) * MIN)),
      ...many(20, () => sample(now, { outcome: 'upstream_error' })),
      ...many(10, () => sample(now, { totalMs: 2500 })),
      ...many(5, () => sample(now, { ttftMs: 900, totalMs: 1000 })),
      ...many(5, () => sample(now, { outcome: 'aborted' })),
      ...many(5, () => sample(now, { outcome: 'client_error' })),
    ]);

    const report = (await (await gw.fetch(`${GW}/sla`)).json()) as SlaReport;
    const budget = report.routes[ROUTE]?.error_budget;
    expect(budget).toMatchObject({ objective: 0.99, period: '30d', latency_ms: 2000, ttft_ms: 800, good: 263, bad: 35 });
    // 298 judged, 2.98 bad allowed, 35 bad: overspent.
    expect(budget?.budget_remaining).toBeCloseTo(1 - 35 / (298 * 0.01), 4);
    expect(budget?.burn_rates['5m']).toBeCloseTo(35 / 98 / 0.01, 3);
    expect(budget?.burn_rates['6h']).toBeCloseTo(35 / 298 / 0.01, 3);
    expect(budget?.exhausted_at).toBe(report.generated_at);
    // All four pairs of the SRE workbook: the page pairs and the ticket pairs (1d/2h above 3x, 3d/6h above 1x).
    expect(budget?.burning).toEqual(['fast', 'slow', 'ticket_fast', 'ticket_slow']);
    expect(budget?.burn_rates['2h']).toBeCloseTo(35 / 98 / 0.01, 3);
    expect(budget?.burn_rates['1d']).toBeCloseTo(35 / 298 / 0.01, 3);
    expect(report.overall.error_budget).toBeNull();

    const detail = (await (await gw.fetch(`${GW}/sla/${ROUTE}`)).json()) as RouteDetailReport;
    expect(detail.stats.error_budget).toMatchObject({ good: 263, bad: 35 });
    const md = await (await gw.fetch(`${GW}/sla?format=md`)).text();
    expect(md).toContain('## Error budgets');
    expect(md).toMatch(/\| slo\.e2e \| 99\.0% \| 30d \| 263 \| 35 \|/);
    expect(await (await gw.fetch(`${GW}/sla/${ROUTE}?format=html`)).text()).toContain('<h2>Error budgets</h2>');

    const dash = (await (await gw.fetch(`${GW}/dashboard/data`)).json()) as { routes: { route: string; stats: { error_budget: { bad: number } | null } }[] };
    expect(dash.routes.find((r) => r.route === ROUTE)?.stats.error_budget?.bad).toBe(35);

    const metrics = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(metrics).toContain('# TYPE llm_sla_error_budget_remaining gauge');
    expect(metrics).toMatch(/^llm_sla_error_budget_remaining\{route="slo\.e2e"\} -10\.74/m);
    expect(metrics).toMatch(/^llm_sla_burn_rate\{route="slo\.e2e",window="5m"\} 35\.71/m);

    const reg = registry(env);
    expect(await runDurableObjectAlarm(reg)).toBe(true);
    expect(await runDurableObjectAlarm(reg)).toBe(true); // still burning: no second alert

    // A flood of good calls: the short windows fall below their factors, so every pair resolves.
    await ingest(many(6000, () => sample(Date.now())));
    expect(await runDurableObjectAlarm(reg)).toBe(true);

    const received = (await (await fetch(`${hook}/received`)).json()) as { type: string; route: string; status: string; window: string; text: string }[];
    const mine = received.filter((a) => a.route === ROUTE && a.type.startsWith('slo.'));
    expect(mine.map((a) => `${a.type} ${a.window}`)).toEqual([
      'slo.burn 1h/5m',
      'slo.burn 6h/30m',
      'slo.burn 1d/2h',
      'slo.burn 3d/6h',
      'slo.burn_resolved 1h/5m',
      'slo.burn_resolved 6h/30m',
      'slo.burn_resolved 1d/2h',
      'slo.burn_resolved 3d/6h',
    ]);
    expect(mine[0]?.text).toContain(`Route 'slo.e2e' burns its error budget fast`);
    const listed = (await (await gw.fetch(`${GW}/sla/alerts`)).json()) as { alerts: { alert: { type: string; route: string } }[] };
    expect(listed.alerts.filter((a) => a.alert.route === ROUTE && a.alert.type.startsWith('slo.'))).toHaveLength(8);

    // Without an SLO, a route has no error budget.
    await gw.fetch(`${GW}/sla/config`, { method: 'DELETE', headers: auth });
    const plain = (await (await gw.fetch(`${GW}/sla`)).json()) as SlaReport;
    expect(plain.routes[ROUTE]?.error_budget).toBeNull();
  });
});
