import fs from 'node:fs';
import os from 'node:os';
import { CHAT, CHAT_STREAM, load, median, pct, sequential, type LoadResult, type Timing } from './client';
import { startFastUpstream } from './fast-upstream';
import { startFloor, startGateway, type Target } from './runtime';

/**
 * `npm run bench`: the gateway against a bare pass-through worker (the floor) on the same runtime and the mock
 * provider directly, interleaved over rounds, medians quoted. Everything on 127.0.0.1; bounded in time.
 */
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 5;
const SEQ_CALLS = quick ? 1000 : 2000;
const LOAD_SECONDS = quick ? 6 : 15;
const STREAM_CALLS = quick ? 60 : 200;
const bundle = process.env.GATEWAY_BUNDLE ?? 'bench/.build/gateway/index.js';

type Path = { target: Target; path: string };

function summarize(timings: Timing[], key: 'totalMs' | 'ttfbMs') {
  const v = timings.map((t) => t[key]).sort((a, b) => a - b);
  return { p50: pct(v, 0.5), p90: pct(v, 0.9), p99: pct(v, 0.99) };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const upstream = await startFastUpstream({ latencyMs: 0, chunks: 20, spacingMs: 0 });
  const streaming = await startFastUpstream({ latencyMs: 0, chunks: 20, spacingMs: 5 });
  const direct: Target = { name: 'direct', url: upstream.url, pid: null, dispose: async () => undefined };
  const floor = await startFloor(upstream.url);
  const gateway = await startGateway(bundle, { UPSTREAM_OPENAI: upstream.url, RECORDER: 'durable', FLUSH_INTERVAL_MS: '1000' });
  const floorS = await startFloor(streaming.url, 'floor-stream');
  const gatewayS = await startGateway(bundle, { UPSTREAM_OPENAI: streaming.url, RECORDER: 'durable', FLUSH_INTERVAL_MS: '1000' }, 'gateway-stream');
  const targets: Path[] = [
    { target: direct, path: '/v1/chat/completions' },
    { target: floor, path: '/openai/v1/chat/completions' },
    { target: gateway, path: '/openai/v1/chat/completions' },
  ];
  const started = Date.now();
  try {
    // Warm up every target (isolates, connections, JIT).
    for (const t of targets) await sequential(t.target.url, t.path, CHAT, 200);

    // (a) one connection, sequential non-streaming calls.
    const a: Record<string, { p50: number[]; p90: number[]; p99: number[] }> = {};
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of targets) {
        const s = summarize(await sequential(t.target.url, t.path, CHAT, Math.ceil(SEQ_CALLS / ROUNDS)), 'totalMs');
        const acc = (a[t.target.name] ??= { p50: [], p90: [], p99: [] });
        acc.p50.push(s.p50);
        acc.p90.push(s.p90);
        acc.p99.push(s.p99);
      }
    }
    const aMed = Object.fromEntries(Object.entries(a).map(([k, v]) => [k, { p50: median(v.p50), p90: median(v.p90), p99: median(v.p99) }]));

    // (b) 50 connections.
    const b: Record<string, LoadResult[]> = {};
    for (let r = 0; r < 3; r++) {
      for (const t of targets) (b[t.target.name] ??= []).push(await load(t.target.url, t.path, 50, Math.max(1, Math.round(LOAD_SECONDS / 3)), '/tmp/llm-sla-bench.lua', fs));
    }
    const bMed = Object.fromEntries(
      Object.entries(b).map(([k, v]) => [k, { rps: median(v.map((x) => x.rps)), p99: median(v.map((x) => x.p99Ms)), errors: v.reduce((n, x) => n + x.errors, 0), tool: v[0]?.tool }]),
    );

    // (c) streaming: 20 chunks 5 ms apart.
    const streamTargets: Path[] = [
      { target: { ...direct, url: streaming.url }, path: '/v1/chat/completions' },
      { target: { ...floorS, name: 'floor' }, path: '/openai/v1/chat/completions' },
      { target: { ...gatewayS, name: 'gateway' }, path: '/openai/v1/chat/completions' },
    ];
    const c: Record<string, { ttfb: number[]; total: number[] }> = {};
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of streamTargets) {
        const timings = await sequential(t.target.url, t.path, CHAT_STREAM, Math.ceil(STREAM_CALLS / ROUNDS));
        const acc = (c[t.target.name] ??= { ttfb: [], total: [] });
        acc.ttfb.push(summarize(timings, 'ttfbMs').p50);
        acc.total.push(summarize(timings, 'totalMs').p50);
      }
    }
    const cMed = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, { ttfbP50: median(v.ttfb), totalP50: median(v.total) }]));

    // Nothing lost: every call the gateway answered is counted in /sla.
    await new Promise((r) => setTimeout(r, 2500));
    const sla = (await (await fetch(`${gateway.url}/sla?window=15m`)).json()) as { overall: { count: number } };
    const gatewayCalls = 200 + (a['gateway']?.p50.length ?? 0) * Math.ceil(SEQ_CALLS / ROUNDS) + (b['gateway'] ?? []).reduce((n, x) => n + x.requests, 0);

    const over = (name: string, q: 'p50' | 'p99') => (aMed[name]?.[q] ?? NaN) - (aMed['direct']?.[q] ?? NaN);
    const ttfbOver = (name: string) => (cMed[name]?.ttfbP50 ?? NaN) - (cMed['direct']?.ttfbP50 ?? NaN);
    const ratios = {
      a_overhead_p50: over('gateway', 'p50') / over('floor', 'p50'),
      a_overhead_p99: over('gateway', 'p99') / over('floor', 'p99'),
      b_rps: (bMed['gateway']?.rps ?? NaN) / (bMed['floor']?.rps ?? NaN),
      c_ttfb_overhead: ttfbOver('gateway') / ttfbOver('floor'),
    };
    const result = {
      date: new Date().toISOString(),
      quick,
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}` },
      seconds: Math.round((Date.now() - started) / 1000),
      a: { medians: aMed, overheadMs: { floor: { p50: over('floor', 'p50'), p99: over('floor', 'p99') }, gateway: { p50: over('gateway', 'p50'), p99: over('gateway', 'p99') } } },
      b: bMed,
      c: cMed,
      slaCount: sla.overall.count,
      gatewayCalls,
      ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, round3(v)])),
    };
    fs.mkdirSync('bench/results', { recursive: true });
    const file = `bench/results/${result.date.replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`;
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    printTable(result);
    console.log(`\nwritten ${file}`);
  } finally {
    await Promise.all([floor.dispose(), gateway.dispose(), floorS.dispose(), gatewayS.dispose(), upstream.close(), streaming.close()]);
  }
}

function printTable(r: {
  a: { medians: Record<string, { p50: number; p90: number; p99: number }>; overheadMs: Record<string, { p50: number; p99: number }> };
  b: Record<string, { rps: number; p99: number; errors: number }>;
  c: Record<string, { ttfbP50: number; totalP50: number }>;
  ratios: Record<string, number>;
  slaCount: number;
  gatewayCalls: number;
}): void {
  const f = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(3));
  console.log('\n(a) sequential non-streaming, ms        p50      p90      p99   overhead p50  overhead p99');
  for (const n of ['direct', 'floor', 'gateway']) {
    const m = r.a.medians[n];
    console.log(`    ${n.padEnd(36)} ${f(m?.p50).padStart(7)} ${f(m?.p90).padStart(8)} ${f(m?.p99).padStart(8)} ${f(r.a.overheadMs[n]?.p50).padStart(13)} ${f(r.a.overheadMs[n]?.p99).padStart(13)}`);
  }
  console.log(`(b) 50 connections (${(r.b['gateway'] as { tool?: string } | undefined)?.tool ?? '?'})                req/s      p99 ms   errors`);
  for (const n of ['direct', 'floor', 'gateway']) console.log(`    ${n.padEnd(36)} ${f(r.b[n]?.rps).padStart(9)} ${f(r.b[n]?.p99).padStart(10)} ${String(r.b[n]?.errors ?? '–').padStart(8)}`);
  console.log('(c) streaming 20 chunks x 5 ms, p50 ms   ttfb     total');
  for (const n of ['direct', 'floor', 'gateway']) console.log(`    ${n.padEnd(36)} ${f(r.c[n]?.ttfbP50).padStart(7)} ${f(r.c[n]?.totalP50).padStart(9)}`);
  console.log(`ratios gateway/floor: ${JSON.stringify(r.ratios)}`);
  console.log(`/sla counted ${r.slaCount} of the ${r.gatewayCalls} calls the gateway answered (load-tool requests included)`);
}

await main();
