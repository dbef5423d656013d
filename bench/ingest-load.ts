import http from 'node:http';
import { pct } from './client';

/** `seconds` of 16 connections posting OTLP/HTTP JSON exports of 100 spans of one route. */
export async function ingestLoad(
  base: string,
  seconds: number,
): Promise<{ spansPerSecond: number; p99Ms: number; singleP50Ms: number; singleP99Ms: number; sent: number; counted: number; rejected: number; dropped: Record<string, number> }> {
  const now = BigInt(Date.now()) * 1_000_000n;
  const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');
  const spans = Array.from({ length: 100 }, (_, i) => ({
    traceId: hex(i + 1, 32),
    spanId: hex(i + 1, 16),
    name: 'bench.ingest',
    kind: 1,
    startTimeUnixNano: String(now - 5_000_000_000n),
    endTimeUnixNano: String(now - 5_000_000_000n + BigInt(5 + (i % 50)) * 1_000_000n),
    attributes: [{ key: 'llm_sla.route', value: { stringValue: 'bench.ingest' } }],
    status: { code: i % 25 === 0 ? 2 : 1 },
  }));
  const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 'bench' }, spans }] }] });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const postOnce = () =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(new URL('/v1/traces', base), { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
  // Unloaded: one connection, one export at a time (the source documents' OTLP ingestion latency goal).
  const single: number[] = [];
  let sent = 0;
  let rejected = 0;
  for (let i = 0; i < 300; i++) {
    const t = process.hrtime.bigint();
    const status = await postOnce();
    if (i >= 50) single.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (status === 200) sent += spans.length;
    else rejected++;
  }
  single.sort((a, b) => a - b);
  const latencies: number[] = [];
  const until = Date.now() + seconds * 1000;
  const started = process.hrtime.bigint();
  const sentBefore = sent;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (Date.now() < until) {
        const t = process.hrtime.bigint();
        const status = await postOnce();
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (status === 200) sent += spans.length;
        else rejected++;
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const loadSent = sent - sentBefore;
  agent.destroy();
  const counted = await settledCount(async () => {
    const sla = (await (await fetch(`${base}/sla?window=15m`)).json()) as { routes: Record<string, { count: number }> };
    return sla.routes['bench.ingest']?.count ?? 0;
  }, sent);
  latencies.sort((a, b) => a - b);
  return { spansPerSecond: loadSent / elapsed, p99Ms: pct(latencies, 0.99), singleP50Ms: pct(single, 0.5), singleP99Ms: pct(single, 0.99), sent, counted, rejected, dropped: await drops(base) };
}

/**
 * A count read from /sla once the records in flight have landed: polls until it reaches `expected`, or has not
 * moved for 3 s (records still queued at a busy Durable Object land after the load ends), at most 30 s.
 */
export async function settledCount(read: () => Promise<number>, expected: number): Promise<number> {
  const deadline = Date.now() + 30_000;
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const n = await read();
    if (n !== last) lastChange = Date.now();
    last = n;
    if (n >= expected || Date.now() - lastChange > 3000 || Date.now() > deadline) return n;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The gateway's drop counters from /metrics (records and samples lost on the way, counted, never silent). */
async function drops(base: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(llm_sla_dropped_[a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/gm)) out[m[1] as string] = (out[m[1] as string] ?? 0) + Number(m[2]);
  return out;
}
