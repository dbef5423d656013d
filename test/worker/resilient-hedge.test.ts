import { describe, expect, it } from 'vitest';
import type { BudgetReport } from '../../src/core/budget/report';
import type { CallRecord } from '../../src/core/record';
import { gateway, GW, jsonPost, metricValue, MOCK, mockId, mockRequests, mockState, only, type HarnessOptions } from './helpers';
import { collector } from './telemetry-support';

/**
 * Hedged requests in the attempt loop (src/worker/proxy/resilient.ts): when an attempt has no first token (a
 * stream) or no response (otherwise) by `hedge.after`, a second attempt goes to the next target whose breaker is
 * closed, within the route's hedge budget; the first to answer is the client's, the other is cancelled upstream.
 * Two OpenAI-format targets on the mock under their own base paths (`/p1`, `/p2`); each target's requests are filed
 * under their own mock id (`x-mock-id: /p1=<id>-a, /p2=<id>-b`), so each stream's state can be read apart.
 */
const GATEWAY_KEY = 'gk_hedge_test_00000001';
const PROVIDERS = { primary: { baseUrl: `${MOCK}/p1`, format: 'openai' }, backup: { baseUrl: `${MOCK}/p2`, format: 'openai' } };
const ROUTE = 'hedged.route';
const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };
const stream = { ...chat, stream: true };
const TARGETS = [{ provider: 'primary' }, { provider: 'backup' }];
const PRICES = JSON.stringify({ 'gpt-4o': { input: 1000, output: 1000 } });

function hedgeGateway(policy: Record<string, unknown>, vars: Record<string, string> = {}, options: HarnessOptions = {}) {
  return gateway(
    {
      PROVIDERS: JSON.stringify(PROVIDERS),
      GATEWAY_KEYS: JSON.stringify({ [GATEWAY_KEY]: 'team-h' }),
      BACKUP_API_KEY: 'sk-backup-managed',
      POLICIES: JSON.stringify({ routes: { [ROUTE]: { targets: TARGETS, ...policy } } }),
      PRICES,
      // The losers' tokens are estimated (their streams were cut before any usage): the estimate is on here.
      TOKEN_ESTIMATE: 'on',
      UPSTREAM_TIMEOUT_MS: '5000',
      ...vars,
    },
    options,
  );
}

/** Headers of one call; `mock` holds the mock's behaviour (scoped per target where it says `/p1=` or `/p2=`). */
const headers = (id: string, mock: Record<string, string> = {}) => ({
  'x-mock-id': `/p1=${id}-a, /p2=${id}-b`,
  'x-sla-route': ROUTE,
  'x-gateway-key': GATEWAY_KEY,
  authorization: 'Bearer sk-client-own-key',
  ...mock,
});

/** The mock's stream state of one target, once it says the stream ended or was cancelled (or after a second). */
async function streamEnd(id: string) {
  let state = await mockState(id);
  for (let i = 0; i < 50 && !state.aborted && !state.finished; i++) {
    await new Promise((r) => setTimeout(r, 20));
    state = await mockState(id);
  }
  return state;
}

const attemptsOf = (r: CallRecord) => r.resilience?.attempts.map((a) => ({ target: a.target, reason: a.reason, hedge: a.hedge ?? false })) ?? [];

