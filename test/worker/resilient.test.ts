import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { BudgetReport } from '../../src/core/budget/report';
import type { CallRecord } from '../../src/core/record';
import type { RouteDetailReport } from '../../src/core/report-types';
import { decodeBase64, gateway, GW, jsonPost, metricValue, MOCK, mockId, mockRequests, mockState, only, scrape, type HarnessOptions } from './helpers';
import { collector } from './telemetry-support';

/**
 * The attempt loop (src/worker/proxy/resilient.ts, attempt.ts): a route's policy retries and replaces attempts that
 * fail before the client gets a byte. Three OpenAI-format targets on the mock under their own base paths (`/p1`,
 * `/p2`, `/p3`), so one request's `x-mock-*` headers can fail some of them (`/p1=503`); two Anthropic ones.
 */
const GATEWAY_KEY = 'gk_resilience_test_0001';
const PROVIDERS = {
  primary: { baseUrl: `${MOCK}/p1`, format: 'openai' },
  backup: { baseUrl: `${MOCK}/p2`, format: 'openai' },
  third: { baseUrl: `${MOCK}/p3`, format: 'openai' },
  claude1: { baseUrl: `${MOCK}/a1`, format: 'anthropic' },
  claude2: { baseUrl: `${MOCK}/a2`, format: 'anthropic' },
};
const ROUTE = 'rag.generation';
const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };
const stream = { ...chat, stream: true };

function policyGateway(route: Record<string, unknown>, vars: Record<string, string> = {}, options: HarnessOptions = {}) {
  return gateway(
    {
      PROVIDERS: JSON.stringify(PROVIDERS),
      GATEWAY_KEYS: JSON.stringify({ [GATEWAY_KEY]: 'team-r' }),
      BACKUP_API_KEY: 'sk-backup-managed',
      THIRD_API_KEY: 'sk-third-managed',
      CLAUDE2_API_KEY: 'sk-ant-claude2-managed',
      POLICIES: JSON.stringify({ default: { retries: 0 }, routes: { [ROUTE]: route, 'anthropic.route': { targets: [{ provider: 'claude2' }] } } }),
      UPSTREAM_TIMEOUT_MS: '3000',
      ...vars,
    },
    options,
  );
}

const headers = (id: string, more: Record<string, string> = {}) => ({
  'x-mock-id': id,
  'x-sla-route': ROUTE,
  'x-gateway-key': GATEWAY_KEY,
  authorization: 'Bearer sk-client-own-key',
  ...more,
});

/** What the mock got at one base path, for one id. */
async function at(prefix: string, id: string) {
  return (await mockRequests(id)).filter((r) => r.path.startsWith(prefix));
}

const BACKUP_MINI = { targets: [{ provider: 'primary' }, { provider: 'backup', model: 'gpt-4o-mini' }] };

