import { env } from 'cloudflare:workers';
import { describe, expect, it, onTestFinished } from 'vitest';
import { registry, routeStub } from '../../src/core/objects';
import type { RouteDetailReport } from '../../src/core/report-types';
import type { CallRecord } from '../../src/core/record';
import type { Sample } from '../../src/core/sla/sample';
import { TAILS_REFRESH_MS } from '../../src/worker/proxy/tails';
import { gateway, GW, jsonPost, metricValue, MOCK, mockId, type HarnessOptions } from './helpers';

/**
 * Decisions from the targets' measured tails (src/worker/proxy/tails.ts over src/core/resilience/): each isolate
 * reads its routes' targets' TTFT and latency sketches from the route objects (the last five minutes, every isolate's
 * attempts), off the response path, and derives first-token deadlines and the targets' order from them. The tails
 * are set here by filing samples in the route object at chosen times, and the gateway's clock (`now`) moves.
 */
const GATEWAY_KEY = 'gk_tails_test_00000001';
const PROVIDERS = { primary: { baseUrl: `${MOCK}/p1`, format: 'openai' }, backup: { baseUrl: `${MOCK}/p2`, format: 'openai' } };
const stream = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true };
const TARGETS = [{ provider: 'primary' }, { provider: 'backup' }];
const DERIVED = { percentile: 95, factor: 2, min_ms: 50, max_ms: 5000, min_samples: 20 };

function tailsGateway(route: string, policy: Record<string, unknown>, options: HarnessOptions = {}) {
  return gateway(
    {
      PROVIDERS: JSON.stringify(PROVIDERS),
      GATEWAY_KEYS: JSON.stringify({ [GATEWAY_KEY]: '' }),
      BACKUP_API_KEY: 'sk-backup-managed',
      POLICIES: JSON.stringify({ routes: { [route]: { targets: TARGETS, ...policy } } }),
    },
    options,
  );
}

/** 100 first tokens of one target, `scale` x 1..100 ms (p95 = 95 x scale), filed at `ts` as answered by it. */
async function fileTail(route: string, target: string, ts: number, scale: number, n = 100): Promise<void> {
  const samples: Sample[] = Array.from({ length: n }, (_, i) => ({
    ts,
    outcome: 'success',
    totalMs: (i + 1) * scale + 20,
    ttftMs: (i + 1) * scale,
    inputTokens: 1,
    outputTokens: 1,
    costUsd: null,
    servedBy: target,
  }));
  await routeStub(env.ROUTE_STATS, route, 0).ingest({ route, samples, models: samples.map(() => null), droppedBefore: 0 });
}

const call = (gw: ReturnType<typeof gateway>, route: string, id: string, more: Record<string, string> = {}) =>
  gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, { 'x-mock-id': id, 'x-sla-route': route, 'x-gateway-key': GATEWAY_KEY, ...more }));

/** One call, its body read, its waitUntil work (the record, a tails read) done: its record. */
async function settled(gw: ReturnType<typeof gateway>, route: string, id: string, more: Record<string, string> = {}): Promise<CallRecord> {
  await (await call(gw, route, id, more)).text();
  return (await gw.settle()).at(-1) as CallRecord;
}

const firstTimeout = (r: CallRecord) => r.resilience?.attempts[0]?.firstTokenTimeout;

