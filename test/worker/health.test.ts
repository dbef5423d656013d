import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { AlertPayload, AlertRecord } from '../../src/core/alerts';
import { registry } from '../../src/core/objects';
import type { RouteDetailReport } from '../../src/core/report-types';
import { SHARED_HEALTH_MS } from '../../src/worker/proxy/health';
import { gateway, GW, jsonPost, metricValue, MOCK, mockId, mockRequests, type HarnessOptions } from './helpers';

/**
 * Circuit breakers per route and target (src/worker/proxy/health.ts over src/core/resilience/breaker.ts), driven by
 * the gateway's clock: opened by this isolate's failures or by every isolate's (the route objects), skipping the
 * target while open, one probe after the cooldown; each change an alert (registry log, webhook) and a gauge.
 */
const GATEWAY_KEY = 'gk_breaker_test_00001';
const PROVIDERS = { primary: { baseUrl: `${MOCK}/p1`, format: 'openai' }, backup: { baseUrl: `${MOCK}/p2`, format: 'openai' } };
const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };
const BREAKER = { failure_rate: 0.5, min_calls: 4, window_s: 60, cooldown_s: 30 };

function breakerGateway(route: string, policy: Record<string, unknown>, clock: () => number, options: HarnessOptions = {}) {
  return gateway(
    {
      PROVIDERS: JSON.stringify(PROVIDERS),
      GATEWAY_KEYS: JSON.stringify({ [GATEWAY_KEY]: '' }),
      BACKUP_API_KEY: 'sk-backup-managed',
      POLICIES: JSON.stringify({ routes: { [route]: { targets: [{ provider: 'primary' }, { provider: 'backup' }], ...policy } } }),
    },
    { now: clock, ...options },
  );
}

const call = (gw: ReturnType<typeof gateway>, route: string, id: string, more: Record<string, string> = {}) =>
  gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, { 'x-mock-id': id, 'x-sla-route': route, 'x-gateway-key': GATEWAY_KEY, ...more }));

async function alertsOf(route: string): Promise<AlertPayload[]> {
  return ((await registry(env).alerts(500)) as AlertRecord[]).filter((a) => a.alert.route === route && a.alert.type.startsWith('breaker.')).map((a) => a.alert);
}

