import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { CHAT, CHAT_STREAM, load, median, pct, sequential } from './client';
import { loadInterleaved, sequentialInterleaved, type Path } from './compare';
import { overheadAgreement } from './overhead';
import { startFastUpstream } from './fast-upstream';
import { ratiosAndGoals, spanCounts, type Accounting } from './goals';
import { ingestLoad, settledCount } from './ingest-load';
import { heapUsedMb } from './inspector';
import { startOtlpSink } from './otlp-sink';
import { PORTKEY_PATH, portkeyHeaders, portkeyVersion, startPortkey, startPortkeyWorkerd, verifyPortkey } from './portkey';
import { printResult } from './print';
import { startFloor, startGateway, startWorker, type Target } from './runtime';
import { telemetryVolume } from './telemetry-volume';
import { printResilience, resilienceBench } from './resilience';
import { hedgingBench, printHedging } from './hedging';

/**
 * `npm run bench`: the gateway as a user runs it (Durable Objects and span export on) against the mock directly, a
 * bare pass-through worker (the floor), the least a measuring proxy does (bench/minimal-proxy.js,
 * bench/minimal-stream.js), the gateway with its telemetry off (proxy only) and Portkey's gateway, the same runtime
 * for all but Portkey, interleaved, medians quoted; ratios and goals in bench/goals.ts. Everything on 127.0.0.1;
 * bounded in time.
 */
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 5;
const SEQ_CALLS = quick ? 1000 : 2000;
const LOAD_SECONDS = quick ? 6 : 15;
const STREAM_CALLS = quick ? 60 : 100;
const bundle = process.env.GATEWAY_BUNDLE ?? 'bench/.build/gateway/index.js';
const pumpBundle = 'bench/.build/ingest/ingest-worker.js';
const INGEST_RECORDS = quick ? 20_000 : 60_000;
const SCENARIO_SECONDS = quick ? { normal: 3, peak: 3, stress: 3, sustained: 10 } : { normal: 10, peak: 10, stress: 10, sustained: 30 };

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

const benchStart = Date.now();
/** Progress on stderr, so a slow or stuck phase shows where it is. */
function phase(name: string): void {
  process.stderr.write(`[bench ${((Date.now() - benchStart) / 1000).toFixed(0).padStart(4)} s] ${name}\n`);
}

