import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { registry, routeStub } from '../../src/core/objects';
import type { RouteDetailReport, SlaReport } from '../../src/core/report-types';
import { gateway, GW, jsonPost } from './helpers';

const ADMIN = 'admin-secret-token';
const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

/** Exact quantile by the lower-rank definition the sketch promises to approximate. */
function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))] as number;
}

async function slaJson(gw: ReturnType<typeof gateway>, query = ''): Promise<SlaReport> {
  const res = await gw.fetch(`${GW}/sla${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as SlaReport;
}

describe('calls through the proxy land in the Durable Objects and /sla', () => {
  it('counts every call exactly, with exact success rate and throughput and percentiles within the sketch bound', async () => {
    const gw = gateway({}, { durable: true });
    const calls: Promise<Response>[] = [];
    const plan: [string, Record<string, string>][] = [];
    for (let i = 0; i < 20; i++) plan.push(['e2e.a', { 'x-mock-latency-ms': String((i * 7) % 60) }]);
    for (let i = 0; i < 5; i++) plan.push(['e2e.a', { 'x-mock-status': '500' }]);
    for (let i = 0; i < 3; i++) plan.push(['e2e.a', { 'x-mock-status': '429' }]);
    for (let i = 0; i < 2; i++) plan.push(['e2e.a', { 'x-mock-status': '400' }]);
    for (let i = 0; i < 12; i++) plan.push(['e2e.b', { 'x-mock-chunk-delay-ms': String(i % 4) }]);
    for (const [route, headers] of plan) {
      const body = route === 'e2e.b' ? { ...chat, stream: true } : chat;
      calls.push(gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(body, { 'x-sla-route': route, ...headers })));
    }
    for (const res of await Promise.all(calls)) await res.arrayBuffer();
    const records = await gw.settle();
    expect(records).toHaveLength(42);

    const report = await slaJson(gw, '?window=5m');
    const a = report.routes['e2e.a'];
    const b = report.routes['e2e.b'];
    expect(a).toMatchObject({ count: 30, successes: 20, failures: 8, throughput_rps: 0.1 });
    expect(a?.success_rate).toBeCloseTo(20 / 28, 4);
    expect(a?.outcomes).toMatchObject({ success: 20, upstream_error: 5, rate_limited: 3, client_error: 2 });
    expect(b).toMatchObject({ count: 12, successes: 12, failures: 0, success_rate: 1 });
    expect(b?.ttft).not.toBeNull();
    expect(a?.ttft).toBeNull();
    expect(report.overall.count).toBe(42);
    expect(report.overall.tokens).toEqual({ input: 32 * 11, output: 32 * 7 });

    for (const [route, stats] of [['e2e.a', a], ['e2e.b', b]] as const) {
      const latencies = records.filter((r) => r.route === route).map((r) => r.totalMs);
      for (const [q, key] of [[0.5, 'p50'], [0.9, 'p90'], [0.95, 'p95'], [0.99, 'p99']] as const) {
        const exact = exactQuantile(latencies, q);
        expect(Math.abs((stats?.latency?.[key] ?? -1) - exact), `${route} ${key}`).toBeLessThanOrEqual(exact * 0.01 + 0.05);
      }
      expect(stats?.latency?.max).toBe(Math.max(...latencies));
      expect(stats?.latency?.min).toBe(Math.min(...latencies));
    }

    const detail = (await (await gw.fetch(`${GW}/sla/e2e.a`)).json()) as RouteDetailReport;
    expect(detail.route).toBe('e2e.a');
    expect(detail.series.reduce((n, p) => n + p.count, 0)).toBe(30);
    const md = await (await gw.fetch(`${GW}/sla?format=md`)).text();
    expect(md).toContain('e2e.a');
    const html = await gw.fetch(`${GW}/sla`, { headers: { accept: 'text/html' } });
    expect(html.headers.get('content-type')).toContain('text/html');
    expect(await html.text()).toContain('e2e.b');
  });

  it('merges a route sharded over several objects', async () => {
    const gw = gateway({ ROUTE_SHARDS: '3' }, { durable: true });
    for (let i = 0; i < 9; i++) {
      const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': 'e2e.sharded' }));
      await res.arrayBuffer();
      await gw.settle(); // one flush per call, so consecutive flushes go to different shards
    }
    const perShard = await Promise.all(
      [0, 1, 2].map((i) => runInDurableObject(routeStub(env.ROUTE_STATS, 'e2e.sharded', i), (o) => o.snapshot(0, Date.now() + 120_000).merged.count)),
    );
    expect(perShard).toEqual([3, 3, 3]);
    expect((await slaJson(gw)).routes['e2e.sharded']?.count).toBe(9);
  });

  it('serves Prometheus metrics whose counters equal the calls made', async () => {
    const gw = gateway({}, { durable: true });
    for (const status of ['200', '200', '500']) {
      const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': 'e2e.metrics', 'x-mock-status': status === '200' ? '0' : status }));
      await res.arrayBuffer();
    }
    await gw.settle();
    const res = await gw.fetch(`${GW}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    // The route's first exposure starts every counter at 0 (every outcome), the next one counts its calls.
    const first = await res.text();
    expect(first).toContain('llm_sla_requests_total{route="e2e.metrics",outcome="success"} 0');
    expect(first).toContain('llm_sla_requests_total{route="e2e.metrics",outcome="timeout"} 0');
    const text = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(text).toContain('llm_sla_requests_total{route="e2e.metrics",outcome="success"} 2');
    expect(text).toContain('llm_sla_requests_total{route="e2e.metrics",outcome="upstream_error"} 1');
    expect(text).toContain('llm_sla_requests_total{route="e2e.metrics",outcome="timeout"} 0');
    expect(text).toMatch(/llm_sla_request_duration_seconds_count\{route="e2e.metrics"\} 3/);
    expect(text).toContain('llm_sla_tokens_total{route="e2e.metrics",model="gpt-4o-mini",type="output"}');
  });
});

