import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createGateway } from '../../src/worker/app';
import { LABEL_MAX } from '../../src/core/labels';
import { gateway, GW, jsonPost, mockId, only } from './helpers';

const MB = 1024 * 1024;

describe('labels are bounded where they enter a record', () => {
  it('a 1 MB model name is cut to 128 chars in the record and /metrics, and the cut is counted', async () => {
    const gw = gateway({}, { durable: true });
    const huge = `gpt-${'x'.repeat(MB)}`;
    for (let i = 0; i < 5; i++) {
      // The mock echoes the request's model in its body: the response model is as long.
      const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ model: huge, messages: [{ role: 'user', content: 'hi' }] }, { 'x-sla-route': 'bounds.model' }));
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const records = await gw.settle();
    expect(records).toHaveLength(5);
    for (const r of records) {
      expect(r.requestModel).toBe(huge.slice(0, LABEL_MAX.model));
      expect(r.responseModel).toBe(huge.slice(0, LABEL_MAX.model));
    }
    const metrics = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(metrics.length).toBeLessThan(64 * 1024);
    expect(metrics).toContain(`llm_sla_requests_total{route="bounds.model",model="${huge.slice(0, LABEL_MAX.model)}",outcome="success"} 5`);
    const cut = Number(/llm_sla_labels_cut_total\{label="model"\} (\d+)/.exec(metrics)?.[1]);
    expect(cut).toBeGreaterThanOrEqual(10); // request and response model of each of the five calls
  });

  it('characters outside the label charset become _ (proxied calls and ingested timings alike)', async () => {
    const gw = gateway();
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ model: 'gpt-4o"}\nevil 1', messages: [{ role: 'user', content: 'hi' }] }, { 'x-mock-response-model': 'ok-model' }));
    await res.arrayBuffer();
    const record = only(await gw.settle());
    expect(record.requestModel).toBe('gpt-4o___evil_1');
    expect(record.responseModel).toBe('ok-model');

    gw.recorder.clear();
    const timing = await gw.fetch(`${GW}/v1/timings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ route: 'bounds.stage', duration_ms: 5, ok: true, attributes: { 'gen_ai.request.model': `m\u0000${'y'.repeat(300)}`, 'gen_ai.response.model': 'fine/model:1' } }]),
    });
    expect(timing.status).toBe(200);
    const stage = only(await gw.settle());
    expect(stage.requestModel).toBe(`m_${'y'.repeat(LABEL_MAX.model - 2)}`);
    expect(stage.responseModel).toBe('fine/model:1');
  });
});

describe('a bad percent-escape in any path is a 400', () => {
  it('on the gateway\'s own paths', async () => {
    const gw = gateway();
    for (const path of ['/sla/%ff', '/sla/%zz', '/sla/a%', '/dashboard/assets/%c3%28', '/nope/%ff']) {
      const res = await gw.fetch(`${GW}${path}`);
      expect(res.status, path).toBe(400);
      const body = (await res.json()) as { error: { type: string; message: string } };
      expect(body.error.message).toContain('percent-escape');
    }
    // A good escape still works.
    expect((await gw.fetch(`${GW}/sla/no%20such`)).status).toBe(404);
  });

  it('on proxy paths, in the provider\'s error shape, without contacting the upstream', async () => {
    const gw = gateway();
    const id = mockId('escape');
    const openai = await gw.fetch(`${GW}/openai/v1/chat/%ff`, jsonPost({ model: 'gpt-4o' }, { 'x-mock-id': id }));
    expect(openai.status).toBe(400);
    expect(((await openai.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    const anthropic = await gw.fetch(`${GW}/anthropic/v1/messages%e0%80`, jsonPost({ model: 'claude' }, { 'x-mock-id': id }));
    expect(anthropic.status).toBe(400);
    const body = (await anthropic.json()) as { type: string; error: { type: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
    const seen = await (await fetch(`${env.UPSTREAM_OPENAI}/__mock/requests?id=${id}`)).json();
    expect(seen).toEqual([]);
    expect(await gw.settle()).toHaveLength(0);
  });
});

describe('captured content is masked wherever it goes', () => {
  afterEach(() => vi.restoreAllMocks());

  it('RECORDER=log writes no key-shaped string from a prompt', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
    const app = createGateway();
    const logEnv = { ...env, RECORDER: 'log', OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' } as Env;
    const ctx = createExecutionContext();
    const secret = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';
    const prompt = `my key is ${secret} and the header was Bearer sk-live-ZYXWVUTSRQ987654321`;
    const res = await app.fetch(
      new Request(`${GW}/openai/v1/chat/completions`, jsonPost({ model: 'gpt-4o', messages: [{ role: 'system', content: [{ type: 'text', text: prompt }] }, { role: 'user', content: prompt }] })),
      logEnv,
      ctx,
    );
    await res.arrayBuffer();
    await waitOnExecutionContext(ctx);
    const logged = lines.filter((l) => l.includes('"llm_call"'));
    expect(logged).toHaveLength(1);
    const line = logged[0] ?? '';
    expect(line).toContain('[REDACTED]');
    expect(line).not.toContain('sk-proj-');
    expect(line).not.toContain('sk-live-');
    expect(line).not.toContain('ZYXWVUTSRQ');
    const record = JSON.parse(line) as { content: { request: { messages: { content: unknown }[] } } };
    expect(record.content.request.messages[1]?.content).toBe('my key is [REDACTED] and the header was [REDACTED]');
  });
});