describe('circuit breakers', () => {
  it('open on failures, skip the target, let one probe through after the cooldown, close on its success; each change alerts', async () => {
    await fetch(`${env.WEBHOOK_BASE}/clear`, { method: 'POST' });
    let now = Date.now();
    const route = `br.cycle.${now}`;
    const gw = breakerGateway(route, { breaker: BREAKER }, () => now);
    const id = mockId('br');
    const failing = { 'x-mock-status': '/p1=503' };
    for (let i = 0; i < 4; i++) {
      const res = await call(gw, route, id, failing);
      expect(res.headers.get('x-sla-attempts')).toBe('2');
      now += 1000;
    }
    await gw.settle();
    expect((await registry(env).breakerStates()).filter((b) => b.route === route)).toMatchObject([{ target: 'primary', state: 'open', calls: 4, failureRate: 1 }]);

    // Open: the primary is skipped, the call goes straight to the backup.
    const skipped = await call(gw, route, id, failing);
    expect(skipped.headers.get('x-sla-attempts')).toBe('1');
    expect(skipped.headers.get('x-sla-served-by')).toBe('backup');
    expect((await mockRequests(id)).filter((r) => r.path.startsWith('/p1/'))).toHaveLength(4);
    const records = await gw.settle();
    expect(records.at(-1)?.resilience?.skipped).toEqual([{ target: 'primary', reason: 'breaker_open' }]);
    const metrics = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(metricValue(metrics, `llm_sla_breaker_state{route="${route}",target="primary",state="open"}`)).toBe(1);
    expect(metricValue(metrics, `llm_sla_breaker_state{route="${route}",target="primary",state="closed"}`)).toBe(0);

    // After the cooldown one probe goes; still failing, it opens again for another cooldown.
    now += 31_000;
    expect((await call(gw, route, id, failing)).headers.get('x-sla-attempts')).toBe('2');
    expect((await call(gw, route, id, failing)).headers.get('x-sla-attempts')).toBe('1');
    await gw.settle();
    // The primary recovers: the next probe closes it.
    now += 31_000;
    expect((await call(gw, route, id)).headers.get('x-sla-served-by')).toBe('primary');
    await gw.settle();
    expect((await call(gw, route, id)).headers.get('x-sla-served-by')).toBe('primary');
    await gw.settle();
    expect((await registry(env).breakerStates()).find((b) => b.route === route)?.state).toBe('closed');

    const alerts = await alertsOf(route);
    expect(alerts.map((a) => a.type).sort()).toEqual(['breaker.closed', 'breaker.opened']);
    const opened = alerts.find((a) => a.type === 'breaker.opened');
    expect(opened?.breaker).toMatchObject({ target: 'primary', calls: 4, failure_rate: 1, source: 'local', cooldown_s: 30 });
    expect(opened?.text).toContain(`Circuit breaker opened on route '${route}', target 'primary'`);
    expect(await runDurableObjectAlarm(registry(env))).toBe(true);
    const delivered = ((await (await fetch(`${env.WEBHOOK_BASE}/received`)).json()) as AlertPayload[]).filter((a) => a.route === route);
    expect(delivered.map((a) => a.type).sort()).toEqual(['breaker.closed', 'breaker.opened']);
  });

  it('when every target is open, the last one is still tried', async () => {
    let now = Date.now();
    const route = `br.all.${now}`;
    const gw = breakerGateway(route, { breaker: { ...BREAKER, min_calls: 2 } }, () => now);
    const id = mockId('all');
    for (let i = 0; i < 2; i++) {
      await call(gw, route, id, { 'x-mock-status': '503' });
      now += 100;
    }
    await gw.settle();
    const res = await call(gw, route, id, { 'x-mock-status': '503' });
    expect(res.status).toBe(503);
    expect(res.headers.get('x-sla-attempts')).toBe('1');
    expect(res.headers.get('x-sla-served-by')).toBe('backup');
    const records = await gw.settle();
    expect(records.at(-1)?.resilience?.skipped).toEqual([{ target: 'primary', reason: 'breaker_open' }]);
  });

  it("opens on every isolate's failures as the route objects hold them, read off the response path", async () => {
    let now = Date.now();
    const route = `br.shared.${now}`;
    const policy = { breaker: BREAKER };
    // Isolate A sees the primary fail; its records reach the route objects.
    const a = breakerGateway(route, policy, () => now, { durable: true });
    const id = mockId('sh');
    for (let i = 0; i < 5; i++) await call(a, route, id, { 'x-mock-status': '/p1=503' });
    await a.settle();
    // Isolate B (another env: its own breakers) never saw a failure: its first call reaches the primary, which
    // answers; meanwhile it reads the route objects and its breaker opens on A's failures.
    now += SHARED_HEALTH_MS;
    const b = breakerGateway(route, policy, () => now, { durable: true });
    expect((await call(b, route, id)).headers.get('x-sla-served-by')).toBe('primary');
    await b.settle();
    const next = await call(b, route, id);
    expect(next.headers.get('x-sla-served-by')).toBe('backup');
    expect(next.headers.get('x-sla-attempts')).toBe('1');
    await b.settle();
    // One alert: B's breaker opening on the same news is not news to the registry.
    expect((await alertsOf(route)).map((x) => x.type)).toEqual(['breaker.opened']);
    const detail = (await (await b.fetch(`${GW}/sla/${route}`)).json()) as RouteDetailReport;
    expect(detail.targets['primary']?.breaker.state).toBe('open');
    // A's own breaker opened after its fourth failure (its fifth call skipped the primary); B's one call answered.
    expect(detail.targets['primary']).toMatchObject({ count: 5, failures: 4, successes: 1 });
  });
});