describe('a hedge', () => {
  it('goes to the next target when the stream has no first token by `after`; the first token wins, the loser is cancelled upstream', async () => {
    const gw = hedgeGateway({ hedge: { after: { ms: 100 }, max_ratio: 1 } });
    const id = mockId('hw');
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(id, { 'x-mock-fail': '/p1=hang-before-first-token' })));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sla-served-by')).toBe('backup');
    expect(res.headers.get('x-sla-attempts')).toBe('2');
    const text = await res.text();
    // The client gets the winner's bytes, unchanged: nothing of the held primary.
    const direct = await fetch(`${MOCK}/p2/v1/chat/completions`, jsonPost(stream));
    expect(text).toBe(await direct.text());
    // The primary's stream was cancelled upstream: the mock saw its connection closed after the role event.
    expect(await streamEnd(`${id}-a`)).toMatchObject({ aborted: true, finished: false, eventsSent: 1 });
    expect(await streamEnd(`${id}-b`)).toMatchObject({ finished: true, aborted: false });

    const r = only(await gw.settle());
    expect(r).toMatchObject({ status: 200, outcome: 'success', provider: 'backup' });
    expect(r.resilience?.hedge).toEqual({ target: 'backup', afterMs: 100, result: 'won' });
    expect(attemptsOf(r)).toEqual([
      { target: 'primary', reason: 'hedge_lost', hedge: false },
      { target: 'backup', reason: null, hedge: true },
    ]);
    // The hedge started about `after` into the call; the primary waited at least that long for a first token.
    const [primary, backup] = r.resilience?.attempts ?? [];
    expect(backup?.atMs).toBeGreaterThanOrEqual(99);
    expect((primary?.atMs ?? NaN) + (primary?.ttftMs ?? NaN)).toBeGreaterThanOrEqual(backup?.atMs ?? NaN);
    // The loser's cost is the labelled estimate of what it consumed; the call's cost is both attempts'.
    expect(primary?.usageSource).toBe('estimated');
    expect(r.costUsd).toBeCloseTo((primary?.costUsd ?? NaN) + (backup?.costUsd ?? NaN), 12);
  });

  it("lost: the attempt it hedged answers first, the hedge is cancelled upstream, its cost counted in the team's spend", async () => {
    const gw = hedgeGateway({ hedge: { after: { ms: 50 }, max_ratio: 1 } }, { BUDGETS: JSON.stringify({ 'team-h': { daily_usd: 100 } }) });
    const id = mockId('hl');
    const res = await gw.fetch(
      `${GW}/primary/v1/chat/completions`,
      jsonPost(stream, headers(id, { 'x-mock-chunk-delay-ms': '/p1=300', 'x-mock-fail': '/p2=hang-before-first-token' })),
    );
    expect(res.headers.get('x-sla-served-by')).toBe('primary');
    expect(res.headers.get('x-sla-attempts')).toBe('2');
    await res.text();
    expect(await streamEnd(`${id}-b`)).toMatchObject({ aborted: true, finished: false, eventsSent: 1 });
    expect(await streamEnd(`${id}-a`)).toMatchObject({ finished: true });

    const r = only(await gw.settle());
    expect(r.resilience?.hedge).toEqual({ target: 'backup', afterMs: 50, result: 'lost' });
    expect(attemptsOf(r)).toEqual([
      { target: 'primary', reason: null, hedge: false },
      { target: 'backup', reason: 'hedge_lost', hedge: true },
    ]);
    const [primary, hedge] = r.resilience?.attempts ?? [];
    expect(primary?.usageSource).toBe('provider');
    // The hedge waited only while the race lasted: no TTFT of its target is made of that.
    expect(hedge?.ttftMs).toBeNull();
    expect(hedge?.usageSource).toBe('estimated');
    expect(hedge?.costUsd).toBeGreaterThan(0);
    expect(r.costUsd).toBeCloseTo((primary?.costUsd ?? NaN) + (hedge?.costUsd ?? NaN), 12);
    // The client saw one call: the route counts it once, its TTFT the primary's.
    expect(r.ttftMs).toBeGreaterThanOrEqual(300);
    const day = ((await (await gw.fetch(`${GW}/budgets`)).json()) as BudgetReport).teams['team-h']?.day;
    expect(day?.calls).toBe(1);
    expect(day?.spent_usd).toBeCloseTo(r.costUsd ?? NaN, 9);
    expect(day?.estimated_usd).toBeCloseTo(hedge?.costUsd ?? NaN, 9);
  });

  it('a non-streamed call is hedged when it has no response by `after`', async () => {
    const gw = hedgeGateway({ hedge: { after: { ms: 80 }, max_ratio: 1 } });
    const id = mockId('hj');
    const t0 = Date.now();
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(id, { 'x-mock-latency-ms': '/p1=3000' })));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sla-served-by')).toBe('backup');
    await res.json();
    expect(Date.now() - t0).toBeLessThan(2000);
    const r = only(await gw.settle());
    expect(r.resilience?.hedge?.result).toBe('won');
    // The primary never answered: its input is estimated all the same (the provider had the request).
    const [primary] = r.resilience?.attempts ?? [];
    expect(primary).toMatchObject({ status: 0, reason: 'hedge_lost', usageSource: 'estimated' });
    expect(primary?.costUsd).toBeGreaterThan(0);
  });

  it('a failure of one waits for the other; a fast answer before `after` sends no hedge at all', async () => {
    const gw = hedgeGateway({ hedge: { after: { ms: 50 }, max_ratio: 1 } });
    const id = mockId('hf');
    // The hedge fails at once (503); the primary answers later: the call is the primary's.
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(id, { 'x-mock-chunk-delay-ms': '/p1=250', 'x-mock-status': '/p2=503' })));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sla-served-by')).toBe('primary');
    await res.text();
    const fast = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(`${id}-f`)));
    expect(fast.headers.get('x-sla-attempts')).toBe('1');
    await fast.text();
    const [slow, quick] = await gw.settle();
    expect(slow?.resilience?.hedge?.result).toBe('lost');
    expect(attemptsOf(slow as CallRecord)).toEqual([
      { target: 'primary', reason: null, hedge: false },
      { target: 'backup', reason: 'status_503', hedge: true },
    ]);
    expect(quick?.resilience?.hedge).toBeUndefined();
    expect(await mockRequests(`${id}-f-b`)).toEqual([]);
  });
});

