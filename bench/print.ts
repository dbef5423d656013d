import type { Goal } from './goals';

/** What `npm run bench` prints of a result (the JSON file has it all). */
export interface PrintedResult {
  portkey: { version: string; build: string };
  a: { medians: Record<string, { p50: number; p90: number; p99: number }>; overheadMs: Record<string, { p50: number; p99: number }> };
  b: Record<string, { rps: number; p99: number; errors: number; tool?: string | undefined; rounds: number[] }>;
  c: Record<string, { ttfbP50: number; totalP50: number }>;
  ratios: Record<string, number>;
  goals: Goal[];
  d: { recordsPerSecond: number; counted: number; sent: number; lost: number };
  e: { routes: number; windowsPerRoute: number; p50Ms: number; p99Ms: number };
  g: { spansPerSecond: number; p99Ms: number; singleP50Ms: number; singleP99Ms: number; sent: number; counted: number; rejected: number; dropped: Record<string, number> };
  f: { memory: { floorHeapMb: number; gatewayHeapMb: number; gatewayWithTokenizerHeapMb: number; floorRssMb: number; gatewayRssMb: number }; cpuMsPerRequest: Record<string, number> };
  scenarios: Record<string, { connections: number; seconds: number; rps: number; p99Ms: number; errorRate: number }>;
  telemetry: { exportRequests: number; spansReceived: number };
}

const f = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(3));

export function printResult(r: PrintedResult): void {
  console.log(`\nportkey: @portkey-ai/gateway ${r.portkey.version}, ${r.portkey.build}`);
  console.log('(a) sequential non-streaming, ms        p50      p90      p99   overhead p50  overhead p99');
  for (const [n, m] of Object.entries(r.a.medians)) {
    console.log(`    ${n.padEnd(36)} ${f(m.p50).padStart(7)} ${f(m.p90).padStart(8)} ${f(m.p99).padStart(8)} ${f(r.a.overheadMs[n]?.p50).padStart(13)} ${f(r.a.overheadMs[n]?.p99).padStart(13)}`);
  }
  console.log(`(b) 50 connections (${r.b['gateway']?.tool ?? '?'})                req/s      p99 ms   errors   CPU ms/req   rounds`);
  for (const [n, b] of Object.entries(r.b)) {
    console.log(`    ${n.padEnd(36)} ${f(b.rps).padStart(9)} ${f(b.p99).padStart(10)} ${String(b.errors).padStart(8)} ${f(r.f.cpuMsPerRequest[n]).padStart(12)}   ${b.rounds.join(', ')}`);
  }
  console.log('(c) streaming 20 chunks x 5 ms, p50 ms   ttfb     total');
  for (const [n, c] of Object.entries(r.c)) console.log(`    ${n.padEnd(36)} ${f(c.ttfbP50).padStart(7)} ${f(c.totalP50).padStart(9)}`);
  console.log(`(d) ingestion, one route: ${f(r.d.recordsPerSecond)} records/s; ${r.d.counted} of ${r.d.sent} counted (${r.d.lost} lost)`);
  console.log(`(e) /sla, ${r.e.routes} routes x ${r.e.windowsPerRoute} windows: p50 ${f(r.e.p50Ms)} ms, p99 ${f(r.e.p99Ms)} ms`);
  console.log(
    `(g) OTLP ingestion, one route: one connection, 100 spans a request: p50 ${f(r.g.singleP50Ms)} ms, p99 ${f(r.g.singleP99Ms)} ms; 16 connections: ${f(r.g.spansPerSecond)} spans/s, request p99 ${f(r.g.p99Ms)} ms; ${r.g.counted} of ${r.g.sent} counted; ${r.g.rejected} requests refused; drops ${JSON.stringify(r.g.dropped)}`,
  );
  const m = r.f.memory;
  console.log(`(f) isolate heap MB floor ${f(m.floorHeapMb)}, gateway ${f(m.gatewayHeapMb)}, with tokenizer ${f(m.gatewayWithTokenizerHeapMb)} (process RSS floor ${f(m.floorRssMb)}, gateway ${f(m.gatewayRssMb)})`);
  for (const [name, sc] of Object.entries(r.scenarios)) console.log(`    load ${name.padEnd(10)} ${sc.connections} conns ${sc.seconds} s: ${f(sc.rps)} req/s, p99 ${f(sc.p99Ms)} ms, errors ${(100 * sc.errorRate).toFixed(2)} %`);
  console.log(`spans exported: ${r.telemetry.spansReceived} in ${r.telemetry.exportRequests} requests`);
  console.log(`ratios: ${JSON.stringify(r.ratios)}`);
  console.log('goals (gateway with Durable Objects and span export on):');
  for (const g of r.goals) console.log(`    ${g.met ? 'met   ' : 'MISSED'} ${g.what}: ${g.value} (goal ${g.goal})`);
}
