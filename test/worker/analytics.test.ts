import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/core/record';
import { analyticsDataset, ANALYTICS_LAYOUT, dataPoint } from '../../src/worker/telemetry/analytics';
import { gateway, GW, jsonPost } from './helpers';

/**
 * The local binding: Miniflare's analytics-engine worker (node_modules/miniflare/dist/src/workers/analytics-engine/
 * analytics-engine.worker.js) forwards `writeDataPoint` only to a remote dataset (`wrangler dev --remote` /
 * remote bindings) and otherwise discards it; it offers no way to read points back. So these tests wrap the real
 * local binding: every point goes through the wrapper (recorded here) into the real binding, which must accept it.
 */
function recording(real: AnalyticsEngineDataset | undefined) {
  const points: AnalyticsEngineDataPoint[] = [];
  const dataset: AnalyticsEngineDataset = {
    writeDataPoint(point) {
      points.push(structuredClone(point ?? {}));
      real?.writeDataPoint(point);
    },
  };
  return { points, dataset };
}

function gatewayWith(dataset: AnalyticsEngineDataset | undefined) {
  return gateway({}, { bindings: { SLA_ANALYTICS: dataset } });
}

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }] };
const auth = { authorization: 'Bearer sk-analytics-test-0123456789' };

describe('Workers Analytics Engine sink', () => {
  it('the local binding is there (vitest.config.ts, as a deployment that turned the sink on) and accepts a point', () => {
    const dataset = analyticsDataset(env);
    expect(dataset).toBeDefined();
    expect(typeof dataset?.writeDataPoint).toBe('function');
    expect(dataset?.writeDataPoint({ indexes: ['probe'], blobs: ['probe'], doubles: [1] })).toBeUndefined();
  });

  it('one data point per call through the real binding: route, team, model, outcome, latency, TTFT, tokens, cost', async () => {
    const { points, dataset } = recording(analyticsDataset(env));
    const gw = gatewayWith(dataset);
    const usage = JSON.stringify({ input: 120, output: 30 });
    const calls = [
      jsonPost(chat, { ...auth, 'x-mock-usage': usage, 'x-sla-team': 'search', 'x-sla-route': 'search/answer' }),
      jsonPost({ ...chat, stream: true }, { ...auth, 'x-mock-chunks': '4', 'x-sla-priority': 'high' }),
      jsonPost(chat, { ...auth, 'x-mock-status': '500' }),
    ];
    for (const init of calls) await (await gw.fetch(`${GW}/openai/v1/chat/completions`, init)).arrayBuffer();
    const records = await gw.settle();
    expect(records).toHaveLength(3);
    expect(points).toHaveLength(3);
    const byRoute = (r: CallRecord, stream: boolean) => points.find((p) => p.blobs?.[0] === r.route && p.doubles?.[7] === (stream ? 1 : 0) && p.blobs?.[4] === r.outcome);
    for (const r of records) {
      const p = byRoute(r, r.stream);
      expect(p).toEqual(dataPoint(r));
      expect(p?.indexes).toEqual([r.route]);
      const blob = Object.fromEntries(ANALYTICS_LAYOUT.blobs.map((k, i) => [k, p?.blobs?.[i]]));
      const dbl = Object.fromEntries(ANALYTICS_LAYOUT.doubles.map((k, i) => [k, p?.doubles?.[i]]));
      expect(blob).toEqual({
        route: r.route,
        team: r.team ?? '',
        provider: 'openai',
        model: r.responseModel ?? r.requestModel,
        outcome: r.outcome,
        error_type: r.errorType ?? '',
        operation: 'chat',
        priority: r.priority,
      });
      expect(dbl).toEqual({
        total_ms: r.totalMs,
        ttfb_ms: r.ttfbMs ?? -1,
        ttft_ms: r.ttftMs ?? -1,
        input_tokens: r.usage?.input ?? -1,
        output_tokens: r.usage?.output ?? -1,
        cost_usd: r.costUsd ?? -1,
        status: r.status,
        stream: r.stream ? 1 : 0,
      });
    }
    const json = records.find((r) => r.route === 'search/answer');
    expect(json?.team).toBe('search');
    expect(byRoute(json!, false)?.doubles?.slice(3, 5)).toEqual([120, 30]);
    const stream = records.find((r) => r.stream);
    expect(byRoute(stream!, true)?.doubles?.[2]).toBeGreaterThan(0);
    expect(records.find((r) => r.outcome === 'upstream_error')?.status).toBe(500);
  });

  it('a route key longer than the 96-byte index limit: the index is cut, the blob keeps it whole', () => {
    const route = `r${'é'.repeat(60)}`;
    const p = dataPoint({ ...({} as CallRecord), route, team: null, provider: 'openai', responseModel: null, requestModel: 'm', outcome: 'success', errorType: null, operation: 'chat', priority: 'normal', totalMs: 1, ttfbMs: null, ttftMs: null, usage: null, costUsd: null, status: 200, stream: false });
    const index = String(p.indexes?.[0]);
    expect(new TextEncoder().encode(index).byteLength).toBeLessThanOrEqual(96);
    expect(route.startsWith(index)).toBe(true);
    expect(p.blobs?.[0]).toBe(route);
  });

  it('without the binding the gateway runs the same and writes nothing', async () => {
    const gw = gatewayWith(undefined);
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, auth));
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(await gw.settle()).toHaveLength(1);
  });

  it('a binding that refuses points never reaches the client; refusals are counted in /metrics', async () => {
    const refusing: AnalyticsEngineDataset = {
      writeDataPoint() {
        throw new Error('Analytics Engine: too many blobs');
      },
    };
    const gw = gatewayWith(refusing);
    for (let i = 0; i < 3; i++) {
      const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, auth));
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    expect(await gw.settle()).toHaveLength(3);
    const metrics = await (await gw.fetch(`${GW}/metrics`)).text();
    expect(metrics).toMatch(/llm_sla_analytics_points_failed_total 3\b/);
  });
});