async function main(): Promise<void> {
  phase('starting upstreams, collector, workerd targets and Portkey');
  const upstream = await startFastUpstream({ latencyMs: 0, chunks: 20, spacingMs: 0 });
  const streaming = await startFastUpstream({ latencyMs: 0, chunks: 20, spacingMs: 5 });
  // The gateways measured as a user runs them have mocks of their own: what those served is the number of calls
  // made, against which /sla counts and span counts are checked.
  const gatewayUpstream = await startFastUpstream({ latencyMs: 0, chunks: 20, spacingMs: 0 });
  const gatewayStreaming = await startFastUpstream({ latencyMs: 0, chunks: 20, spacingMs: 5 });
  // As a user runs it: Durable Object aggregation and span export (to a local collector) on, every call sampled.
  const sink = await startOtlpSink();
  const asUser = { RECORDER: 'durable', FLUSH_INTERVAL_MS: '1000', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url };
  const direct: Target = { name: 'direct', url: upstream.url, pid: null, dispose: async () => undefined };
  const floor = await startFloor(upstream.url);
  // The measuring floor: the least a proxy that measures calls (streams) must do (bench/README.md).
  const minimal = await startWorker('minimal', 'bench/minimal-proxy.js', { UPSTREAM: upstream.url });
  const proxyOnly = await startGateway(bundle, { UPSTREAM_OPENAI: upstream.url, RECORDER: 'none' }, 'proxy-only');
  const gateway = await startGateway(bundle, { UPSTREAM_OPENAI: gatewayUpstream.url, ...asUser });
  // Portkey on the same workerd (the peer of the goals), and as its package runs it (Node).
  const portkey = await startPortkeyWorkerd(upstream.url);
  await verifyPortkey(portkey, upstream.url, streaming.url);
  const portkeyNode = await startPortkey(upstream.url);
  await verifyPortkey(portkeyNode, upstream.url, streaming.url);
  const floorS = await startFloor(streaming.url, 'floor-stream');
  const minimalS = await startWorker('minimal-stream', 'bench/minimal-stream.js', { UPSTREAM: streaming.url });
  const gatewayS = await startGateway(bundle, { UPSTREAM_OPENAI: gatewayStreaming.url, ...asUser }, 'gateway-stream');
  const inspectorPort = () => 9300 + Math.floor(Math.random() * 600);
  const gatewayInspect = { port: inspectorPort(), target: null as unknown as Target };
  // TOKEN_ESTIMATE on (off by default): (f) measures the heap before and after the tokenizer loads.
  gatewayInspect.target = await startGateway(bundle, { UPSTREAM_OPENAI: upstream.url, ...asUser, TOKEN_ESTIMATE: 'on' }, 'gateway-heap', ['--inspector-addr', `127.0.0.1:${gatewayInspect.port}`]);
  const floorInspect = { port: inspectorPort(), target: null as unknown as Target };
  floorInspect.target = await startFloor(upstream.url, 'floor-heap', ['--inspector-addr', `127.0.0.1:${floorInspect.port}`]);
  await sequential(floorInspect.target.url, '/openai/v1/chat/completions', CHAT, 500);
  const pumpD = await startGateway(pumpBundle, { UPSTREAM_OPENAI: upstream.url, RECORDER: 'durable' }, 'ingest-d');
  const pumpE = await startGateway(pumpBundle, { UPSTREAM_OPENAI: upstream.url, RECORDER: 'durable' }, 'ingest-e');
  const proxyPath = '/openai/v1/chat/completions';
  const targets: Path[] = [
    { target: direct, path: '/v1/chat/completions' },
    { target: floor, path: proxyPath },
    { target: minimal, path: proxyPath },
    { target: proxyOnly, path: proxyPath },
    { target: gateway, path: proxyPath },
    { target: portkey, path: PORTKEY_PATH },
    { target: portkeyNode, path: PORTKEY_PATH },
  ];
  const streamTargets: Path[] = [
    { target: { ...direct, url: streaming.url }, path: '/v1/chat/completions' },
    { target: { ...floorS, name: 'floor' }, path: proxyPath },
    { target: minimalS, path: proxyPath },
    { target: { ...gatewayS, name: 'gateway' }, path: proxyPath },
    { target: { ...portkey, headers: portkeyHeaders(streaming.url) }, path: PORTKEY_PATH },
  ];
  const started = Date.now();
  try {
    phase('warm-up');
    // Warm up every target (isolates, connections, JIT).
    for (const t of targets) await sequential(t.target.url, t.path, CHAT, 200, t.target.headers);
    for (const t of streamTargets) await sequential(t.target.url, t.path, CHAT_STREAM, 20, t.target.headers);

    phase('(a) sequential');
    // (a) one connection per target, sequential non-streaming calls, the targets taking turns call by call.
    const aSeq = await sequentialInterleaved(targets, CHAT, SEQ_CALLS, ROUNDS);
    const aMed = Object.fromEntries(Object.entries(aSeq).map(([k, v]) => [k, { p50: v.p50, p90: v.p90, p99: v.p99 }]));

    phase('(b) 50 connections');
    // (b) 50 connections; CPU time of each target's process measured around each run.
    const { b: bMed, cpuMsPerRequest } = await loadInterleaved(targets, 50, Math.max(1, Math.round(LOAD_SECONDS / ROUNDS)), ROUNDS, '/tmp/llm-sla-bench.lua');

    phase('(c) streaming');
    // (c) streaming: 20 chunks 5 ms apart, the targets taking turns call by call.
    const cSeq = await sequentialInterleaved(streamTargets, CHAT_STREAM, STREAM_CALLS, ROUNDS);
    const cMed = Object.fromEntries(Object.entries(cSeq).map(([k, v]) => [k, { ttfbP50: v.ttfbP50, totalP50: v.totalP50 }]));

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

    // Issue 23: what a route's policy costs when nothing fails, and what it saves when the primary fails.
    const resilienceSink = await startOtlpSink();
    const resilience = await resilienceBench({ startGateway, bundle, otlpEndpoint: resilienceSink.url, quick, phase }).finally(() => resilienceSink.close());
    // Issue 24: deadlines, hedges and order from the measured tails, each strategy against A alone.
    const hedging = await hedgingBench({ startGateway, bundle, quick, phase });

    phase('nothing lost');
    // Nothing lost: every call a gateway made (its own mock counted them) is counted in /sla, and each one's span is
    // accounted for in /metrics (exported, unsampled or dropped, counted); the collector got every span exported
    // (the memory gateway exports to it too).
    const accounting: Accounting[] = [];
    for (const [g, up] of [[gateway, gatewayUpstream], [gatewayS, gatewayStreaming]] as const) {
      const calls = up.state.served;
      const slaCount = await settledCount(async () => ((await (await fetch(`${g.url}/sla?window=15m`)).json()) as { overall: { count: number } }).overall.count, calls);
      const spans = async () => spanCounts(await (await fetch(`${g.url}/metrics`)).text());
      const spansAccounted = await settledCount(async () => Object.values(await spans()).reduce((n, x) => n + x, 0), calls);
      const fates = await spans();
      accounting.push({ calls, slaCount, spansAccounted, spansExported: fates['exported'] ?? 0, fates });
    }
    const exportedElsewhere = spanCounts(await (await fetch(`${gatewayInspect.target.url}/metrics`)).text())['exported'] ?? 0;
    const sinkSpans = await settledCount(async () => sink.state.spans, accounting.reduce((n, x) => n + x.spansExported, exportedElsewhere));
    const { ratios, goals } = ratiosAndGoals({ a: aMed, b: bMed, c: cMed, cpuMsPerRequest }, accounting, sinkSpans - exportedElsewhere);
    // The overhead the gateway reports (Server-Timing) against the one measured from outside.
    const serverTiming = overheadAgreement(aSeq);
    goals.push(serverTiming.goal);
    // Issue 23's ratios and goals beside the others (bench:check gates them).
    Object.assign(ratios, resilience.ratios);
    goals.push(...resilience.goals);
    // Issue 24's: hedging against A alone.
    Object.assign(ratios, hedging.ratios);
    goals.push(...hedging.goals);

    const over = (name: string, q: 'p50' | 'p99') => (aMed[name]?.[q] ?? NaN) - (aMed['direct']?.[q] ?? NaN);
    const result = {
      date: new Date().toISOString(),
      quick,
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}` },
      portkey: { version: portkeyVersion(), build: "'portkey': its Hono app on the same workerd (bundled from the package's Node build); 'portkey-node': the Node build, Node " + process.version },
      seconds: Math.round((Date.now() - started) / 1000),
      a: {
        medians: aMed,
        overheadMs: Object.fromEntries(targets.map((t) => [t.target.name, { p50: over(t.target.name, 'p50'), p99: over(t.target.name, 'p99') }])),
        serverTiming: serverTiming.figures,
      },
      b: bMed,
      c: cMed,
      d: dResult,
      e: eResult,
      g: gResult,
      f: { memory, cpuMsPerRequest },
      scenarios,
      telemetry: { exportRequests: sink.state.requests, spansReceived: sink.state.spans },
      telemetryVolume: tv,
      resilience,
      hedging,
      accounting,
      slaCount: accounting[0]?.slaCount ?? NaN,
      gatewayCalls: accounting[0]?.calls ?? NaN,
      ratios,
      goals,
    };
    fs.mkdirSync('bench/results', { recursive: true });
    const file = `bench/results/${result.date.replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`;
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    printResult(result);
    printResilience(resilience);
    printHedging(hedging);
    console.log(`\ntelemetry volume: ${JSON.stringify(tv)}`);
    console.log(`\nwritten ${file}`);
  } finally {
    await Promise.all(
      [floor, minimal, proxyOnly, gateway, portkey, portkeyNode, floorS, minimalS, gatewayS, pumpD, pumpE, gatewayInspect.target, floorInspect.target]
        .map((t) => t.dispose())
        .concat([upstream.close(), streaming.close(), gatewayUpstream.close(), gatewayStreaming.close(), sink.close()]),
    );
  }
}

await main();