describe('spans', () => {
  it("a hedged call's span says the hedge's result; the hedge's attempt span says it is one, each with its first-token deadline", async () => {
    const otlp = collector({ OTEL_TRACES_SAMPLER_ARG: '1' });
    const gw = hedgeGateway({ hedge: { after: { ms: 60 }, max_ratio: 1 }, first_token_timeout_ms: 2000 }, otlp.vars);
    const id = mockId('hs');
    await (await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(id, { 'x-mock-fail': '/p1=hang-before-first-token' })))).text();
    await gw.settle();
    let spans = await otlp.spans();
    for (let i = 0; i < 50 && spans.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 20));
      spans = await otlp.spans();
    }
    const call = spans.find((s) => s.attributes['llm_sla.served_by'] !== undefined);
    expect(call?.attributes).toMatchObject({ 'llm_sla.served_by': 'backup', 'llm_sla.attempts': 2, 'llm_sla.hedge.result': 'won' });
    const attempts = spans.filter((s) => s !== call);
    expect(attempts.map((s) => [s.attributes['llm_sla.attempt.target'], s.attributes['llm_sla.attempt.hedge'] ?? false, s.attributes['llm_sla.attempt.reason'] ?? null])).toEqual([
      ['primary', false, 'hedge_lost'],
      ['backup', true, null],
    ]);
    expect(attempts.every((s) => s.attributes['llm_sla.attempt.first_token_timeout'] === 2 && s.attributes['llm_sla.attempt.first_token_timeout.source'] === 'fixed')).toBe(true);
  });
});

describe('the hedge budget', () => {
  it('holds under a burst: at most max_ratio of the calls are hedged, and credit is forgotten after a quiet minute', async () => {
    let shift = 0;
    const gw = hedgeGateway({ hedge: { after: { ms: 30 }, max_ratio: 0.1 } }, {}, { now: () => Date.now() + shift });
    const id = mockId('hb');
    // Every call is slow to its first token on both targets: every one would be hedged without a budget.
    const slow = { 'x-mock-chunk-delay-ms': '300' };
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(`${id}-${i}`, slow)))));
    await Promise.all(burst.map((r) => r.text()));
    const records = await gw.settle();
    const hedged = records.filter((r) => r.resilience?.hedge !== undefined).length;
    expect(records).toHaveLength(40);
    // The bucket starts empty and each call adds 0.1 of a hedge: 40 calls earn at most 4.
    expect(hedged).toBeGreaterThanOrEqual(1);
    expect(hedged).toBeLessThanOrEqual(4);
    expect(burst.filter((r) => r.headers.get('x-sla-attempts') === '2')).toHaveLength(hedged);

    // Ten more calls earn one hedge; after a quiet minute the credit is gone, and ten calls must earn it again.
    for (let i = 0; i < 9; i++) await (await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(`${id}-q${i}`)))).json();
    shift += 61_000;
    const after = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(`${id}-late`, slow)));
    await after.text();
    expect(after.headers.get('x-sla-attempts')).toBe('1');
  }, 30_000);
});

