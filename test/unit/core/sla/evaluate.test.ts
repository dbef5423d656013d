import { describe, expect, it } from 'vitest';
import { trackStatus, type AlertState } from '../../../../src/core/sla/status';
import { targetsFor, type ResolvedTargets, type SlaConfig, type Targets } from '../../../../src/core/sla/config';
import { evaluateOverall, evaluateRoute, summarize, type SlaStatus } from '../../../../src/core/sla/evaluate';
import { addSample, emptyWindow, type Outcome, type Sample, type WindowStats } from '../../../../src/core/sla/window';

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const MINUTE = 60_000;

/** A window with `n` calls of one kind. */
function calls(w: WindowStats, n: number, over: Partial<Sample> = {}): WindowStats {
  for (let i = 0; i < n; i++) {
    addSample(w, { ts: T0, outcome: 'success', totalMs: 100, ttftMs: null, inputTokens: 10, outputTokens: 5, costUsd: 0.01, ...over });
  }
  return w;
}
const win = () => emptyWindow(T0, MINUTE);
const targets = (t: Targets): ResolvedTargets => targetsFor({ default: t }, 'any');

describe('summarize', () => {
  it('reports counts, rates, latency, tokens and cost, rounded for reading', () => {
    const w = win();
    calls(w, 2, { totalMs: 100.04, ttftMs: 20 });
    calls(w, 1, { totalMs: 250, outcome: 'upstream_error', costUsd: null });
    calls(w, 1, { totalMs: 9_000, outcome: 'aborted' });
    const s = summarize(w, MINUTE, false);
    expect(s).toMatchObject({
      count: 4,
      successes: 2,
      failures: 1,
      success_rate: 0.6667,
      throughput_rps: 0.0667,
      tokens: { input: 40, output: 20 },
      cost_usd: 0.03,
      cost_unknown: 1,
      window_ms: MINUTE,
    });
    expect(s.outcomes).toMatchObject({ success: 2, upstream_error: 1, aborted: 1, timeout: 0 });
    expect(s.latency).toMatchObject({ min: 100, max: 250 }); // the aborted 9 s is not a latency
    expect(Math.abs((s.latency?.p50 ?? 0) - 100.04) / 100.04).toBeLessThan(0.01);
    expect(s.latency?.mean).toBe(150);
    expect(s.ttft).toEqual({ p50: 20, p90: 20, p95: 20, p99: 20, mean: 20, min: 20, max: 20 });
    expect(s.exact.success_rate).toBeCloseTo(2 / 3, 12);
    expect(s.exact.latency?.min).toBe(100.04);
  });

  it('has no rates, latency or cost without the calls to compute them', () => {
    const s = summarize(calls(win(), 3, { outcome: 'aborted', costUsd: null }), MINUTE, false);
    expect([s.success_rate, s.latency, s.ttft, s.cost_usd]).toEqual([null, null, null, null]);
    expect(summarize(win(), MINUTE, false)).toMatchObject({ count: 0, throughput_rps: 0, success_rate: null });
  });

  it('counts client errors as failures only when asked; aborted calls never count', () => {
    const w = calls(calls(calls(win(), 90), 10, { outcome: 'client_error' }), 5, { outcome: 'aborted' });
    expect(summarize(w, MINUTE, false)).toMatchObject({ success_rate: 1, failures: 0 });
    expect(summarize(w, MINUTE, true)).toMatchObject({ success_rate: 0.9, failures: 10 });
  });

  it.each<Outcome>(['upstream_error', 'network_error', 'timeout', 'rate_limited'])('counts %s as a failure', (outcome) => {
    const s = summarize(calls(calls(win(), 3), 1, { outcome }), MINUTE, false);
    expect([s.failures, s.success_rate]).toEqual([1, 0.75]);
  });
});

