import { dump } from 'js-yaml';
import { matchRoute, targetsFor, type SlaConfig } from './config';
import { BURN_ALERTS, BURN_WINDOWS, resolveSlo, type BurnAlert, type BurnWindow, type ResolvedSlo } from './slo';

/**
 * A Prometheus rule file for the SLOs in force, in the shape Sloth and Pyrra generate: per SLO, recording rules of
 * the error ratio over each burn window, from `llm_sla_slo_calls_total` (the calls the gateway judged), and the SRE
 * workbook's multi-window, multi-burn-rate alerts for the pairs the SLO asks for. Routes are selected by the same
 * rule the gateway uses (the most specific route block, merged over `default`), written as label matchers, so a new
 * route under a glob is covered without generating the rules again. Pure: `GET /sla/rules` and `llm-sla rules`.
 */

export const RULE_METRIC = 'llm_sla_slo_calls_total';
export const ALERT_NAME = 'LlmSlaErrorBudgetBurn';
/** The recording rule of a window: `route:llm_sla_slo_errors:ratio_rate5m`. */
export const ratioRecord = (w: BurnWindow) => `route:llm_sla_slo_errors:ratio_rate${w}`;

/** One label selector of `route`: the routes it includes (an exact key, a regex, or null: all) less the ones it excludes. */
interface RouteSelector {
  exact?: string;
  match: string | null;
  exclude: string[];
}

/** An SLO and the routes it applies to. */
export interface RuleSlo {
  /** The route block it comes from (`default` for the default block). */
  block: string;
  slo: ResolvedSlo;
  selectors: RouteSelector[];
}

/** RE2 (Prometheus' regexes, anchored) of a route pattern: `*` is any run of characters, the rest literal. */
export function patternRegex(pattern: string): string {
  return pattern
    .split('*')
    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
}

/** The order in which route blocks claim a route (`matchRoute`): exact keys, then globs, longest first. */
function precedence(keys: string[]): string[] {
  const stars = (p: string) => p.split('*').length - 1;
  const exact = keys.filter((k) => !k.includes('*')).sort();
  const globs = keys.filter((k) => k.includes('*')).sort((a, b) => b.length - a.length || stars(a) - stars(b) || (a < b ? -1 : 1));
  return [...exact, ...globs];
}

/** The SLOs in force and the routes of each, exactly as `targetsFor` assigns them. */
export function rulesSlos(config: SlaConfig): RuleSlo[] {
  const blocks = config.routes ?? {};
  const order = precedence(Object.keys(blocks));
  const earlier = (i: number) => {
    const key = order[i] as string;
    // An exact key is claimed by nothing before it; a glob by every exact key it matches and every glob before it.
    if (!key.includes('*')) return [];
    return order.slice(0, i).filter((k) => k.includes('*') || matchRoute({ routes: { [key]: {} } }, k) === key);
  };
  const selectorOf = (i: number): RouteSelector => {
    const key = order[i] as string;
    if (!key.includes('*')) return { exact: key, match: null, exclude: [] };
    return { match: patternRegex(key), exclude: earlier(i).map(patternRegex) };
  };
  const out: RuleSlo[] = [];
  const withoutOwn: RouteSelector[] = [];
  order.forEach((key, i) => {
    const own = blocks[key]?.slo;
    if (own === undefined) {
      withoutOwn.push(selectorOf(i));
      return;
    }
    // Which calls are good was decided by the gateway when it judged them: the rules only need the objective.
    const slo = resolveSlo(own, false);
    if (slo) out.push({ block: key, slo, selectors: [selectorOf(i)] });
  });
  const fallback = config.default?.slo;
  if (fallback !== undefined) {
    const slo = resolveSlo(fallback, false);
    // The default's SLO applies to routes claimed by a block without one, and to routes no block claims.
    const none: RouteSelector = { match: null, exclude: order.map(patternRegex) };
    if (slo) out.push({ block: 'default', slo, selectors: [...withoutOwn, none] });
  }
  return out;
}

/** The `slo` label of a route's SLO: its name, else the route block it comes from (`default` for the default block). */
export function sloLabel(config: SlaConfig, route: string, slo: Pick<ResolvedSlo, 'name'>): string {
  if (slo.name !== null) return slo.name;
  const matched = targetsFor(config, route).matched;
  return matched !== null && config.routes?.[matched]?.slo !== undefined ? matched : 'default';
}

