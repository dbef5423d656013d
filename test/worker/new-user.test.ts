import { describe, expect, it } from 'vitest';
import { isolateCounts } from '../../src/worker/counts';
import type { Recorder } from '../../src/worker/recorder/recorder';
import type { SlaReport } from '../../src/core/report-types';
import { createGateway } from '../../src/worker/app';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { gateway, GW, jsonPost } from './helpers';

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

async function slaJson(gw: ReturnType<typeof gateway>): Promise<SlaReport> {
  const res = await gw.fetch(`${GW}/sla`);
  expect(res.status).toBe(200);
  return (await res.json()) as SlaReport;
}

/** The value of one Prometheus sample, or null when the line is absent. */
function sample(text: string, name: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

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

describe('cost', () => {
  it('leaves an unpriced model out of llm_sla_cost_usd_total and /sla, and keeps a priced one', async () => {
    const gw = gateway({}, { durable: true });
    for (const model of ['nu-unpriced-model', 'gpt-4o-mini']) {
      const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ ...chat, model }, { 'x-sla-route': `nu.cost.${model}` }));
      await res.arrayBuffer();
    }
    const records = await gw.settle();
    expect(records.map((r) => r.costUsd === null)).toEqual([true, false]);
    const text = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(text).toContain('llm_sla_requests_total{route="nu.cost.nu-unpriced-model",model="nu-unpriced-model",outcome="success"} 1');
    expect(text).not.toContain('llm_sla_cost_usd_total{route="nu.cost.nu-unpriced-model"');
    expect(sample(text, 'llm_sla_cost_usd_total{route="nu.cost.gpt-4o-mini",model="gpt-4o-mini"}')).toBeCloseTo(records[1]?.costUsd ?? -1, 15);
    const report = await slaJson(gw);
    expect(report.routes['nu.cost.nu-unpriced-model']).toMatchObject({ cost_usd: null, cost_unknown: 1 });
  });

  it('reports a 6e-8 USD embeddings call exactly in /sla JSON, and readably in Markdown', async () => {
    const gw = gateway({}, { durable: true });
    const res = await gw.fetch(
      `${GW}/openai/v1/embeddings`,
      jsonPost({ model: 'text-embedding-3-small', input: 'hi' }, { 'x-sla-route': 'nu.embed', 'x-mock-usage': '{"input":3}' }),
    );
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const [record] = await gw.settle();
    expect(record?.usage?.input).toBe(3);
    expect(record?.costUsd).toBeCloseTo(6e-8, 20);
    const route = (await slaJson(gw)).routes['nu.embed'];
    expect(route?.cost_usd).toBe(record?.costUsd);
    expect(await (await gw.fetch(`${GW}/sla?format=md`)).text()).toMatch(/\| nu\.embed \|.*\| 6\.0e-8 \|/);
  });
});

describe('an invalid x-sla-route', () => {
  it('never breaks the call: forwarded, recorded under the default route key, a warning header and a counted warning', async () => {
    const gw = gateway({}, { durable: true });
    const before = isolateCounts.totals().gateway_warning_invalid_route_header ?? 0;
    for (const path of ['/anthropic/v1/messages', '/openai/v1/chat/completions']) {
      const body = path.includes('anthropic') ? { model: 'claude-haiku-4-5', max_tokens: 10, messages: chat.messages } : chat;
      const res = await gw.fetch(`${GW}${path}`, jsonPost(body, { 'x-sla-route': 'bad route!' }));
      expect(res.status).toBe(200);
      expect(res.headers.get('x-sla-warning')).toMatch(/^x-sla-route ignored: .*default route key/);
      await res.arrayBuffer();
    }
    const ok = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': 'nu.good' }));
    expect(ok.headers.get('x-sla-warning')).toBeNull();
    await ok.arrayBuffer();
    expect((await gw.settle()).map((r) => r.route)).toEqual(['anthropic/messages', 'openai/chat', 'nu.good']);
    expect(isolateCounts.totals().gateway_warning_invalid_route_header).toBe(before + 2);
    const text = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(sample(text, 'llm_sla_warnings_total{warning="invalid_route_header"}')).toBe(before + 2);
  });
});

