import http from 'node:http';
import { CHAT, CHAT_STREAM, pct } from './client';
import { loadInterleaved, sequentialInterleaved, type Path } from './compare';
import { startFastUpstream } from './fast-upstream';
import type { Target } from './runtime';

/**
 * Issue 23 in `npm run bench`, on the benchmark runtime (workerd serve), all as ratios measured in the same run:
 * - overhead, nothing failing, taking turns — requests/s at 50 connections and sequential p50 overhead over the mock:
 *   on one gateway with `POLICIES` set, a route with a policy (targets, retries, breaker, deadlines) and a route
 *   without; and the same bundle with no `POLICIES` at all (what a route without a policy must cost: today's path);
 * - faults, 503: the primary answers 503 to 30 % of calls (the same seeded run of faults for both routes) —
 *   client-seen success with a fallback target and without;
 * - faults, stall: the primary holds the first token of 5 % of streams for 10 s — client-seen time to first
 *   token (p50, p99) with `first_token_timeout_ms` and without (the same fallback configured, never fired);
 * - nothing lost: every call in /sla, every attempt in `llm_sla_attempts_total`, against what the mocks served.
 */
export interface ResilienceOptions {
  startGateway: (bundle: string, vars: Record<string, string>, name?: string) => Promise<Target>;
  bundle: string;
  /** Span export as a user runs it (the main gateway's collector). */
  otlpEndpoint: string;
  quick: boolean;
  phase: (name: string) => void;
}

const KEY = 'gk_bench_resilience_0001';
const AUTH = { 'x-gateway-key': KEY };

export interface StreamTiming {
  status: number;
  /** Until the first content token as the client reads it (the bench's events carry `"content":"tok..."`). */
  ttftMs: number;
  totalMs: number;
}

/** One streamed call, timed to its first content token and to its end. */
export function streamCall(agent: http.Agent, base: string, path: string, headers: Record<string, string>): Promise<StreamTiming> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    let ttft = 0n;
    let seen = '';
    const req = http.request(
      new URL(path, base),
      { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench', ...headers } },
      (res) => {
        res.on('data', (chunk: Buffer) => {
          if (ttft !== 0n) return;
          seen = (seen + chunk.toString('utf8')).slice(-4096);
          if (seen.includes('"content":"tok')) ttft = process.hrtime.bigint();
        });
        res.on('end', () => {
          const end = process.hrtime.bigint();
          resolve({ status: res.statusCode ?? 0, ttftMs: Number((ttft || end) - start) / 1e6, totalMs: Number(end - start) / 1e6 });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(CHAT_STREAM);
  });
}

/** One non-streamed call: its status. */
function jsonCall(agent: http.Agent, base: string, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, base), { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(CHAT);
  });
}

/** `n` calls over `concurrency` connections. */
export async function concurrent<T>(n: number, concurrency: number, call: (agent: http.Agent) => Promise<T>): Promise<T[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const out: T[] = [];
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          next++;
          out.push(await call(agent));
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return out;
}

/**
 * A route's /sla count (after the isolate's flush) and its attempts by target from /metrics, read twice: a route's
 * attempt series are exported at 0 the first time /metrics shows them (the series budget's zero start), counted from
 * the next refresh on (`SUMMARY_MAX_AGE_MS=0` here: every read refreshes).
 */
