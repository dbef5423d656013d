import { describe, expect, it } from 'vitest';
import { LABEL_MAX } from '../../src/core/labels';
import { gateway, GW, jsonPost, metricValue, only, scrape } from './helpers';

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
    const { text: metrics } = await scrape(gw);
    expect(metrics.length).toBeLessThan(64 * 1024);
    expect(metrics).toContain(`llm_sla_requests_total{route="bounds.model",outcome="success"} 5`);
    expect(metrics).toContain(`llm_sla_tokens_total{route="bounds.model",model="${huge.slice(0, LABEL_MAX.model)}",type="input"}`);
    const cut = Number(/llm_sla_labels_cut_total\{label="model"\} (\d+)/.exec(metrics)?.[1]);
    expect(cut).toBeGreaterThanOrEqual(10); // request and response model of each of the five calls
  });

  it('a team over 64 characters is cut to 64 and counted, not dropped (proxied calls and ingested timings alike)', async () => {
    const gw = gateway();
    const long = `team-${'t'.repeat(95)}`;
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, { 'x-sla-team': long }));
    await res.arrayBuffer();
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      gw.fetch(`${GW}/v1/timings`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    expect((await post([{ route: 'bounds.team', duration_ms: 5, ok: true }], { 'x-sla-team': long })).status).toBe(200);
    expect((await post([{ route: 'bounds.team', duration_ms: 5, ok: true, attributes: { 'llm_sla.team': long } }])).status).toBe(200);
    const records = await gw.settle();
    expect(records.map((r) => r.team)).toEqual([long.slice(0, LABEL_MAX.team), long.slice(0, LABEL_MAX.team), long.slice(0, LABEL_MAX.team)]);
    const metrics = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(metricValue(metrics, 'llm_sla_labels_cut_total{label="team"}')).toBeGreaterThanOrEqual(3);
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
