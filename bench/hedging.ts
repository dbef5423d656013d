import { pct } from './client';
import { MeanLatencySelector } from '../src/core/resilience/mean-latency';
import { seeded } from './fast-upstream';
import { concurrent, streamCall, type StreamTiming } from './resilience';
import type { Target } from './runtime';
import { startTailUpstream, type TailUpstream } from './tail-upstream';

/**
 * Issue 24 in `npm run bench`: decisions from the measured tails, all strategies in one run on the benchmark runtime.
 * Two mock targets per strategy, the same seeds for each strategy: A fast at the median with a heavy first-token
 * tail (`A` below: 4 % of streams stall 3 s), B slower at the median with a light tail. Per strategy, the client-seen
 * TTFT (p50, p99, p99.9), the extra upstream calls and the hedges per 100 calls, and the extra cost against A alone:
 * - A only: the plain path to A;
 * - ordered, fixed deadline: targets [A, B], `first_token_timeout_ms` fixed;
 * - lowest_ttft_p95: targets [A, B] ordered by their measured TTFT p95 (exploration included);
 * - hedge at A's p95: targets [A, B], `hedge.after` A's measured TTFT p95;
 * - mean of the last 10: the client picks A or B per call by the mean TTFT of each one's last 10 calls (LiteLLM's
 *   latency-based routing, src/core/resilience/mean-latency.ts), each call on the plain path to the one picked.
 * Each route is warmed up first (its targets measured, the isolate's tails read), then measured.
 */
export interface HedgingOptions {
  startGateway: (bundle: string, vars: Record<string, string>, name?: string) => Promise<Target>;
  bundle: string;
  quick: boolean;
  phase: (name: string) => void;
}

export const A = { medianMs: 60, sigma: 0.3, stallRate: 0.04, stallMs: 3000 } as const;
export const B = { medianMs: 150, sigma: 0.2, stallRate: 0, stallMs: 0 } as const;
/** The fixed deadline of `ordered`: what an operator might set without a measurement (issue 23's bench used it). */
export const FIXED_DEADLINE_MS = 500;
/** Hedges allowed per call: the goal's bound (6 extra calls per 100). */
export const HEDGE_RATIO = 0.06;
const CONCURRENCY = 20;
const KEY = 'gk_bench_hedging_00001';

type Key = 'a_only' | 'ordered' | 'lowest_ttft_p95' | 'hedge' | 'mean_last_10';
const LABELS: Record<Key, string> = {
  a_only: 'A only',
  ordered: `ordered, first_token_timeout_ms ${FIXED_DEADLINE_MS}`,
  lowest_ttft_p95: 'lowest_ttft_p95',
  hedge: "hedge after A's TTFT p95",
  mean_last_10: 'mean TTFT of the last 10 calls (LiteLLM)',
};
const KEYS = Object.keys(LABELS) as Key[];

/** Each strategy's pair of providers (`a_<n>`, `b_<n>`) and its route. */
const providerA = (i: number) => `ta${i}`;
const providerB = (i: number) => `tb${i}`;
const routeOf = (k: Key) => `bench.tails.${k}`;

const POLICY: Partial<Record<Key, Record<string, unknown>>> = {
  ordered: { first_token_timeout_ms: FIXED_DEADLINE_MS },
  lowest_ttft_p95: { strategy: 'lowest_ttft_p95' },
  hedge: { hedge: { after: { percentile: 95 }, max_ratio: HEDGE_RATIO } },
};

interface Reading {
  count: number;
  costUsd: number;
  hedges: { won: number; lost: number };
}