describe('evaluateRoute', () => {
  it.each([
    ['max_p50_ms', 'P50'],
    ['max_p90_ms', 'P90'],
    ['max_p95_ms', 'P95'],
    ['max_p99_ms', 'P99'],
  ] as const)('%s fails with the exact message, and passes at the target', (key, label) => {
    const stats = summarize(calls(win(), 20, { totalMs: 325.4 }), MINUTE, false);
    const failed = evaluateRoute('openai/chat', stats, targets({ [key]: 300 }));
    expect(failed.status).toBe('failed');
    expect(failed.violations).toEqual([
      {
        route: 'openai/chat',
        metric: `latency_${label.toLowerCase()}`,
        actual: 325.4,
        target: 300,
        message: `Route 'openai/chat' ${label} latency (325.4ms) exceeds target (300.0ms)`,
      },
    ]);
    expect(evaluateRoute('openai/chat', stats, targets({ [key]: 325.4 })).status).toBe('passed');
  });

  it('judges TTFT P95, and skips it for routes without streams', () => {
    const stats = summarize(calls(win(), 20, { ttftMs: 812 }), MINUTE, false);
    expect(evaluateRoute('x', stats, targets({ max_ttft_p95_ms: 500 })).violations.map((v) => v.message)).toEqual([
      "Route 'x' TTFT P95 (812.0ms) exceeds target (500.0ms)",
    ]);
    expect(evaluateRoute('x', stats, targets({ max_ttft_p95_ms: 900 })).status).toBe('passed');
    const noStreams = summarize(calls(win(), 20), MINUTE, false);
    expect(evaluateRoute('x', noStreams, targets({ max_ttft_p95_ms: 1 })).status).toBe('passed');
  });

  it('judges the success rate', () => {
    const stats = summarize(calls(calls(win(), 923), 77, { outcome: 'timeout' }), MINUTE, false);
    const verdict = evaluateRoute('rag.embedding', stats, targets({ min_success_rate: 0.95 }));
    expect(verdict.violations).toEqual([
      {
        route: 'rag.embedding',
        metric: 'success_rate',
        actual: 0.923,
        target: 0.95,
        message: "Route 'rag.embedding' success rate (92.3%) below target (95.0%)",
      },
    ]);
    expect(evaluateRoute('rag.embedding', stats, targets({ min_success_rate: 0.923 })).status).toBe('passed');
  });

  it('judges throughput over the window', () => {
    const stats = summarize(calls(win(), 510), MINUTE, false); // 8.5 RPS
    expect(evaluateRoute('r', stats, targets({ min_throughput_rps: 10 })).violations[0]?.message).toBe(
      "Route 'r' throughput (8.5 RPS) below target (10.0 RPS)",
    );
    expect(evaluateRoute('r', stats, targets({ min_throughput_rps: 8.5 })).status).toBe('passed');
  });

  it('compares unrounded values: 300.04 ms exceeds a 300 ms target', () => {
    const stats = summarize(calls(win(), 20, { totalMs: 300.04 }), MINUTE, false);
    expect(stats.latency?.p95).toBe(300);
    expect(evaluateRoute('r', stats, targets({ max_p95_ms: 300 })).violations[0]?.message).toBe(
      "Route 'r' P95 latency (300.0ms) exceeds target (300.0ms)",
    );
  });

  it('reports every violated target at once', () => {
    const stats = summarize(calls(calls(win(), 10, { totalMs: 900 }), 10, { outcome: 'upstream_error', totalMs: 900 }), MINUTE, false);
    const verdict = evaluateRoute('r', stats, targets({ max_p50_ms: 500, max_p99_ms: 800, min_success_rate: 0.9, min_throughput_rps: 1 }));
    expect(verdict.violations.map((v) => v.metric)).toEqual(['latency_p50', 'latency_p99', 'success_rate', 'throughput_rps']);
  });

  it('is insufficient_data below min_samples, with no violations', () => {
    const stats = summarize(calls(win(), 9, { totalMs: 5_000, outcome: 'timeout' }), MINUTE, false);
    const verdict = evaluateRoute('r', stats, targets({ max_p95_ms: 100, min_success_rate: 0.99 }));
    expect(verdict).toMatchObject({ status: 'insufficient_data', violations: [] });
    expect(verdict.targets.min_samples).toBe(10);
    expect(evaluateRoute('r', stats, targets({ max_p95_ms: 100, min_samples: 9 })).status).toBe('failed');
  });
});

describe('evaluateOverall', () => {
  const config: SlaConfig = { default: { min_throughput_rps: 10, max_p95_ms: 1000 }, routes: { 'openai/*': { max_p95_ms: 50 } } };

  it('judges all routes merged against default alone', () => {
    const stats = summarize(calls(win(), 510, { totalMs: 200 }), MINUTE, false);
    const verdict = evaluateOverall(stats, config);
    expect(verdict.targets).toMatchObject({ max_p95_ms: 1000, matched: null });
    expect(verdict.violations).toEqual([
      { route: null, metric: 'throughput_rps', actual: 8.5, target: 10, message: 'Overall throughput (8.5 RPS) below target (10.0 RPS)' },
    ]);
    expect(evaluateOverall(summarize(calls(win(), 600, { totalMs: 200 }), MINUTE, false), config).status).toBe('passed');
  });
});

describe('trackStatus (alert_after)', () => {
  function run(statuses: SlaStatus[], alertAfter: number): string[] {
    let state: AlertState | null = null;
    const alerts: string[] = [];
    for (const status of statuses) {
      const r = trackStatus(state, status, alertAfter);
      state = r.state;
      if (r.change) alerts.push(`${r.change.from}->${r.change.to}`);
    }
    return alerts;
  }

  it('alerts once a new status holds for alert_after evaluations in a row', () => {
    expect(run(['passed', 'failed', 'passed', 'failed', 'failed', 'failed', 'passed', 'passed'], 2)).toEqual([
      'passed->failed',
      'failed->passed',
    ]);
    expect(run(['passed', 'failed'], 1)).toEqual(['passed->failed']);
    expect(run(['failed', 'failed', 'failed'], 2)).toEqual([]); // the first evaluation sets the baseline silently
    expect(run(['passed', 'failed', 'insufficient_data', 'failed'], 2)).toEqual([]);
  });
});
