import fs from 'node:fs';
import http from 'node:http';
import { CHAT, CHAT_STREAM, load, median, pct, post } from './client';
import { startFastUpstream } from './fast-upstream';
import { startOtlpSink } from './otlp-sink';
import { cpuSeconds, startFloor, startGateway, startWorker, type Target } from './runtime';

/**
 * Where the gateway's cost goes (`npm run bench:breakdown`): requests/s under 50 connections (wrk) of the floor, of
 * the least a measuring proxy must do (bench/minimal-proxy.js), and of the gateway with its parts switched on one by
 * one — proxy only, + Durable Object aggregation, + span export —
 * interleaved over rounds, medians, in one run, with the CPU time the workerd process spent per request (less noisy
 * than requests/s on a shared machine). A tool for the performance work, not a goal of its own.
 */
const ROUNDS = Number(process.argv[2] ?? 3);
const SECONDS = Number(process.argv[3] ?? 5);
const SEQUENTIAL = Number(process.argv[4] ?? 2000);
const STREAM_CALLS = Number(process.argv[5] ?? 400);

async function main(): Promise<void> {
  const upstream = await startFastUpstream({ latencyMs: 0, chunks: 20, spacingMs: 0 });
  const sink = await startOtlpSink();
  const bundle = 'bench/.build/gateway/index.js';
  const targets: Target[] = [
    await startFloor(upstream.url),
    // bench/minimal-proxy.js: the floor plus only what measuring needs (both bodies read, timeout, abort, waitUntil).
    await startWorker('minimal', 'bench/minimal-proxy.js', { UPSTREAM: upstream.url }),
    // bench/minimal-stream.js: the least a proxy that measures streams does (request read, timeout, abort, a JS stream).
    await startWorker('minimal-stream', 'bench/minimal-stream.js', { UPSTREAM: upstream.url }),
    await startGateway(bundle, { UPSTREAM_OPENAI: upstream.url, RECORDER: 'none' }, 'proxy-only'),
    await startGateway(bundle, { UPSTREAM_OPENAI: upstream.url, RECORDER: 'durable', FLUSH_INTERVAL_MS: '1000' }, 'with-durable'),
    await startGateway(bundle, { UPSTREAM_OPENAI: upstream.url, RECORDER: 'durable', FLUSH_INTERVAL_MS: '1000', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url }, 'with-export'),
  ];
  // BENCH_REFERENCE_BUNDLE: another build (an earlier commit's `wrangler deploy --dry-run` output), everything on,
  // measured in the same rounds: what a change gained.
  // BENCH_SAMPLING_TARGET=<spans/s>: everything on with adaptive head sampling (`OTEL_SAMPLING_TARGET_PER_S`), as a
  // user at volume runs it: what export costs when not every call's span is sent.
  const samplingTarget = process.env.BENCH_SAMPLING_TARGET;
  if (samplingTarget) {
    const vars = { UPSTREAM_OPENAI: upstream.url, RECORDER: 'durable', FLUSH_INTERVAL_MS: '1000', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_SAMPLING_TARGET_PER_S: samplingTarget };
    targets.push(await startGateway(bundle, vars, 'with-export-sampled'));
  }
  const reference = process.env.BENCH_REFERENCE_BUNDLE;
  if (reference) targets.push(await startGateway(reference, { UPSTREAM_OPENAI: upstream.url, RECORDER: 'durable', FLUSH_INTERVAL_MS: '1000', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url }, 'reference'));
  const rps: Record<string, number[]> = {};
  const cpuMs: Record<string, number[]> = {};
  // The stream reference only takes part in the streaming phase.
  const loadTargets = targets.filter((t) => t.name !== 'minimal-stream');
  try {
    for (const t of loadTargets) await load(t.url, '/openai/v1/chat/completions', 50, 2, '/tmp/llm-sla-breakdown.lua', fs);
    for (let r = 0; r < ROUNDS; r++) {
      // The order rotates round by round: with a fixed order, the last target (the reference) read 6-10 % less CPU
      // per request than a build differing only by a small change, in two A/Bs of 2026-12-02.
      for (let j = 0; j < loadTargets.length; j++) {
        const t = loadTargets[(r + j) % loadTargets.length] as Target;
        const before = cpuSeconds(t.pid);
        const res = await load(t.url, '/openai/v1/chat/completions', 50, SECONDS, '/tmp/llm-sla-breakdown.lua', fs);
        (rps[t.name] ??= []).push(res.rps);
        (cpuMs[t.name] ??= []).push((1000 * (cpuSeconds(t.pid) - before)) / res.requests);
        if (res.errors > 0) console.log(`${t.name}: ${res.errors} errors`);
      }
    }
    // One connection per target, calls one after another, the targets taking turns call by call so that they share
    // the machine's noise: the latency each part adds (post-response work included: it holds the thread when the
    // next call arrives), and CPU per call without load.
    // The mock itself, as a target like the others: overheads are p50 minus its p50.
    const direct: Target = { name: 'direct', url: upstream.url, pid: null, dispose: async () => undefined };
    const seqTargets = [direct, ...loadTargets];
    const paths = seqTargets.map((t) => (t === direct ? '/v1/chat/completions' : '/openai/v1/chat/completions'));
    const agents = seqTargets.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    const seq: Record<string, number[]> = {};
    const seqCpu: Record<string, number> = {};
    const cpuBefore = loadTargets.map((t) => cpuSeconds(t.pid));
    for (let i = 0; i < SEQUENTIAL; i++) {
      // In an order that rotates call by call: a target's first call after another's pays for the tail of that
      // one's work (measured: ~0.15 ms of stream TTFB for whichever target always came right after the floor).
      for (let j = 0; j < seqTargets.length; j++) {
        const k = (i + j) % seqTargets.length;
        const t = seqTargets[k] as Target;
        (seq[t.name] ??= []).push((await post(agents[k] as http.Agent, t.url, paths[k] as string, CHAT)).totalMs);
      }
    }
    for (const [k, t] of loadTargets.entries()) seqCpu[t.name] = (1000 * (cpuSeconds(t.pid) - (cpuBefore[k] ?? NaN))) / SEQUENTIAL;
    for (const a of agents) a.destroy();
    // Streams: time to first byte, the same way, for the targets that stream (the minimal proxy reads bodies whole).
    const ttfb: Record<string, number[]> = {};
    const streamers = [direct, ...targets.filter((t) => t.name !== 'minimal')];
    const streamAgents = streamers.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    for (let i = 0; i < STREAM_CALLS; i++) {
      for (let j = 0; j < streamers.length; j++) {
        const k = (i + j) % streamers.length;
        const t = streamers[k] as Target;
        const path = t === direct ? '/v1/chat/completions' : '/openai/v1/chat/completions';
        (ttfb[t.name] ??= []).push((await post(streamAgents[k] as http.Agent, t.url, path, CHAT_STREAM)).ttfbMs);
      }
    }
    for (const a of streamAgents) a.destroy();
    const floor = median(rps['floor'] ?? []);
    console.log(`under load: 50 connections (wrk), ${ROUNDS} rounds of ${SECONDS} s; sequential: ${SEQUENTIAL} calls each, interleaved`);
    const rows = Object.keys(rps);
    const p50 = (name: string) => pct((seq[name] ?? []).sort((a, b) => a - b), 0.5);
    const floorOverhead = p50('floor') - p50('direct');
    console.log(`direct (the mock): sequential p50 ${p50('direct').toFixed(3)} ms`);
    for (const name of rows) {
      const v = rps[name] ?? [];
      const m = median(v);
      const cpu = median(cpuMs[name] ?? []);
      const sorted = (seq[name] ?? []).sort((a, b) => a - b);
      const overhead = p50(name) - p50('direct');
      console.log(
        `${name.padEnd(14)} ${m.toFixed(0).padStart(7)} req/s  ${(m / floor).toFixed(3)} x floor  (${v.map((x) => x.toFixed(0)).join(', ')})  CPU ${cpu.toFixed(3)} ms/req` +
          `  | sequential p50 ${pct(sorted, 0.5).toFixed(3)} p90 ${pct(sorted, 0.9).toFixed(3)} ms, overhead ${overhead.toFixed(3)} ms = ${(overhead / floorOverhead).toFixed(3)} x floor's, CPU ${(seqCpu[name] ?? NaN).toFixed(3)} ms/req`,
      );
    }
    const ttfb50 = (name: string) => pct((ttfb[name] ?? []).sort((a, b) => a - b), 0.5);
    const floorTtfb = ttfb50('floor') - ttfb50('direct');
    console.log(`streams, ${STREAM_CALLS} calls each, interleaved: direct TTFB p50 ${ttfb50('direct').toFixed(3)} ms`);
    for (const t of streamers.slice(1)) {
      const over = ttfb50(t.name) - ttfb50('direct');
      console.log(`${t.name.padEnd(14)} TTFB p50 ${ttfb50(t.name).toFixed(3)} ms, overhead ${over.toFixed(3)} ms = ${(over / floorTtfb).toFixed(3)} x floor's`);
    }
  } finally {
    for (const t of targets) await t.dispose();
    await upstream.close();
    await sink.close();
  }
}

await main();
