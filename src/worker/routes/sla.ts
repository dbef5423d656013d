import { Hono, type Context } from 'hono';
import { requireToken } from '../auth';
import { GatewayError } from '../errors';
import { registry, routeStub } from '../../core/objects';
import { renderPrometheus } from '../../report/prometheus';
import { renderRouteHtml, renderSlaHtml } from '../../report/html';
import { renderRouteMarkdown, renderSlaMarkdown } from '../../report/markdown';
import type { MetricsSnapshot } from '../../core/report-types';
import { parseSlaConfig, parseWindow, type SlaConfig } from '../../core/sla/config';
import { defaultWindow, rememberOverride, slaConfigInForce } from '../../config/in-force';
import { buildRouteReport } from '../../core/report';
import { flushStats } from '../recorder/durable';
import { isolateId, isolateTotals } from '../isolate-counts';
import type { RegistryState } from '../../core/objects';
import type { ServiceConfig } from '../../config/service';
import type { AppEnv } from '../context';
import { renderSloMetrics } from '../../report/prometheus-slo';
import { renderBudgetMetrics } from '../../report/prometheus-budgets';
import { teamBudgetsForMetrics } from '../../core/budget/report';

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
export async function context(env: Env, service: ServiceConfig): Promise<{ state: RegistryState; config: SlaConfig }> {
  const state = await registry(env).state();
  rememberOverride(env, state.configOverride);
  return { state, config: configInForce(service, state.configOverride) };
}

function configInForce(service: ServiceConfig, override: string | null): SlaConfig {
  const cfg = slaConfigInForce(service, override);
  if (!cfg.ok) throw new GatewayError(500, 'invalid_config', `SLA config is invalid: ${cfg.problems.join('; ')}`);
  return cfg.config;
}

export function windowOf(c: Context, config: SlaConfig): string {
  const w = c.req.query('window') ?? defaultWindow(config);
  validWindow(w);
  return w;
}

/** `/sla*` and `/metrics`: answered from the Durable Objects. */
export const slaRoutes = new Hono<AppEnv>();
const read = requireToken('read');
const admin = requireToken('admin');

slaRoutes.get('/sla', read, async (c) => {
  // One registry RPC: the report comes from its summary, refreshed at most once per SUMMARY_MAX_AGE_MS.
  const asked = c.req.query('window');
  if (asked !== undefined) validWindow(asked);
  const envConfig = c.get('service').slaText;
  const summary = await registry(c.env).summary({ maxAgeMs: summaryMaxAge(c), sla: { window: asked ?? null, envConfig } });
  if (summary.configProblems) throw new GatewayError(500, 'invalid_config', `SLA config is invalid: ${summary.configProblems.join('; ')}`);
  const report = summary.sla;
  if (!report) throw new GatewayError(500, 'internal_error', 'The registry returned no report.');
  const format = formatOf(c);
  if (format === 'md') return c.body(renderSlaMarkdown(report), 200, { 'content-type': 'text/markdown; charset=utf-8' });
  if (format === 'html') return c.html(renderSlaHtml(report));
  return c.json(report);
});

/** The SLA config in force and where it comes from, or the gateway's one error shape (500) listing the problems. */
function configAnswer(service: ServiceConfig, override: string | null): { source: string; config: SlaConfig } {
  const cfg = slaConfigInForce(service, override);
  if (!cfg.ok) throw new GatewayError(500, 'invalid_config', `SLA config is invalid: ${cfg.problems.join('; ')}`);
  return { source: cfg.source, config: cfg.config };
}

slaRoutes.get('/sla/config', read, async (c) => {
  const { configOverride } = await registry(c.env).state();
  rememberOverride(c.env, configOverride);
  return c.json(configAnswer(c.get('service'), configOverride));
});

slaRoutes.put('/sla/config', admin, async (c) => {
  const text = await c.req.text();
  const parsed = parseSlaConfig(text);
  if (!parsed.ok) throw new GatewayError(400, 'invalid_request', `SLA config is invalid: ${parsed.problems.join('; ')}`);
  await registry(c.env).setConfig(text);
  rememberOverride(c.env, text);
  return c.json({ source: 'runtime', config: parsed.config });
});

slaRoutes.delete('/sla/config', admin, async (c) => {
  await registry(c.env).setConfig(null);
  rememberOverride(c.env, null);
  return c.json(configAnswer(c.get('service'), null));
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
  // Off the list first, then emptied: each object's next batch asks its isolate to list the route again, so a
  // route that keeps being called comes back with only the calls after the reset.
  await registry(c.env).forget(route);
  await Promise.all(targets.flatMap((r) => Array.from({ length: r.shards }, (_, i) => routeStub(c.env.ROUTE_STATS, r.route, i).reset())));
  return c.json({ reset: targets.map((r) => r.route) });
});

slaRoutes.get('/sla/*', read, async (c) => {
  let route: string;
  try {
    route = decodeURIComponent(new URL(c.req.url).pathname.slice('/sla/'.length));
  } catch {
    throw new GatewayError(400, 'invalid_request', 'The path holds a percent-escape that does not decode.');
  }
  const { state, config } = await context(c.env, c.get('service'));
  const entry = state.routes.find((r) => r.route === route);
  if (!entry) throw new GatewayError(404, 'not_found', `No calls recorded for route ${JSON.stringify(route)}.`);
  const detail = await buildRouteReport(c.env.ROUTE_STATS, entry, config, windowOf(c, config), Date.now());
  const format = formatOf(c);
  if (format === 'md') return c.body(renderRouteMarkdown(detail), 200, { 'content-type': 'text/markdown; charset=utf-8' });
  if (format === 'html') return c.html(renderRouteHtml(detail));
  return c.json(detail);
});

slaRoutes.get('/metrics', read, async (c) => {
  // This isolate's own totals first, so the answer is current here; other isolates' come from their last report.
  await registry(c.env).reportTotals(isolateId(), isolateTotals()).catch(() => undefined);
  // One registry RPC for every route's counters and the error budgets of the routes with an SLO (good/bad counts
  // summed over their shards), whatever their number: its summary, refreshed at most once per SUMMARY_MAX_AGE_MS.
  const teams = teamBudgetsForMetrics(c.env, Date.now());
  const summary = await registry(c.env).summary({ maxAgeMs: summaryMaxAge(c), metrics: true, budgets: { envConfig: c.get('service').slaText } });
  const metrics = summary.metrics ?? { routes: [], droppedRecords: 0, droppedSamples: 0 };
  const snapshot: MetricsSnapshot = { ...metrics, telemetry: summary.counters };
  const text =
    renderPrometheus(snapshot, { droppedLocal: flushStats.droppedUnreported }) + renderSloMetrics(summary.budgets ?? []) + renderBudgetMetrics(summary.counters, await teams);
  return c.body(text, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
});

/** `SUMMARY_MAX_AGE_MS` (its default when the config is invalid: /metrics still answers). */
export function summaryMaxAge(c: Context<AppEnv>): number {
  const result = c.get('configResult');
  return result.ok ? result.config.summaryMaxAgeMs : 60_000;
}

export function validWindow(w: string): void {
  try {
    parseWindow(w);
  } catch (e) {
    throw new GatewayError(400, 'invalid_request', (e as Error).message);
  }
}
