import fs from 'node:fs';
import { CHAT, load, median, pct, sequential } from './client';
import { startFastUpstream } from './fast-upstream';
import { startOtlpSink } from './otlp-sink';
import { cpuSeconds, startFloor, startGateway, type Target } from './runtime';

/**
 * Where the gateway's cost goes (`npm run bench:breakdown`): requests/s under 50 connections (wrk) of the floor and
 * of the gateway with its parts switched on one by one — proxy only, + Durable Object aggregation, + span export —
 * interleaved over rounds, medians, in one run, with the CPU time the workerd process spent per request (less noisy
 * than requests/s on a shared machine). A tool for the performance work, not a goal of its own.
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
  // BENCH_REFERENCE_BUNDLE: another build (an earlier commit's `wrangler deploy --dry-run` output), everything on,
  // measured in the same rounds: what a change gained.
  const reference = process.env.BENCH_REFERENCE_BUNDLE;
  if (reference) targets.push(await startGateway(reference, { UPSTREAM_OPENAI: upstream.url, RECORDER: 'durable', FLUSH_INTERVAL_MS: '1000', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url }, 'reference'));
  const rps: Record<string, number[]> = {};
  const cpuMs: Record<string, number[]> = {};
  const p50: Record<string, number[]> = {};
  try {
    for (const t of targets) await load(t.url, '/openai/v1/chat/completions', 50, 2, '/tmp/llm-sla-breakdown.lua', fs);
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of targets) {
        const before = cpuSeconds(t.pid);
        const res = await load(t.url, '/openai/v1/chat/completions', 50, SECONDS, '/tmp/llm-sla-breakdown.lua', fs);
        (rps[t.name] ??= []).push(res.rps);
        (cpuMs[t.name] ??= []).push((1000 * (cpuSeconds(t.pid) - before)) / res.requests);
        // One connection, calls one after another: the latency each part adds (post-response work included, as it
        // holds the thread when the next call arrives).
        const seq = (await sequential(t.url, '/openai/v1/chat/completions', CHAT, 500)).map((x) => x.totalMs).sort((a, b) => a - b);
        (p50[t.name] ??= []).push(pct(seq, 0.5));
        if (res.errors > 0) console.log(`${t.name}: ${res.errors} errors`);
      }
    }
    const floor = median(rps['floor'] ?? []);
    for (const [name, v] of Object.entries(rps)) {
      const m = median(v);
      const cpu = median(cpuMs[name] ?? []);
      console.log(`${name.padEnd(14)} ${m.toFixed(0).padStart(7)} req/s  ${(m / floor).toFixed(3)} x floor  (${v.map((x) => x.toFixed(0)).join(', ')})  CPU ${cpu.toFixed(3)} ms/req  sequential p50 ${median(p50[name] ?? []).toFixed(3)} ms`);
    }
  } finally {
    for (const t of targets) await t.dispose();
    await upstream.close();
    await sink.close();
  }
}

await main();