describe('counted drops reach /metrics', () => {
  it('shows recorder failures, lost records and the token estimator in /metrics', async () => {
    const throwing: Recorder = {
      record() {
        throw new Error('recorder down');
      },
    };
    const app = createGateway({ recorder: () => throwing });
    const ctx = createExecutionContext();
    const before = isolateCounts.totals();
    // No usage in the response: the estimator runs (and loads once per isolate), then the recorder throws.
    const res = await app.fetch(new Request(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-mock-no-usage': '1' })), env, ctx);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    await waitOnExecutionContext(ctx);
    const after = isolateCounts.totals();
    expect(after.gateway_recorder_failures).toBe((before.gateway_recorder_failures ?? 0) + 1);
    expect(after.gateway_estimator_loads).toBeGreaterThanOrEqual(1);
    const text = await (await gateway().fetch(`${GW}/metrics`)).text();
    expect(sample(text, 'llm_sla_internal_failures_total{stage="recorder"}')).toBe(after.gateway_recorder_failures);
    expect(sample(text, 'llm_sla_internal_failures_total{stage="record"}')).toBe(after.gateway_records_lost);
    expect(sample(text, 'llm_sla_token_estimator_total{result="loaded"}')).toBe(after.gateway_estimator_loads);
    expect(sample(text, 'llm_sla_token_estimator_total{result="failed"}')).toBe(after.gateway_estimator_failures);
  });
});

describe('common base-URL mistakes', () => {
  const message = async (res: Response) => {
    const body = (await res.json()) as { error: { message: string } };
    return body.error.message;
  };

  it('answers a path without /v1 with the base URL to use, in the provider shape, contacting nothing', async () => {
    const gw = gateway();
    const openai = await gw.fetch(`${GW}/openai/chat/completions`, jsonPost(chat));
    expect(openai.status).toBe(404);
    expect(await message(openai)).toContain('use base URL http://gateway.test/openai/v1');
    const groq = await gw.fetch(`${GW}/groq/models`);
    expect(await message(groq)).toContain('use base URL http://gateway.test/groq/v1');
    // The Vercel AI SDK's Anthropic provider given the Anthropic SDK's base URL posts /anthropic/messages.
    const anthropic = await gw.fetch(`${GW}/anthropic/messages`, jsonPost({ model: 'claude-haiku-4-5', max_tokens: 5, messages: chat.messages }));
    expect(anthropic.status).toBe(404);
    const body = (await anthropic.json()) as { type: string; error: { message: string } };
    expect(body.type).toBe('error');
    expect(body.error.message).toContain('http://gateway.test/anthropic/v1 for the Vercel AI SDK');
    expect(await gw.settle()).toHaveLength(0);
  });

  it('answers the gateway root or /v1 alone as base URL with the base URL to use, not "Unknown provider"', async () => {
    const gw = gateway();
    for (const path of ['/chat/completions', '/v1/chat/completions', '/embeddings', '/v1/responses']) {
      const res = await gw.fetch(`${GW}${path}`, jsonPost(chat));
      expect(res.status, path).toBe(404);
      const text = await message(res);
      expect(text, path).toContain('use base URL http://gateway.test/openai/v1');
      expect(text, path).not.toContain('Unknown provider');
    }
    const messages = await gw.fetch(`${GW}/v1/messages`, jsonPost(chat));
    expect(await message(messages)).toContain('use base URL http://gateway.test/anthropic for the Anthropic SDK');
    // A provider whose configured base URL already ends in /v1 is left alone.
    const custom = gateway({ PROVIDERS: JSON.stringify({ local: { baseUrl: `${env.UPSTREAM_OPENAI}/v1`, format: 'openai' } }) });
    const res = await custom.fetch(`${GW}/local/chat/completions`, jsonPost(chat));
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });
});
