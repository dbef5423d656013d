import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { CHAT, CHAT_STREAM, load, median, pct, sequential, type LoadResult, type Timing } from './client';
import { startFastUpstream } from './fast-upstream';
import { ingestLoad, settledCount } from './ingest-load';
import { heapUsedMb } from './inspector';
import { startOtlpSink } from './otlp-sink';
import { cpuSeconds, startFloor, startGateway, type Target } from './runtime';
import { telemetryVolume } from './telemetry-volume';

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
const pumpBundle = 'bench/.build/ingest/ingest-worker.js';
const INGEST_RECORDS = quick ? 20_000 : 60_000;
const SCENARIO_SECONDS = quick ? { normal: 3, peak: 3, stress: 3, sustained: 10 } : { normal: 10, peak: 10, stress: 10, sustained: 60 };

function rssMb(pid: number | null): number {
  if (pid === null) return NaN;
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

/** One POST with extra headers (a fault for the upstream), body read to its end. */
function postWith(base: string, path: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, base), { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

type Path = { target: Target; path: string };

function summarize(timings: Timing[], key: 'totalMs' | 'ttfbMs') {
  const v = timings.map((t) => t[key]).sort((a, b) => a - b);
  return { p50: pct(v, 0.5), p90: pct(v, 0.9), p99: pct(v, 0.99) };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

const benchStart = Date.now();
/** Progress on stderr, so a slow or stuck phase shows where it is. */
function phase(name: string): void {
  process.stderr.write(`[bench ${((Date.now() - benchStart) / 1000).toFixed(0).padStart(4)} s] ${name}\n`);
}

async function main(): Promise<void> {
  phase('starting upstreams, collector and workerd targets');
  const upstream = await startFastUpstream({ latencyMs: 0, chunks: 20, spacingMs: 0 });
  const streaming = await startFastUpstream({ latencyMs: 0, chunks: 20, spacingMs: 5 });
  // As a user runs it: Durable Object aggregation and span export (to a local collector) on, every call sampled.
  const sink = await startOtlpSink();
  const asUser = { RECORDER: 'durable', FLUSH_INTERVAL_MS: '1000', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url };
  const direct: Target = { name: 'direct', url: upstream.url, pid: null, dispose: async () => undefined };
  const floor = await startFloor(upstream.url);
  const gateway = await startGateway(bundle, { UPSTREAM_OPENAI: upstream.url, ...asUser });
  const floorS = await startFloor(streaming.url, 'floor-stream');
  const gatewayS = await startGateway(bundle, { UPSTREAM_OPENAI: streaming.url, ...asUser }, 'gateway-stream');
  const inspectorPort = () => 9300 + Math.floor(Math.random() * 600);
  const gatewayInspect = { port: inspectorPort(), target: null as unknown as Target };
  gatewayInspect.target = await startGateway(bundle, { UPSTREAM_OPENAI: upstream.url, ...asUser }, 'gateway-heap', ['--inspector-addr', `127.0.0.1:${gatewayInspect.port}`]);
  const floorInspect = { port: inspectorPort(), target: null as unknown as Target };
  floorInspect.target = await startFloor(upstream.url, 'floor-heap', ['--inspector-addr', `127.0.0.1:${floorInspect.port}`]);
  await sequential(floorInspect.target.url, '/openai/v1/chat/completions', CHAT, 500);
  const pumpD = await startGateway(pumpBundle, { UPSTREAM_OPENAI: upstream.url, RECORDER: 'durable' }, 'ingest-d');
  const pumpE = await startGateway(pumpBundle, { UPSTREAM_OPENAI: upstream.url, RECORDER: 'durable' }, 'ingest-e');
  const targets: Path[] = [
    { target: direct, path: '/v1/chat/completions' },
    { target: floor, path: '/openai/v1/chat/completions' },
    { target: gateway, path: '/openai/v1/chat/completions' },
  ];
  const started = Date.now();
  try {
    phase('warm-up');
    // Warm up every target (isolates, connections, JIT).
    for (const t of targets) await sequential(t.target.url, t.path, CHAT, 200);

    phase('(a) sequential');
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

    phase('(b) 50 connections');
    // (b) 50 connections; CPU time of the worker processes measured around each run.
    const b: Record<string, LoadResult[]> = {};
    const cpu: Record<string, { seconds: number; requests: number }> = {};
    for (let r = 0; r < 3; r++) {
      for (const t of targets) {
        const before = cpuSeconds(t.target.pid);
        const res = await load(t.target.url, t.path, 50, Math.max(1, Math.round(LOAD_SECONDS / 3)), '/tmp/llm-sla-bench.lua', fs);
        (b[t.target.name] ??= []).push(res);
        const c = (cpu[t.target.name] ??= { seconds: 0, requests: 0 });
        c.seconds += cpuSeconds(t.target.pid) - before;
        c.requests += res.requests;
      }
    }
    const cpuMsPerRequest = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, (1000 * v.seconds) / v.requests]));
    const bMed = Object.fromEntries(
      Object.entries(b).map(([k, v]) => [k, { rps: median(v.map((x) => x.rps)), p99: median(v.map((x) => x.p99Ms)), errors: v.reduce((n, x) => n + x.errors, 0), tool: v[0]?.tool }]),
    );

    phase('(c) streaming');
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
    const gatewayCalls = 200 + (a['gateway']?.p50.length ?? 0) * Math.ceil(SEQ_CALLS / ROUNDS) + (b['gateway'] ?? []).reduce((n, x) => n + x.requests, 0);
    const sla = {
      overall: { count: await settledCount(async () => ((await (await fetch(`${gateway.url}/sla?window=15m`)).json()) as { overall: { count: number } }).overall.count, gatewayCalls) },
    };

    phase('(f) memory');
    // (f) memory: the isolate's live JS heap (inspector, after a full GC) of a gateway that has served traffic,
    // before and after a reply without usage makes it load the tokenizer; the floor's isolate for reference; and
    // the workerd processes' RSS (runtime, V8 and Durable Objects included).
    const memory = {
      floorHeapMb: await heapUsedMb(floorInspect.port),
      gatewayHeapMb: NaN,
      gatewayWithTokenizerHeapMb: NaN,
      floorRssMb: rssMb(floor.pid),
      gatewayRssMb: rssMb(gateway.pid),
    };
    await sequential(gatewayInspect.target.url, '/openai/v1/chat/completions', CHAT, 500);
    await sequential(gatewayInspect.target.url, '/openai/v1/chat/completions', CHAT_STREAM, 100);
    await new Promise((r) => setTimeout(r, 1500));
    memory.gatewayHeapMb = await heapUsedMb(gatewayInspect.port);
    await postWith(gatewayInspect.target.url, '/openai/v1/chat/completions', CHAT, { 'x-fault': 'no-usage' });
    await new Promise((r) => setTimeout(r, 1500));
    memory.gatewayWithTokenizerHeapMb = await heapUsedMb(gatewayInspect.port);

    phase('(d) Durable Object ingestion');
    // (d) ingestion: records/s one route absorbs through the batching recorder, and nothing lost.
    const d: { recordsPerSecond: number; ms: number; dropped: number }[] = [];
    let pumped = 0;
    for (let r = 0; r < 3; r++) {
      const { ms, value } = await timed(async () => (await (await fetch(`${pumpD.url}/__bench/pump?n=${INGEST_RECORDS}&routes=1`, { method: 'POST' })).json()) as { dropped: number });
      pumped += INGEST_RECORDS;
      d.push({ recordsPerSecond: (1000 * INGEST_RECORDS) / ms, ms, dropped: value.dropped });
    }
    const dSla = (await (await fetch(`${pumpD.url}/sla?window=15m`)).json()) as { overall: { count: number } };
    const dResult = { recordsPerSecond: median(d.map((x) => x.recordsPerSecond)), rounds: d, counted: dSla.overall.count, sent: pumped, lost: pumped - dSla.overall.count };

    phase('(e) /sla over 50 routes');
    // (e) /sla over 50 routes x 60 one-minute windows.
    const perWindow = quick ? 4 : 10;
    await fetch(`${pumpE.url}/__bench/pump?n=${50 * 60 * perWindow}&routes=50&spreadMinutes=60`, { method: 'POST' });
    const eTimes: number[] = [];
    let eRoutes = 0;
    for (let i = 0; i < 60; i++) {
      const { ms, value } = await timed(async () => (await (await fetch(`${pumpE.url}/sla?window=1h`)).json()) as { routes: Record<string, unknown> });
      if (i >= 10) eTimes.push(ms); // the first reads warm the objects
      eRoutes = Object.keys(value.routes).length;
    }
    eTimes.sort((x, y) => x - y);
    const eResult = { routes: eRoutes, windowsPerRoute: 60, p50Ms: pct(eTimes, 0.5), p99Ms: pct(eTimes, 0.99) };

    phase('(g) OTLP ingestion');
    // (g) OTLP ingestion: spans/s one route absorbs through POST /v1/traces (JSON, 100 spans a request), request
    // p99, and every span counted in /sla.
    const gResult = await ingestLoad(pumpE.url, quick ? 3 : 8);

    phase('load scenarios');
    // Load scenarios of the source documents, scaled to this machine: error rate and p99 each.
    const scenarios: Record<string, { connections: number; seconds: number; rps: number; p99Ms: number; errorRate: number }> = {};
    for (const [name, connections] of [['normal', 10], ['peak', 50], ['stress', 200], ['sustained', 20]] as const) {
      const seconds = SCENARIO_SECONDS[name];
      const r = await load(gateway.url, '/openai/v1/chat/completions', connections, seconds, '/tmp/llm-sla-bench.lua', fs);
      scenarios[name] = { connections, seconds, rps: r.rps, p99Ms: r.p99Ms, errorRate: r.requests ? r.errors / r.requests : NaN };
    }

    phase('telemetry volume');
    const tv = await telemetryVolume({ startGateway, bundle, upstreamUrl: upstream.url, quick });

    const over = (name: string, q: 'p50' | 'p99') => (aMed[name]?.[q] ?? NaN) - (aMed['direct']?.[q] ?? NaN);
    const ttfbOver = (name: string) => (cMed[name]?.ttfbP50 ?? NaN) - (cMed['direct']?.ttfbP50 ?? NaN);
    const ratios = {
      a_overhead_p50: over('gateway', 'p50') / over('floor', 'p50'),
      a_overhead_p99: over('gateway', 'p99') / over('floor', 'p99'),
      b_rps: (bMed['gateway']?.rps ?? NaN) / (bMed['floor']?.rps ?? NaN),
      c_ttfb_overhead: ttfbOver('gateway') / ttfbOver('floor'),
      f_cpu_per_request: (cpuMsPerRequest['gateway'] ?? NaN) / (cpuMsPerRequest['floor'] ?? NaN),
    };
    const result = {
      date: new Date().toISOString(),
      quick,
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}` },
      seconds: Math.round((Date.now() - started) / 1000),
      a: { medians: aMed, overheadMs: { floor: { p50: over('floor', 'p50'), p99: over('floor', 'p99') }, gateway: { p50: over('gateway', 'p50'), p99: over('gateway', 'p99') } } },
      b: bMed,
      c: cMed,
      d: dResult,
      e: eResult,
      g: gResult,
      f: { memory, cpuMsPerRequest },
      scenarios,
      telemetry: { exportRequests: sink.state.requests, spansReceived: sink.state.spans },
      telemetryVolume: tv,
      slaCount: sla.overall.count,
      gatewayCalls,
      ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, round3(v)])),
    };
    fs.mkdirSync('bench/results', { recursive: true });
    const file = `bench/results/${result.date.replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`;
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    printTable(result);
    console.log(`\ntelemetry volume: ${JSON.stringify(tv)}`);
    console.log(`\nwritten ${file}`);
  } finally {
    await Promise.all([floor.dispose(), gateway.dispose(), floorS.dispose(), gatewayS.dispose(), pumpD.dispose(), pumpE.dispose(), gatewayInspect.target.dispose(), floorInspect.target.dispose(), upstream.close(), streaming.close(), sink.close()]);
  }
}

function printTable(r: {
  a: { medians: Record<string, { p50: number; p90: number; p99: number }>; overheadMs: Record<string, { p50: number; p99: number }> };
  b: Record<string, { rps: number; p99: number; errors: number }>;
  c: Record<string, { ttfbP50: number; totalP50: number }>;
  ratios: Record<string, number>;
  slaCount: number;
  gatewayCalls: number;
  d: { recordsPerSecond: number; counted: number; sent: number; lost: number };
  e: { routes: number; windowsPerRoute: number; p50Ms: number; p99Ms: number };
  g: { spansPerSecond: number; p99Ms: number; singleP50Ms: number; singleP99Ms: number; sent: number; counted: number; rejected: number; dropped: Record<string, number> };
  f: { memory: { floorHeapMb: number; gatewayHeapMb: number; gatewayWithTokenizerHeapMb: number; floorRssMb: number; gatewayRssMb: number }; cpuMsPerRequest: Record<string, number> };
  scenarios: Record<string, { connections: number; seconds: number; rps: number; p99Ms: number; errorRate: number }>;
  telemetry: { exportRequests: number; spansReceived: number };
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
  console.log(`(d) ingestion, one route: ${f(r.d.recordsPerSecond)} records/s; ${r.d.counted} of ${r.d.sent} counted (${r.d.lost} lost)`);
  console.log(`(e) /sla, ${r.e.routes} routes x ${r.e.windowsPerRoute} windows: p50 ${f(r.e.p50Ms)} ms, p99 ${f(r.e.p99Ms)} ms`);
  console.log(`(g) OTLP ingestion, one route: one connection, 100 spans a request: p50 ${f(r.g.singleP50Ms)} ms, p99 ${f(r.g.singleP99Ms)} ms; 16 connections: ${f(r.g.spansPerSecond)} spans/s, request p99 ${f(r.g.p99Ms)} ms; ${r.g.counted} of ${r.g.sent} counted; ${r.g.rejected} requests refused; drops ${JSON.stringify(r.g.dropped)}`);
  const m = r.f.memory;
  console.log(`(f) isolate heap MB floor ${f(m.floorHeapMb)}, gateway ${f(m.gatewayHeapMb)}, with tokenizer ${f(m.gatewayWithTokenizerHeapMb)} (process RSS floor ${f(m.floorRssMb)}, gateway ${f(m.gatewayRssMb)}); CPU ms/request ${JSON.stringify(Object.fromEntries(Object.entries(r.f.cpuMsPerRequest).map(([k, v]) => [k, Math.round(v * 1000) / 1000])))}`);
  for (const [name, sc] of Object.entries(r.scenarios)) console.log(`    load ${name.padEnd(10)} ${sc.connections} conns ${sc.seconds} s: ${f(sc.rps)} req/s, p99 ${f(sc.p99Ms)} ms, errors ${(100 * sc.errorRate).toFixed(2)} %`);
  console.log(`spans exported: ${r.telemetry.spansReceived} in ${r.telemetry.exportRequests} requests`);
  console.log(`ratios gateway/floor: ${JSON.stringify(r.ratios)}`);
  console.log(`/sla counted ${r.slaCount} of the ${r.gatewayCalls} calls the gateway answered (load-tool requests included)`);
}

await main();
