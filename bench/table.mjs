// `npm run bench:table [result.json ...]`: the README's benchmark table (Markdown) from a `npm run bench` result, the
// newest in bench/results by default, so that the README quotes a run and not hand-copied figures. Given several
// results, the table is the first one's, followed by each goal's range over all of them.
import fs from 'node:fs';
import path from 'node:path';

const files = process.argv.slice(2);
const file =
  files[0] ??
  path.join('bench/results', fs.readdirSync('bench/results').filter((f) => /^\d{4}-.*Z\.json$/.test(f)).sort().at(-1) ?? '');
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const n = (x, d = 2) => (typeof x === 'number' && !Number.isNaN(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '–');
const a = r.a.medians;
const ov = r.a.overheadMs;
const { b, c, d, e, g } = r;
const m = r.f.memory;
const cpu = r.f.cpuMsPerRequest;
const goal = (key) => r.goals.find((x) => x.key === key);
const mark = (key) => {
  const x = goal(key);
  return x ? `${x.value} (${x.goal}${x.met ? '' : ', missed'})` : '–';
};
const names = ['direct', 'floor', 'minimal', 'proxy-only', 'gateway', 'portkey', 'portkey-node'];
const streamNames = ['direct', 'floor', 'minimal-stream', 'gateway', 'portkey'];
const lines = [
  `Result: \`${file}\` (${r.date}); Portkey: \`@portkey-ai/gateway\` ${r.portkey.version}, ${r.portkey.build}.`,
  '',
  `| | ${names.join(' | ')} |`,
  `| --- | ${names.map(() => '---:').join(' | ')} |`,
  `| (a) p50 / p99 ms, one connection | ${names.map((k) => `${n(a[k]?.p50)} / ${n(a[k]?.p99)}`).join(' | ')} |`,
  `| (a) overhead p50 / p99 ms | ${names.map((k) => (k === 'direct' ? '–' : `${n(ov[k]?.p50)} / ${n(ov[k]?.p99)}`)).join(' | ')} |`,
  `| (b) req/s, 50 connections (wrk) | ${names.map((k) => n(b[k]?.rps, 0)).join(' | ')} |`,
  `| CPU ms per call (b) | ${names.map((k) => (k === 'direct' ? '–' : n(cpu[k], 3))).join(' | ')} |`,
  '',
  `| (c) streams, 20 chunks 5 ms apart | ${streamNames.join(' | ')} |`,
  `| --- | ${streamNames.map(() => '---:').join(' | ')} |`,
  `| TTFB p50 ms (total) | ${streamNames.map((k) => `${n(c[k]?.ttfbP50)} (${n(c[k]?.totalP50, 1)})`).join(' | ')} |`,
  '',
  '| goal (gateway with Durable Objects and span export on) | this run |',
  '| --- | ---: |',
  ...r.goals.filter((x) => x.key !== 'sla_counted' && x.key !== 'spans_accounted').map((x) => `| ${x.what}: ${x.goal} | ${x.met ? '' : '**missed** '}${x.value} |`),
  `| against the bare worker: overhead p50 ×, req/s ×, TTFB overhead ×, CPU × | ${r.ratios.a_overhead_p50} / ${r.ratios.b_rps} / ${r.ratios.c_ttfb_overhead} / ${r.ratios.f_cpu_per_request} |`,
  '',
  `- Nothing lost: ${goal('sla_counted')?.what} — ${goal('sla_counted')?.met ? 'all counted' : '**MISMATCH**'}; ${goal('spans_accounted')?.what} — ${goal('spans_accounted')?.met ? 'all accounted for' : '**MISMATCH**'}.`,
  `- (d) Durable Object ingestion, one route: **${n(d.recordsPerSecond, 0)} records/s**, ${d.counted.toLocaleString('en-US')} of ${d.sent.toLocaleString('en-US')} counted (goal ≥ 20,000/s, zero loss).`,
  `- (e) \`/sla\` over ${e.routes} routes × ${e.windowsPerRoute} one-minute windows: p50 ${n(e.p50Ms, 1)} ms, **p99 ${n(e.p99Ms, 1)} ms** (goal p99 < 50 ms).`,
  `- (f) isolate heap: floor ${n(m.floorHeapMb, 1)} MB, gateway ${n(m.gatewayHeapMb, 1)} MB (${n(m.gatewayWithTokenizerHeapMb, 1)} MB with the tokenizer; goal < 20 MB without).`,
  `- (g) OTLP ingestion, 100-span exports: one connection p50 ${n(g.singleP50Ms)} ms, **p99 ${n(g.singleP99Ms)} ms** (goal < 10 ms); 16 connections **${n(g.spansPerSecond, 0)} spans/s** into one route, request p99 ${n(g.p99Ms, 1)} ms; ${g.counted.toLocaleString('en-US')} of ${g.sent.toLocaleString('en-US')} counted.`,
  `- Load scenarios (gateway, as a user runs it): ${Object.entries(r.scenarios)
    .map(([k, v]) => `${k} ${v.connections} connections ${v.seconds} s: ${n(v.rps, 0)} req/s, p99 ${n(v.p99Ms, 0)} ms, ${(100 * v.errorRate).toFixed(2)} % errors`)
    .join('; ')}.`,
  `- Machine: ${r.machine.cpus} × ${r.machine.model}, ${r.machine.platform}, load generator Node ${r.machine.node}; run took ${r.seconds} s.`,
];
if (files.length > 1) {
  const runs = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
  const range = (values) => {
    const v = values.filter((x) => typeof x === 'number' && !Number.isNaN(x));
    return v.length ? `${Math.min(...v)} – ${Math.max(...v)}` : '–';
  };
  lines.push(
    '',
    `Range over ${runs.length} runs (${runs.map((x) => x.date).join(', ')}):`,
    '',
    '| goal (gateway with Durable Objects and span export on) | range | met in |',
    '| --- | ---: | ---: |',
    ...r.goals.map((g0) => {
      const gs = runs.map((x) => x.goals.find((y) => y.key === g0.key));
      return `| ${g0.key === 'sla_counted' || g0.key === 'spans_accounted' ? g0.key.replace('_', ' ') : g0.what}: ${g0.key === 'sla_counted' || g0.key === 'spans_accounted' ? 'nothing lost' : g0.goal} | ${g0.key === 'sla_counted' || g0.key === 'spans_accounted' ? '–' : range(gs.map((x) => x?.value))} | ${gs.filter((x) => x?.met).length} of ${runs.length} |`;
    }),
    `| against the bare worker: overhead p50 × | ${range(runs.map((x) => x.ratios.a_overhead_p50))} | |`,
    `| against the bare worker: req/s × | ${range(runs.map((x) => x.ratios.b_rps))} | |`,
    `| against the bare worker: stream TTFB overhead × | ${range(runs.map((x) => x.ratios.c_ttfb_overhead))} | |`,
    `| against Portkey's Node build: req/s × | ${range(runs.map((x) => x.ratios.b_rps_vs_portkey_node))} | |`,
  );
}
console.log(lines.join('\n'));
