import { createGateway } from '../src/worker/app';
import { configFor } from '../src/config/in-force';
import type { CallRecord } from '../src/core/record';
import { DurableObjectRecorder } from '../src/worker/recorder/durable';

export { RouteStats } from '../durable-objects/route-stats';
export { SlaRegistry } from '../durable-objects/registry';
export { TeamBudgets } from '../durable-objects/team-budgets';

/**
 * The gateway plus one benchmark-only endpoint, `POST /__bench/pump?n=&routes=&spreadMinutes=&batch=`, that feeds
 * `n` synthetic call records through the production batching recorder (`DurableObjectRecorder`) into the routes'
 * Durable Objects and answers when every flush is done. Used by `npm run bench` for (d) ingestion records/s and to
 * fill 50 routes x 60 minute windows for (e) `/sla` latency. Never part of the deployed worker.
 */
const gateway = createGateway();

function syntheticRecord(i: number, route: string, ts: number): CallRecord {
  const totalMs = 50 + ((i * 7919) % 2000);
  return {
    ts,
    route,
    provider: 'openai',
    format: 'openai',
    operation: 'chat',
    team: null,
    requestModel: 'gpt-4o-mini',
    responseModel: 'gpt-4o-mini',
    stream: i % 2 === 0,
    status: i % 50 === 0 ? 500 : 200,
    outcome: i % 50 === 0 ? 'upstream_error' : 'success',
    errorType: i % 50 === 0 ? '500' : null,
    totalMs,
    ttfbMs: totalMs / 4,
    ttftMs: i % 2 === 0 ? totalMs / 3 : null,
    ttfcMs: i % 2 === 0 ? totalMs / 4 : null,
    chunkGaps: null,
    usage: { input: 100, output: 50, cacheRead: 0, cacheCreation: 0, reasoning: 0 },
    usageSource: 'provider',
    costUsd: 0.0001,
    responseId: null,
    serviceTier: null,
    systemFingerprint: null,
    finishReasons: ['stop'],
    request: { maxTokens: null, temperature: null, topP: null },
    server: { address: '127.0.0.1', port: 80 },
    trace: { traceparent: null, tracestate: null },
    priority: 'normal',
    content: null,
  };
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== '/__bench/pump') return gateway.fetch(request, env, ctx);
    const q = (k: string, d: number) => Number(url.searchParams.get(k) ?? d);
    const n = q('n', 10_000);
    const routes = q('routes', 1);
    const spread = q('spreadMinutes', 0);
    const resolved = configFor(env).result;
    if (!resolved.ok) return Response.json({ problems: resolved.problems }, { status: 500 });
    const recorder = new DurableObjectRecorder(env, { ...resolved.config, flushMaxRecords: q('batch', 500), flushIntervalMs: 50 });
    const now = Date.now();
    // In slices of 2,000, flushed after each: in production each call records once, from its own request.
    const SLICE = 2000;
    for (let from = 0; from < n; from += SLICE) {
      const pending: Promise<void>[] = [];
      for (let i = from; i < Math.min(n, from + SLICE); i++) {
        const minute = spread > 0 ? i % spread : 0;
        const p = recorder.record(syntheticRecord(i, `bench.route${i % routes}`, now - minute * 60_000 - 1000));
        if (p) pending.push(p);
      }
      await recorder.flush();
      await Promise.all(pending);
    }
    return Response.json({ n, dropped: recorder.stats.droppedRecords });
  },
} satisfies ExportedHandler<Env>;