describe('SLA config, access and alerts', () => {
  it('refuses admin endpoints without ADMIN_TOKEN and read endpoints without SLA_READ_TOKEN when set', async () => {
    const open = gateway();
    expect((await open.fetch(`${GW}/sla/config`, { method: 'PUT', body: '{}' })).status).toBe(403);
    const locked = gateway({ ADMIN_TOKEN: ADMIN, SLA_READ_TOKEN: 'reader' });
    expect((await locked.fetch(`${GW}/sla`)).status).toBe(401);
    expect((await locked.fetch(`${GW}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await locked.fetch(`${GW}/sla`, { headers: { authorization: 'Bearer reader' } })).status).toBe(200);
    expect((await locked.fetch(`${GW}/sla/reset`, { method: 'POST', headers: { authorization: 'Bearer reader' } })).status).toBe(401);
  });

  it('answers 500 with the problems for an invalid SLA_CONFIG while the proxy keeps working', async () => {
    const gw = gateway({ SLA_CONFIG: '{"default":{"max_p95_ms":-1},"bogus":1}' });
    const res = await gw.fetch(`${GW}/sla`);
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toContain('max_p95_ms');
    expect(body.error.message).toContain('bogus');
    const proxied = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat));
    expect(proxied.status).toBe(200);
  });

  it('replaces the config at runtime, validates it, and reports violations and statuses', async () => {
    const gw = gateway({ ADMIN_TOKEN: ADMIN }, { durable: true });
    const auth = { authorization: `Bearer ${ADMIN}` };
    const bad = await gw.fetch(`${GW}/sla/config`, { method: 'PUT', headers: auth, body: '{"routes":{"x":{"max_p95_ms":"fast"}}}' });
    expect(bad.status).toBe(400);
    const config = { default: { min_samples: 1 }, routes: { 'e2e.cfg*': { max_p95_ms: 0.001, min_success_rate: 0.99 }, 'e2e.few': { min_samples: 50 } } };
    const put = await gw.fetch(`${GW}/sla/config`, { method: 'PUT', headers: auth, body: JSON.stringify(config) });
    expect(put.status).toBe(200);
    expect(await (await gw.fetch(`${GW}/sla/config`)).json()).toMatchObject({ source: 'runtime', config });

    for (const [route, status] of [['e2e.cfg', '0'], ['e2e.cfg', '500'], ['e2e.few', '0']]) {
      const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': route as string, 'x-mock-status': status as string, 'x-mock-latency-ms': '10' }));
      await res.arrayBuffer();
    }
    await gw.settle();
    const report = await slaJson(gw);
    expect(report.passed).toBe(false);
    expect(report.routes['e2e.cfg']?.sla.status).toBe('failed');
    expect(report.routes['e2e.few']?.sla.status).toBe('insufficient_data');
    const messages = report.violations.map((v) => v.message);
    expect(messages).toContain(`Route 'e2e.cfg' success rate (50.0%) below target (99.0%)`);
    expect(messages.some((m) => m.startsWith(`Route 'e2e.cfg' P95 latency (`) && m.endsWith('exceeds target (0.0ms)'))).toBe(true);

    const reset = await gw.fetch(`${GW}/sla/reset`, { method: 'POST', headers: auth, body: JSON.stringify({ route: 'e2e.cfg' }) });
    expect(await reset.json()).toEqual({ reset: ['e2e.cfg'] });
    expect((await slaJson(gw)).routes['e2e.cfg']).toBeUndefined();
    await gw.fetch(`${GW}/sla/config`, { method: 'DELETE', headers: auth });
  });

  it('a route reset while this isolate keeps calling it is listed again, with only the calls after the reset', async () => {
    const gw = gateway({ ADMIN_TOKEN: ADMIN }, { durable: true });
    const auth = { authorization: `Bearer ${ADMIN}` };
    const call = async () => (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': 'e2e.relist' }))).arrayBuffer();
    for (let i = 0; i < 3; i++) await call();
    await gw.settle();
    expect((await slaJson(gw)).routes['e2e.relist']?.count).toBe(3);
    const reset = await gw.fetch(`${GW}/sla/reset`, { method: 'POST', headers: auth, body: JSON.stringify({ route: 'e2e.relist' }) });
    expect(await reset.json()).toEqual({ reset: ['e2e.relist'] });
    expect((await slaJson(gw)).routes['e2e.relist']).toBeUndefined();
    // The same isolate, which registered the route before the reset, goes on calling it.
    for (let i = 0; i < 2; i++) await call();
    await gw.settle();
    expect((await slaJson(gw)).routes['e2e.relist']?.count).toBe(2);
  });

  it('posts exactly one alert per confirmed transition to the webhook', async () => {
    const hook = env.WEBHOOK_BASE;
    await fetch(`${hook}/clear`, { method: 'POST' });
    const gw = gateway({ ADMIN_TOKEN: ADMIN }, { durable: true });
    const auth = { authorization: `Bearer ${ADMIN}` };
    const setTargets = (p95: number) =>
      gw.fetch(`${GW}/sla/config`, {
        method: 'PUT',
        headers: auth,
        body: JSON.stringify({ alert_after: 1, default: { min_samples: 1 }, routes: { 'e2e.alert': { max_p95_ms: p95 } } }),
      });
    // 10 ms upstream latency: workerd's clock only moves with I/O, so an instant local call can measure 0 ms and
    // pass any latency target — the calls must be measurably slower than the failing target below.
    for (let i = 0; i < 3; i++) {
      const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': 'e2e.alert', 'x-mock-latency-ms': '10' }));
      await res.arrayBuffer();
    }
    await gw.settle();
    const reg = registry(env);
    const evaluate = async () => expect(await runDurableObjectAlarm(reg)).toBe(true);

    await setTargets(60_000);
    await evaluate(); // first evaluation: passed, sets the state, no alert
    await setTargets(1);
    await evaluate(); // failed: one alert
    await evaluate(); // still failed: nothing new
    await setTargets(60_000);
    await evaluate(); // recovered: one alert
    await evaluate();

    const received = (await (await fetch(`${hook}/received`)).json()) as { type: string; route: string; text: string }[];
    const mine = received.filter((a) => a.route === 'e2e.alert');
    expect(mine.map((a) => a.type)).toEqual(['sla.violated', 'sla.recovered']);
    expect(mine[0]?.text).toContain(`Route 'e2e.alert' P95 latency`);
    const listed = (await (await gw.fetch(`${GW}/sla/alerts`)).json()) as { alerts: { delivered: boolean; alert: { route: string } }[] };
    expect(listed.alerts.filter((a) => a.alert.route === 'e2e.alert' && a.delivered)).toHaveLength(2);
    await gw.fetch(`${GW}/sla/config`, { method: 'DELETE', headers: auth });
  });
});

describe('a route with no SLA config of its own', () => {
  it('fails on the built-in success-rate floor when every call fails: /sla JSON, Markdown and the overall row', async () => {
    const gw = gateway({}, { durable: true });
    for (let i = 0; i < 12; i++) {
      const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': 'nu.failing', 'x-mock-status': '500' }));
      expect(res.status).toBe(500);
      await res.arrayBuffer();
    }
    await gw.settle();
    const report = await slaJson(gw);
    const route = report.routes['nu.failing'];
    expect(route).toMatchObject({ count: 12, failures: 12, success_rate: 0 });
    expect(route?.sla.status).toBe('failed');
    expect(route?.sla.targets).toMatchObject({ min_success_rate: 0.95, builtin: ['min_success_rate'] });
    expect(route?.sla.violations[0]?.metric).toBe('success_rate');
    expect(report.overall.sla.status).toBe('failed');
    expect(report.passed).toBe(false);
    const md = await (await gw.fetch(`${GW}/sla?format=md`)).text();
    expect(md).toMatch(/\| nu\.failing \| ❌ failed \| 12 \|/);
    const html = await (await gw.fetch(`${GW}/sla?format=html`)).text();
    expect(html).toContain('<tr><td>nu.failing</td><td><span class="badge failed">failed</span></td><td>12</td>');
    const dash = (await (await gw.fetch(`${GW}/dashboard/data`)).json()) as { passed: boolean; routes: { route: string; stats: { sla: { status: string } } }[] };
    expect(dash.passed).toBe(false);
    expect(dash.routes.find((r) => r.route === 'nu.failing')?.stats.sla.status).toBe('failed');
  });

  it('lets the config turn the floor off with min_success_rate: 0', async () => {
    const gw = gateway({}, { durable: true, sla: { routes: { 'nu.optout': { min_success_rate: 0, min_samples: 1 } } } });
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': 'nu.optout', 'x-mock-status': '500' }));
    await res.arrayBuffer();
    await gw.settle();
    const route = (await slaJson(gw)).routes['nu.optout'];
    expect(route?.sla).toMatchObject({ status: 'passed', targets: { min_success_rate: 0, builtin: [] } });
  });
});
