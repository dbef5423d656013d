/**
 * The ratios `npm run bench` reports and `bench:check` gates, and the goals of issue 13 they are read against: the
 * gateway as a user runs it (Durable Object aggregation and span export on) against the bare worker (`floor`), the
 * least a measuring proxy does (`minimal`, `minimal-stream`), the gateway with its telemetry off (`proxy-only`) and
 * Portkey's gateway (`portkey`), all from one run. Keys starting with `b_` are higher-is-better; the rest lower.
 */
export interface Medians {
  a: Record<string, { p50: number; p90: number; p99: number }>;
  b: Record<string, { rps: number }>;
  c: Record<string, { ttfbP50: number; totalP50: number }>;
  cpuMsPerRequest: Record<string, number>;
}

/** Calls made (as the gateway's own mock upstream counted them) against what the gateway accounted for. */
export interface Accounting {
  calls: number;
  slaCount: number;
  /** Spans by fate from /metrics (exported, unsampled, dropped ...) summed. */
  spansAccounted: number;
  spansExported: number;
  /** The counts by fate, as /metrics gave them. */
  fates: Record<string, number>;
}

export interface Goal {
  key: string;
  what: string;
  value: number;
  goal: string;
  met: boolean;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export function ratiosAndGoals(m: Medians, accounting: Accounting[], sinkSpans: number): { ratios: Record<string, number>; goals: Goal[] } {
  const NaN_ = Number.NaN;
  const over = (name: string, q: 'p50' | 'p99') => (m.a[name]?.[q] ?? NaN_) - (m.a['direct']?.[q] ?? NaN_);
  const ttfbOver = (name: string) => (m.c[name]?.ttfbP50 ?? NaN_) - (m.c['direct']?.ttfbP50 ?? NaN_);
  const rps = (name: string) => m.b[name]?.rps ?? NaN_;
  const cpu = (name: string) => m.cpuMsPerRequest[name] ?? NaN_;
  const total = (name: string) => m.c[name]?.totalP50 ?? NaN_;
  const raw: Record<string, number> = {
    // Against the bare worker (kept from the first benchmarks).
    a_overhead_p50: over('gateway', 'p50') / over('floor', 'p50'),
    a_overhead_p99: over('gateway', 'p99') / over('floor', 'p99'),
    b_rps: rps('gateway') / rps('floor'),
    c_ttfb_overhead: ttfbOver('gateway') / ttfbOver('floor'),
    f_cpu_per_request: cpu('gateway') / cpu('floor'),
    // Against the measuring floor.
    a_overhead_p50_vs_minimal: over('gateway', 'p50') / over('minimal', 'p50'),
    b_rps_vs_minimal: rps('gateway') / rps('minimal'),
    c_ttfb_overhead_vs_minimal_stream: ttfbOver('gateway') / ttfbOver('minimal-stream'),
    c_total_vs_minimal_stream: total('gateway') / total('minimal-stream'),
    f_cpu_vs_minimal: cpu('gateway') / cpu('minimal'),
    // What aggregation and export cost under load.
    b_rps_vs_proxy_only: rps('gateway') / rps('proxy-only'),
    // Against Portkey.
    b_rps_vs_portkey: rps('gateway') / rps('portkey'),
    a_overhead_p50_vs_portkey: over('gateway', 'p50') / over('portkey', 'p50'),
    a_overhead_p99_vs_portkey: over('gateway', 'p99') / over('portkey', 'p99'),
    c_ttfb_overhead_vs_portkey: ttfbOver('gateway') / ttfbOver('portkey'),
    // Against Portkey as its package runs (Node).
    b_rps_vs_portkey_node: rps('gateway') / rps('portkey-node'),
    a_overhead_p50_vs_portkey_node: over('gateway', 'p50') / over('portkey-node', 'p50'),
  };
  const ratios = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, round3(v)]));
  const r = (k: string) => ratios[k] ?? NaN_;
  const goals: Goal[] = [
    { key: 'a_overhead_p50_vs_minimal', what: '(a) sequential p50 overhead / minimal proxy', value: r('a_overhead_p50_vs_minimal'), goal: '<= 1.10', met: r('a_overhead_p50_vs_minimal') <= 1.1 },
    { key: 'a_overhead_p99_ms', what: '(a) sequential p99 overhead, ms', value: round3(over('gateway', 'p99')), goal: '< 2', met: over('gateway', 'p99') < 2 },
    { key: 'b_rps_vs_minimal', what: '(b) req/s at 50 connections / minimal proxy', value: r('b_rps_vs_minimal'), goal: '>= 0.90', met: r('b_rps_vs_minimal') >= 0.9 },
    { key: 'c_ttfb_overhead_vs_minimal_stream', what: '(c) stream TTFB overhead / minimal-stream', value: r('c_ttfb_overhead_vs_minimal_stream'), goal: '<= 1.05', met: r('c_ttfb_overhead_vs_minimal_stream') <= 1.05 },
    { key: 'c_total_vs_minimal_stream', what: '(c) stream total time / minimal-stream', value: r('c_total_vs_minimal_stream'), goal: '<= 1.02', met: r('c_total_vs_minimal_stream') <= 1.02 },
    { key: 'f_cpu_vs_minimal', what: 'CPU per call / minimal proxy', value: r('f_cpu_vs_minimal'), goal: '<= 1.2', met: r('f_cpu_vs_minimal') <= 1.2 },
    { key: 'f_cpu_ms', what: 'CPU ms per call (under load)', value: round3(cpu('gateway')), goal: '< 0.35', met: cpu('gateway') < 0.35 },
    { key: 'b_rps_vs_portkey', what: 'req/s / Portkey', value: r('b_rps_vs_portkey'), goal: '>= 1.5', met: r('b_rps_vs_portkey') >= 1.5 },
    { key: 'a_overhead_p50_vs_portkey', what: 'p50 overhead / Portkey', value: r('a_overhead_p50_vs_portkey'), goal: '< 1', met: r('a_overhead_p50_vs_portkey') < 1 },
    { key: 'a_overhead_p99_vs_portkey', what: 'p99 overhead / Portkey', value: r('a_overhead_p99_vs_portkey'), goal: '< 1', met: r('a_overhead_p99_vs_portkey') < 1 },
    { key: 'c_ttfb_overhead_vs_portkey', what: 'stream TTFB overhead / Portkey', value: r('c_ttfb_overhead_vs_portkey'), goal: '<= 0.20', met: r('c_ttfb_overhead_vs_portkey') <= 0.2 },
    { key: 'b_rps_vs_proxy_only', what: 'aggregation + export: req/s everything on / proxy only', value: r('b_rps_vs_proxy_only'), goal: '>= 0.95', met: r('b_rps_vs_proxy_only') >= 0.95 },
  ];
  const slaExact = accounting.every((x) => x.slaCount === x.calls);
  const spansExact = accounting.every((x) => x.spansAccounted === x.calls);
  const exported = accounting.reduce((n, x) => n + x.spansExported, 0);
  const calls = accounting.reduce((n, x) => n + x.calls, 0);
  goals.push(
    { key: 'sla_counted', what: `/sla counts of the calls made (${accounting.map((x) => `${x.slaCount}/${x.calls}`).join(', ')})`, value: accounting.reduce((n, x) => n + x.slaCount, 0), goal: `= ${calls}`, met: slaExact },
    {
      key: 'spans_accounted',
      what: `spans exported + unsampled + dropped of the spans made (${accounting.map((x) => `${x.spansAccounted}/${x.calls}`).join(', ')}); collector received ${sinkSpans} of ${exported} exported`,
      value: accounting.reduce((n, x) => n + x.spansAccounted, 0),
      goal: `= ${calls}`,
      met: spansExact && sinkSpans === exported,
    },
  );
  return { ratios, goals };
}

/** Spans by fate, from a gateway's Prometheus text. */
export function spanCounts(metrics: string): Record<string, number> {
  return Object.fromEntries([...metrics.matchAll(/llm_sla_telemetry_spans_total\{result="([a-z_]+)"\} (\d+)/g)].map((x) => [x[1] as string, Number(x[2])]));
}
