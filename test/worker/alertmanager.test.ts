import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { budgetAlert } from '../../durable-objects/team-budgets/alerts';
import type { AmAlert } from '../../src/core/alertmanager';
import { registry, routeStub } from '../../src/core/objects';
import type { Sample } from '../../src/core/sla/sample';
import { gateway, GW } from './helpers';

const ADMIN = 'admin-secret-token';
const auth = { authorization: `Bearer ${ADMIN}` };
const ROUTE = 'am.burn';
const sample = (over: Partial<Sample> = {}): Sample => ({ ts: Date.now(), outcome: 'success', totalMs: 100, ttftMs: null, inputTokens: 1, outputTokens: 1, costUsd: null, ...over });
const many = (n: number, over: Partial<Sample> = {}) => Array.from({ length: n }, () => sample(over));
const ingest = (samples: Sample[]) => routeStub(env.ROUTE_STATS, ROUTE, 0).ingest({ route: ROUTE, samples, models: samples.map(() => 'm'), droppedBefore: 0 });
/** This route's burn alerts (its SLA status alerts have their own alertname). */
const mine = (a: AmAlert) => a.labels['route'] === ROUTE && a.labels['alertname'] === 'LlmSlaErrorBudgetBurn';
/** Each POST Alertmanager received, in order. */
const posts = async (): Promise<AmAlert[][]> => (await fetch(`${env.WEBHOOK_BASE}/am/received`)).json();

describe('alerts to Alertmanager (API v2)', () => {
  it('posts a burn alert with the rules\' labels while it fires, then its resolve with endsAt, then nothing', async () => {
    await fetch(`${env.WEBHOOK_BASE}/clear`, { method: 'POST' });
    const gw = gateway({ ADMIN_TOKEN: ADMIN }, { durable: true });
    const config = { routes: { 'am.*': { slo: { objective: 0.99, alerts: ['fast'], name: 'am-burn', labels: { team: 'search' } } } } };
    expect((await gw.fetch(`${GW}/sla/config`, { method: 'PUT', headers: auth, body: JSON.stringify(config) })).status).toBe(200);
    const reg = registry(env);
    await reg.register([{ route: ROUTE, shards: 1 }]);
    await ingest([...many(60), ...many(40, { outcome: 'upstream_error' })]);
    expect(await runDurableObjectAlarm(reg)).toBe(true);
    let sent = (await posts()).flat().filter(mine);
    expect(sent).toHaveLength(1);
    const firing = sent[0] as AmAlert;
    expect(firing.labels).toEqual({
      alertname: 'LlmSlaErrorBudgetBurn',
      route: ROUTE,
      team: 'search',
      slo: 'am-burn',
      objective: '0.99',
      burn: 'fast',
      severity: 'page',
      long: '1h',
      short: '5m',
      factor: '14.4',
    });
    expect(firing.endsAt).toBeUndefined();
    expect(firing.generatorURL).toBe(`http://gateway.test/sla/${ROUTE}`);
    expect(Date.parse(firing.startsAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(firing.annotations['summary']).toContain(`Route '${ROUTE}' burns its error budget fast`);

    // Still firing: sent again (Alertmanager resolves an alert not re-sent within its resolve_timeout).
    expect(await runDurableObjectAlarm(reg)).toBe(true);
    sent = (await posts()).flat().filter(mine);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(firing);

    // Good calls: the 5m window recovers, the resolve goes with the same labels and an end.
    await ingest(many(6000));
    expect(await runDurableObjectAlarm(reg)).toBe(true);
    sent = (await posts()).flat().filter(mine);
    const resolved = sent[2] as AmAlert;
    expect(resolved.labels).toEqual(firing.labels);
    expect(resolved.startsAt).toBe(firing.startsAt);
    expect(Date.parse(resolved.endsAt ?? '')).toBeGreaterThanOrEqual(Date.parse(firing.startsAt));
    // Taken: not sent again.
    expect(await runDurableObjectAlarm(reg)).toBe(true);
    expect((await posts()).flat().filter((a) => mine(a))).toHaveLength(3);
    await gw.fetch(`${GW}/sla/config`, { method: 'DELETE', headers: auth });
  });

  it('posts a team budget alert ending with its UTC day, with the team in its labels', async () => {
    await fetch(`${env.WEBHOOK_BASE}/clear`, { method: 'POST' });
    const now = Date.now();
    const payload = budgetAlert('search', 'day', new Date(now).toISOString().slice(0, 10), 4.1, 5, 0.8, 'block', now);
    await registry(env).recordAlerts([{ ts: now, route: payload.route, payload }]);
    expect(await runDurableObjectAlarm(registry(env))).toBe(true);
    const sent = (await posts()).flat().filter((a) => a.labels['alertname'] === 'LlmSlaTeamBudget');
    expect(sent).toHaveLength(1);
    expect(sent[0]?.labels).toMatchObject({ team: 'search', period: 'day', threshold: '0.8', severity: 'ticket' });
    const endOfDay = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), new Date(now).getUTCDate() + 1);
    expect(sent[0]?.endsAt).toBe(new Date(endOfDay).toISOString());
    expect(sent[0]?.generatorURL).toBe('http://gateway.test/budgets');
  });

  it('posts a circuit breaker opening with its route and target, and its closing as the resolve of that alert', async () => {
    await fetch(`${env.WEBHOOK_BASE}/clear`, { method: 'POST' });
    const route = `am.breaker.${Date.now()}`;
    const reg = registry(env);
    const change = { route, target: 'backup:gpt-4o-mini', calls: 12, windowS: 60, cooldownS: 30 } as const;
    const opened = Date.now();
    await reg.breakerChanged({ ...change, state: 'open', at: opened, failureRate: 0.75, source: 'local' });
    expect(await runDurableObjectAlarm(reg)).toBe(true);
    const ofRoute = async () => (await posts()).flat().filter((a) => a.labels['route'] === route);
    const [firing] = await ofRoute();
    expect(firing?.labels).toEqual({ alertname: 'LlmSlaBreakerOpen', route, target: 'backup:gpt-4o-mini', severity: 'ticket' });
    expect(firing?.endsAt).toBeUndefined();
    expect(firing?.annotations['summary']).toContain(`Circuit breaker opened on route '${route}', target 'backup:gpt-4o-mini'`);

    await reg.breakerChanged({ ...change, state: 'closed', at: opened + 31_000, calls: 1, failureRate: 0, source: 'probe' });
    expect(await runDurableObjectAlarm(reg)).toBe(true);
    const sent = await ofRoute();
    const resolved = sent.at(-1);
    expect(resolved?.labels).toEqual(firing?.labels);
    expect(resolved?.endsAt).toBe(new Date(opened + 31_000).toISOString());
  });
});
