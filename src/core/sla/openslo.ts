import { loadAll } from 'js-yaml';
import { matchRoute, parseSlaConfig, type SlaConfig, type Targets } from './config';
import { BURN_ALERTS, parsePeriod, type BurnAlertName, type SloConfig } from './slo';

/**
 * OpenSLO v1 `SLO` documents (YAML, one or more) as another way to write a route's `slo` block. What maps onto the
 * gateway's SLO is taken; anything else is refused with the field's path, never ignored:
 * - `timeWindow`: one rolling window of whole hours, days or weeks (1h..90d) -> `period`;
 * - `budgetingMethod: Occurrences` (calls, not time slices);
 * - `objectives`: one, with `target` (or `targetPercent`) -> `objective`;
 * - the indicator, inline: a `ratioMetric` whose good (or bad) and total sources are this gateway's judged calls of
 *   one route (`metricSource.type: llm-sla-gateway`, `spec.route`; thresholds `latency_ms`, `ttft_ms` on the good
 *   or bad source), or a `thresholdMetric` on `latency_ms` or `ttft_ms` with the objective's `op: lte` and `value`;
 * - `alertPolicies`, inline, with `burnrate` conditions that are the SRE workbook's pairs -> `alerts`;
 * - `metadata.name` -> `name`, `metadata.labels` and `spec.service` -> `labels`, `displayName`s and `description`
 *   -> `description`.
 */

export const METRIC_SOURCE_TYPE = 'llm-sla-gateway';

/** One SLO document, as a route pattern and its `slo` block. */
export interface OpenSloEntry {
  /** Where it came from, for messages: `document 2 (rag-availability)`. */
  source: string;
  route: string;
  slo: SloConfig;
}

export type OpenSloResult = { ok: true; slos: OpenSloEntry[] } | { ok: false; problems: string[] };

type Json = Record<string, unknown>;