describe('breakers and hedges together', () => {
  it('a hedge never goes to a target whose breaker is open, nor to one due for its probe', async () => {
    let shift = 0;
    const breaker = { failure_rate: 0.5, min_calls: 2, window_s: 60, cooldown_s: 30 };
    const gw = hedgeGateway({ hedge: { after: { ms: 40 }, max_ratio: 1 }, breaker }, {}, { now: () => Date.now() + shift });
    const id = mockId('hbr');
    // Two slow calls hedged to a failing backup: its breaker opens on the hedges' 503s.
    for (let i = 0; i < 2; i++) {
      const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(`${id}-${i}`, { 'x-mock-chunk-delay-ms': '/p1=200', 'x-mock-status': '/p2=503' })));
      expect(res.headers.get('x-sla-attempts')).toBe('2');
      await res.text();
    }
    await gw.settle();
    const metrics = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(metricValue(metrics, `llm_sla_breaker_state{route="${ROUTE}",target="backup",state="open"}`)).toBe(1);
    // Open: the next slow call is not hedged.
    const open = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(`${id}-open`, { 'x-mock-chunk-delay-ms': '/p1=200' })));
    expect(open.headers.get('x-sla-attempts')).toBe('1');
    await open.text();
    // Due for its probe: a hedge is not a probe either.
    shift += 31_000;
    const probe = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(`${id}-probe`, { 'x-mock-chunk-delay-ms': '/p1=200' })));
    expect(probe.headers.get('x-sla-attempts')).toBe('1');
    await probe.text();
    const records = await gw.settle();
    expect(records.slice(-2).map((r) => r.resilience?.hedge?.result ?? null)).toEqual([null, null]);
    expect(await mockRequests(`${id}-open-b`)).toEqual([]);
    expect(await mockRequests(`${id}-probe-b`)).toEqual([]);
  }, 30_000);
});

describe('what is shown', () => {
  it('/metrics counts hedges won and lost per route; fallbacks leave hedges out', async () => {
    const route = `hedged.shown.${Date.now()}`;
    const gw = gateway(
      {
        PROVIDERS: JSON.stringify(PROVIDERS),
        GATEWAY_KEYS: JSON.stringify({ [GATEWAY_KEY]: 'team-h' }),
        BACKUP_API_KEY: 'sk-backup-managed',
        POLICIES: JSON.stringify({ routes: { [route]: { targets: TARGETS, hedge: { after: { ms: 50 }, max_ratio: 1 } } } }),
      },
      { durable: true },
    );
    const id = mockId('hm');
    const call = async (n: string, mock: Record<string, string>) => (await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, { ...headers(`${id}-${n}`, mock), 'x-sla-route': route }))).text();
    await call('won', { 'x-mock-fail': '/p1=hang-before-first-token' });
    await call('lost', { 'x-mock-chunk-delay-ms': '/p1=200', 'x-mock-fail': '/p2=hang-before-first-token' });
    await call('none', {});
    await gw.settle();
    // A counter first appears at 0 (the series budget's zero start), its count from the next refresh on.
    const zero = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(metricValue(zero, `llm_sla_hedges_total{route="${route}",result="won"}`)).toBe(0);
    const metrics = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(metricValue(metrics, `llm_sla_hedges_total{route="${route}",result="won"}`)).toBe(1);
    expect(metricValue(metrics, `llm_sla_hedges_total{route="${route}",result="lost"}`)).toBe(1);
    expect(metrics).not.toMatch(new RegExp(`llm_sla_fallbacks_total\\{route="${route.replaceAll('.', '\\.')}"`));
    // The SLA judges what the client saw: three calls, not five attempts.
    const sla = (await (await gw.fetch(`${GW}/sla/${route}`)).json()) as { stats: { count: number }; targets: Record<string, { count: number }> };
    expect(sla.stats.count).toBe(3);
    expect(sla.targets['primary']?.count).toBe(3);
    expect(sla.targets['backup']?.count).toBe(2);
  });
});
