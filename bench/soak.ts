import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { pct } from './client';
import { startFastUpstream } from './fast-upstream';
import { startOtlpSink } from './otlp-sink';
import { startGateway } from './runtime';

/**
 * `npm run soak`: mixed traffic through the gateway on the benchmark runtime (workerd serve, Durable Objects and span
 * export on) for `--minutes` (default 10, at most 60), with faults injected in every other phase: upstream 500, 429,
 * cut JSON, streams reset mid-way, slow and hanging upstreams, and the OTLP collector answering 500 or hanging.
 * Checks: no error the gateway caused (every response is what the upstream sent, or the gateway's documented answer
 * to a fault: 504 for a hang), every completed call counted exactly once in /sla, and workerd's memory (start, peak,
 * end). Writes bench/results/soak-<timestamp>.json and exits non-zero when a check fails.
 */
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i === -1 ? process.env[`SOAK_${name.toUpperCase()}`] : process.argv[i + 1];
  return v === undefined ? fallback : Number(v);
};
const MINUTES = Math.min(60, Math.max(0.1, arg('minutes', 10)));
const CONCURRENCY = arg('concurrency', 16);
const PHASE_MS = Math.min(60_000, (MINUTES * 60_000) / 6);
const bundle = process.env.GATEWAY_BUNDLE ?? 'bench/.build/gateway/index.js';

type Fault = 'none' | '500' | '429' | 'malformed' | 'reset' | 'slow' | 'hang';
const FAULTS: Fault[] = ['500', '429', 'malformed', 'reset', 'slow', 'hang'];

function rssKb(pid: number | null): number {
  if (pid === null) return NaN;
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

interface Outcome {
  ok: boolean;
  why?: string;
  ms: number;
}

/** One call, and whether what the client got is what it should have got for the fault injected. */
function call(agent: http.Agent, base: string, kind: 'json' | 'stream' | 'anthropic', fault: Fault): Promise<Outcome> {
  const body =
    kind === 'anthropic'
      ? JSON.stringify({ model: 'claude-3-5-haiku-20241022', max_tokens: 32, messages: [{ role: 'user', content: 'soak' }] })
      : JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'soak' }], ...(kind === 'stream' ? { stream: true } : {}) });
  const path = kind === 'anthropic' ? '/anthropic/v1/messages' : '/openai/v1/chat/completions';
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (kind === 'anthropic') Object.assign(headers, { 'x-api-key': 'sk-ant-soak', 'anthropic-version': '2023-06-01' });
  else headers['authorization'] = 'Bearer sk-soak';
  if (fault !== 'none') headers['x-fault'] = fault;
  const start = process.hrtime.bigint();
  return new Promise((resolve) => {
    const done = (ok: boolean, why?: string) => resolve({ ok, ...(why ? { why } : {}), ms: Number(process.hrtime.bigint() - start) / 1e6 });
    const req = http.request(new URL(path, base), { method: 'POST', agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('error', () => done(fault === 'reset', `response error with fault ${fault}`));
      res.on('aborted', () => done(fault === 'reset', `aborted with fault ${fault}`));
      res.on('end', () => {
        const s = res.statusCode ?? 0;
        if (fault === '500' || fault === '429') return done(s === Number(fault), `status ${s} for injected ${fault}`);
        if (fault === 'hang') return done(s === 504 && text.includes('upstream_timeout'), `status ${s} for a hanging upstream`);
        if (fault === 'malformed') return done(s === 200 && text === '{"id":"chatcmpl-bench","choices":[{"mess', 'malformed body not passed through unchanged');
        if (fault === 'reset') return done(s === 200 && !text.includes('[DONE]'), 'reset stream ended cleanly');
        if (s !== 200) return done(false, `status ${s}: ${text.slice(0, 200)}`);
        if (kind === 'stream') return done(text.endsWith('data: [DONE]\n\n'), 'stream incomplete');
        return done(text.startsWith('{') && text.endsWith('}'), 'JSON body incomplete');
      });
    });
    req.on('error', (e) => done(false, `request error: ${e.message}`));
    req.end(body);
  });
}