const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);
const ROUTE = /^[\w.:/*-]{1,128}$/;
const NAME = /^[\w.:/*-]{1,128}$/;

/** A walk over one document that collects problems with the path of the field they are about. */
class Walk {
  readonly problems: string[] = [];
  constructor(private readonly prefix: string) {}

  problem(path: string, message: string): void {
    this.problems.push(`${this.prefix}${path}: ${message}`);
  }

  /** An object at `path` whose keys are among `known` (each other key is a problem); null when not an object. */
  object(value: unknown, path: string, known: Record<string, string | true>): Json | null {
    if (!isObject(value)) {
      this.problem(path, 'must be a mapping');
      return null;
    }
    for (const key of Object.keys(value)) {
      const why = known[key];
      if (why === undefined) this.problem(`${path}.${key}`, 'is not an OpenSLO v1 field here');
      else if (why !== true) this.problem(`${path}.${key}`, `is not supported: ${why}`);
    }
    return value;
  }

  string(value: unknown, path: string): string | null {
    if (typeof value === 'string' && value !== '') return value;
    this.problem(path, 'must be a non-empty string');
    return null;
  }

  optionalString(value: unknown, path: string): string | undefined {
    return value === undefined ? undefined : (this.string(value, path) ?? undefined);
  }
}

/** Parses OpenSLO text (YAML, `---`-separated documents). `origin` names it in messages (`OPENSLO`, `body`). */
export function parseOpenSlo(text: string, origin: string): OpenSloResult {
  let list: unknown[];
  try {
    // JSON schema-like core: no custom tags, duplicate keys refused.
    list = loadAll(text);
  } catch (e) {
    return { ok: false, problems: [`${origin}: YAML: ${(e as Error).message.split('\n')[0]}`] };
  }
  const problems: string[] = [];
  const slos: OpenSloEntry[] = [];
  let n = 0;
  for (const value of list) {
    if (value === null || value === undefined) continue; // an empty document (a trailing ---)
    n++;
    const name = isObject(value) && isObject(value['metadata']) && typeof value['metadata']['name'] === 'string' ? ` (${value['metadata']['name']})` : '';
    const walk = new Walk(`${origin} document ${n}${name}: `);
    const entry = readSlo(value, walk);
    problems.push(...walk.problems);
    if (entry && walk.problems.length === 0) slos.push({ ...entry, source: `${origin} document ${n}${name}` });
  }
  if (problems.length === 0 && slos.length === 0) problems.push(`${origin}: no OpenSLO document`);
  const seen = new Map<string, string>();
  for (const s of slos) {
    const other = seen.get(s.route);
    if (other) problems.push(`${s.source}: route ${JSON.stringify(s.route)} already has an SLO from ${other}: one SLO per route (a ratioMetric can judge latency and TTFT together)`);
    seen.set(s.route, s.source);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, slos };
}

function readSlo(value: unknown, w: Walk): Omit<OpenSloEntry, 'source'> | null {
  const doc = w.object(value, '(document)', { apiVersion: true, kind: true, metadata: true, spec: true });
  if (!doc) return null;
  if (doc['apiVersion'] !== 'openslo/v1') w.problem('apiVersion', `must be openslo/v1, got ${JSON.stringify(doc['apiVersion'])}`);
  if (doc['kind'] !== 'SLO') w.problem('kind', `only SLO documents are read, got ${JSON.stringify(doc['kind'])} (write the indicator and alert policies inline)`);
  const meta = w.object(doc['metadata'], 'metadata', { name: true, displayName: true, labels: true, annotations: 'annotations have no place in the gateway; use labels or spec.description' });
  const spec = w.object(doc['spec'], 'spec', {
    description: true,
    service: true,
    indicator: true,
    indicatorRef: 'SLI documents are not read: write the indicator inline (spec.indicator)',
    budgetingMethod: true,
    timeWindow: true,
    objectives: true,
    alertPolicies: true,
  });
  if (!meta || !spec) return null;

  const slo: SloConfig = { objective: 0.5 };
  const name = w.string(meta['name'], 'metadata.name');
  if (name !== null) {
    if (NAME.test(name)) slo.name = name;
    else w.problem('metadata.name', 'must be 1-128 chars of letters, digits, . _ : / - and *');
  }
  const labels = readLabels(meta['labels'], w);
  const service = w.optionalString(spec['service'], 'spec.service');
  if (service !== undefined) {
    if (labels['service'] !== undefined && labels['service'] !== service) w.problem('spec.service', 'differs from metadata.labels.service');
    labels['service'] = service;
  }
  if (Object.keys(labels).length > 0) slo.labels = labels;
  const description = [w.optionalString(meta['displayName'], 'metadata.displayName'), w.optionalString(spec['description'], 'spec.description')].filter(Boolean).join(': ');
  if (description) slo.description = description;

  if (spec['budgetingMethod'] !== 'Occurrences') {
    w.problem('spec.budgetingMethod', `only Occurrences (good calls / all calls) is supported, got ${JSON.stringify(spec['budgetingMethod'])}`);
  }
  const period = readTimeWindow(spec['timeWindow'], w);
  if (period) slo.period = period;

  const objective = readObjective(spec['objectives'], w);
  if (objective) slo.objective = objective.target;
  const indicator = readIndicator(spec['indicator'], objective, w);
  if (indicator?.latency_ms !== undefined) slo.latency_ms = indicator.latency_ms;
  if (indicator?.ttft_ms !== undefined) slo.ttft_ms = indicator.ttft_ms;
  slo.alerts = readAlertPolicies(spec['alertPolicies'], w);
  return indicator ? { route: indicator.route, slo } : null;
}

function readLabels(value: unknown, w: Walk): Record<string, string> {
  if (value === undefined) return {};
  const out: Record<string, string> = {};
  if (!isObject(value)) {
    w.problem('metadata.labels', 'must be a mapping of label names to strings');
    return out;
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string') out[k] = v;
    else w.problem(`metadata.labels.${k}`, 'must be a string (lists of values are not supported)');
  }
  return out;
}

const WINDOW_UNIT_HOURS: Record<string, number> = { h: 1, d: 24, w: 168 };

function readTimeWindow(value: unknown, w: Walk): string | null {
  if (!Array.isArray(value) || value.length !== 1) {
    w.problem('spec.timeWindow', 'must be a list of exactly one rolling window');
    return null;
  }
  const tw = w.object(value[0], 'spec.timeWindow[0]', { duration: true, isRolling: true, calendar: 'calendar windows are not supported: the gateway keeps a rolling period' });
  if (!tw) return null;
  if (tw['isRolling'] !== true) w.problem('spec.timeWindow[0].isRolling', 'must be true: only rolling windows are supported');
  const d = typeof tw['duration'] === 'string' ? /^(\d{1,4})([a-zA-Z])$/.exec(tw['duration']) : null;
  const unit = d ? WINDOW_UNIT_HOURS[d[2] as string] : undefined;
  if (!d || unit === undefined) {
    w.problem('spec.timeWindow[0].duration', `must be whole hours, days or weeks (e.g. 28d, 4w, 12h), got ${JSON.stringify(tw['duration'])}`);
    return null;
  }
  const hours = Number(d[1]) * unit;
  const period = hours % 24 === 0 ? `${hours / 24}d` : `${hours}h`;
  try {
    parsePeriod(period);
  } catch (e) {
    w.problem('spec.timeWindow[0].duration', (e as Error).message);
    return null;
  }
  return period;
}

interface Objective {
  target: number;
  op?: unknown;
  value?: unknown;
}

function readObjective(value: unknown, w: Walk): Objective | null {
  if (!Array.isArray(value) || value.length === 0) {
    w.problem('spec.objectives', 'must be a list of one objective');
    return null;
  }
  if (value.length > 1) w.problem('spec.objectives[1]', 'one objective per SLO: the gateway judges each call against one set of thresholds');
  const o = w.object(value[0], 'spec.objectives[0]', {
    displayName: true,
    target: true,
    targetPercent: true,
    op: true,
    value: true,
    timeSliceTarget: 'time slices are not supported (budgetingMethod Occurrences)',
    timeSliceWindow: 'time slices are not supported (budgetingMethod Occurrences)',
    indicator: 'write the indicator in spec.indicator',
    indicatorRef: 'write the indicator in spec.indicator',
    compositeWeight: 'composite SLOs are not supported',
  });
  if (!o) return null;
  let target: number | null = null;
  if (o['target'] !== undefined && o['targetPercent'] !== undefined) w.problem('spec.objectives[0]', 'give target or targetPercent, not both');
  else if (typeof o['target'] === 'number') target = o['target'];
  else if (typeof o['targetPercent'] === 'number') target = o['targetPercent'] / 100;
  else w.problem('spec.objectives[0].target', 'required: the fraction of calls that must be good, e.g. 0.99');
  if (target !== null && !(target > 0 && target < 1)) {
    w.problem(`spec.objectives[0].${o['target'] !== undefined ? 'target' : 'targetPercent'}`, 'must be strictly between 0 and 1 (0 and 100 for targetPercent)');
    target = null;
  }
  return target === null ? null : { target: Number(target.toPrecision(12)), op: o['op'], value: o['value'] };
}

interface Indicator {
  route: string;
  latency_ms?: number;
  ttft_ms?: number;
}

function readIndicator(value: unknown, objective: Objective | null, w: Walk): Indicator | null {
  if (value === undefined) {
    w.problem('spec.indicator', 'required: a ratioMetric or thresholdMetric over this gateway\'s calls');
    return null;
  }
  const ind = w.object(value, 'spec.indicator', { metadata: true, spec: true });
  if (!ind) return null;
  if (ind['metadata'] !== undefined) w.object(ind['metadata'], 'spec.indicator.metadata', { name: true, displayName: true });
  const spec = w.object(ind['spec'], 'spec.indicator.spec', { ratioMetric: true, thresholdMetric: true, description: true });
  if (!spec) return null;
  const hasRatio = spec['ratioMetric'] !== undefined;
  const hasThreshold = spec['thresholdMetric'] !== undefined;
  if (hasRatio === hasThreshold) {
    w.problem('spec.indicator.spec', 'must hold one of ratioMetric and thresholdMetric');
    return null;
  }
  if (hasRatio) {
    if (objective && (objective.op !== undefined || objective.value !== undefined)) w.problem('spec.objectives[0]', 'op and value belong to a thresholdMetric');
    return readRatio(spec['ratioMetric'], w);
  }
  return readThreshold(spec['thresholdMetric'], objective, w);
}

/** A metric source naming this gateway's calls of one route; the keys of its spec beside `route` as allowed. */
function readSource(value: unknown, path: string, allowed: Record<string, true>, w: Walk): Json | null {
  const holder = w.object(value, path, { metricSource: true });
  if (!holder) return null;
  const src = w.object(holder['metricSource'], `${path}.metricSource`, {
    type: true,
    spec: true,
    metricSourceRef: 'DataSource documents are not read: name the type inline',
  });
  if (!src) return null;
  if (src['type'] !== METRIC_SOURCE_TYPE) {
    w.problem(`${path}.metricSource.type`, `must be ${METRIC_SOURCE_TYPE} (the calls this gateway judged), got ${JSON.stringify(src['type'])}`);
  }
  const spec = w.object(src['spec'], `${path}.metricSource.spec`, { route: true, ...allowed });
  if (!spec) return null;
  const route = w.string(spec['route'], `${path}.metricSource.spec.route`);
  if (route !== null && !ROUTE.test(route)) w.problem(`${path}.metricSource.spec.route`, 'must be a route key or glob: 1-128 chars of letters, digits, . _ : / - and *');
  return spec;
}

function positiveMs(value: unknown, path: string, w: Walk): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  w.problem(path, 'must be a positive number of milliseconds');
  return undefined;
}

