import { targetsFor, type ResolvedTargets, type SlaConfig } from './config';
import type { QuantileSketch } from './sketch';
import { OUTCOMES, type Outcome, type WindowStats } from './window';

export interface Distribution {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

export interface RouteStats {
  count: number;
  successes: number;
  failures: number;
  /** successes / (successes + failures); null when no call counts either way. */
  success_rate: number | null;
  throughput_rps: number;
  latency: Distribution | null;
  ttft: Distribution | null;
  tokens: { input: number; output: number };
  /** Null when no call had a known cost; `cost_unknown` counts the calls without one. */
  cost_usd: number | null;
  cost_unknown: number;
  outcomes: Record<Outcome, number>;
  window_ms: number;
  /**
   * The unrounded values verdicts compare (the fields above are rounded for reading). Plain data, so stats survive
   * structured clone and JSON; a report may leave it out.
   */
  exact: { success_rate: number | null; throughput_rps: number; latency: Distribution | null; ttft: Distribution | null };
}

export type SlaStatus = 'passed' | 'failed' | 'insufficient_data';

export interface Violation {
  /** Null for the overall verdict. */
  route: string | null;
  metric: string;
  actual: number;
  target: number;
  message: string;
}

export interface Verdict {
  status: SlaStatus;
  targets: ResolvedTargets;
  violations: Violation[];
}

const round = (x: number, decimals: number) => Math.round(x * 10 ** decimals) / 10 ** decimals;
const roundMs = (x: number) => round(x, 1);
const roundRate = (x: number) => round(x, 4);

/** The calls that count against a route when they happen (client errors only when configured). */
const FAILURES: readonly Outcome[] = ['upstream_error', 'network_error', 'timeout', 'rate_limited'];

function distribution(sketch: QuantileSketch): Distribution | null {
  if (sketch.count === 0) return null;
  const q = (p: number) => sketch.quantile(p) as number;
  return { p50: q(0.5), p90: q(0.9), p95: q(0.95), p99: q(0.99), mean: sketch.mean as number, min: q(0), max: q(1) };
}

function rounded(d: Distribution | null): Distribution | null {
  return d && (Object.fromEntries(Object.entries(d).map(([k, v]) => [k, roundMs(v)])) as unknown as Distribution);
}

/** Stats of one merged window. Aborted calls count in `count` and throughput but neither as success nor failure. */
export function summarize(merged: WindowStats, windowMs: number, countClientErrors: boolean): RouteStats {
  const o = merged.outcomes;
  const failures = FAILURES.reduce((sum, k) => sum + o[k], countClientErrors ? o.client_error : 0);
  const judged = o.success + failures;
  const successRate = judged > 0 ? o.success / judged : null;
  const throughput = windowMs > 0 ? merged.count / (windowMs / 1000) : 0;
  const latency = distribution(merged.latency);
  const ttft = distribution(merged.ttft);
  const priced = merged.count - merged.costUnknown;
  return {
    count: merged.count,
    successes: o.success,
    failures,
    success_rate: successRate === null ? null : roundRate(successRate),
    throughput_rps: roundRate(throughput),
    latency: rounded(latency),
    ttft: rounded(ttft),
    tokens: { input: merged.inputTokens, output: merged.outputTokens },
    // Significant digits, not decimals: an embeddings call costs 6e-8 USD and must not read as 0.
    cost_usd: priced > 0 ? Number(merged.costUsd.toPrecision(12)) : null,
    cost_unknown: merged.costUnknown,
    outcomes: Object.fromEntries(OUTCOMES.map((k) => [k, o[k]])) as Record<Outcome, number>,
    window_ms: windowMs,
    exact: { success_rate: successRate, throughput_rps: throughput, latency, ttft },
  };
}

const LATENCY_TARGETS = [
  ['max_p50_ms', 'p50'],
  ['max_p90_ms', 'p90'],
  ['max_p95_ms', 'p95'],
  ['max_p99_ms', 'p99'],
] as const;

/** Judges one route (null: the overall view). Metrics without data (no streams for TTFT) are not judged. */
export function evaluateRoute(route: string | null, stats: RouteStats, targets: ResolvedTargets): Verdict {
  if (stats.count < targets.min_samples) return { status: 'insufficient_data', targets, violations: [] };
  const who = route === null ? 'Overall' : `Route '${route}'`;
  const violations: Violation[] = [];
  const { latency, ttft, success_rate, throughput_rps } = stats.exact;
  const report = (metric: string, actual: number, target: number, message: string) =>
    violations.push({ route, metric, actual, target, message });

  for (const [key, p] of LATENCY_TARGETS) {
    const target = targets[key];
    if (target === undefined || latency === null || !(latency[p] > target)) continue;
    const label = p.toUpperCase();
    const actual = roundMs(latency[p]);
    report(`latency_${p}`, actual, target, `${who} ${label} latency (${actual.toFixed(1)}ms) exceeds target (${target.toFixed(1)}ms)`);
  }
  const ttftTarget = targets.max_ttft_p95_ms;
  if (ttftTarget !== undefined && ttft !== null && ttft.p95 > ttftTarget) {
    const actual = roundMs(ttft.p95);
    report('ttft_p95', actual, ttftTarget, `${who} TTFT P95 (${actual.toFixed(1)}ms) exceeds target (${ttftTarget.toFixed(1)}ms)`);
  }
  const rateTarget = targets.min_success_rate;
  if (rateTarget !== undefined && success_rate !== null && success_rate < rateTarget) {
    const pct = (x: number) => (x * 100).toFixed(1);
    report('success_rate', roundRate(success_rate), rateTarget, `${who} success rate (${pct(success_rate)}%) below target (${pct(rateTarget)}%)`);
  }
  const rpsTarget = targets.min_throughput_rps;
  if (rpsTarget !== undefined && throughput_rps < rpsTarget) {
    const rps = roundRate(throughput_rps);
    report('throughput_rps', rps, rpsTarget, `${who} throughput (${throughput_rps.toFixed(1)} RPS) below target (${rpsTarget.toFixed(1)} RPS)`);
  }
  return { status: violations.length ? 'failed' : 'passed', targets, violations };
}

/** All routes merged into one window, judged against `default` alone. */
export function evaluateOverall(stats: RouteStats, config: SlaConfig): Verdict {
  return evaluateRoute(null, stats, targetsFor(config, null));
}
