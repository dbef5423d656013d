import fs from 'node:fs';
import { CHAT, median } from './client';
import { startFastUpstream } from './fast-upstream';
import { startGateway } from './runtime';

/**
 * `npm run bench:routes`: /metrics and /sla at the route cap. Calls on `MAX_ROUTES` + 100 distinct `x-sla-route`
 * values (2 calls each) fill the registry to the cap, the rest go to `_overflow`; then the first read of each
 * (the registry's fan-out over every route, once per SUMMARY_MAX_AGE_MS) and the reads after it (served from the
 * registry's summary) are timed, with their sizes and workerd's RSS. Results in bench/results/routes-cap-*.json.
 */
const MAX_ROUTES = Number(process.argv[2] ?? 500);
const EXTRA = 100;
const WARM_READS = 20;
const CONNECTIONS = 16;

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

async function main(): Promise<void> {
  const upstream = await startFastUpstream({ latencyMs: 0, chunks: 1, spacingMs: 0 });
  const gateway = await startGateway(
    'bench/.build/gateway/index.js',
    { UPSTREAM_OPENAI: upstream.url, RECORDER: 'durable', FLUSH_INTERVAL_MS: '200', MAX_ROUTES: String(MAX_ROUTES), SUMMARY_MAX_AGE_MS: '60000' },
    'routes-cap',
  );
  try {
    const routes = Array.from({ length: MAX_ROUTES + EXTRA }, (_, i) => `bench.route.${i}`);
    const jobs = [...routes, ...routes];
    const t0 = Date.now();
    let failed = 0;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
          const r = await fetch(`${gateway.url}/openai/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench', 'x-sla-route': job },
            body: CHAT,
          });
          await r.arrayBuffer();
          if (r.status !== 200) failed++;
        }
      }),
    );
    const fillS = (Date.now() - t0) / 1000;
    // Let the last batches land (flush interval 200 ms, retries).
    await new Promise((r) => setTimeout(r, 3000));

    const cold = { metrics: await timed(`${gateway.url}/metrics`), sla: await timed(`${gateway.url}/sla?window=15m`) };
    const warm = { metrics: [] as number[], sla: [] as number[] };
    for (let i = 0; i < WARM_READS; i++) {
      warm.metrics.push((await timed(`${gateway.url}/metrics`)).ms);
      warm.sla.push((await timed(`${gateway.url}/sla?window=15m`)).ms);
    }
    const report = JSON.parse(cold.sla.text) as { routes: Record<string, { count: number }>; overall: { count: number } };
    const overflow = Number(/llm_sla_route_overflow_total (\d+)/.exec(cold.metrics.text)?.[1] ?? NaN);
    const result = {
      at: new Date().toISOString(),
      maxRoutes: MAX_ROUTES,
      distinctRoutesSent: routes.length,
      calls: routes.length * 2,
      failedCalls: failed,
      fillSeconds: fillS,
      routesInSla: Object.keys(report.routes).length,
      overflowCount: report.routes['_overflow']?.count ?? 0,
      overflowCounter: overflow,
      overallCount: report.overall.count,
      metrics: { coldMs: cold.metrics.ms, warmMedianMs: median(warm.metrics), warmMaxMs: Math.max(...warm.metrics), bytes: cold.metrics.bytes },
      sla: { coldMs: cold.sla.ms, warmMedianMs: median(warm.sla), warmMaxMs: Math.max(...warm.sla), bytes: cold.sla.bytes },
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
