import { Hono, type Context } from 'hono';
import { mergeOpenSlo, type RuntimeSla, type SlaConfigResult } from '../../config/in-force';
import { parseOpenSlo } from '../../core/sla/openslo';
import { budgetReport, type BudgetReport } from '../../core/budget/report';
import { registry, routeStub, teamBudgets } from '../../core/objects';
import { parseSlaConfig, parseWindow, type SlaConfig } from '../../core/sla/config';
import { prometheusRules } from '../../core/sla/prometheus-rules';
import { renderRouteHtml, renderSlaHtml } from '../../report/html';
import { renderRouteMarkdown, renderSlaMarkdown } from '../../report/markdown';
import { renderPrometheus } from '../../report/prometheus';
import { renderBudgetMetrics } from '../../report/prometheus-budgets';
import { renderSloMetrics } from '../../report/prometheus-slo';
import { requireToken } from '../auth';
import type { AppEnv } from '../context';
import { GatewayError } from '../errors';
import type { Isolate } from '../isolate';

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

/**
 * The SLA config in force as this isolate sees it, its copy of the runtime config just refreshed from the registry's
 * answer (`runtime`), or a 500 listing the problems. The registry judges every report by the same config (its
 * vars are the deployment's, as this isolate's are); an invalid `SLA_CONFIG` var is caught here first.
 */
function inForce(isolate: Isolate, runtime: RuntimeSla): SlaConfig {
  isolate.config.setOverride(runtime, Date.now());
  return checked(isolate.config.sla()).config;
}

function checked(cfg: SlaConfigResult): SlaConfigResult & { ok: true } {
  if (!cfg.ok) throw invalid(cfg.problems);
  return cfg;
}

const invalid = (problems: readonly string[]) => new GatewayError(500, 'invalid_config', `SLA config is invalid: ${problems.join('; ')}`);

/** `/sla*` and `/metrics`: answered from the Durable Objects. */
export const slaRoutes = new Hono<AppEnv>();
const read = requireToken('read');
const admin = requireToken('admin');

slaRoutes.get('/sla', read, async (c) => {
  // One registry RPC: the report comes from its summary, refreshed at most once per SUMMARY_MAX_AGE_MS.
  const asked = c.req.query('window');
  if (asked !== undefined) validWindow(asked);
  const summary = await registry(c.env).summary({ maxAgeMs: summaryMaxAge(c), sla: { window: asked ?? null } });
  inForce(c.get('isolate'), summary.configOverride);
  if (summary.configProblems) throw invalid(summary.configProblems);
  const report = summary.sla;
  if (!report) throw new GatewayError(500, 'internal_error', 'The registry returned no report.');
  const format = formatOf(c);
  if (format === 'md') return c.body(renderSlaMarkdown(report), 200, { 'content-type': 'text/markdown; charset=utf-8' });
  if (format === 'html') return c.html(renderSlaHtml(report));
  return c.json(report);
});

/**
 * The SLA config in force and where it comes from (`openslo`: where the OpenSLO documents merged into it come
 * from, absent when none), or the gateway's one error shape (500) listing the problems.
 */
function configAnswer(isolate: Isolate, runtime: RuntimeSla): { source: string; openslo?: string; config: SlaConfig } {
  isolate.config.setOverride(runtime, Date.now());
  const cfg = checked(isolate.config.sla());
  return { source: cfg.source, ...(cfg.openslo ? { openslo: cfg.openslo } : {}), config: cfg.config };
}

slaRoutes.get('/sla/config', read, async (c) => c.json(configAnswer(c.get('isolate'), await registry(c.env).configOverride())));

slaRoutes.put('/sla/config', admin, async (c) => {
  const text = await c.req.text();
  const parsed = parseSlaConfig(text);
  if (!parsed.ok) throw new GatewayError(400, 'invalid_request', `SLA config is invalid: ${parsed.problems.join('; ')}`);
  const reg = registry(c.env);
  const isolate = c.get('isolate');
  const current = await reg.configOverride();
  isolate.config.setOverride(current, Date.now());
  // The OpenSLO documents in force are written into it: a config that conflicts with them is refused here.
  const docs = isolate.config.openSlo();
  const merged = docs === null ? null : mergeOpenSlo({ ok: true, config: parsed.config, source: 'runtime' }, docs.text, docs.source);
  if (merged && !merged.ok) throw new GatewayError(400, 'invalid_request', `SLA config is invalid with the OpenSLO documents in force: ${merged.problems.join('; ')}`);
  await reg.setConfig(text);
  return c.json(configAnswer(isolate, { ...current, config: text }));
});

slaRoutes.delete('/sla/config', admin, async (c) => {
  const reg = registry(c.env);
  await reg.setConfig(null);
  return c.json(configAnswer(c.get('isolate'), await reg.configOverride()));
});

