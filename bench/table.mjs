// `npm run bench:table [result.json]`: the README's benchmark table (Markdown) from a `npm run bench` result, the
// newest in bench/results by default, so that the README quotes a run and not hand-copied figures.
import fs from 'node:fs';
import path from 'node:path';

const file =
  process.argv[2] ??
  path.join('bench/results', fs.readdirSync('bench/results').filter((f) => /^\d{4}-.*Z\.json$/.test(f)).sort().at(-1) ?? '');
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const n = (x, d = 2) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const a = r.a.medians;
const ov = r.a.overheadMs;
const { b, c, d, e, g } = r;
const m = r.f.memory;
const cpu = r.f.cpuMsPerRequest;
const q = r.ratios;
const lines = [
  `Result: \`${file}\` (${r.date}).`,
  '',
  '| | direct | floor | gateway | gateway/floor | goal |',
  '| --- | ---: | ---: | ---: | ---: | --- |',
  `| (a) p50 / p99 ms, one connection | ${n(a.direct.p50)} / ${n(a.direct.p99)} | ${n(a.floor.p50)} / ${n(a.floor.p99)} | ${n(a.gateway.p50)} / ${n(a.gateway.p99)} | overhead ${n(ov.gateway.p50)} vs ${n(ov.floor.p50)} ms: **${q.a_overhead_p50}×** (p99 ${n(ov.gateway.p99)} vs ${n(ov.floor.p99)} ms: ${q.a_overhead_p99}×) | ≤ 1.15×; p99 overhead < 2 ms |`,
  `| (b) req/s, 50 connections (wrk) | ${n(b.direct.rps, 0)} | ${n(b.floor.rps, 0)} | ${n(b.gateway.rps, 0)} (${b.gateway.errors} errors) | **${q.b_rps}** | ≥ 0.85 |`,
  `| (c) stream TTFB p50 ms (total) | ${n(c.direct.ttfbP50)} (${n(c.direct.totalP50, 1)}) | ${n(c.floor.ttfbP50)} (${n(c.floor.totalP50, 1)}) | ${n(c.gateway.ttfbP50)} (${n(c.gateway.totalP50, 1)}) | overhead **${q.c_ttfb_overhead}×** | ≤ 1.2× |`,
  `| CPU ms per request (b) | – | ${cpu.floor.toFixed(3)} | ${cpu.gateway.toFixed(3)} | ${q.f_cpu_per_request}× | gateway < 0.5 ms |`,
  `| (f) isolate heap MB | – | ${n(m.floorHeapMb, 1)} | ${n(m.gatewayHeapMb, 1)} (${n(m.gatewayWithTokenizerHeapMb, 1)} with the tokenizer) | – | < 20 MB without the tokenizer |`,
  '',
  `- (d) Durable Object ingestion, one route: **${n(d.recordsPerSecond, 0)} records/s**, ${d.counted.toLocaleString('en-US')} of ${d.sent.toLocaleString('en-US')} counted (goal ≥ 20,000/s, zero loss).`,
  `- (e) \`/sla\` over ${e.routes} routes × ${e.windowsPerRoute} one-minute windows: p50 ${n(e.p50Ms, 1)} ms, **p99 ${n(e.p99Ms, 1)} ms** (goal p99 < 50 ms).`,
  `- (g) OTLP ingestion, 100-span exports: one connection p50 ${n(g.singleP50Ms)} ms, **p99 ${n(g.singleP99Ms)} ms** (goal < 10 ms); 16 connections **${n(g.spansPerSecond, 0)} spans/s** into one route, request p99 ${n(g.p99Ms, 1)} ms; ${g.counted.toLocaleString('en-US')} of ${g.sent.toLocaleString('en-US')} counted.`,
  `- Load scenarios (gateway, as a user runs it): ${Object.entries(r.scenarios)
    .map(([k, v]) => `${k} ${v.connections} connections ${v.seconds} s: ${n(v.rps, 0)} req/s, p99 ${n(v.p99Ms, 0)} ms, ${(100 * v.errorRate).toFixed(2)} % errors`)
    .join('; ')}.`,
  `- Spans exported during the run: ${r.telemetry.spansReceived.toLocaleString('en-US')}; \`/sla\` counted ${r.slaCount.toLocaleString('en-US')} calls (the harness tallied ${r.gatewayCalls.toLocaleString('en-US')}; wrk completes calls after its count).`,
  `- Machine: ${r.machine.cpus} × ${r.machine.model}, ${r.machine.platform}, load generator Node ${r.machine.node}; run took ${r.seconds} s.`,
];
console.log(lines.join('\n'));
