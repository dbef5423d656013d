import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { configFor } from '../../src/config/in-force';
import type { DashboardData } from '../../src/core/dashboard';
import { registry } from '../../src/core/objects';
import type { RouteDetailReport } from '../../src/core/report-types';
import type { ReceivedSpan } from '../support/otlp-receiver';
import { gateway, GW, jsonPost } from './helpers';

const ADMIN = 'one-config-admin-token';
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
    configFor(gw.env).setOverride(null, Date.now() - 60_000);
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

describe('one per-minute series', () => {
  it('/sla/<route> and the dashboard give the same dense minutes', async () => {
    const gw = gateway({}, { durable: true });
    for (let i = 0; i < 3; i++) await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': 'oc.series' }))).arrayBuffer();
    await gw.settle();
    const detail = (await (await gw.fetch(`${GW}/sla/oc.series?window=5m`)).json()) as RouteDetailReport;
    expect(detail.series).toHaveLength(5);
    expect(detail.series.reduce((n, p) => n + p.count, 0)).toBe(3);
    const data = (await (await gw.fetch(`${GW}/dashboard/data?window=5m`)).json()) as DashboardData;
    const charted = data.routes.find((r) => r.route === 'oc.series')?.series ?? [];
    expect(charted).toHaveLength(60);
    expect(charted.slice(-5).map((p) => ({ ...p, throughput_rps: 0 }))).toEqual(detail.series.map((p) => ({ ...p, throughput_rps: 0 })));
  });
});