/** The OpenSLO documents in force (runtime, else the `OPENSLO` var), and the route `slo` blocks they make. */
slaRoutes.get('/sla/openslo', read, async (c) => {
  const isolate = c.get('isolate');
  isolate.config.setOverride(await registry(c.env).configOverride(), Date.now());
  const docs = isolate.config.openSlo();
  if (docs === null) return c.json({ source: null, slos: [], documents: null });
  const parsed = parseOpenSlo(docs.text, docs.source === 'env' ? 'OPENSLO' : 'OpenSLO (PUT /sla/openslo)');
  if (!parsed.ok) throw invalid(parsed.problems);
  return c.json({ source: docs.source, slos: parsed.slos, documents: docs.text });
});

/**
 * OpenSLO v1 SLO documents (YAML, `---` between them) as route `slo` blocks, replacing any set before: validated
 * alone and merged into the SLA config in force (400 with every problem, each with its field's path, otherwise).
 */
slaRoutes.put('/sla/openslo', admin, async (c) => {
  // Read as bytes: workerd warns on .text() of an application/yaml body.
  const text = new TextDecoder().decode(await c.req.arrayBuffer());
  const reg = registry(c.env);
  const isolate = c.get('isolate');
  const current = await reg.configOverride();
  isolate.config.setOverride(current, Date.now());
  const parsed = parseOpenSlo(text, 'body');
  if (!parsed.ok) throw new GatewayError(400, 'invalid_request', `OpenSLO is invalid: ${parsed.problems.join('; ')}`);
  // Written into the JSON config in force: an SLO set in both places is refused.
  const merged = mergeOpenSlo(isolate.config.jsonSla(), text, 'runtime');
  if (!merged.ok) throw new GatewayError(400, 'invalid_request', `OpenSLO is invalid with the SLA config in force: ${merged.problems.join('; ')}`);
  await reg.setOpenSlo(text);
  isolate.config.setOverride({ ...current, openslo: text }, Date.now());
  return c.json({ source: 'runtime', slos: parsed.slos, config: merged.config });
});

slaRoutes.delete('/sla/openslo', admin, async (c) => {
  const reg = registry(c.env);
  await reg.setOpenSlo(null);
  return c.json(configAnswer(c.get('isolate'), await reg.configOverride()));
});

/** The Prometheus rule file for the SLOs in force (recording rules and burn-rate alerts): src/core/sla/prometheus-rules.ts. */
slaRoutes.get('/sla/rules', read, async (c) => {
  const config = inForce(c.get('isolate'), await registry(c.env).configOverride());
  // Links in the annotations: PUBLIC_URL, else the URL this request came to.
  const baseUrl = c.get('service').publicUrl ?? new URL(c.req.url).origin;
  const text = prometheusRules(config, { baseUrl, generatedAt: new Date().toISOString() });
  return c.body(text, 200, { 'content-type': 'application/yaml; charset=utf-8' });
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
  const asked = c.req.query('window');
  if (asked !== undefined) validWindow(asked);
  const reg = registry(c.env);
  const [answer, runtime] = await Promise.all([reg.routeDetail(route, asked ?? null), reg.configOverride()]);
  inForce(c.get('isolate'), runtime);
  if ('configProblems' in answer) throw invalid(answer.configProblems);
  if ('unknown' in answer) throw new GatewayError(404, 'not_found', `No calls recorded for route ${JSON.stringify(route)}.`);
  const format = formatOf(c);
  if (format === 'md') return c.body(renderRouteMarkdown(answer.detail), 200, { 'content-type': 'text/markdown; charset=utf-8' });
  if (format === 'html') return c.html(renderRouteHtml(answer.detail));
  return c.json(answer.detail);
});

slaRoutes.get('/metrics', read, async (c) => {
  const isolate = c.get('isolate');
  // This isolate's own totals first, so the answer is current here; other isolates' come from their last report.
  await isolate.reportCountsNow();
  // One registry RPC for every route's counters and the error budgets of the routes with an SLO, whatever their
  // number: its summary, refreshed at most once per SUMMARY_MAX_AGE_MS.
  const teams = teamBudgetsForMetrics(c.env, c.get('configResult'), Date.now());
  const summary = await registry(c.env).summary({ maxAgeMs: summaryMaxAge(c), metrics: true, budgets: true });
  const metrics = summary.metrics ?? { routes: [], droppedRecords: 0, droppedSamples: 0, series: { exported: 0, bytes: 0, budget: 0, refused: 0 } };
  const text =
    renderPrometheus(metrics, summary.counters, { droppedLocal: isolate.droppedUnreported() }) + renderSloMetrics(summary.budgets ?? []) + renderBudgetMetrics(summary.counters, await teams);
  return c.body(text, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
});

/** The budget report for /metrics: null when budgets are off or the store does not answer (counted there as such). */
async function teamBudgetsForMetrics(env: Env, result: AppEnv['Variables']['configResult'], now: number): Promise<BudgetReport | null> {
  if (!result.ok || result.config.budgets === null) return null;
  try {
    return budgetReport(await teamBudgets(env).view(now), result.config.budgets, now);
  } catch {
    return null;
  }
}

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
