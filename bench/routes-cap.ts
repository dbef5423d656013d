import fs from 'node:fs';
import { median } from './client';
import { startFastUpstream } from './fast-upstream';
import { startGateway } from './runtime';

/**
 * `npm run bench:routes [maxRoutes]`: /metrics, /sla and /dashboard/data at the documented limits at once —
 * `MAX_ROUTES` routes (+100 past the cap, filed under `_overflow`), the 50 models a route object keeps per route
 * (+1: the 51st goes to `other`), route keys and model names at their longest (128 characters), several outcomes
 * and streams (so every histogram family has data). Then the read that refreshes the registry's summary
 * (uncached: the fan-out over every route) and the reads served from it (cached) are timed, with their sizes and
 * workerd's RSS. Results in bench/results/routes-cap-*.json.
 */
const MAX_ROUTES = Number(process.argv[2] ?? 500);
const EXTRA = 100;
/** Distinct models per route: the route objects keep 50 and count the rest under `other`. */
const MODELS = 51;
const LABEL_CHARS = 128;
const WARM_READS = 10;
const CONNECTIONS = 16;

const pad = (prefix: string) => `${prefix}${'x'.repeat(LABEL_CHARS - prefix.length)}`;

function rssMb(pid: number | null): number | null {
  if (pid === null) return null;
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : null;
}

async function timed(url: string): Promise<{ ms: number; bytes: number; text: string }> {
  const t0 = process.hrtime.bigint();
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${text.slice(0, 200)}`);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes: Buffer.byteLength(text), text };
}

interface Job {
  route: string;
  body: string;
  headers: Record<string, string>;
}

/** One route's calls: MODELS - 1 JSON calls naming distinct 128-character models, a stream, a 500 and a 429. */
function jobsOf(route: string): Job[] {
  const jobs: Job[] = [];
  const headers = { 'x-sla-route': route, 'x-echo-model': '1' };
  for (let m = 0; m < MODELS - 1; m++) {
    jobs.push({ route, headers, body: JSON.stringify({ model: pad(`model-${m}-`), messages: [{ role: 'user', content: 'Benchmark prompt.' }] }) });
  }
  const gpt = (extra: object) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Benchmark prompt.' }], ...extra });
  jobs.push({ route, headers: { 'x-sla-route': route }, body: gpt({ stream: true }) });
  jobs.push({ route, headers: { 'x-sla-route': route, 'x-fault': '500' }, body: gpt({}) });
  jobs.push({ route, headers: { 'x-sla-route': route, 'x-fault': '429' }, body: gpt({}) });
  return jobs;
}

async function readAll(url: string, reads: number): Promise<{ uncached: { ms: number; bytes: number }; cachedMedianMs: number; cachedMaxMs: number; text: string }> {
  const first = await timed(url);
  const warm: number[] = [];
  for (let i = 0; i < reads; i++) warm.push((await timed(url)).ms);
  return { uncached: { ms: first.ms, bytes: first.bytes }, cachedMedianMs: median(warm), cachedMaxMs: Math.max(...warm), text: first.text };
}

async function main(): Promise<void> {
  const upstream = await startFastUpstream({ latencyMs: 0, chunks: 3, spacingMs: 0 });
  const gateway = await startGateway(
    'bench/.build/gateway/index.js',
    { UPSTREAM_OPENAI: upstream.url, RECORDER: 'durable', FLUSH_INTERVAL_MS: '200', MAX_ROUTES: String(MAX_ROUTES), SUMMARY_MAX_AGE_MS: '60000' },
    'routes-cap',
  );
  try {
    const routes = Array.from({ length: MAX_ROUTES + EXTRA }, (_, i) => pad(`bench.route.${i}.`));
    // Route by route, models interleaved across connections: the objects see many models at once, as in production.
    const jobs = routes.flatMap(jobsOf);
    const total = jobs.length;
    const t0 = Date.now();
    let failed = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) {
          const r = await fetch(`${gateway.url}/openai/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench', ...job.headers },
            body: job.body,
          });
          await r.arrayBuffer();
          const expected = job.headers['x-fault'] ? Number(job.headers['x-fault']) : 200;
          if (r.status !== expected) failed++;
        }
      }),
    );
    const fillS = (Date.now() - t0) / 1000;
    // Let the last batches land (flush interval 200 ms, retries).
    await new Promise((r) => setTimeout(r, 3000));

    const metrics = await readAll(`${gateway.url}/metrics`, WARM_READS);
    const sla = await readAll(`${gateway.url}/sla?window=15m`, WARM_READS);
    const dashboard = await readAll(`${gateway.url}/dashboard/data?window=15m`, WARM_READS);
    const report = JSON.parse(sla.text) as { routes: Record<string, { count: number }>; overall: { count: number } };
    const overflow = Number(/llm_sla_route_overflow_total (\d+)/.exec(metrics.text)?.[1] ?? NaN);
    const result = {
      at: new Date().toISOString(),
      maxRoutes: MAX_ROUTES,
      distinctRoutesSent: routes.length,
      modelsPerRoute: MODELS,
      labelChars: LABEL_CHARS,
      calls: total,
      failedCalls: failed,
      fillSeconds: fillS,
      routesInSla: Object.keys(report.routes).length,
      overflowCount: report.routes['_overflow']?.count ?? 0,
      overflowCounter: overflow,
      overallCount: report.overall.count,
      metrics: { uncachedMs: metrics.uncached.ms, cachedMedianMs: metrics.cachedMedianMs, cachedMaxMs: metrics.cachedMaxMs, bytes: metrics.uncached.bytes, lines: metrics.text.split('\n').length },
      sla: { uncachedMs: sla.uncached.ms, cachedMedianMs: sla.cachedMedianMs, cachedMaxMs: sla.cachedMaxMs, bytes: sla.uncached.bytes },
      dashboard: { uncachedMs: dashboard.uncached.ms, cachedMedianMs: dashboard.cachedMedianMs, cachedMaxMs: dashboard.cachedMaxMs, bytes: dashboard.uncached.bytes },
      workerdRssMb: rssMb(gateway.pid),
    };
    fs.mkdirSync('bench/results', { recursive: true });
    const file = `bench/results/routes-cap-${result.at.replace(/[:.]/g, '-')}.json`;
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
    console.log(`written ${file}`);
  } finally {
    await gateway.dispose();
    await upstream.close();
  }
}

await main();