describe('derived first-token deadlines', () => {
  it('follow the sketch as it moves: the fixed deadline until measured, then p95 x factor, then the fixed one again', async () => {
    // Half an hour back: the route object keeps the hour; the gateway's clock walks forward from there.
    const t0 = Date.now() - 30 * 60_000;
    let now = t0;
    const route = `tails.follow.${t0}`;
    const gw = tailsGateway(route, { first_token_timeout: DERIVED, first_token_timeout_ms: 3000 }, { now: () => now });
    await fileTail(route, 'primary', t0 - 1000, 2);
    const id = mockId('fol');

    // Nothing read yet: the fixed deadline. The call reads the tails in its waitUntil.
    expect(firstTimeout(await settled(gw, route, id))).toEqual({ ms: 3000, source: 'fixed' });
    now += 100;
    // p95 of 2..200 ms is 190 (within the sketch's 0.5 %): the deadline is twice that.
    const derived = firstTimeout(await settled(gw, route, id));
    expect(derived?.source).toBe('derived');
    expect(derived?.ms).toBeGreaterThanOrEqual(376);
    expect(derived?.ms).toBeLessThanOrEqual(384);

    // Ten minutes on, the target has slowed down tenfold: the older windows are out of the recent five minutes.
    now = t0 + 10 * 60_000;
    await fileTail(route, 'primary', now - 1000, 20);
    await settled(gw, route, id); // decided on what was read before; reads again
    now += 100;
    const slower = firstTimeout(await settled(gw, route, id));
    expect(slower?.source).toBe('derived');
    expect(slower?.ms).toBeGreaterThanOrEqual(3760);
    expect(slower?.ms).toBeLessThanOrEqual(3840);

    // Another ten minutes without samples: fewer than min_samples, the fixed deadline again.
    now = t0 + 20 * 60_000;
    await settled(gw, route, id);
    now += 100;
    expect(firstTimeout(await settled(gw, route, id))).toEqual({ ms: 3000, source: 'fixed' });
  });

  it('applies: a stream with no first token by the derived deadline is given up and the next target streams', async () => {
    let now = Date.now() - 20 * 60_000;
    const route = `tails.apply.${now}`;
    // Without the tails there is no deadline at all (no first_token_timeout_ms).
    const gw = tailsGateway(route, { first_token_timeout: DERIVED }, { now: () => now });
    await fileTail(route, 'primary', now - 1000, 1);
    const id = mockId('app');
    expect(firstTimeout(await settled(gw, route, id))).toBeUndefined();
    now += 100;
    const started = Date.now();
    const r = await settled(gw, route, id, { 'x-mock-fail': '/p1=hang-before-first-token' });
    // p95 of 1..100 ms is 95: the deadline 190 ms.
    expect(firstTimeout(r)?.source).toBe('derived');
    expect(firstTimeout(r)?.ms).toBeGreaterThanOrEqual(188);
    expect(firstTimeout(r)?.ms).toBeLessThanOrEqual(192);
    expect(r.resilience?.attempts.map((a) => [a.target, a.reason])).toEqual([
      ['primary', 'first_token_timeout'],
      ['backup', null],
    ]);
    expect(r.resilience?.servedBy).toBe('backup');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a tails read is not repeated within its interval, and never delays a call', async () => {
    let now = Date.now() - 10 * 60_000;
    const route = `tails.interval.${now}`;
    const gw = tailsGateway(route, { first_token_timeout: DERIVED, first_token_timeout_ms: 3000 }, { now: () => now });
    const id = mockId('int');
    await settled(gw, route, id);
    // Filed after the read: not seen until the next read, TAILS_REFRESH_MS later.
    await fileTail(route, 'primary', now - 1000, 2);
    now += TAILS_REFRESH_MS - 1;
    expect(firstTimeout(await settled(gw, route, id))?.source).toBe('fixed');
    now += 1;
    // This call starts the read and is decided on what was known: the read lands in its waitUntil.
    expect(firstTimeout(await settled(gw, route, id))?.source).toBe('fixed');
    expect(firstTimeout(await settled(gw, route, id))?.source).toBe('derived');
  });
});

