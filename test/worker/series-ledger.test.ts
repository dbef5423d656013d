import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { DashboardData } from '../../src/core/dashboard';
import { registry, routeStub } from '../../src/core/objects';
import { OVERFLOW_ROUTE } from '../../src/core/route-cap';
import { GROUP_SERIES } from '../../src/core/series-budget';
import type { Sample } from '../../src/core/sla/sample';
import { gateway, GW, metricValue, scrape } from './helpers';

const LABEL = 128;
const pad = (prefix: string) => `${prefix}${'x'.repeat(LABEL - prefix.length)}`;
const MB = 1024 * 1024;

describe('/metrics within its series budget at every documented limit', () => {
  it('MAX_ROUTES routes x 51 models x 128-character labels: /metrics under 2 MB, every route with its SLO counters, /dashboard/data bounded', async () => {
    const maxRoutes = 500;
    const routes = Array.from({ length: maxRoutes }, (_, i) => pad(`limit.route.${i}.`));
    await registry(env).register([...routes, OVERFLOW_ROUTE].map((route) => ({ route, shards: 1 })), maxRoutes);
    const now = Date.now();
    // Each route: 51 models (the route objects keep 50, the 51st under other), streams (TTFT), failures.
    const outcomes: Sample['outcome'][] = ['success', 'success', 'upstream_error', 'rate_limited', 'timeout'];
    await Promise.all(
      [...routes, OVERFLOW_ROUTE].map((route) => {
        const samples: Sample[] = Array.from({ length: 51 }, (_, m) => ({ ts: now - m, outcome: outcomes[m % outcomes.length] as Sample['outcome'], totalMs: 10 + m * 40, ttftMs: m % 2 ? 5 + m : null, inputTokens: 10, outputTokens: 5, costUsd: 0.0001 }));
        return routeStub(env.ROUTE_STATS, route, 0).ingest({ route, samples, models: samples.map((_, m) => pad(`model-${m}-`)), droppedBefore: 0 });
      }),
    );
    const gw = gateway({ MAX_ROUTES: String(maxRoutes) });
    const { first, text } = await scrape(gw);
    for (const t of [first, text]) expect(t.length).toBeLessThan(2 * MB);
    const budget = metricValue(text, 'llm_sla_metrics_series_bytes{of="budget"}') ?? NaN;
    expect(budget).toBe(2_000_000);
    expect(metricValue(text, 'llm_sla_metrics_series_bytes{of="exported"}')).toBeLessThanOrEqual(budget);
    // A Prometheus user's SLO counters for every route: requests by outcome, each series from 0.
    for (const route of [routes[0], routes[maxRoutes - 1], OVERFLOW_ROUTE]) {
      expect(first).toContain(`llm_sla_requests_total{route="${route}",outcome="success"} 0`);
      expect(metricValue(text, `llm_sla_requests_total{route="${route}",outcome="upstream_error"}`)).toBeGreaterThan(0);
    }
    expect(text.split('\n').filter((l) => l.startsWith('llm_sla_requests_total{')).length).toBe(GROUP_SERIES.calls * (maxRoutes + 1));
    // Histograms per route, never per model; models at most 5 and other per route.
    expect(text).not.toMatch(/llm_sla_request_duration_seconds_bucket\{[^}]*model=/);
    const models = new Set([...text.matchAll(new RegExp(`llm_sla_tokens_total\\{route="${routes[0]}",model="([^"]+)"`, 'g'))].map((m) => m[1]));
    expect(models.size).toBeLessThanOrEqual(6);

    const data = (await (await gw.fetch(`${GW}/dashboard/data?window=15m`)).json()) as DashboardData;
    expect(data.routes_total).toBe(maxRoutes + 1);
    expect(data.routes.length).toBe(50);
    expect(JSON.stringify(data).length).toBeLessThan(1 * MB);
  }, 120_000);
});
