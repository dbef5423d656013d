import { describe, expect, it } from 'vitest';
import { isolateCounts } from '../../src/worker/counts';
import type { Recorder } from '../../src/worker/recorder/recorder';
import { gateway, GW, jsonPost, metricValue } from './helpers';

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

describe('counted drops reach /metrics', () => {
  it('shows recorder failures, lost records and the token estimator in /metrics', async () => {
    const throwing: Recorder = {
      record() {
        throw new Error('recorder down');
      },
    };
    const gw = gateway({ TOKEN_ESTIMATE: 'on' }, { recorder: throwing });
    const before = isolateCounts.totals();
    // No usage in the response: the estimator runs (and loads once per isolate), then the recorder throws.
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-mock-no-usage': '1' }));
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    await gw.settle();
    const after = isolateCounts.totals();
    expect(after.gateway_recorder_failures).toBe((before.gateway_recorder_failures ?? 0) + 1);
    expect(after.gateway_estimator_loads).toBeGreaterThanOrEqual(1);
    const text = await (await gateway().fetch(`${GW}/metrics`)).text();
    expect(metricValue(text, 'llm_sla_internal_failures_total{stage="recorder"}')).toBe(after.gateway_recorder_failures);
    expect(metricValue(text, 'llm_sla_internal_failures_total{stage="record"}')).toBe(after.gateway_records_lost);
    expect(metricValue(text, 'llm_sla_token_estimator_total{result="loaded"}')).toBe(after.gateway_estimator_loads);
    expect(metricValue(text, 'llm_sla_token_estimator_total{result="failed"}')).toBe(after.gateway_estimator_failures);
  });
});
