import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DURATION_BUCKETS_S } from '../../src/core/metrics';
import { ROOT } from './gateway';
import { startPrometheus, type PrometheusServer } from './prometheus-server';
import { chat, limited, openai, slaReport, waitForCounts } from './traffic';

/**
 * Debian's Prometheus scrapes the gateway's /metrics (with the read token) every second; its PromQL over the
 * scraped series must agree with /sla.
 */
const gateway = inject('gatewayUrl');
const token = inject('readToken');
const ROUTE = 'e2e.prom';
const OK = 40;
const FAILED = 5;

let prometheus: PrometheusServer;
const query = (promql: string) => prometheus.query(promql);
const scalar = (promql: string) => prometheus.scalar(promql);

beforeAll(async () => {
  const client = openai(gateway);
  const calls: (() => Promise<boolean>)[] = [];
  // Latencies spread over several histogram buckets (0 .. ~600 ms), and some upstream errors.
  for (let i = 0; i < OK; i++) calls.push(() => chat(client, ROUTE, { 'x-mock-latency-ms': String(i * 15) }));
  for (let i = 0; i < FAILED; i++) calls.push(() => chat(client, ROUTE, { 'x-mock-status': '500' }));
  const results = await limited(10, calls);
  expect(results.filter(Boolean)).toHaveLength(OK);
  await waitForCounts(gateway, token, { [ROUTE]: OK + FAILED });

  prometheus = await startPrometheus(gateway, token);
  const until = Date.now() + 30_000;
  while ((await scalar(`sum(llm_sla_requests_total{route="${ROUTE}"})`)) !== OK + FAILED) {
    if (Date.now() > until) throw new Error(`prometheus did not scrape the calls in 30 s:\n${prometheus.log()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
});

afterAll(async () => {
  await prometheus?.stop();
});

describe('Prometheus scraping /metrics', () => {
  it('scrapes the gateway with the read token', async () => {
    expect(await scalar('up{job="llm-sla-gateway"}')).toBe(1);
  });

  it('counts exactly the calls made, by outcome', async () => {
    const byOutcome = await query(`sum by (outcome) (llm_sla_requests_total{route="${ROUTE}"})`);
    // Every outcome has its series (from 0), the ones without calls at 0.
    const none = { aborted: 0, client_error: 0, network_error: 0, rate_limited: 0, timeout: 0 };
    expect(Object.fromEntries(byOutcome.map((s) => [s.metric['outcome'], Number(s.value[1])]))).toEqual({ ...none, success: OK, upstream_error: FAILED });
    expect(await scalar(`sum(llm_sla_request_duration_seconds_count{route="${ROUTE}"})`)).toBe(OK + FAILED);
    expect(await scalar(`sum(llm_sla_tokens_total{route="${ROUTE}",type="output"})`)).toBe(OK * 7);
  });

  it("agrees with /sla's p95 within the histogram's bucket resolution", async () => {
    const q = await scalar(`histogram_quantile(0.95, sum by (le) (llm_sla_request_duration_seconds_bucket{route="${ROUTE}"}))`);
    const res = await fetch(`${gateway}/sla/${ROUTE}?window=5m`, { headers: { authorization: `Bearer ${token}` } });
    const detail = (await res.json()) as { stats: { count: number; latency: { p95: number } | null } };
    expect(detail.stats.count).toBe(OK + FAILED);
    const p95 = (detail.stats.latency?.p95 ?? NaN) / 1000;
    // The bucket /sla's p95 falls in (the sketch is within 0.5 %); Prometheus interpolates inside a bucket, so its
    // estimate must lie within that bucket's bounds.
    const bounds = [0, ...DURATION_BUCKETS_S];
    const i = bounds.findIndex((b, k) => k > 0 && p95 <= b * 1.005);
    expect(i).toBeGreaterThan(0);
    const lo = (bounds[i - 1] ?? 0) / 1.005;
    const hi = (bounds[i] ?? Infinity) * 1.005;
    expect(q).not.toBeNull();
    expect(q ?? NaN).toBeGreaterThanOrEqual(lo);
    expect(q ?? NaN).toBeLessThanOrEqual(hi);
    // And the traffic really put p95 in the upper buckets (0.32-0.64 s), not in a trivially shared first bucket.
    expect(p95).toBeGreaterThan(0.32);
  });

  it("a PromQL burn rate over the counters equals /sla's: each route's counters start at 0, so increase() sees its first calls", async () => {
    const BURN = 'e2e.burn';
    const client = openai(gateway);
    const calls = async (ok: number, failed: number) => {
      const tasks: (() => Promise<boolean>)[] = [];
      for (let i = 0; i < ok; i++) tasks.push(() => chat(client, BURN));
      for (let i = 0; i < failed; i++) tasks.push(() => chat(client, BURN, { 'x-mock-status': '500' }));
      await limited(8, tasks);
    };
    const scraped = async (n: number) => {
      const until = Date.now() + 20_000;
      while ((await scalar(`sum(llm_sla_requests_total{route="${BURN}"})`)) !== n) {
        if (Date.now() > until) throw new Error(`Prometheus did not see ${n} calls of ${BURN}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    // The route appears while Prometheus scrapes (its first samples would be 10 and 3), then its error rate changes.
    await calls(10, 3);
    await waitForCounts(gateway, token, { [BURN]: 13 });
    await scraped(13);
    await calls(20, 1);
    await waitForCounts(gateway, token, { [BURN]: 34 });
    await scraped(34);
    const failures = 'upstream_error|network_error|timeout|rate_limited';
    const rate = (outcomes: string) => `sum(increase(llm_sla_requests_total{route="${BURN}",outcome=~"${outcomes}"}[5m]))`;
    const promql = await scalar(`(${rate(failures)} / ${rate(`success|${failures}`)}) / (1 - 0.9)`);
    const report = await slaReport(gateway, token);
    const fromSla = report.routes[BURN]?.error_budget?.burn_rates['5m'] ?? null;
    expect(report.routes[BURN]?.error_budget).toMatchObject({ good: 30, bad: 4 });
    expect(fromSla).toBeCloseTo(4 / 34 / 0.1, 4);
    expect(promql).not.toBeNull();
    expect(promql ?? NaN).toBeCloseTo(fromSla ?? NaN, 3);
  });

  it('runs every query of the Grafana dashboard in examples/ and finds the route in each', async () => {
    type Panel = { title: string; targets: { expr: string }[] };
    const dashboard = JSON.parse(readFileSync(`${ROOT}/examples/grafana-dashboard.json`, 'utf8')) as { panels: Panel[]; templating: { list: { name: string }[] } };
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['route']);
    // rate() needs two scrapes inside its window.
    await expect.poll(() => scalar('count_over_time(up{job="llm-sla-gateway"}[1m])'), { timeout: 10_000, interval: 250 }).toBeGreaterThanOrEqual(3);
    const checked: string[] = [];
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        // Grafana's variables as Grafana fills them: the route picked, a rate window wider than the scrape interval.
        const promql = expr.replaceAll('$route', ROUTE).replaceAll('$__rate_interval', '1m');
        const result = await query(promql);
        checked.push(panel.title);
        if (expr.includes('$route') && !expr.includes('time_to_first_token') && !expr.includes('cost_usd')) {
          // Queries by route see this route's series (TTFT: no streams here; cost: an unpriced mock model).
          expect(result.length, `${panel.title}: ${promql}`).toBeGreaterThan(0);
        }
      }
    }
    expect(checked.length).toBeGreaterThanOrEqual(10);
  });
});