function readRatio(value: unknown, w: Walk): Indicator | null {
  const p = 'spec.indicator.spec.ratioMetric';
  const r = w.object(value, p, {
    counter: true,
    good: true,
    bad: true,
    total: true,
    rawType: 'raw ratios are not supported: name the good (or bad) and total calls',
    raw: 'raw ratios are not supported: name the good (or bad) and total calls',
  });
  if (!r) return null;
  if (r['counter'] !== undefined && r['counter'] !== true) w.problem(`${p}.counter`, 'must be true: the gateway counts calls');
  const which = r['good'] !== undefined ? 'good' : 'bad';
  if ((r['good'] !== undefined) === (r['bad'] !== undefined)) {
    w.problem(p, 'must name good or bad calls (one of them), and total');
    return null;
  }
  if (r['total'] === undefined) {
    w.problem(`${p}.total`, 'required: all the calls of the route');
    return null;
  }
  const events = readSource(r[which], `${p}.${which}`, { latency_ms: true, ttft_ms: true }, w);
  const total = readSource(r['total'], `${p}.total`, {}, w);
  if (!events || !total) return null;
  if (typeof events['route'] !== 'string' || typeof total['route'] !== 'string') return null;
  if (events['route'] !== total['route']) {
    w.problem(`${p}.total.metricSource.spec.route`, `must be the route of ${which} (${JSON.stringify(events['route'])})`);
    return null;
  }
  const out: Indicator = { route: events['route'] };
  const latency = positiveMs(events['latency_ms'], `${p}.${which}.metricSource.spec.latency_ms`, w);
  const ttft = positiveMs(events['ttft_ms'], `${p}.${which}.metricSource.spec.ttft_ms`, w);
  if (latency !== undefined) out.latency_ms = latency;
  if (ttft !== undefined) out.ttft_ms = ttft;
  return out;
}