describe('fallback to another target', () => {
  it('a 503 moves on to the backup: the client gets its status, headers and bytes, plus x-sla-served-by and x-sla-attempts', async () => {
    const gw = policyGateway(BACKUP_MINI);
    const id = mockId('fb');
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(id, { 'x-mock-status': '/p1=503', 'x-mock-extra-header': 'from-upstream' })));
    const direct = await fetch(`${MOCK}/p2/v1/chat/completions`, jsonPost({ ...chat, model: 'gpt-4o-mini' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sla-served-by')).toBe('backup:gpt-4o-mini');
    expect(res.headers.get('x-sla-attempts')).toBe('2');
    expect(res.headers.get('x-mock-extra')).toBe('from-upstream');
    expect(res.headers.get('x-request-id')).toBe('req_mock');
    // Server-Timing as on the plain path: the attempts and their waits are the upstream's time.
    expect(res.headers.get('server-timing')).toMatch(/^gateway;dur=[\d.]+, upstream;dur=[\d.]+$/);
    expect(await res.text()).toBe(await direct.text());

    // The client's key went to the provider its path names, the managed key to the backup; the backup's model.
    const [first] = await at('/p1/', id);
    const [second] = await at('/p2/', id);
    expect(first?.headers['authorization']).toBe('Bearer sk-client-own-key');
    expect(second?.headers['authorization']).toBe('Bearer sk-backup-managed');
    expect(JSON.stringify(second?.headers)).not.toContain('sk-client-own-key');
    expect(JSON.parse(decodeBase64(second?.bodyBase64 ?? '')).model).toBe('gpt-4o-mini');
    expect(second?.headers['x-gateway-key']).toBeUndefined();

    // One record, the call as the client saw it, with its attempts.
    const r = only(await gw.settle());
    expect(r).toMatchObject({ status: 200, outcome: 'success', provider: 'backup', responseModel: 'gpt-4o-mini', team: 'team-r' });
    expect(r.resilience?.servedBy).toBe('backup:gpt-4o-mini');
    expect(r.resilience?.attempts.map((a) => [a.target, a.outcome, a.status, a.reason])).toEqual([
      ['primary', 'upstream_error', 503, 'status_503'],
      ['backup:gpt-4o-mini', 'success', 200, null],
    ]);
    expect(r.resilience?.attempts[1]?.atMs).toBeGreaterThanOrEqual(0);
    // The gateway's own time excludes both attempts' upstream waits (llm_sla_gateway_overhead_seconds).
    expect(r.gatewayMs).toBeGreaterThanOrEqual(0);
    expect(r.gatewayMs as number).toBeLessThan(r.totalMs);
  });

  it('a reset before the headers is a network error: the next target answers', async () => {
    const gw = policyGateway({ targets: [{ provider: 'backup' }] });
    const id = mockId('rst');
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(id, { 'x-mock-fail': '/p1=reset-before-headers' })));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sla-served-by')).toBe('backup');
    const r = only(await gw.settle());
    expect(r.resilience?.attempts.map((a) => [a.target, a.outcome, a.reason])).toEqual([
      ['primary', 'network_error', 'network_error'],
      ['backup', 'success', null],
    ]);
  });

  it('an Anthropic call falls back with the managed key in x-api-key, never the client key', async () => {
    const gw = policyGateway(BACKUP_MINI);
    const id = mockId('ant');
    const body = { model: 'claude-3-5-haiku-latest', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] };
    const res = await gw.fetch(`${GW}/claude1/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-client', 'anthropic-version': '2023-06-01', 'x-gateway-key': GATEWAY_KEY, 'x-sla-route': 'anthropic.route', 'x-mock-id': id, 'x-mock-status': '/a1=529' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sla-served-by')).toBe('claude2');
    const [a1] = await at('/a1/', id);
    const [a2] = await at('/a2/', id);
    expect(a1?.headers['x-api-key']).toBe('sk-ant-client');
    expect(a2?.headers['x-api-key']).toBe('sk-ant-claude2-managed');
    expect(a2?.headers['anthropic-version']).toBe('2023-06-01');
  });

  it('when every target fails, the client gets the last answer (status, body) and the attempts count', async () => {
    const gw = policyGateway({ targets: [{ provider: 'backup' }] });
    const id = mockId('all');
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(id, { 'x-mock-status': '503' })));
    expect(res.status).toBe(503);
    expect(res.headers.get('x-sla-served-by')).toBe('backup');
    expect(res.headers.get('x-sla-attempts')).toBe('2');
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('overloaded');
    expect(only(await gw.settle())).toMatchObject({ status: 503, outcome: 'upstream_error' });
  });

  it('a failure retry_on does not list (400) is the answer: no other target is asked', async () => {
    const gw = policyGateway({ ...BACKUP_MINI, retries: 2 });
    const id = mockId('400');
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(id, { 'x-mock-status': '400' })));
    expect(res.status).toBe(400);
    expect(res.headers.get('x-sla-attempts')).toBe('1');
    expect(await at('/p2/', id)).toEqual([]);
    expect(await at('/p1/', id)).toHaveLength(1);
  });
});

describe('retries', () => {
  it('a 429 is retried on the same target after what retry-after asks, with the client key again', async () => {
    const gw = policyGateway({ retries: 2, backoff_ms: 10 });
    const id = mockId('429');
    const t0 = Date.now();
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(id, { 'x-mock-status': '429', 'x-mock-retry-after': '1', 'x-mock-times': '1' })));
    expect(res.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(res.headers.get('x-sla-attempts')).toBe('2');
    const sent = await at('/p1/', id);
    expect(sent.map((s) => s.headers['authorization'])).toEqual(['Bearer sk-client-own-key', 'Bearer sk-client-own-key']);
    const r = only(await gw.settle());
    expect(r.resilience?.attempts.map((a) => [a.target, a.outcome, a.reason])).toEqual([
      ['primary', 'rate_limited', 'status_429'],
      ['primary', 'success', null],
    ]);
    expect(r.resilience?.attempts[1]?.atMs).toBeGreaterThanOrEqual(950);
  });

  it('retry-after-ms is read too; a retry-after beyond retry_after_max_ms moves on to the next target at once', async () => {
    const gw = policyGateway({ ...BACKUP_MINI, retries: 2, retry_after_max_ms: 500 });
    const short = mockId('ram');
    const t0 = Date.now();
    expect((await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(short, { 'x-mock-status': '/p1=429', 'x-mock-retry-after-ms': '300', 'x-mock-times': '/p1=1' })))).headers.get('x-sla-served-by')).toBe('primary');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    const long = mockId('ral');
    const t1 = Date.now();
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(long, { 'x-mock-status': '/p1=429', 'x-mock-retry-after': '30' })));
    expect(res.headers.get('x-sla-served-by')).toBe('backup:gpt-4o-mini');
    expect(Date.now() - t1).toBeLessThan(2000);
    expect(await at('/p1/', long)).toHaveLength(1);
  });

  it('retries back off with jitter: a second 503 waits about twice the first', async () => {
    const gw = policyGateway({ retries: 2, backoff_ms: 200 });
    const id = mockId('bo');
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(id, { 'x-mock-status': '503', 'x-mock-times': '2' })));
    expect(res.status).toBe(200);
    const r = only(await gw.settle());
    const [a, b, c] = r.resilience?.attempts ?? [];
    // First retry waits 100-200 ms, the second 200-400 ms (equal jitter).
    expect((b?.atMs ?? 0) - ((a?.atMs ?? 0) + (a?.totalMs ?? 0))).toBeGreaterThanOrEqual(95);
    expect((c?.atMs ?? 0) - ((b?.atMs ?? 0) + (b?.totalMs ?? 0))).toBeGreaterThanOrEqual(195);
  });
});

describe('first token deadline (streams)', () => {
  it('a stream that hangs before its first token is cancelled upstream at the deadline and the next target streams', async () => {
    const gw = policyGateway({ ...BACKUP_MINI, first_token_timeout_ms: 300 });
    const id = mockId('ftt');
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(id, { 'x-mock-fail': '/p1=hang-before-first-token' })));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sla-served-by')).toBe('backup:gpt-4o-mini');
    const text = await res.text();
    // Only the backup's bytes: nothing of the held primary reached the client.
    const direct = await fetch(`${MOCK}/p2/v1/chat/completions`, jsonPost({ ...stream, model: 'gpt-4o-mini' }));
    expect(text).toBe(await direct.text());
    const r = only(await gw.settle());
    expect(r.ttftMs).toBeGreaterThanOrEqual(300);
    expect(r.resilience?.attempts.map((a) => [a.target, a.outcome, a.reason])).toEqual([
      ['primary', 'timeout', 'first_token_timeout'],
      ['backup:gpt-4o-mini', 'success', null],
    ]);
    // The primary had waited at least its deadline for a first token: that is recorded as its TTFT (a lower bound).
    expect(r.resilience?.attempts[0]?.ttftMs).toBeGreaterThanOrEqual(299);
    // The mock (filed under the id) saw the primary's stream cancelled; its last stream state is the backup's.
    const sent = await at('/p1/', id);
    expect(sent).toHaveLength(1);
  });

  it('the cancelled attempt is cancelled upstream', async () => {
    const gw = policyGateway({ ...BACKUP_MINI, first_token_timeout_ms: 200 });
    const id = mockId('ftc');
    // The backup answers under another id, so the mock's stream state of `id` stays the primary's.
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(id, { 'x-mock-fail': '/p1=hang-before-first-token', 'x-mock-id': `/p1=${id}, /p2=${id}-b` })));
    await res.text();
    let state = await mockState(id);
    for (let i = 0; i < 50 && !state.aborted; i++) {
      await new Promise((r) => setTimeout(r, 20));
      state = await mockState(id);
    }
    expect(state).toMatchObject({ aborted: true, finished: false, eventsSent: 1 });
  });

  it('an error event before the first token moves on; one after it is passed through, never retried', async () => {
    const gw = policyGateway({ ...BACKUP_MINI, first_token_timeout_ms: 2000 });
    const before = mockId('ee');
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(before, { 'x-mock-fail': '/p1=error-event' })));
    expect(res.headers.get('x-sla-served-by')).toBe('backup:gpt-4o-mini');
    expect(await res.text()).not.toContain('overloaded');
    const r = only(await gw.settle());
    expect(r.resilience?.attempts.map((a) => [a.target, a.reason])).toEqual([
      ['primary', 'stream_error'],
      ['backup:gpt-4o-mini', null],
    ]);
  });

  it('a stream that stalls after its first token is the client\'s: passed through, cut by the idle timeout, not retried', async () => {
    const gw = policyGateway({ ...BACKUP_MINI, first_token_timeout_ms: 2000, retries: 2 }, { UPSTREAM_TIMEOUT_MS: '400' });
    const id = mockId('stall');
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(id, { 'x-mock-fail': '/p1=stall-mid-stream' })));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sla-served-by')).toBe('primary');
    await expect(res.text()).rejects.toThrow();
    const r = only(await gw.settle());
    expect(r).toMatchObject({ outcome: 'timeout', status: 200 });
    expect(r.ttftMs).not.toBeNull();
    expect(r.resilience?.attempts).toHaveLength(1);
    expect(await at('/p2/', id)).toEqual([]);
  });

  it('without first_token_timeout_ms a stream is never held: the first chunk arrives before the upstream sends the second', async () => {
    const gw = policyGateway({ ...BACKUP_MINI, retries: 1 });
    const id = mockId('nohold');
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(id, { 'x-mock-chunk-delay-ms': '200' })));
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    expect((await mockState(id)).eventsSent).toBe(1);
    while (!(await reader.read()).done) {
      // drain
    }
    const r = only(await gw.settle());
    expect(r.ttfbMs).toBeLessThan(200);
  });

  it('the last possible attempt is not held: a slow first token there is streamed, not given up', async () => {
    const gw = policyGateway({ first_token_timeout_ms: 100 });
    const id = mockId('last');
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(id, { 'x-mock-chunk-delay-ms': '300' })));
    expect(res.status).toBe(200);
    await res.text();
    expect(only(await gw.settle())).toMatchObject({ outcome: 'success' });
  });
});

describe('the plain path', () => {
  it("a policy with nothing to act on for this path (its own provider alone, no retry, no deadline) leaves the call on today's path", async () => {
    const gw = policyGateway({ targets: [{ provider: 'primary' }], first_token_timeout_ms: 500, breaker: {} });
    const id = mockId('noop');
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(id, { 'x-mock-status': '503' })));
    expect(res.status).toBe(503);
    expect(res.headers.get('x-sla-attempts')).toBeNull();
    expect(res.headers.get('x-sla-served-by')).toBeNull();
    expect(only(await gw.settle()).resilience ?? null).toBeNull();
    // A route no block matches: the same.
    const other = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(id, { 'x-sla-route': 'no.policy' })));
    expect(other.status).toBe(200);
    expect(other.headers.get('x-sla-attempts')).toBeNull();
  });
});

describe('deadlines and the client', () => {
  it('timeout_ms bounds the whole call: a 504 from the gateway when nothing answered in time', async () => {
    const gw = policyGateway({ ...BACKUP_MINI, timeout_ms: 400 });
    const id = mockId('tmo');
    const t0 = Date.now();
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(id, { 'x-mock-latency-ms': '2000' })));
    expect(res.status).toBe(504);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
    expect(only(await gw.settle())).toMatchObject({ outcome: 'timeout', status: 0 });
  });

  it('checks the gateway key once, before any upstream contact', async () => {
    const gw = policyGateway(BACKUP_MINI);
    const id = mockId('key');
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, { ...headers(id), 'x-gateway-key': 'wrong-key-0000000000' }));
    expect(res.status).toBe(401);
    expect(await mockRequests(id)).toEqual([]);
  });

  it("every attempt's cost counts toward the team's spend, the estimated part said so; the budget is checked once", async () => {
    const gw = policyGateway(
      { ...BACKUP_MINI, first_token_timeout_ms: 300 },
      { TOKEN_ESTIMATE: 'on', BUDGETS: JSON.stringify({ 'team-r': { daily_usd: 100 } }), PRICES: JSON.stringify({ 'gpt-4o': { input: 1000, output: 1000 }, 'gpt-4o-mini': { input: 1000, output: 1000 } }) },
    );
    const id = mockId('cost');
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(id, { 'x-mock-fail': '/p1=hang-before-first-token' })));
    expect(res.headers.get('x-sla-budget-remaining-usd')).toBe('100.000000');
    await res.text();
    const r = only(await gw.settle());
    const [lost, won] = r.resilience?.attempts ?? [];
    // The backup's usage came from the provider; the cancelled primary's is the labelled estimate of its input.
    expect(won?.usageSource).toBe('provider');
    expect(lost?.usageSource).toBe('estimated');
    expect(lost?.usage?.input).toBeGreaterThan(0);
    expect(r.costUsd).toBeCloseTo((won?.costUsd ?? NaN) + (lost?.costUsd ?? NaN), 12);
    const report = (await (await gw.fetch(`${GW}/budgets`)).json()) as BudgetReport;
    const day = report.teams['team-r']?.day;
    expect(day?.calls).toBe(1);
    expect(day?.spent_usd).toBeCloseTo(r.costUsd ?? NaN, 9);
    expect(day?.estimated_usd).toBeCloseTo(lost?.costUsd ?? NaN, 9);
  }, 20_000);

  it('a spent block budget refuses the call before any attempt: the budget is checked once per call, not per attempt', async () => {
    // A team of its own (budgets are per team, kept by one object for the whole file).
    const gw = policyGateway(BACKUP_MINI, {
      GATEWAY_KEYS: JSON.stringify({ [GATEWAY_KEY]: 'team-blk' }),
      BUDGETS: JSON.stringify({ 'team-blk': { daily_usd: 0.001, action: 'block' } }),
      PRICES: JSON.stringify({ 'gpt-4o': { input: 1000, output: 1000 }, 'gpt-4o-mini': { input: 1000, output: 1000 } }),
    });
    const id = mockId('blk');
    // Two attempts, one call: within the budget when it started, so it goes through both targets.
    const first = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(id, { 'x-mock-status': '/p1=503' })));
    expect(first.status).toBe(200);
    expect(first.headers.get('x-sla-attempts')).toBe('2');
    await first.text();
    await gw.settle();
    const day = ((await (await gw.fetch(`${GW}/budgets`)).json()) as BudgetReport).teams['team-blk']?.day;
    expect(day?.calls).toBe(1);
    const requests = (await mockRequests(id)).length;
    expect(requests).toBe(2);
    // Spent: the next call is refused before any upstream is contacted, with no attempt at all.
    const refused = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(id, { 'x-mock-status': '/p1=503' })));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-sla-attempts')).toBeNull();
    expect(await mockRequests(id)).toHaveLength(requests);
  });

  it('a client that leaves a stream it was answered with cancels it upstream; the call is recorded as aborted, not retried', async () => {
    const gw = policyGateway(BACKUP_MINI);
    const id = mockId('leave');
    const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(stream, headers(id, { 'x-mock-chunk-delay-ms': '100', 'x-mock-chunks': '20' })));
    expect(res.headers.get('x-sla-served-by')).toBe('primary');
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    const r = only(await gw.settle());
    expect(r.outcome).toBe('aborted');
    expect(r.resilience?.attempts.map((a) => [a.target, a.outcome])).toEqual([['primary', 'aborted']]);
    let state = await mockState(id);
    for (let i = 0; i < 50 && !state.aborted; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      state = await mockState(id);
    }
    expect(state).toMatchObject({ aborted: true, finished: false });
    expect(await at('/p2/', id)).toEqual([]);
  });

  it('a client that leaves while a stream is held cancels the attempt; the call is recorded as aborted', async () => {
    const gw = policyGateway({ ...BACKUP_MINI, first_token_timeout_ms: 5000 });
    const id = mockId('abort');
    const client = new AbortController();
    const pending = gw.fetch(`${GW}/primary/v1/chat/completions`, { ...jsonPost(stream, headers(id, { 'x-mock-fail': '/p1=hang-before-first-token' })), signal: client.signal });
    await new Promise((r) => setTimeout(r, 300));
    client.abort();
    const res = await pending;
    expect(res.status).toBe(499);
    const r = only(await gw.settle());
    expect(r.outcome).toBe('aborted');
    expect(await at('/p2/', id)).toEqual([]);
  });
});

describe('what is shown', () => {
  it('/sla judges the call the client saw; /sla/<route> shows each target; /metrics counts attempts and fallbacks', async () => {
    const route = `rs.${Date.now()}`;
    const gw = gateway(
      {
        PROVIDERS: JSON.stringify(PROVIDERS),
        GATEWAY_KEYS: JSON.stringify({ [GATEWAY_KEY]: 'team-r' }),
        BACKUP_API_KEY: 'sk-backup-managed',
        // One retry of the primary before the backup: a retry is an attempt, not a fallback.
        POLICIES: JSON.stringify({ routes: { [route]: { ...BACKUP_MINI, retries: 1, backoff_ms: 0 } } }),
      },
      { durable: true },
    );
    const id = mockId('shown');
    for (let i = 0; i < 4; i++) {
      const res = await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(id, { 'x-sla-route': route, 'x-mock-status': i < 3 ? '/p1=503' : '/p9=0' })));
      expect(res.status).toBe(200);
    }
    await gw.settle();
    const detail = (await (await gw.fetch(`${GW}/sla/${route}`)).json()) as RouteDetailReport;
    // The route: four calls, all answered.
    expect(detail.stats).toMatchObject({ count: 4, successes: 4, success_rate: 1 });
    // Its targets: the primary failed six of its seven attempts (three calls, each retried once), the backup answered three.
    expect(detail.targets['primary']).toMatchObject({ count: 7, successes: 1, failures: 6, breaker: { state: 'closed' } });
    expect(detail.targets['backup:gpt-4o-mini']).toMatchObject({ count: 3, successes: 3 });
    expect(detail.targets['primary']?.latency?.p95).toBeGreaterThan(0);
    const { first, text: metrics } = await scrape(gw);
    // The route's attempt and fallback series start at 0 (the series budget's zero start), then count.
    expect(metricValue(first, `llm_sla_attempts_total{route="${route}",target="primary",outcome="upstream_error"}`)).toBe(0);
    expect(metricValue(first, `llm_sla_fallbacks_total{route="${route}",from="primary",to="backup:gpt-4o-mini",reason="status_503"}`)).toBe(0);
    // The client saw four successes.
    expect(metricValue(metrics, `llm_sla_requests_total{route="${route}",outcome="success"}`)).toBe(4);
    expect(metricValue(metrics, `llm_sla_attempts_total{route="${route}",target="primary",outcome="upstream_error"}`)).toBe(6);
    expect(metricValue(metrics, `llm_sla_attempts_total{route="${route}",target="primary",outcome="success"}`)).toBe(1);
    expect(metricValue(metrics, `llm_sla_attempts_total{route="${route}",target="backup:gpt-4o-mini",outcome="success"}`)).toBe(3);
    expect(metricValue(metrics, `llm_sla_fallbacks_total{route="${route}",from="primary",to="backup:gpt-4o-mini",reason="status_503"}`)).toBe(3);
    expect(metrics).not.toContain(`llm_sla_fallbacks_total{route="${route}",from="primary",to="primary"`);
  });

  it('exports the call span and one CLIENT span per attempt, children of it, by the GenAI conventions', async () => {
    const otlp = collector({ OTEL_TRACES_SAMPLER_ARG: '1' });
    const gw = policyGateway(BACKUP_MINI, otlp.vars);
    const id = mockId('span');
    await (await gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, headers(id, { 'x-mock-status': '/p1=503' })))).text();
    await gw.settle();
    let spans = await otlp.spans();
    for (let i = 0; i < 50 && spans.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 20));
      spans = await otlp.spans();
    }
    expect(spans).toHaveLength(3);
    const call = spans.find((s) => s.attributes['llm_sla.served_by'] !== undefined);
    const attempts = spans.filter((s) => s !== call);
    expect(call).toMatchObject({ kind: 3, name: 'chat gpt-4o', attributes: { 'llm_sla.served_by': 'backup:gpt-4o-mini', 'llm_sla.attempts': 2, 'http.response.status_code': 200 } });
    expect(attempts.map((s) => [s.kind, s.name, s.parentSpanId === call?.spanId, s.attributes['http.request.resend_count'], s.attributes['http.response.status_code'], s.attributes['llm_sla.attempt.reason'] ?? null])).toEqual([
      [3, 'chat gpt-4o', true, undefined, 503, 'status_503'],
      [3, 'chat gpt-4o-mini', true, 1, 200, null],
    ]);
    expect(attempts[0]?.attributes['error.type']).toBe('503');
    expect(attempts[1]?.attributes['gen_ai.provider.name']).toBe('backup');
    expect(attempts.every((s) => s.traceId === call?.traceId)).toBe(true);
  });
});

/** The records' attempts, as the tests above read them (type check only). */
export type _Attempts = NonNullable<CallRecord['resilience']>['attempts'];
void env;