/** The labels of a burn-rate alert, the same in the rules and in the gateway's own alerts (Alertmanager). */
export function burnAlertLabels(name: string, slo: Pick<ResolvedSlo, 'objective' | 'labels'>, pair: BurnAlert): Record<string, string> {
  return { ...slo.labels, slo: name, objective: num(slo.objective), burn: pair.name, severity: pair.severity, long: pair.long, short: pair.short, factor: num(pair.factor) };
}

const str = (s: string) => JSON.stringify(s);
const num = (x: number) => String(Number(x.toPrecision(12)));

function matchers(sel: RouteSelector, extra: string): string {
  const parts = [extra];
  if (sel.exact !== undefined) parts.push(`route=${str(sel.exact)}`);
  if (sel.match !== null) parts.push(`route=~${str(sel.match)}`);
  if (sel.exclude.length > 0) parts.push(`route!~${str(sel.exclude.join('|'))}`);
  return `{${parts.filter(Boolean).join(',')}}`;
}

/** The error ratio over `window` of the routes a selector takes, per route. */
function ratioExpr(selectors: readonly RouteSelector[], window: BurnWindow): string {
  return selectors
    .map((sel) => {
      const bad = `sum by (route) (rate(${RULE_METRIC}${matchers(sel, 'good="false"')}[${window}]))`;
      const all = `sum by (route) (rate(${RULE_METRIC}${matchers(sel, '')}[${window}]))`;
      return `(${bad} / ${all})`;
    })
    .join(' or ');
}

export interface RulesOptions {
  /** The gateway's URL, for links in the annotations (`<url>/sla/<route>`). */
  baseUrl?: string | null;
}

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The rule groups, one per SLO: recording rules for every burn window, then one alert per pair it asks for. */
export function ruleGroups(config: SlaConfig, options: RulesOptions = {}): { name: string; rules: Rule[] }[] {
  return rulesSlos(config).map(({ block, slo, selectors }) => {
    const name = slo.name ?? block;
    const allowed = Number((1 - slo.objective).toPrecision(12));
    const rules: Rule[] = BURN_WINDOWS.map((w) => ({ record: ratioRecord(w), expr: ratioExpr(selectors, w), labels: { slo: name } }));
    for (const pair of BURN_ALERTS) {
      if (!slo.alerts.includes(pair.name)) continue;
      const burn = (w: BurnWindow) => `${ratioRecord(w)}{slo=${str(name)}} / ${num(allowed)} > ${num(pair.factor)}`;
      const link: Record<string, string> = options.baseUrl ? { sla: `${options.baseUrl.replace(/\/$/, '')}/sla/{{ $labels.route }}` } : {};
      rules.push({
        alert: ALERT_NAME,
        expr: `(${burn(pair.long)}) and (${burn(pair.short)})`,
        labels: burnAlertLabels(name, slo, pair),
        annotations: {
          summary: `Route {{ $labels.route }} burns its error budget above ${num(pair.factor)}x over ${pair.long} and ${pair.short} (${pair.severity})`,
          description: `SLO ${name}: ${num(slo.objective * 100)}% of calls good over ${slo.period}; at ${num(pair.factor)}x the budget lasts ${budgetLasts(slo.period_hours, pair.factor)}.${slo.description ? ` ${slo.description}` : ''}`,
          ...link,
        },
      });
    }
    return { name: `llm-sla:${block}`, rules };
  });
}

function budgetLasts(periodHours: number, factor: number): string {
  const h = periodHours / factor;
  return h >= 48 ? `${num(Math.round((h / 24) * 10) / 10)} days` : `${num(Math.round(h * 10) / 10)} hours`;
}

/** The rule file as YAML, with a header saying what it is. */
export function prometheusRules(config: SlaConfig, options: RulesOptions & { generatedAt?: string } = {}): string {
  const groups = ruleGroups(config, options);
  const head = [
    '# Prometheus rules for the SLOs of llm-sla-gateway (GET /sla/rules, `npx llm-sla rules`).',
    `# Recording rules: the error ratio per route over ${BURN_WINDOWS.join(', ')}, from llm_sla_slo_calls_total.`,
    `# Alerts (${ALERT_NAME}): the SRE workbook's multi-window, multi-burn-rate pairs; labels slo, objective, burn, severity.`,
    ...(options.generatedAt ? [`# Generated ${options.generatedAt}.`] : []),
    ...(groups.length === 0 ? ['# No route has an SLO: add "slo" to a route block, or an OpenSLO document.'] : []),
  ];
  return `${head.join('\n')}\n${dump({ groups }, { lineWidth: -1, noRefs: true })}`;
}