function readThreshold(value: unknown, objective: Objective | null, w: Walk): Indicator | null {
  const p = 'spec.indicator.spec.thresholdMetric';
  const spec = readSource(value, p, { metric: true }, w);
  if (!spec || typeof spec['route'] !== 'string') return null;
  const metric = spec['metric'];
  if (metric !== 'latency_ms' && metric !== 'ttft_ms') {
    w.problem(`${p}.metricSource.spec.metric`, `must be latency_ms or ttft_ms, got ${JSON.stringify(metric)}`);
    return null;
  }
  if (!objective) return null;
  if (objective.op !== 'lte') w.problem('spec.objectives[0].op', `must be lte: a call is good when its ${metric === 'latency_ms' ? 'latency' : 'time to first token'} is at most the value, got ${JSON.stringify(objective.op)}`);
  const ms = positiveMs(objective.value, 'spec.objectives[0].value', w);
  if (objective.value === undefined) w.problem('spec.objectives[0].value', 'required: the threshold in milliseconds');
  return ms === undefined ? null : { route: spec['route'], [metric]: ms };
}

const PAIRS = BURN_ALERTS.map((a) => `${a.factor}x over ${a.long} (${a.severity}, short window ${a.short})`).join('; ');

function readAlertPolicies(value: unknown, w: Walk): BurnAlertName[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    w.problem('spec.alertPolicies', 'must be a list of alert policies');
    return [];
  }
  const out = new Set<BurnAlertName>();
  value.forEach((policy, i) => {
    const p = `spec.alertPolicies[${i}]`;
    const ap = w.object(policy, p, { kind: true, metadata: true, spec: true, alertPolicyRef: 'AlertPolicy documents are not read: write the policy inline' });
    if (!ap) return;
    if (ap['alertPolicyRef'] !== undefined) return;
    if (ap['kind'] !== 'AlertPolicy') w.problem(`${p}.kind`, `must be AlertPolicy, got ${JSON.stringify(ap['kind'])}`);
    if (ap['metadata'] !== undefined) w.object(ap['metadata'], `${p}.metadata`, { name: true, displayName: true });
    const spec = w.object(ap['spec'], `${p}.spec`, {
      description: true,
      alertWhenBreaching: true,
      alertWhenResolved: true,
      alertWhenNoData: true,
      conditions: true,
      notificationTargets: 'notification targets are not read: route the alerts with ALERT_WEBHOOK_URL or Alertmanager',
    });
    if (!spec) return;
    if (spec['alertWhenBreaching'] !== undefined && spec['alertWhenBreaching'] !== true) w.problem(`${p}.spec.alertWhenBreaching`, 'must be true: a burn-rate alert fires on breach');
    if (spec['alertWhenResolved'] !== undefined && spec['alertWhenResolved'] !== true) w.problem(`${p}.spec.alertWhenResolved`, 'must be true: the gateway always sends the resolve');
    if (spec['alertWhenNoData'] !== undefined && spec['alertWhenNoData'] !== false) w.problem(`${p}.spec.alertWhenNoData`, 'must be false: a window without calls does not alert');
    const conditions = spec['conditions'];
    if (!Array.isArray(conditions) || conditions.length === 0) {
      w.problem(`${p}.spec.conditions`, 'must be a list of burnrate conditions');
      return;
    }
    conditions.forEach((c, j) => {
      const name = readCondition(c, `${p}.spec.conditions[${j}]`, w);
      if (name) out.add(name);
    });
  });
  return BURN_ALERTS.map((a) => a.name).filter((n) => out.has(n));
}

