import { describe, expect, it } from 'vitest';
import { renderPrometheus } from '../../../src/report/prometheus';
import { addToHistogram, bucketIndex, emptyHistogram, DEFAULT_BOUNDS } from '../../../src/core/metrics';
import { renderRouteHtml, renderSlaHtml } from '../../../src/report/html';
import { renderSlaMarkdown } from '../../../src/report/markdown';
import { DURATION_BUCKETS_S, emptyOutcomes, type MetricsExposition } from '../../../src/core/metrics';
import type { RouteReport, SlaReport } from '../../../src/core/report-types';
import { evaluateRoute, summarize } from '../../../src/core/sla/evaluate';
import { addSample, emptyWindow } from '../../../src/core/sla/window';

function route(name: string, latencies: number[], target: number): RouteReport {
  const w = emptyWindow(0, 300_000);
  for (const ms of latencies) addSample(w, { ts: 1, outcome: 'success', totalMs: ms, ttftMs: null, inputTokens: 1, outputTokens: 2, costUsd: 0.5 });
  const { exact: _e, ...stats } = summarize(w, 300_000, false);
  return { ...stats, sla: evaluateRoute(name, summarize(w, 300_000, false), { max_p95_ms: target, min_samples: 1, window: '5m', window_ms: 300_000, count_client_errors: false, matched: null, builtin: [] }) };
}

const evil = 'rag.<script>alert(1)</script>|x';
const report: SlaReport = {
  passed: false,
  window: '5m',
  window_ms: 300_000,
  generated_at: '2026-11-22T00:00:00.000Z',
  overall: route('all', [10, 20, 400], 1e9),
  violations: [],
  routes: { 'openai/chat': route('openai/chat', [10, 20, 400, 400], 100), [evil]: route(evil, [5], 100) },
};
report.violations = Object.values(report.routes).flatMap((r) => r.sla.violations);

describe('Markdown and HTML reports', () => {
  it('lists every route with its status and every violation message', () => {
    const md = renderSlaMarkdown(report);
    expect(md).toContain('# SLA report — FAILED');
    expect(md).toMatch(/\| openai\/chat \| ❌ failed \| 4 \|/);
    expect(md).toContain('rag.<script>alert(1)</script>\\|x');
    expect(md).toContain(`- Route 'openai/chat' P95 latency (400.0ms) exceeds target (100.0ms)`);
  });

  it('escapes everything a client controls and references nothing outside the page', () => {
    const html = renderSlaHtml(report);
    expect(html).not.toContain('<script>');
    expect(html).toContain('rag.&#60;script&#62;alert(1)&#60;/script&#62;|x');
    expect(html).not.toMatch(/https?:\/\/|src=/);
    expect(html).toContain('<meta charset="utf-8">');
    const detail = renderRouteHtml({ route: evil, window: '5m', window_ms: 300_000, generated_at: 'now', stats: report.routes[evil] as RouteReport, series: [], targets: {} });
    expect(detail).not.toContain('<script>');
  });
});

/** Parses Prometheus text: samples by name with labels, and HELP/TYPE lines. */
function parse(text: string) {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  const types: string[] = [];
  for (const line of text.trim().split('\n')) {
    if (line.startsWith('# TYPE ')) types.push(line.split(' ')[2] as string);
    if (line.startsWith('#')) continue;
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`bad line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = (l[2] as string).replace(/\\"/g, '"').replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

describe('Prometheus exposition', () => {
  it('puts a value on a bound into that bound’s bucket', () => {
    expect(bucketIndex(DURATION_BUCKETS_S, 0.01)).toBe(0);
    expect(bucketIndex(DURATION_BUCKETS_S, 0.0100001)).toBe(1);
    expect(bucketIndex(DURATION_BUCKETS_S, 1000)).toBe(DURATION_BUCKETS_S.length);
  });

  it('renders cumulative buckets, counters equal to the inputs, one HELP/TYPE per family, escaped labels', () => {
    const weird = 'm"odel\\\nx';
    const duration = emptyHistogram(DURATION_BUCKETS_S);
    for (const d of [0.005, 0.3, 2, 100, 0.02]) addToHistogram(duration, DURATION_BUCKETS_S, d);
    const exposition: MetricsExposition = {
      routes: [
        {
          route: weird,
          outcomes: { ...emptyOutcomes(), success: 4, aborted: 1, upstream_error: 1 },
          duration,
          ttft: null,
          bounds: DEFAULT_BOUNDS,
          models: [{ model: weird, calls: 6, inputTokens: 60, outputTokens: 5, costUsd: 0.25, pricedCount: 6 }],
          slo: null,
          overhead: null,
          attempts: [],
          fallbacks: [],
          breakers: [],
          hedges: { won: 2, lost: 5 },
          firstTokenTimeouts: [{ target: weird, ms: 380 }],
        },
      ],
      droppedRecords: 3,
      droppedSamples: 1,
      series: { exported: 27, bytes: 3_000, budget: 2_000_000, refused: 0 },
    };
    const text = renderPrometheus(exposition, {}, { droppedLocal: 2 });
    const { samples, types } = parse(text);
    expect(new Set(types).size).toBe(types.length);
    const buckets = samples.filter((s) => s.name === 'llm_sla_request_duration_seconds_bucket');
    expect(buckets.every((b) => b.labels['route'] === weird && b.labels['model'] === undefined)).toBe(true);
    const values = buckets.map((b) => b.value);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    const count = samples.find((s) => s.name === 'llm_sla_request_duration_seconds_count')?.value;
    expect(count).toBe(5);
    expect(buckets.find((b) => b.labels['le'] === '+Inf')?.value).toBe(count);
    expect(buckets.find((b) => b.labels['le'] === '0.01')?.value).toBe(1);
    const requests = samples.filter((s) => s.name === 'llm_sla_requests_total');
    // Every outcome has its series, 0 included, so that a burn rate over them never misses one.
    expect(requests).toHaveLength(7);
    expect(requests.reduce((n, s) => n + s.value, 0)).toBe(6);
    expect(samples.filter((s) => s.name === 'llm_sla_time_to_first_token_seconds_bucket')).toEqual([]);
    expect(samples.find((s) => s.name === 'llm_sla_dropped_records_total')?.value).toBe(5);
    expect(samples.find((s) => s.name === 'llm_sla_tokens_total' && s.labels['type'] === 'input')).toMatchObject({ labels: { route: weird, model: weird }, value: 60 });
    expect(samples.find((s) => s.name === 'llm_sla_metrics_series')?.value).toBe(27);
    expect(samples.filter((s) => s.name === 'llm_sla_hedges_total').map((s) => [s.labels['result'], s.value])).toEqual([
      ['won', 2],
      ['lost', 5],
    ]);
    expect(samples.find((s) => s.name === 'llm_sla_first_token_timeout_ms')).toMatchObject({ labels: { route: weird, target: weird }, value: 380 });
  });
});