async function accounted(gateway: string, route: string, expect: number): Promise<{ calls: number; attempts: Record<string, number> }> {
  let calls = -1;
  for (let i = 0; i < 40; i++) {
    const r = (await (await fetch(`${gateway}/sla/${route}?window=15m`)).json()) as { stats?: { count: number } };
    calls = r.stats?.count ?? 0;
    if (calls >= expect) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  await (await fetch(`${gateway}/metrics`)).text();
  const metrics = await (await fetch(`${gateway}/metrics`)).text();
  const attempts: Record<string, number> = {};
  for (const m of metrics.matchAll(/llm_sla_attempts_total\{route="([^"]+)",target="([^"]+)",outcome="[^"]+"\} (\d+)/g)) {
    if (m[1] === route) attempts[m[2] as string] = (attempts[m[2] as string] ?? 0) + Number(m[3]);
  }
  return { calls, attempts };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export async function resilienceBench(o: ResilienceOptions) {
  const rounds = o.quick ? 3 : 5;
  // ------------------------------------------------------------------ overhead: a policy configured, nothing failing
  o.phase('resilience: policy overhead, nothing failing');
  const healthy = await startFastUpstream({ latencyMs: 0, chunks: 20, spacingMs: 0 });
  const policy = { targets: [{ provider: 'openai' }, { provider: 'backup' }], retries: 2, breaker: {}, first_token_timeout_ms: 2000, timeout_ms: 30_000 };
  const gw = await o.startGateway(
    o.bundle,
    {
      UPSTREAM_OPENAI: healthy.url,
      PROVIDERS: JSON.stringify({ backup: { baseUrl: healthy.url, format: 'openai' } }),
      GATEWAY_KEYS: JSON.stringify({ [KEY]: 'bench' }),
      BACKUP_API_KEY: 'sk-bench-backup',
      POLICIES: JSON.stringify({ routes: { 'bench.policy': policy } }),
      RECORDER: 'durable',
      FLUSH_INTERVAL_MS: '1000',
      OTEL_EXPORTER_OTLP_ENDPOINT: o.otlpEndpoint,
    },
    'gateway-policy',
  );
  // The same bundle and vars without POLICIES: what every call cost before policies existed.
  const bare = await o.startGateway(
    o.bundle,
    {
      UPSTREAM_OPENAI: healthy.url,
      PROVIDERS: JSON.stringify({ backup: { baseUrl: healthy.url, format: 'openai' } }),
      GATEWAY_KEYS: JSON.stringify({ [KEY]: 'bench' }),
      BACKUP_API_KEY: 'sk-bench-backup',
      RECORDER: 'durable',
      FLUSH_INTERVAL_MS: '1000',
      OTEL_EXPORTER_OTLP_ENDPOINT: o.otlpEndpoint,
    },
    'gateway-no-policies',
  );
  const direct: Target = { name: 'direct', url: healthy.url, pid: null, dispose: async () => undefined };
  const none: Target = { ...bare, name: 'no-policies', headers: { ...AUTH, 'x-sla-route': 'bench.plain' } };
  const plain: Target = { ...gw, name: 'no-policy', headers: { ...AUTH, 'x-sla-route': 'bench.plain' } };
  const withPolicy: Target = { ...gw, name: 'policy', headers: { ...AUTH, 'x-sla-route': 'bench.policy' } };
  const gwPath = '/openai/v1/chat/completions';
  const paths: Path[] = [
    { target: direct, path: '/v1/chat/completions' },
    { target: none, path: gwPath },
    { target: plain, path: gwPath },
    { target: withPolicy, path: gwPath },
  ];
  let overhead;
  try {
    await sequentialInterleaved(paths, CHAT, 300, 1); // warm-up
    const seq = await sequentialInterleaved(paths, CHAT, o.quick ? 1000 : 2000, rounds);
    const load = await loadInterleaved(paths.slice(1), 50, o.quick ? 2 : 3, rounds, '/tmp/llm-sla-bench-resilience.lua');
    const over = (name: string) => (seq[name]?.p50 ?? NaN) - (seq['direct']?.p50 ?? NaN);
    overhead = {
      sequential: seq,
      load: load.b,
      cpuMsPerRequest: load.cpuMsPerRequest,
      overheadP50Ms: { none: over('no-policies'), plain: over('no-policy'), policy: over('policy') },
    };
  } finally {
    await Promise.all([gw.dispose(), bare.dispose()]);
    await healthy.close();
  }

  // ------------------------------------------------------------------ 503 on 30 % of the primary's calls
  o.phase('resilience: primary answers 503 to 30 % of calls');
  const calls503 = o.quick ? 500 : 2000;
  const faultyA = await startFastUpstream({ latencyMs: 0, chunks: 20, spacingMs: 0, faults: { rate503: 0.3, seed: 7 } });
  const faultyB = await startFastUpstream({ latencyMs: 0, chunks: 20, spacingMs: 0, faults: { rate503: 0.3, seed: 7 } });
  const backup = await startFastUpstream({ latencyMs: 0, chunks: 20, spacingMs: 0 });
  const fgw = await o.startGateway(
    o.bundle,
    {
      PROVIDERS: JSON.stringify({
        primary: { baseUrl: faultyA.url, format: 'openai' },
        alone: { baseUrl: faultyB.url, format: 'openai' },
        backup: { baseUrl: backup.url, format: 'openai' },
      }),
      GATEWAY_KEYS: JSON.stringify({ [KEY]: 'bench' }),
      BACKUP_API_KEY: 'sk-bench-backup',
      POLICIES: JSON.stringify({ routes: { 'bench.fallback': { targets: [{ provider: 'primary' }, { provider: 'backup' }] } } }),
      RECORDER: 'durable',
      FLUSH_INTERVAL_MS: '500',
    },
    'gateway-faults',
  );
  let fallback;
  try {
    const withFb = await concurrent(calls503, 10, (a) => jsonCall(a, fgw.url, '/primary/v1/chat/completions', { ...AUTH, 'x-sla-route': 'bench.fallback' }));
    const without = await concurrent(calls503, 10, (a) => jsonCall(a, fgw.url, '/alone/v1/chat/completions', { ...AUTH, 'x-sla-route': 'bench.nofallback' }));
    const ok = (s: number[]) => s.filter((x) => x === 200).length / s.length;
    const fb = await accounted(fgw.url, 'bench.fallback', calls503);
    const nofb = await accounted(fgw.url, 'bench.nofallback', calls503);
    fallback = {
      calls: calls503,
      withFallback: { success: ok(withFb), counted: fb.calls, attempts: fb.attempts, served: { primary: faultyA.state.served, backup: backup.state.served } },
      without: { success: ok(without), counted: nofb.calls, served: faultyB.state.served },
      counted:
        fb.calls === calls503 &&
        nofb.calls === calls503 &&
        fb.attempts['primary'] === faultyA.state.served &&
        (fb.attempts['backup'] ?? 0) === backup.state.served &&
        faultyB.state.served === calls503,
    };
  } finally {
    await fgw.dispose();
    await Promise.all([faultyA.close(), faultyB.close(), backup.close()]);
  }

  // ------------------------------------------------------------------ first token held 10 s on 5 % of streams
  o.phase('resilience: primary stalls the first token 10 s on 5 % of streams');
  const streams = o.quick ? 200 : 400;
  const stallA = await startFastUpstream({ latencyMs: 0, chunks: 5, spacingMs: 0, faults: { stallRate: 0.05, stallMs: 10_000, seed: 11 } });
  const stallB = await startFastUpstream({ latencyMs: 0, chunks: 5, spacingMs: 0, faults: { stallRate: 0.05, stallMs: 10_000, seed: 11 } });
  const sbackup = await startFastUpstream({ latencyMs: 0, chunks: 5, spacingMs: 0 });
  // Warm-up on mocks of its own: the isolate, and the token estimator a given-up stream loads once (its input tokens
  // are counted: js-tiktoken, 0.3-0.8 s of CPU on first use, would otherwise land on the measured calls).
  const warmStall = await startFastUpstream({ latencyMs: 0, chunks: 5, spacingMs: 0, faults: { stallRate: 0.5, stallMs: 2000, seed: 3 } });
  const warmBackup = await startFastUpstream({ latencyMs: 0, chunks: 5, spacingMs: 0 });
  const sgw = await o.startGateway(
    o.bundle,
    {
      PROVIDERS: JSON.stringify({
        stall1: { baseUrl: stallA.url, format: 'openai' },
        stall2: { baseUrl: stallB.url, format: 'openai' },
        backup: { baseUrl: sbackup.url, format: 'openai' },
        warm: { baseUrl: warmStall.url, format: 'openai' },
        warmbackup: { baseUrl: warmBackup.url, format: 'openai' },
      }),
      GATEWAY_KEYS: JSON.stringify({ [KEY]: 'bench' }),
      BACKUP_API_KEY: 'sk-bench-backup',
      WARMBACKUP_API_KEY: 'sk-bench-backup',
      POLICIES: JSON.stringify({
        routes: {
          'bench.warm': { targets: [{ provider: 'warm' }, { provider: 'warmbackup' }], first_token_timeout_ms: 200 },
          'bench.deadline': { targets: [{ provider: 'stall1' }, { provider: 'backup' }], first_token_timeout_ms: 500 },
          'bench.nodeadline': { targets: [{ provider: 'stall2' }, { provider: 'backup' }] },
        },
      }),
      RECORDER: 'durable',
      FLUSH_INTERVAL_MS: '500',
      UPSTREAM_TIMEOUT_MS: '30000',
    },
    'gateway-stall',
  );
  let stall;
  try {
    await concurrent(60, 20, (a) => streamCall(a, sgw.url, '/warm/v1/chat/completions', { ...AUTH, 'x-sla-route': 'bench.warm' }));
    const held = await concurrent(streams, 20, (a) => streamCall(a, sgw.url, '/stall1/v1/chat/completions', { ...AUTH, 'x-sla-route': 'bench.deadline' }));
    const notHeld = await concurrent(streams, 20, (a) => streamCall(a, sgw.url, '/stall2/v1/chat/completions', { ...AUTH, 'x-sla-route': 'bench.nodeadline' }));
    const ttft = (t: StreamTiming[]) => {
      const s = t.map((x) => x.ttftMs).sort((x, y) => x - y);
      return { p50: pct(s, 0.5), p99: pct(s, 0.99), max: s.at(-1) ?? NaN, ok: t.filter((x) => x.status === 200).length };
    };
    const d = await accounted(sgw.url, 'bench.deadline', streams);
    const nd = await accounted(sgw.url, 'bench.nodeadline', streams);
    stall = {
      streams,
      withDeadline: { ttft: ttft(held), counted: d.calls, attempts: d.attempts, served: { primary: stallA.state.served, backup: sbackup.state.served } },
      without: { ttft: ttft(notHeld), counted: nd.calls, attempts: nd.attempts, served: stallB.state.served },
      counted:
        d.calls === streams &&
        nd.calls === streams &&
        d.attempts['stall1'] === stallA.state.served &&
        (d.attempts['backup'] ?? 0) === sbackup.state.served &&
        nd.attempts['stall2'] === stallB.state.served,
    };
  } finally {
    await sgw.dispose();
    await Promise.all([stallA.close(), stallB.close(), sbackup.close(), warmStall.close(), warmBackup.close()]);
  }

  const rps = (name: string) => overhead.load[name]?.rps ?? NaN;
  const ratios = {
    // A route with a policy, nothing failing, against a route without one on the same gateway.
    b_policy_rps_vs_plain: round3(rps('policy') / rps('no-policy')),
    a_policy_overhead_p50_vs_plain: round3(overhead.overheadP50Ms.policy / overhead.overheadP50Ms.plain),
    // A route without a policy on a gateway with POLICIES set, against the same bundle without POLICIES.
    b_plain_rps_vs_no_policies: round3(rps('no-policy') / rps('no-policies')),
    a_plain_overhead_p50_vs_no_policies: round3(overhead.overheadP50Ms.plain / overhead.overheadP50Ms.none),
    // Faults: client-seen success with a fallback over without; client-seen TTFT p99 with a first-token deadline over without.
    b_fallback_success_vs_none: round3(fallback.withFallback.success / fallback.without.success),
    c_stall_ttft_p99_vs_no_deadline: round3(stall.withDeadline.ttft.p99 / stall.without.ttft.p99),
  };
  const goals = [
    { key: 'b_policy_rps_vs_plain', what: 'policy configured, nothing failing: req/s of a policy route / a route without', value: ratios.b_policy_rps_vs_plain, goal: '>= 0.98', met: ratios.b_policy_rps_vs_plain >= 0.98 },
    { key: 'a_policy_overhead_p50_vs_plain', what: 'policy configured, nothing failing: p50 overhead of a policy route / a route without', value: ratios.a_policy_overhead_p50_vs_plain, goal: '<= 1.02', met: ratios.a_policy_overhead_p50_vs_plain <= 1.02 },
    { key: 'b_plain_rps_vs_no_policies', what: 'a route without a policy: req/s with POLICIES set / without', value: ratios.b_plain_rps_vs_no_policies, goal: '>= 0.98', met: ratios.b_plain_rps_vs_no_policies >= 0.98 },
    { key: 'a_plain_overhead_p50_vs_no_policies', what: 'a route without a policy: p50 overhead with POLICIES set / without', value: ratios.a_plain_overhead_p50_vs_no_policies, goal: '<= 1.02', met: ratios.a_plain_overhead_p50_vs_no_policies <= 1.02 },
    { key: 'fallback_success', what: 'primary 503 on 30 % of calls: client-seen success with a fallback (without: ' + round3(fallback.without.success) + ')', value: round3(fallback.withFallback.success), goal: '= 1', met: fallback.withFallback.success === 1 },
    { key: 'c_stall_ttft_p99_vs_no_deadline', what: 'first token stalled 10 s on 5 % of streams: client-seen TTFT p99 with first_token_timeout_ms 500 / without', value: ratios.c_stall_ttft_p99_vs_no_deadline, goal: '<= 0.2', met: ratios.c_stall_ttft_p99_vs_no_deadline <= 0.2 },
    { key: 'resilience_counted', what: 'every call in /sla and every attempt in llm_sla_attempts_total, against what the mocks served', value: Number(fallback.counted && stall.counted), goal: '= 1', met: fallback.counted && stall.counted },
  ];
  return { overhead, fallback, stall, ratios, goals };
}

export type ResilienceResult = Awaited<ReturnType<typeof resilienceBench>>;

/** The section `npm run bench` prints. */
export function printResilience(r: ResilienceResult): void {
  const f = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(3));
  const seq = r.overhead.sequential;
  console.log('\nresilience (issue 23): policy configured, nothing failing         p50 ms   overhead p50   req/s (50 conns)   CPU ms/req');
  const overOf: Record<string, number> = { 'no-policies': r.overhead.overheadP50Ms.none, 'no-policy': r.overhead.overheadP50Ms.plain, policy: r.overhead.overheadP50Ms.policy };
  for (const name of ['no-policies', 'no-policy', 'policy']) {
    const over = overOf[name] ?? NaN;
    console.log(`    ${name.padEnd(60)} ${f(seq[name]?.p50 ?? NaN).padStart(7)} ${f(over).padStart(14)} ${f(r.overhead.load[name]?.rps ?? NaN).padStart(18)} ${f(r.overhead.cpuMsPerRequest[name] ?? NaN).padStart(12)}`);
  }
  console.log(`    primary answers 503 to 30 % of ${r.fallback.calls} calls: client-seen success with a fallback ${(100 * r.fallback.withFallback.success).toFixed(2)} %, without ${(100 * r.fallback.without.success).toFixed(2)} %`);
  console.log(`      attempts ${JSON.stringify(r.fallback.withFallback.attempts)}, mocks served ${JSON.stringify(r.fallback.withFallback.served)}; /sla counted ${r.fallback.withFallback.counted} and ${r.fallback.without.counted}`);
  const s = r.stall;
  console.log(`    primary stalls the first token 10 s on 5 % of ${s.streams} streams: client-seen TTFT p50 / p99 / max ms with first_token_timeout_ms 500: ${f(s.withDeadline.ttft.p50)} / ${f(s.withDeadline.ttft.p99)} / ${f(s.withDeadline.ttft.max)}; without: ${f(s.without.ttft.p50)} / ${f(s.without.ttft.p99)} / ${f(s.without.ttft.max)}`);
  console.log(`      attempts ${JSON.stringify(s.withDeadline.attempts)}, mocks served ${JSON.stringify(s.withDeadline.served)}; /sla counted ${s.withDeadline.counted} and ${s.without.counted}`);
  console.log(`    ratios: ${JSON.stringify(r.ratios)}`);
  for (const g of r.goals) console.log(`    ${g.met ? 'met   ' : 'MISSED'} ${g.what}: ${g.value} (goal ${g.goal})`);
}