/** A route's /sla count and cost once it has counted `expect` calls (flushes settle), and its hedges from /metrics. */
async function read(gateway: string, route: string, expect: number): Promise<Reading> {
  let stats = { count: 0, cost_usd: null as number | null };
  for (let i = 0; i < 60; i++) {
    const r = (await (await fetch(`${gateway}/sla/${route}?window=1h`)).json()) as { stats?: typeof stats };
    stats = r.stats ?? stats;
    if (stats.count >= expect) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  // A counter group first appears at 0 (the series budget's zero start), its counts from the next refresh on: the
  // first read admits it, the second reads it.
  await fetch(`${gateway}/metrics`);
  const metrics = await (await fetch(`${gateway}/metrics`)).text();
  const hedges = { won: 0, lost: 0 };
  for (const m of metrics.matchAll(/^llm_sla_hedges_total\{route="([^"]+)",result="(won|lost)"\} (\d+)/gm)) {
    if (m[1] === route) hedges[m[2] as 'won' | 'lost'] = Number(m[3]);
  }
  return { count: stats.count, costUsd: stats.cost_usd ?? 0, hedges };
}

function summary(timings: readonly StreamTiming[]) {
  const s = timings.map((t) => t.ttftMs).sort((x, y) => x - y);
  return { p50: pct(s, 0.5), p99: pct(s, 0.99), p999: pct(s, 0.999), max: s.at(-1) ?? NaN, ok: timings.filter((t) => t.status === 200).length };
}

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

export async function hedgingBench(o: HedgingOptions) {
  const warm = o.quick ? 600 : 1200;
  const calls = o.quick ? 1000 : 2000;
  const mocks = new Map<Key, { a: TailUpstream; b: TailUpstream }>();
  for (const k of KEYS) mocks.set(k, { a: await startTailUpstream({ ...A, seed: 101 }), b: await startTailUpstream({ ...B, seed: 202 }) });
  const providers: Record<string, { baseUrl: string; format: string }> = {};
  const keys: Record<string, string> = {};
  const routes: Record<string, unknown> = {};
  for (const [i, k] of KEYS.entries()) {
    const m = mocks.get(k) as { a: TailUpstream; b: TailUpstream };
    providers[providerA(i)] = { baseUrl: m.a.url, format: 'openai' };
    providers[providerB(i)] = { baseUrl: m.b.url, format: 'openai' };
    keys[`${providerB(i).toUpperCase()}_API_KEY`] = 'sk-bench-managed';
    const policy = POLICY[k];
    if (policy) routes[routeOf(k)] = { targets: [{ provider: providerA(i) }, { provider: providerB(i) }], ...policy };
  }
  const gw = await o.startGateway(
    o.bundle,
    {
      PROVIDERS: JSON.stringify(providers),
      GATEWAY_KEYS: JSON.stringify({ [KEY]: 'bench' }),
      ...keys,
      POLICIES: JSON.stringify({ routes }),
      RECORDER: 'durable',
      FLUSH_INTERVAL_MS: '500',
      UPSTREAM_TIMEOUT_MS: '30000',
      // The streams a hedge race cuts carry no usage: their tokens are estimated, so their cost is counted.
      TOKEN_ESTIMATE: 'on',
    },
    'gateway-tails',
  );
  const results = {} as Record<Key, ReturnType<typeof summary> & { extraPer100: number; hedgesPer100: number; hedges: { won: number; lost: number }; servedB: number; stalledA: number; cancelledUpstream: number; costPerCallUsd: number; counted: boolean }>;
  try {
    for (const [i, k] of KEYS.entries()) {
      const m = mocks.get(k) as { a: TailUpstream; b: TailUpstream };
      const headers = { 'x-gateway-key': KEY, 'x-sla-route': routeOf(k) };
      const selector = new MeanLatencySelector([providerA(i), providerB(i)], seeded(303));
      const one = async (agent: Parameters<Parameters<typeof concurrent>[2]>[0]): Promise<StreamTiming> => {
        if (k !== 'mean_last_10') return streamCall(agent, gw.url, `/${providerA(i)}/v1/chat/completions`, headers);
        const picked = selector.pick();
        const t = await streamCall(agent, gw.url, `/${picked}/v1/chat/completions`, headers);
        if (t.status === 200) selector.observe(picked, t.ttftMs);
        return t;
      };
      o.phase(`tails: ${LABELS[k]} (warm-up)`);
      await concurrent(warm, CONCURRENCY, one);
      const before = await read(gw.url, routeOf(k), warm);
      const served = { a: m.a.state.served, b: m.b.state.served, cancelled: m.a.state.cancelled + m.b.state.cancelled, stalled: m.a.state.stalled };
      o.phase(`tails: ${LABELS[k]}`);
      const timings = await concurrent(calls, CONCURRENCY, one);
      const after = await read(gw.url, routeOf(k), warm + calls);
      const upstream = m.a.state.served - served.a + (m.b.state.served - served.b);
      const hedges = { won: after.hedges.won - before.hedges.won, lost: after.hedges.lost - before.hedges.lost };
      results[k] = {
        ...summary(timings),
        extraPer100: round((100 * (upstream - calls)) / calls, 2),
        hedgesPer100: round((100 * (hedges.won + hedges.lost)) / calls, 2),
        hedges,
        servedB: m.b.state.served - served.b,
        stalledA: m.a.state.stalled - served.stalled,
        cancelledUpstream: m.a.state.cancelled + m.b.state.cancelled - served.cancelled,
        costPerCallUsd: (after.costUsd - before.costUsd) / calls,
        counted: after.count - before.count === calls,
      };
    }
  } finally {
    await gw.dispose();
    await Promise.all([...mocks.values()].flatMap((m) => [m.a.close(), m.b.close()]));
  }
  const base = results.a_only;
  const strategies = Object.fromEntries(
    KEYS.map((k) => {
      const r = results[k];
      return [k, { label: LABELS[k], ...r, extraCostPct: round((100 * (r.costPerCallUsd - base.costPerCallUsd)) / base.costPerCallUsd, 2), p99VsAOnly: round(base.p99 / r.p99) }];
    }),
  ) as Record<Key, (typeof results)[Key] & { label: string; extraCostPct: number; p99VsAOnly: number }>;
  const hedge = strategies.hedge;
  const ratios = {
    c_hedge_ttft_p99_vs_a_only: round(hedge.p99 / base.p99),
    c_hedge_extra_calls_per_100: hedge.extraPer100,
  };
  const counted = KEYS.every((k) => strategies[k].counted);
  const goals = [
    {
      key: 'c_hedge_ttft_p99_vs_a_only',
      what: "hedging at A's p95: client-seen TTFT p99 / A alone's",
      value: ratios.c_hedge_ttft_p99_vs_a_only,
      goal: '<= 0.2',
      met: ratios.c_hedge_ttft_p99_vs_a_only <= 0.2,
    },
    {
      key: 'c_hedge_extra_calls_per_100',
      what: "hedging at A's p95: extra upstream calls per 100 calls",
      value: ratios.c_hedge_extra_calls_per_100,
      goal: '<= 6',
      met: ratios.c_hedge_extra_calls_per_100 <= 6,
    },
    { key: 'tails_counted', what: 'every measured call of every strategy in /sla', value: Number(counted), goal: '= 1', met: counted },
  ];
  return { calls, warm, concurrency: CONCURRENCY, targets: { A, B }, fixedDeadlineMs: FIXED_DEADLINE_MS, hedgeRatio: HEDGE_RATIO, strategies, ratios, goals };
}

export type HedgingResult = Awaited<ReturnType<typeof hedgingBench>>;

/** The section `npm run bench` prints. */
export function printHedging(r: HedgingResult): void {
  const f = (x: number, d = 0) => (Number.isNaN(x) ? '–' : x.toFixed(d));
  console.log(
    `\ndecisions from the tails (issue 24): ${r.calls} streams per strategy, ${r.concurrency} connections; A: median ${r.targets.A.medianMs} ms, ${100 * r.targets.A.stallRate} % stall ${r.targets.A.stallMs} ms; B: median ${r.targets.B.medianMs} ms, light tail`,
  );
  console.log(`    ${'strategy'.padEnd(44)} ${'TTFT p50'.padStart(9)} ${'p99'.padStart(7)} ${'p99.9'.padStart(7)}   p99 vs A   extra calls/100   hedges/100 (won/lost)   on B   A stalled   extra cost`);
  for (const s of Object.values(r.strategies)) {
    console.log(
      `    ${s.label.padEnd(44)} ${f(s.p50).padStart(9)} ${f(s.p99).padStart(7)} ${f(s.p999).padStart(7)}   ${f(s.p99VsAOnly, 1).padStart(7)}x   ${f(s.extraPer100, 2).padStart(15)}   ${`${f(s.hedgesPer100, 2)} (${s.hedges.won}/${s.hedges.lost})`.padStart(21)}   ${f((100 * s.servedB) / r.calls, 1).padStart(4)} %   ${String(s.stalledA).padStart(9)}   ${f(s.extraCostPct, 2).padStart(8)} %`,
    );
  }
  for (const g of r.goals) console.log(`    ${g.met ? 'met   ' : 'MISSED'} ${g.what}: ${g.value} (goal ${g.goal})`);
}