async function main(): Promise<void> {
  const upstream = await startFastUpstream({ latencyMs: 2, chunks: 10, spacingMs: 2 });
  const collector = await startOtlpSink();
  const gateway = await startGateway(
    bundle,
    {
      UPSTREAM_OPENAI: upstream.url,
      UPSTREAM_ANTHROPIC: upstream.url,
      RECORDER: 'durable',
      UPSTREAM_TIMEOUT_MS: '1000',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
      TELEMETRY_BREAKER_COOLDOWN_MS: '5000',
      ...(process.env.SOAK_COUNTS_INTERVAL_MS ? { TELEMETRY_COUNTS_INTERVAL_MS: process.env.SOAK_COUNTS_INTERVAL_MS } : {}),
    },
    'soak',
  );
  const started = Date.now();
  const until = started + MINUTES * 60_000;
  const memory: { t: number; rssKb: number }[] = [];
  const sample = () => memory.push({ t: Math.round((Date.now() - started) / 1000), rssKb: rssKb(gateway.pid) });
  sample();
  const sampler = setInterval(sample, 5000);
  let calls = 0;
  const failures: string[] = [];
  const latencies: number[] = [];
  const byFault: Record<string, number> = {};
  let phase = 0;
  const phaser = setInterval(() => {
    phase++;
    // Odd phases inject faults; the collector misbehaves in turn (500, then hanging).
    collector.state.mode = phase % 2 === 0 ? 'ok' : phase % 4 === 1 ? '500' : 'hang';
    const line = `soak: ${Math.round((Date.now() - started) / 1000)} s, phase ${phase} (${phase % 2 ? `faults, collector ${collector.state.mode}` : 'clean'}), ${calls} calls, ${failures.length} gateway errors`;
    void fetch(`${gateway.url}/metrics`)
      .then((r) => r.text())
      .then((m) => {
        const spans = [...m.matchAll(/llm_sla_telemetry_spans_total\{result="[a-z_]+"\} (\d+)/g)].reduce((t, x) => t + Number(x[1]), 0);
        console.log(`${line}, spans accounted for so far ${spans}, collector got ${collector.state.spans}`);
      })
      .catch(() => console.log(line));
  }, PHASE_MS);
  try {
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    let n = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (Date.now() < until) {
          const i = n++;
          const kind = i % 20 === 0 ? 'anthropic' : i % 4 === 0 ? 'stream' : 'json';
          const fault: Fault = phase % 2 === 1 && i % 10 === 0 ? (FAULTS[(i / 10) % FAULTS.length] as Fault) : 'none';
          const o = await call(agent, gateway.url, kind, fault);
          calls++;
          byFault[fault] = (byFault[fault] ?? 0) + 1;
          latencies.push(o.ms);
          if (!o.ok) failures.push(`${kind}/${fault}: ${o.why ?? ''}`);
        }
      }),
    );
    agent.destroy();
  } finally {
    clearInterval(phaser);
  }
  collector.state.mode = 'ok';
  // Let the last batches reach the Durable Objects and the last span counts the registry: read /sla and /metrics
  // until both stop moving (or match the calls made), at most 30 s.
  const window = MINUTES * 60 + 60 <= 3600 ? '1h' : '24h';
  let sla = { overall: { count: 0 } };
  let metrics = '';
  const spanTotal = (m: string) => [...m.matchAll(/llm_sla_telemetry_spans_total\{result="[a-z_]+"\} (\d+)/g)].reduce((t, x) => t + Number(x[1]), 0);
  const settleStart = Date.now();
  for (let last = '', lastChange = Date.now(); ; ) {
    sla = (await (await fetch(`${gateway.url}/sla?window=${window}`)).json()) as { overall: { count: number } };
    metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    const now = `${sla.overall.count}/${spanTotal(metrics)}`;
    if (now !== last) lastChange = Date.now();
    last = now;
    if ((sla.overall.count === calls && spanTotal(metrics) === calls) || Date.now() - lastChange > 5000 || Date.now() - settleStart > 30_000) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const settleSeconds = (Date.now() - settleStart) / 1000;
  clearInterval(sampler);
  sample();
  const droppedRecords = Number(/llm_sla_dropped_records_total (\d+)/.exec(metrics)?.[1] ?? NaN);
  fs.mkdirSync('bench/.build', { recursive: true });
  fs.writeFileSync('bench/.build/soak-metrics.txt', metrics);
  const spanCounts = Object.fromEntries([...metrics.matchAll(/llm_sla_telemetry_spans_total\{result="([a-z_]+)"\} (\d+)/g)].map((m) => [m[1], Number(m[2])]));
  await gateway.dispose();
  await Promise.all([upstream.close(), collector.close()]);

  latencies.sort((a, b) => a - b);
  const rss = memory.map((m) => m.rssKb);
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version },
    minutes: MINUTES,
    concurrency: CONCURRENCY,
    calls,
    byFault,
    gatewayErrors: failures.length,
    firstErrors: failures.slice(0, 20),
    slaCount: sla.overall.count,
    droppedRecords,
    countedExactlyOnce: sla.overall.count === calls,
    latencyMs: { p50: pct(latencies, 0.5), p99: pct(latencies, 0.99) },
    memoryMb: { start: rss[0]! / 1024, peak: Math.max(...rss) / 1024, end: rss[rss.length - 1]! / 1024 },
    memory,
    collector: { requests: collector.state.requests, spansReceived: collector.state.spans },
    spanCounts,
    spansAccounted: spanTotal(metrics),
    settleSeconds,
  };
  fs.mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/soak-${result.date.replace(/[:.]/g, '-')}.json`;
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  const mb = (x: number) => x.toFixed(1);
  console.log(`\nsoak: ${calls} calls in ${MINUTES} min (${CONCURRENCY} connections), faults ${JSON.stringify(byFault)}`);
  console.log(`gateway-caused errors: ${failures.length}${failures.length ? ` e.g. ${failures.slice(0, 3).join(' | ')}` : ''}`);
  console.log(`/sla counted ${sla.overall.count} of ${calls} calls: ${result.countedExactlyOnce ? 'exactly once' : 'MISMATCH'} (records dropped and counted: ${droppedRecords})`);
  console.log(`workerd RSS MB start ${mb(result.memoryMb.start)}, peak ${mb(result.memoryMb.peak)}, end ${mb(result.memoryMb.end)}`);
  console.log(`latency p50 ${result.latencyMs.p50.toFixed(2)} ms, p99 ${result.latencyMs.p99.toFixed(2)} ms; spans ${JSON.stringify(spanCounts)}`);
  console.log(`spans accounted for (exported + unsampled + dropped): ${result.spansAccounted} of ${calls}${result.spansAccounted === calls ? ', every one' : ': MISMATCH'}; counts settled after ${settleSeconds.toFixed(1)} s`);
  console.log(`written ${file}`);
  if (failures.length > 0 || !result.countedExactlyOnce || result.spansAccounted !== calls) process.exitCode = 1;
}

await main();