describe('targets ordered by their measured tails', () => {
  it('lowest_ttft_p95 sends calls first to the target with the lowest TTFT p95, and a recovered target wins them back', async () => {
    const t0 = Date.now() - 40 * 60_000;
    let now = t0;
    const route = `tails.order.${t0}`;
    // Never explore: every draw is above the exploration share.
    const gw = tailsGateway(route, { strategy: 'lowest_ttft_p95' }, { now: () => now, random: () => 0.99 });
    await fileTail(route, 'primary', t0 - 1000, 10);
    await fileTail(route, 'backup', t0 - 1000, 2);
    const id = mockId('ord');
    // Before the first read: as listed.
    expect((await settled(gw, route, id)).resilience?.servedBy).toBe('primary');
    now += 100;
    const r = await settled(gw, route, id);
    expect(r.resilience?.servedBy).toBe('backup');
    expect(r.resilience?.attempts.map((a) => a.target)).toEqual(['backup']);
    expect(r.resilience).toMatchObject({ strategy: 'lowest_ttft_p95', explored: null });

    // The primary recovers (its explored calls measured it again): ten minutes on, it leads.
    now = t0 + 10 * 60_000;
    await fileTail(route, 'primary', now - 1000, 1);
    await fileTail(route, 'backup', now - 1000, 2);
    await settled(gw, route, id);
    now += 100;
    expect((await settled(gw, route, id)).resilience?.servedBy).toBe('primary');
  });

  it('a share of the calls explores another target first, said in the record', async () => {
    let now = Date.now() - 15 * 60_000;
    const route = `tails.explore.${now}`;
    const gw = tailsGateway(route, { strategy: 'lowest_ttft_p95' }, { now: () => now, random: () => 0 });
    await fileTail(route, 'primary', now - 1000, 10);
    await fileTail(route, 'backup', now - 1000, 2);
    const id = mockId('exp');
    await settled(gw, route, id);
    now += 100;
    const r = await settled(gw, route, id);
    expect(r.resilience).toMatchObject({ servedBy: 'primary', explored: 'primary' });
  });
});

describe('what is shown', () => {
  it('/sla/<route> shows per target the percentiles the decisions read; /metrics the derived deadline per target', async () => {
    const route = `tails.shown.${Date.now()}`;
    // The registry judges by the policies in force where it runs: set at runtime, as an operator would, with targets
    // of the providers every part of the test runtime knows (the path's own provider, twice, by model).
    const policies = JSON.stringify({
      routes: { [route]: { targets: [{ provider: 'openai' }, { provider: 'openai', model: 'gpt-4o-mini' }], first_token_timeout: DERIVED, hedge: { after: { percentile: 90 } }, strategy: 'lowest_latency_p95' } },
    });
    await registry(env).setPolicies(policies);
    onTestFinished(() => registry(env).setPolicies(null));
    const gw = gateway({ POLICIES: policies }, { durable: true });
    // One call lists the route; then the tails are filed as they stand now.
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(stream, { 'x-mock-id': mockId('shw'), 'x-sla-route': route }))).text();
    await gw.settle();
    await fileTail(route, 'openai', Date.now() - 1000, 2);
    const detail = (await (await gw.fetch(`${GW}/sla/${route}`)).json()) as RouteDetailReport;
    const primary = detail.decisions?.targets['openai'];
    expect(detail.decisions).toMatchObject({ window: '5m', strategy: 'lowest_latency_p95', min_samples: 20 });
    expect(primary?.samples.ttft).toBeGreaterThanOrEqual(100);
    expect(primary?.percentiles['ttft_p95']).toBeCloseTo(190, -1);
    expect(primary?.percentiles['ttft_p90']).toBeCloseTo(180, -1);
    expect(primary?.percentiles['latency_p95']).toBeCloseTo(210, -1);
    expect(primary?.first_token_timeout_source).toBe('derived');
    expect(primary?.first_token_timeout_ms).toBeCloseTo(380, -1);
    expect(primary?.hedge_after_ms?.stream).toBeCloseTo(180, -1);
    // The other target has not been measured on enough samples: no deadline, no hedge by percentile.
    expect(detail.decisions?.targets['openai:gpt-4o-mini']).toMatchObject({
      first_token_timeout_ms: null,
      first_token_timeout_source: 'none',
      hedge_after_ms: { stream: null, other: null },
    });

    const metrics = await (await gw.fetch(`${GW}/metrics`)).text();
    const gauge = metricValue(metrics, `llm_sla_first_token_timeout_ms{route="${route}",target="openai"}`);
    expect(gauge).toBe(primary?.first_token_timeout_ms);
    expect(metrics).not.toContain(`llm_sla_first_token_timeout_ms{route="${route}",target="openai:gpt-4o-mini"}`);
  });
});
