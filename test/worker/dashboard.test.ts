import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { DashboardData } from '../../src/core/dashboard';
import { DASHBOARD_ASSETS } from '../../src/worker/dashboard/assets.generated';
import { DASHBOARD_CSP } from '../../src/worker/dashboard/page';
import { SESSION_S, sessionValue } from '../../src/worker/dashboard/session';
import { registry, routeStub } from '../../src/core/objects';
import type { RouteDetailReport, SlaReport } from '../../src/core/report-types';
import { gateway, GW, jsonPost } from './helpers';

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
const ADMIN = 'dash-admin-token';
const READ = 'dash-read-token';

async function call(gw: ReturnType<typeof gateway>, route: string, headers: Record<string, string> = {}, stream = false): Promise<void> {
  const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(stream ? { ...chat, stream: true } : chat, { 'x-sla-route': route, ...headers }));
  await res.arrayBuffer();
}

describe('GET /dashboard/data', () => {
  it('answers the /sla report of the window and each route\'s last hour per minute', async () => {
    const gw = gateway({}, { durable: true, sla: { default: { min_samples: 3 }, routes: { 'dash.slow': { max_p95_ms: 1 }, 'dash.fast': { max_p95_ms: 60_000, max_ttft_p95_ms: 60_000 } } } });
    for (let i = 0; i < 4; i++) await call(gw, 'dash.fast', {}, true);
    for (let i = 0; i < 3; i++) await call(gw, 'dash.slow', { 'x-mock-latency-ms': '20' });
    await call(gw, 'dash.slow', { 'x-mock-status': '500' });
    await gw.settle();

    const res = await gw.fetch(`${GW}/dashboard/data?window=15m`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const data = (await res.json()) as DashboardData;
    const report = (await (await gw.fetch(`${GW}/sla?window=15m`)).json()) as SlaReport;

    expect(data.window).toBe('15m');
    expect(data.passed).toBe(report.passed);
    expect(data.passed).toBe(false);
    expect(data.violations.map((v) => v.message)).toEqual(report.violations.map((v) => v.message));
    expect(data.routes.map((r) => r.route)).toEqual(Object.keys(report.routes));
    for (const r of data.routes) {
      expect(r.stats).toEqual(report.routes[r.route]);
      expect(r.series).toHaveLength(60);
      const last = Date.parse(r.series.at(-1)?.start ?? '');
      expect(last).toBe(Math.floor(Date.parse(data.generated_at) / 60_000) * 60_000);
      expect(Date.parse(data.series_to) - Date.parse(data.series_from)).toBe(3_600_000);
      expect(r.series.reduce((n, p) => n + p.count, 0)).toBe(r.stats.count);
    }
    const fast = data.routes.find((r) => r.route === 'dash.fast');
    const slow = data.routes.find((r) => r.route === 'dash.slow');
    expect(fast?.stats.sla.status).toBe('passed');
    expect(slow?.stats.sla.status).toBe('failed');
    expect(fast?.series.some((p) => p.ttft_p95 !== null)).toBe(true);
    expect(slow?.series.every((p) => p.ttft_p95 === null)).toBe(true);
    expect(slow?.series.filter((p) => p.count > 0).every((p) => (p.p95 ?? 0) >= 20)).toBe(true);
  });

  it('merges the minutes of a sharded route', async () => {
    const gw = gateway({ ROUTE_SHARDS: '2' }, { durable: true });
    for (let i = 0; i < 4; i++) {
      await call(gw, 'dash.sharded');
      await gw.settle();
    }
    const perShard = await Promise.all([0, 1].map(async (i) => (await routeStub(env.ROUTE_STATS, 'dash.sharded', i).minutes(0, Date.now() + 60_000)).reduce((n, w) => n + w.count, 0)));
    expect(perShard).toEqual([2, 2]);
    const data = (await (await gw.fetch(`${GW}/dashboard/data`)).json()) as DashboardData;
    const route = data.routes.find((r) => r.route === 'dash.sharded');
    expect(route?.series.reduce((n, p) => n + p.count, 0)).toBe(4);
  });

  it('lists recent alerts', async () => {
    const gw = gateway({ ADMIN_TOKEN: ADMIN }, { durable: true });
    const auth = { authorization: `Bearer ${ADMIN}` };
    const setTargets = (p95: number) =>
      gw.fetch(`${GW}/sla/config`, { method: 'PUT', headers: auth, body: JSON.stringify({ alert_after: 1, default: { min_samples: 1 }, routes: { 'dash.alert': { max_p95_ms: p95 } } }) });
    await call(gw, 'dash.alert', { 'x-mock-latency-ms': '10' }); // measurably slower than the failing target (workerd's clock moves with I/O only)
    await gw.settle();
    await setTargets(60_000);
    expect(await runDurableObjectAlarm(registry(env))).toBe(true);
    await setTargets(1);
    expect(await runDurableObjectAlarm(registry(env))).toBe(true);
    const data = (await (await gw.fetch(`${GW}/dashboard/data`)).json()) as DashboardData;
    const alert = data.alerts.find((a) => a.route === 'dash.alert');
    expect(alert).toMatchObject({ type: 'sla.violated', status: 'failed', previous_status: 'passed' });
    expect(alert?.violations[0]).toContain(`Route 'dash.alert' P95 latency`);
    expect(Number.isNaN(Date.parse(alert?.at ?? ''))).toBe(false);
    await gw.fetch(`${GW}/sla/config`, { method: 'DELETE', headers: auth });
  });

  it('refuses a bad window with a clear 400', async () => {
    const gw = gateway();
    const res = await gw.fetch(`${GW}/dashboard/data?window=7d`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('window must look like');
  });
});

describe('GET /dashboard', () => {
  it('serves a self-contained page: its scripts and styles come from the worker, no inline script, a strict CSP', async () => {
    const gw = gateway();
    const res = await gw.fetch(`${GW}/dashboard`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    const html = await res.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources.shift()).toBe('data:,'); // no favicon request
    expect(sources).toHaveLength(4);
    for (const src of sources) {
      expect(src).toMatch(/^\/dashboard\/assets\/(uplot|app)\.(js|css)\?v=[0-9a-f]{16}$/);
      const asset = await gw.fetch(`${GW}${src}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await asset.text()).length).toBeGreaterThan(500);
    }
    expect(html).not.toMatch(/<script>|<style>|https?:\/\//);
    const uplot = await gw.fetch(`${GW}/dashboard/assets/uplot.js`);
    expect(uplot.headers.get('content-type')).toContain('javascript');
    expect(uplot.headers.get('cache-control')).toBe('no-cache');
    expect(await uplot.text()).toBe(DASHBOARD_ASSETS['uplot.js'].body);
    expect((await gw.fetch(`${GW}/dashboard/assets/..%2Fwrangler.toml`)).status).toBe(404);
    expect((await gw.fetch(`${GW}/dashboard/assets/constructor`)).status).toBe(404);
  });

  it('with SLA_READ_TOKEN: a sign-in form, a session cookie that holds no token, bearer tokens for machines', async () => {
    const gw = gateway({ SLA_READ_TOKEN: READ, ADMIN_TOKEN: ADMIN });
    const first = await gw.fetch(`${GW}/dashboard`);
    expect(first.status).toBe(401);
    expect(await first.text()).toContain('<form class="login" method="post" action="/dashboard/login">');
    expect((await gw.fetch(`${GW}/dashboard/data`)).status).toBe(401);

    const form = (token: string) => ({ method: 'POST', body: new URLSearchParams({ token }), redirect: 'manual' as const });
    const wrong = await gw.fetch(`${GW}/dashboard/login`, form('nope'));
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('That token is not valid.');
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const ok = await gw.fetch(`${GW}/dashboard/login`, form(READ));
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/dashboard');
    const setCookie = ok.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^llm_sla_dashboard=\d+\.[0-9a-f]{64}; Max-Age=43200; Path=\/dashboard; HttpOnly; SameSite=Strict$/);
    expect(setCookie).not.toContain(READ);
    const cookie = setCookie.split(';')[0] ?? '';
    expect((await gw.fetch(`${GW}/dashboard`, { headers: { cookie } })).status).toBe(200);
    expect((await gw.fetch(`${GW}/dashboard/data`, { headers: { cookie } })).status).toBe(200);
    // The session opens the dashboard only, not the token-guarded API.
    expect((await gw.fetch(`${GW}/sla`, { headers: { cookie } })).status).toBe(401);
    expect((await gw.fetch(`${GW}/dashboard/data`, { headers: { cookie: 'llm_sla_dashboard=' + '0'.repeat(64) } })).status).toBe(401);
    // Signed with its issue time: another issue time breaks the signature, and the server ends it after 12 h.
    const [issued, mac] = (cookie.split('=')[1] ?? '').split('.');
    const moved = `llm_sla_dashboard=${Number(issued) + 1}.${mac}`;
    expect((await gw.fetch(`${GW}/dashboard/data`, { headers: { cookie: moved } })).status).toBe(401);
    const now = Math.floor(Date.now() / 1000);
    const stale = `llm_sla_dashboard=${await sessionValue(READ, now - SESSION_S - 1)}`;
    expect((await gw.fetch(`${GW}/dashboard/data`, { headers: { cookie: stale } })).status).toBe(401);
    const lastMinute = `llm_sla_dashboard=${await sessionValue(READ, now - SESSION_S + 60)}`;
    expect((await gw.fetch(`${GW}/dashboard/data`, { headers: { cookie: lastMinute } })).status).toBe(200);
    // The pre-signing cookie (an unsalted digest of the token, no issue time) opens nothing.
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`llm-sla-dashboard\u0000${READ}`));
    const legacy = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
    expect((await gw.fetch(`${GW}/dashboard/data`, { headers: { cookie: `llm_sla_dashboard=${legacy}` } })).status).toBe(401);
    // A rotated token ends the session.
    const rotated = gateway({ SLA_READ_TOKEN: 'another-read-token' });
    expect((await rotated.fetch(`${GW}/dashboard/data`, { headers: { cookie } })).status).toBe(401);

    for (const token of [READ, ADMIN]) {
      expect((await gw.fetch(`${GW}/dashboard/data`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    }
    const out = await gw.fetch(`${GW}/dashboard/logout`, { method: 'POST', headers: { cookie }, redirect: 'manual' });
    expect(out.headers.get('set-cookie')).toMatch(/^llm_sla_dashboard=; Max-Age=0/);
    // Assets are public: they are the same for everyone and hold no data.
    expect((await gw.fetch(`${GW}/dashboard/assets/app.js`)).status).toBe(200);
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