function readCondition(value: unknown, p: string, w: Walk): BurnAlertName | null {
  const c = w.object(value, p, { kind: true, metadata: true, spec: true, conditionRef: 'AlertCondition documents are not read: write the condition inline' });
  if (!c || c['conditionRef'] !== undefined) return null;
  if (c['kind'] !== 'AlertCondition') w.problem(`${p}.kind`, `must be AlertCondition, got ${JSON.stringify(c['kind'])}`);
  if (c['metadata'] !== undefined) w.object(c['metadata'], `${p}.metadata`, { name: true, displayName: true });
  const spec = w.object(c['spec'], `${p}.spec`, { severity: true, condition: true, description: true });
  if (!spec) return null;
  const cond = w.object(spec['condition'], `${p}.spec.condition`, { kind: true, op: true, threshold: true, lookbackWindow: true, alertAfter: true });
  if (!cond) return null;
  if (cond['kind'] !== 'burnrate') w.problem(`${p}.spec.condition.kind`, `must be burnrate, got ${JSON.stringify(cond['kind'])}`);
  if (cond['op'] !== undefined && cond['op'] !== 'gt' && cond['op'] !== 'gte') w.problem(`${p}.spec.condition.op`, `must be gt or gte, got ${JSON.stringify(cond['op'])}`);
  const pair = BURN_ALERTS.find((a) => a.factor === cond['threshold'] && a.long === cond['lookbackWindow']);
  if (!pair) {
    w.problem(`${p}.spec.condition`, `threshold ${JSON.stringify(cond['threshold'])} over lookbackWindow ${JSON.stringify(cond['lookbackWindow'])} is not one of the gateway's multi-window pairs: ${PAIRS}`);
    return null;
  }
  if (cond['alertAfter'] !== undefined && cond['alertAfter'] !== pair.short) {
    w.problem(`${p}.spec.condition.alertAfter`, `must be ${pair.short} or absent: a ${pair.long} burn is confirmed over the pair's short window, ${pair.short}`);
  }
  if (spec['severity'] !== undefined && spec['severity'] !== pair.severity) {
    w.problem(`${p}.spec.severity`, `must be ${pair.severity} for ${pair.factor}x over ${pair.long} (the SRE workbook's severity), got ${JSON.stringify(spec['severity'])}`);
  }
  return pair.name;
}

/**
 * The SLA config with the OpenSLO SLOs written into it: each becomes the `slo` of its route pattern's block. A
 * pattern without a block of its own gets one holding the targets of the block that claimed it before (so adding
 * an SLO changes nothing else); an SLO the config already sets for the pattern is a conflict, refused.
 */
export function withOpenSlo(config: SlaConfig, slos: readonly OpenSloEntry[]): { ok: true; config: SlaConfig } | { ok: false; problems: string[] } {
  const routes: Record<string, Targets> = { ...(config.routes ?? {}) };
  const problems: string[] = [];
  for (const s of slos) {
    const own = config.routes?.[s.route];
    if (own?.slo !== undefined) {
      problems.push(`${s.source}: route ${JSON.stringify(s.route)} already has an slo in the SLA config: write it in one place`);
      continue;
    }
    const claimed = own === undefined ? matchRoute(config, s.route) : s.route;
    const { slo: _inherited, ...base } = claimed === null ? {} : (config.routes?.[claimed] ?? {});
    routes[s.route] = { ...base, slo: s.slo };
  }
  if (problems.length > 0) return { ok: false, problems };
  const merged = parseSlaConfig(JSON.stringify({ ...config, routes }));
  return merged.ok ? { ok: true, config: merged.config } : { ok: false, problems: merged.problems.map((p) => `OpenSLO merged into the SLA config: ${p}`) };
}
