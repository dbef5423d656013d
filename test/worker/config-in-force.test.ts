import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { AlertRecord } from '../../src/core/alerts';
import { registry } from '../../src/core/objects';
import type { RouteDetailReport, SlaReport } from '../../src/core/report-types';
import type { ErrorBudget } from '../../src/core/sla/slo';
import { gateway, GW, jsonPost, metricValue } from './helpers';
import { configFor } from '../../src/config/in-force';
import type { ReceivedSpan } from '../support/otlp-receiver';

const ADMIN = 'config-in-force-admin';
const ROUTE = 'cif.route';
const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

let scopes = 0;

/** A fresh scope of the test OTLP collector and the vars that export to it, head sampling off. */
function collector() {
  const scope = `oc${Date.now()}x${++scopes}`;
  return {
    vars: { OTEL_EXPORTER_OTLP_ENDPOINT: `${env.OTLP_BASE}/${scope}`, OTEL_BSP_SCHEDULE_DELAY: '10', OTEL_TRACES_SAMPLER_ARG: '0' },
    spans: async (): Promise<ReceivedSpan[]> => (await fetch(`${env.OTLP_BASE}/__otlp/${scope}/spans`)).json(),
  };
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
    onTestFinished(() => reg.setConfig(null));

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
    expect(metricValue(metrics, `llm_sla_error_budget_remaining{route="${ROUTE}"}`)).toBe(route?.error_budget?.budget_remaining);
    expect(metricValue(metrics, `llm_sla_error_budget_remaining{route="${ROUTE}"}`)).toBeLessThan(0);

    expect(await runDurableObjectAlarm(reg)).toBe(true);
    const alerts = ((await (await gw.fetch(`${GW}/sla/alerts`)).json()) as { alerts: AlertRecord[] }).alerts.filter((a) => a.alert.route === ROUTE);
    // The status change and all four burn-rate pairs (page and ticket) of the new SLO.
    expect(alerts.map((a) => a.alert.type).sort()).toEqual(['sla.violated', 'slo.burn', 'slo.burn', 'slo.burn', 'slo.burn'].sort());
    expect(alerts.filter((a) => a.alert.type === 'slo.burn').map((a) => a.alert.window).sort()).toEqual(['1d/2h', '1h/5m', '3d/6h', '6h/30m']);
    expect(alerts.find((a) => a.alert.type === 'sla.violated')?.alert.violations.join(' ')).toMatch(/p95/i);
  });
});

describe('one resolved config', () => {
  it('holds every var the worker reads: tokens, SLA config, webhook', () => {
    const vars = { SLA_READ_TOKEN: 'reader-token', ADMIN_TOKEN: ADMIN, SLA_CONFIG: '{"default":{"max_p95_ms":100}}', ALERT_WEBHOOK_URL: 'https://hooks.example.com/x' };
    const result = configFor({ ...env, ...vars }).result;
    if (!result.ok) throw new Error(result.problems.join('; '));
    expect(result.config).toMatchObject({ readToken: 'reader-token', adminToken: ADMIN, alertWebhookUrl: 'https://hooks.example.com/x' });
    expect(result.config.sla).toEqual({ ok: true, source: 'env', config: { default: { max_p95_ms: 100 } } });
    expect(configFor({ ...env, ALERT_WEBHOOK_URL: 'ftp://x' }).result).toMatchObject({ ok: true, config: { alertWebhookUrl: null } });
  });

  it('keeps the tokens when the rest of the config is invalid: reads stay locked, the proxy answers 500', async () => {
    const vars = { SLA_READ_TOKEN: 'reader-token', PROVIDERS: '{not json' };
    expect(configFor({ ...env, ...vars }).service.readToken).toBe('reader-token');
    const gw = gateway(vars);
    expect((await gw.fetch(`${GW}/sla`)).status).toBe(401);
    expect((await gw.fetch(`${GW}/sla`, { headers: { authorization: 'Bearer reader-token' } })).status).toBe(200);
    expect((await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat))).status).toBe(500);
  });

  it('answers /sla/config errors in the gateway error shape', async () => {
    const gw = gateway({ ADMIN_TOKEN: ADMIN });
    const res = await gw.fetch(`${GW}/sla/config`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN}` }, body: '{"routes":{"x":{"max_p95_ms":"fast"}}}' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { message: expect.stringMatching(/^SLA config is invalid: routes\.x\.max_p95_ms: /), type: 'invalid_request_error', param: null, code: 'invalid_request' },
    });
    const broken = await gateway({ SLA_CONFIG: '{"bogus":1}' }).fetch(`${GW}/sla/config`);
    expect(broken.status).toBe(500);
    expect(((await broken.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'invalid_config', message: expect.stringContaining('bogus') });
  });
});

describe('span tail sampling follows the SLA config in force', () => {
  it('a PUT /sla/config slow-call threshold keeps slow spans, and DELETE drops it again', async () => {
    const c = collector();
    const gw = gateway({ ...c.vars, ADMIN_TOKEN: ADMIN });
    const auth = { authorization: `Bearer ${ADMIN}` };
    const slow = async () => (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-mock-latency-ms': '250' }))).arrayBuffer();
    await slow();
    await gw.settle();
    expect(await c.spans()).toHaveLength(0);
    const put = await gw.fetch(`${GW}/sla/config`, { method: 'PUT', headers: auth, body: JSON.stringify({ routes: { 'openai/*': { max_p95_ms: 150 } } }) });
    expect(put.status).toBe(200);
    await slow();
    await gw.settle();
    const spans = await c.spans();
    expect(spans).toHaveLength(1);
    expect(spans[0]?.attributes['llm_sla.sampled_by']).toBe('slow');
    await gw.fetch(`${GW}/sla/config`, { method: 'DELETE', headers: auth });
    await slow();
    await gw.settle();
    expect(await c.spans()).toHaveLength(1);
  });

  it('a config set through another isolate reaches this one once its copy is stale', async () => {
    const c = collector();
    const gw = gateway(c.vars);
    // Another isolate's PUT: only the registry knows; this isolate's copy says "none", and is old.
    await registry(env).setConfig(JSON.stringify({ routes: { 'openai/*': { max_p95_ms: 150 } } }));
    configFor(gw.env).setOverride({ config: null, openslo: null }, Date.now() - 60_000);
    // The first call refreshes the copy in its waitUntil; the next slow call is judged by the registry's config.
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat))).arrayBuffer();
    await gw.settle();
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-mock-latency-ms': '250' }))).arrayBuffer();
    await gw.settle();
    const spans = await c.spans();
    expect(spans.map((s) => s.attributes['llm_sla.sampled_by'])).toEqual(['slow']);
    await registry(env).setConfig(null);
  });
});
