import { Hono, type Context } from 'hono';
import { requireToken } from '../auth';
import { GatewayError } from '../errors';
import { registry } from '../recorder/durable';
import { mergeHistogram, renderPrometheus } from '../report/prometheus';
import { renderRouteHtml, renderSlaHtml } from '../report/html';
import { renderRouteMarkdown, renderSlaMarkdown } from '../report/markdown';
import type { MetricsSeries, MetricsSnapshot } from '../report/types';
import { parseSlaConfig, parseWindow, type SlaConfig } from '../sla/config';
import { defaultWindow, slaConfigInForce } from '../service/sla-config';
import { buildRouteReport, buildSlaReport, routeStub } from '../service/sla-report';
import { flushStats } from '../recorder/durable';
import type { RegistryState } from '../../durable-objects/registry';
import { renderSloMetrics } from '../report/prometheus-slo';
import { routeBudgets } from '../service/slo-report';
import { renderBudgetMetrics } from '../report/prometheus-budgets';
import { teamBudgetsForMetrics } from '../service/budget-report';

type Format = 'json' | 'md' | 'html';

function formatOf(c: Context): Format {
  const f = c.req.query('format');
  if (f === 'md' || f === 'markdown') return 'md';
  if (f === 'html' || f === 'json') return f;
  const accept = c.req.header('accept') ?? '';
  if (accept.includes('text/html')) return 'html';
  if (accept.includes('text/markdown')) return 'md';
  return 'json';
}

/** Registry state and the SLA config in force; a broken config is a 500 with every problem listed. */
export async function context(env: Env): Promise<{ state: RegistryState; config: SlaConfig }> {
  const state = await registry(env).state();
  const cfg = slaConfigInForce(env, state.configOverride);
  if (!cfg.ok) throw new GatewayError(500, 'invalid_config', `SLA config is invalid: ${cfg.problems.join('; ')}`);
  return { state, config: cfg.config };
}

export function windowOf(c: Context, config: SlaConfig): string {
  const w = c.req.query('window') ?? defaultWindow(config);
  try {
    parseWindow(w);
  } catch (e) {
    throw new GatewayError(400, 'invalid_request', (e as Error).message);
  }
  return w;
}

/** `/sla*` and `/metrics`: answered from the Durable Objects. */
export const slaRoutes = new Hono<{ Bindings: Env }>();
const read = requireToken('read');
const admin = requireToken('admin');

slaRoutes.get('/sla', read, async (c) => {
  const { state, config } = await context(c.env);
  const report = await buildSlaReport(c.env.ROUTE_STATS, state.routes, config, windowOf(c, config), Date.now());
  const format = formatOf(c);
  if (format === 'md') return c.body(renderSlaMarkdown(report), 200, { 'content-type': 'text/markdown; charset=utf-8' });
  if (format === 'html') return c.html(renderSlaHtml(report));
  return c.json(report);
});

slaRoutes.get('/sla/config', read, async (c) => {
  const state = await registry(c.env).state();
  const cfg = slaConfigInForce(c.env, state.configOverride);
  return cfg.ok ? c.json({ source: cfg.source, config: cfg.config }) : c.json({ error: 'invalid SLA config', problems: cfg.problems }, 500);
});

slaRoutes.put('/sla/config', admin, async (c) => {
  const text = await c.req.text();
  const parsed = parseSlaConfig(text);
  if (!parsed.ok) return c.json({ error: 'invalid SLA config', problems: parsed.problems }, 400);
  await registry(c.env).setConfig(text);
  return c.json({ source: 'runtime', config: parsed.config });
});

slaRoutes.delete('/sla/config', admin, async (c) => {
  await registry(c.env).setConfig(null);
  const cfg = slaConfigInForce(c.env, null);
  return c.json(cfg.ok ? { source: cfg.source, config: cfg.config } : { error: 'invalid SLA config', problems: cfg.problems });
});

slaRoutes.get('/sla/alerts', read, async (c) => {
  const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 100) || 100, 1), 500);
  return c.json({ alerts: await registry(c.env).alerts(limit) });
});

slaRoutes.post('/sla/reset', admin, async (c) => {
  const body = (await c.req.json().catch(() => ({}))) as { route?: unknown };
  const route = typeof body.route === 'string' ? body.route : null;
  const { routes } = await registry(c.env).state();
  const targets = routes.filter((r) => route === null || r.route === route);
  await Promise.all(targets.flatMap((r) => Array.from({ length: r.shards }, (_, i) => routeStub(c.env.ROUTE_STATS, r.route, i).reset())));
  await registry(c.env).forget(route);
  return c.json({ reset: targets.map((r) => r.route) });
});

slaRoutes.get('/sla/*', read, async (c) => {
  const route = decodeURIComponent(new URL(c.req.url).pathname.slice('/sla/'.length));
  const { state, config } = await context(c.env);
  const entry = state.routes.find((r) => r.route === route);
  if (!entry) throw new GatewayError(404, 'not_found', `No calls recorded for route ${JSON.stringify(route)}.`);
  const detail = await buildRouteReport(c.env.ROUTE_STATS, entry, config, windowOf(c, config), Date.now());
  const format = formatOf(c);
  if (format === 'md') return c.body(renderRouteMarkdown(detail), 200, { 'content-type': 'text/markdown; charset=utf-8' });
  if (format === 'html') return c.html(renderRouteHtml(detail));
  return c.json(detail);
});

slaRoutes.get('/metrics', read, async (c) => {
  const [{ routes, configOverride }, telemetry] = await Promise.all([registry(c.env).state(), registry(c.env).counters()]);
  const cfg = slaConfigInForce(c.env, configOverride);
  const budgets = cfg.ok ? routeBudgets(c.env.ROUTE_STATS, routes, cfg.config, Date.now()) : Promise.resolve([]);
  const teams = teamBudgetsForMetrics(c.env, Date.now());
  const parts = await Promise.all(
    routes.flatMap((r) => Array.from({ length: r.shards }, (_, i) => routeStub(c.env.ROUTE_STATS, r.route, i).metrics().then((m) => ({ ...m, route: r.route })))),
  );
  // Shards of one route hold the same model/outcome series: add them up.
  const byRoute = new Map<string, Map<string, MetricsSeries>>();
  let droppedRecords = 0;
  let droppedSamples = 0;
  for (const p of parts) {
    const series = byRoute.get(p.route) ?? new Map<string, MetricsSeries>();
    byRoute.set(p.route, series);
    for (const s of p.series) {
      const key = `${s.model}\u0000${s.outcome}`;
      const prev = series.get(key);
      if (!prev) series.set(key, structuredClone(s));
      else {
        prev.count += s.count;
        prev.inputTokens += s.inputTokens;
        prev.outputTokens += s.outputTokens;
        prev.costUsd += s.costUsd;
        mergeHistogram(prev.duration, s.duration);
        mergeHistogram(prev.ttft, s.ttft);
      }
    }
    droppedRecords += p.droppedRecords;
    droppedSamples += p.droppedSamples;
  }
  const snapshot: MetricsSnapshot = {
    routes: [...byRoute].map(([route, series]) => ({ route, series: [...series.values()] })),
    droppedRecords,
    droppedSamples,
    telemetry,
  };
  const text = renderPrometheus(snapshot, { droppedLocal: flushStats.droppedUnreported }) + renderSloMetrics(await budgets) + renderBudgetMetrics(telemetry, await teams);
  return c.body(text, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
});
