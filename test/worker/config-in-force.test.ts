import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../src/core/alerts';
import { registry } from '../../src/core/objects';
import type { RouteDetailReport, SlaReport } from '../../src/core/report-types';
import type { ErrorBudget } from '../../src/core/sla/slo';
import { gateway, GW, jsonPost } from './helpers';

const ADMIN = 'config-in-force-admin';
const ROUTE = 'cif.route';
const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

function gauge(text: string, name: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

describe('the SLA config in force (src/config/in-force.ts)', () => {
  it('after PUT /sla/config, /sla, /sla/<route>, /metrics, the alerts and the error budgets all judge by the new config at once', async () => {
    const gw = gateway({ ADMIN_TOKEN: ADMIN }, { durable: true });
    const auth = { authorization: `Bearer ${ADMIN}` };
    const put = async (config: unknown) => expect((await gw.fetch(`${GW}/sla/config`, { method: 'PUT', headers: auth, body: JSON.stringify(config) })).status).toBe(200);
    const calls = async (n: number) => {
      for (let i = 0; i < n; i++) await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': ROUTE, 'x-mock-latency-ms': '20' }))).arrayBuffer();
      await gw.settle();
    };
    const reg = registry(env);

    // A lenient config: the route passes, and the alarm's first evaluation takes that as its starting status.
    await put({ alert_after: 1, routes: { 'cif.*': { min_samples: 1 } } });
    await calls(3);
    expect(((await (await gw.fetch(`${GW}/sla`)).json()) as SlaReport).routes[ROUTE]?.sla.status).toBe('passed');
    expect(await runDurableObjectAlarm(reg)).toBe(true);

    // A strict one, with an SLO: every call from now on is slow and bad.
    await put({ alert_after: 1, routes: { 'cif.*': { min_samples: 1, max_p95_ms: 1, slo: { objective: 0.99, latency_ms: 1 } } } });
    await calls(3);

    const report = (await (await gw.fetch(`${GW}/sla`)).json()) as SlaReport;
    const route = report.routes[ROUTE];
    expect(route?.sla.status).toBe('failed');
    // The route object judged the calls after the PUT by the new SLO (none before it).
    expect(route?.error_budget).toMatchObject({ good: 0, bad: 3 });

    const detail = (await (await gw.fetch(`${GW}/sla/${ROUTE}`)).json()) as RouteDetailReport;
    expect(detail.stats.sla.status).toBe('failed');
    // The same budget; when it runs out is computed at each report's own time.
    const atOwnTime = (b: ErrorBudget | null | undefined) => ({ ...b, exhausted_at: null });
    expect(atOwnTime(detail.stats.error_budget)).toEqual(atOwnTime(route?.error_budget));

    const metrics = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(gauge(metrics, `llm_sla_error_budget_remaining{route="${ROUTE}"}`)).toBe(route?.error_budget?.budget_remaining);
    expect(gauge(metrics, `llm_sla_error_budget_remaining{route="${ROUTE}"}`)).toBeLessThan(0);

    expect(await runDurableObjectAlarm(reg)).toBe(true);
    const alerts = ((await (await gw.fetch(`${GW}/sla/alerts`)).json()) as { alerts: AlertRecord[] }).alerts.filter((a) => a.alert.route === ROUTE);
    expect(alerts.map((a) => a.alert.type).sort()).toEqual(['sla.violated', 'slo.burn', 'slo.burn'].sort());
    expect(alerts.find((a) => a.alert.type === 'sla.violated')?.alert.violations.join(' ')).toMatch(/p95/i);
  });
});
