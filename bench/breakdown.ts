import fs from 'node:fs';
import { load, median } from './client';
import { startFastUpstream } from './fast-upstream';
import { startOtlpSink } from './otlp-sink';
import { startFloor, startGateway, type Target } from './runtime';

/**
 * Where the gateway's cost goes (`npm run bench:breakdown`): requests/s under 50 connections (wrk) of the floor and
 * of the gateway with its parts switched on one by one — proxy only, + Durable Object aggregation, + span export —
 * interleaved over rounds, medians, in one run. A tool for the performance work, not a goal of its own.
 */
const ROUNDS = Number(process.argv[2] ?? 3);
const SECONDS = Number(process.argv[3] ?? 5);

async function main(): Promise<void> {
  const upstream = await startFastUpstream({ latencyMs: 0, chunks: 20, spacingMs: 0 });
  const sink = await startOtlpSink();
  const bundle = 'bench/.build/gateway/index.js';
  const targets: Target[] = [
    await startFloor(upstream.url),
    await startGateway(bundle, { UPSTREAM_OPENAI: upstream.url, RECORDER: 'none' }, 'proxy-only'),
    await startGateway(bundle, { UPSTREAM_OPENAI: upstream.url, RECORDER: 'durable', FLUSH_INTERVAL_MS: '1000' }, 'with-durable'),
    await startGateway(bundle, { UPSTREAM_OPENAI: upstream.url, RECORDER: 'durable', FLUSH_INTERVAL_MS: '1000', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url }, 'with-export'),
  ];
  const rps: Record<string, number[]> = {};
  try {
    for (const t of targets) await load(t.url, '/openai/v1/chat/completions', 50, 2, '/tmp/llm-sla-breakdown.lua', fs);
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of targets) {
        const res = await load(t.url, '/openai/v1/chat/completions', 50, SECONDS, '/tmp/llm-sla-breakdown.lua', fs);
        (rps[t.name] ??= []).push(res.rps);
        if (res.errors > 0) console.log(`${t.name}: ${res.errors} errors`);
      }
    }
    const floor = median(rps['floor'] ?? []);
    for (const [name, v] of Object.entries(rps)) {
      const m = median(v);
      console.log(`${name.padEnd(14)} ${m.toFixed(0).padStart(7)} req/s  ${(m / floor).toFixed(3)} x floor  (${v.map((x) => x.toFixed(0)).join(', ')})`);
    }
  } finally {
    for (const t of targets) await t.dispose();
    await upstream.close();
    await sink.close();
  }
}

await main();
