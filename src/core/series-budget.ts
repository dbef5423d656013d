import {
  DEFAULT_BOUNDS,
  DURATION_BUCKETS_S,
  emptyHistogram,
  emptyOutcomes,
  OVERHEAD_BUCKETS_S,
  TTFT_BUCKETS_S,
  type ExposedRoute,
  type MetricsExposition,
  type MetricsSnapshot,
  type ModelCounters,
  type ResilienceCounts,
} from './metrics';
import { OUTCOMES } from './sla/sample';

/**
 * The series budget of /metrics, and the zero start of its counters. Pure: the registry keeps the ledger (which
 * groups of series it has exported) and calls `planExposition` at each refresh of its summary.
 *
 * A route's series come in groups: `calls` (`llm_sla_requests_total`, one series per outcome), `slo`
 * (`llm_sla_slo_calls_total{good}`, routes with an SLO), `duration` and `ttft` (a histogram each, per route: a
 * Prometheus user's SLOs, burn rates and latency quantiles are per route, and a model label would multiply these by
 * up to 51; their boundaries include the route's SLO thresholds: `SLO_BOUNDS` more buckets at most), `overhead`
 * (`llm_sla_gateway_overhead_seconds`, proxied routes), and one `model:<name>` group per model (tokens and cost: where
 * the model matters, its price) for the route's first `modelsPerRoute` models, the rest under `model:other`.
 * Routes with a policy (`POLICIES`) add one `attempts:<target>` group per target (`llm_sla_attempts_total`, one
 * series per outcome), one `fallback:<from>␟<to>␟<reason>` group per move seen (`llm_sla_fallbacks_total`) and one
 * `breaker:<target>` group per target with a breaker (`llm_sla_breaker_state`, a gauge: never started at 0); routes
 * that hedge add a `hedges` group (`llm_sla_hedges_total{result}`, won and lost), and routes whose policy derives
 * first-token deadlines one `deadline:<target>` group per target (`llm_sla_first_token_timeout_ms`, a gauge).
 *
 * - **Budget**: a group is exported only once admitted, and admitted only while the bytes its series take in the
 *   exposition (`groupBytes`: their lines, labels included) stay within `budget` (`METRICS_MAX_BYTES`, about 2 MB),
 *   so long labels cost what they weigh. Admission sticks until the route leaves (reset, idle), so a series never
 *   disappears and `other` never loses a model it counted: every counter stays monotonic. Each refresh admits
 *   `calls` groups first, then `slo` (what SLO tooling reads), then durations, TTFTs, overheads and models, these
 *   last keeping room for the `calls` groups of the routes that may still come (`routeSlots`, at the longest route
 *   key).
 * - **Zero start**: a group admitted at this refresh is exported with every value 0, its counts from the next
 *   refresh on. Prometheus then sees each counter start at 0, so `increase()` and `rate()` count a route's first
 *   calls too (up to one refresh late) instead of taking its first sample as the baseline.
 *
 * Another per-route family (say `llm_sla_slo_calls_total{route,good}`) is one more group: its series and bytes
 * (`GROUP_SERIES`, `groupBytes`), the pass that admits it in `planExposition`, and its values in `ExposedRoute`;
 * the ledger then gives it the budget and the zero start like the others.
 */

/** Bucket boundaries a route's SLO adds to each of its histograms at most (`latency_ms` to one, `ttft_ms` to the other). */
export const SLO_BOUNDS = 1;

export const GROUP_SERIES = {
  calls: OUTCOMES.length,
  slo: 2,
  duration: DURATION_BUCKETS_S.length + SLO_BOUNDS + 3,
  ttft: TTFT_BUCKETS_S.length + SLO_BOUNDS + 3,
  overhead: OVERHEAD_BUCKETS_S.length + 3,
  /** Input and output tokens, cost. */
  model: 3,
  attempts: OUTCOMES.length,
  fallback: 1,
  /** closed, open. */
  breaker: 2,
  /** won, lost. */
  hedges: 2,
  deadline: 1,
} as const;

/** Separates the parts of a `fallback:` group's name (a character no target label or reason holds). */
export const FALLBACK_SEP = '\u001f';
const BREAKER_STATES = ['closed', 'open'] as const;
const HEDGE_RESULTS = ['won', 'lost'] as const;

/** `METRICS_MAX_BYTES` by default: what the routes' series may take of /metrics (the rest of it is a few KB). */
export const METRICS_MAX_BYTES_DEFAULT = 2_000_000;

/** Models with series of their own per route in /metrics; later ones go to `other`. */
export const METRICS_MODELS_PER_ROUTE = 5;
const OTHER = 'other';

export interface BudgetOptions {
  /** Export the groups admitted now at 0 (default). Off once: for the routes already exported by a version without the ledger. */
  zeroStart?: boolean;
  /** Most bytes the route groups' lines may take (`METRICS_MAX_BYTES`). */
  budget: number;
  /** Routes that may have a `calls` group in all (`MAX_ROUTES` and the overflow route): room is kept for theirs. */
  routeSlots: number;
  modelsPerRoute: number;
}

/** A group of series admitted: `route`, its group name (`calls`, `duration`, `ttft`, `model:<name>`), its series and their bytes. */
export interface AdmittedGroup {
  route: string;
  group: string;
  series: number;
  bytes: number;
}

/** Bytes of a value and a newline, at most (counters of up to 12 significant digits). */
const VALUE_BYTES = 20;
const HISTOGRAM_BOUNDS = { duration: DURATION_BUCKETS_S, ttft: TTFT_BUCKETS_S, overhead: OVERHEAD_BUCKETS_S } as const;
const HISTOGRAM_NAMES = { duration: 'llm_sla_request_duration_seconds', ttft: 'llm_sla_time_to_first_token_seconds', overhead: 'llm_sla_gateway_overhead_seconds' } as const;
/** The longest `le` an SLO threshold adds (seconds to 9 significant digits). */
const SLO_LE = '0.000000001';

/** Series of a group. */
export function groupSeries(group: string): number {
  if (group === 'calls' || group === 'slo' || group === 'duration' || group === 'ttft' || group === 'overhead' || group === 'hedges') return GROUP_SERIES[group];
  const kind = group.slice(0, group.indexOf(':'));
  return kind === 'attempts' || kind === 'fallback' || kind === 'breaker' || kind === 'deadline' ? GROUP_SERIES[kind] : GROUP_SERIES.model;
}

/**
 * Bytes the lines of a group take in the exposition at most: names, labels (route keys and models are within the
 * label charset: nothing to escape) and values.
 */
export function groupBytes(route: string, group: string): number {
  const r = route.length;
  if (group === 'calls') return OUTCOMES.reduce((n, o) => n + 'llm_sla_requests_total{route="",outcome=""} '.length + r + o.length + VALUE_BYTES, 0);
  if (group === 'slo') return ['true', 'false'].reduce((n, good) => n + 'llm_sla_slo_calls_total{route="",good=""} '.length + r + good.length + VALUE_BYTES, 0);
  if (group === 'duration' || group === 'ttft' || group === 'overhead') {
    const name = HISTOGRAM_NAMES[group];
    const les = [...HISTOGRAM_BOUNDS[group].map(String), ...(group === 'overhead' ? [] : Array.from({ length: SLO_BOUNDS }, () => SLO_LE)), '+Inf'];
    const buckets = les.reduce((n, le) => n + `${name}_bucket{route="",le=""} `.length + r + le.length + VALUE_BYTES, 0);
    return buckets + `${name}_sum{route=""} `.length + `${name}_count{route=""} `.length + 2 * (r + VALUE_BYTES);
  }
  if (group.startsWith('attempts:')) {
    const target = group.length - 'attempts:'.length;
    return OUTCOMES.reduce((n, o) => n + 'llm_sla_attempts_total{route="",target="",outcome=""} '.length + r + target + o.length + VALUE_BYTES, 0);
  }
  if (group === 'hedges') return HEDGE_RESULTS.reduce((n, res) => n + 'llm_sla_hedges_total{route="",result=""} '.length + r + res.length + VALUE_BYTES, 0);
  if (group.startsWith('deadline:')) return 'llm_sla_first_token_timeout_ms{route="",target=""} '.length + r + group.length - 'deadline:'.length + VALUE_BYTES;
  if (group.startsWith('breaker:')) {
    const target = group.length - 'breaker:'.length;
    return BREAKER_STATES.reduce((n, st) => n + 'llm_sla_breaker_state{route="",target="",state=""} '.length + r + target + st.length + VALUE_BYTES, 0);
  }
  if (group.startsWith('fallback:')) {
    // from, to and reason, without the two separators.
    const parts = group.length - 'fallback:'.length - 2;
    return 'llm_sla_fallbacks_total{route="",from="",to="",reason=""} '.length + r + parts + VALUE_BYTES;
  }
  const model = group.slice('model:'.length).length;
  const tokens = 'llm_sla_tokens_total{route="",model="",type="output"} '.length + r + model + VALUE_BYTES;
  return 2 * tokens + 'llm_sla_cost_usd_total{route="",model=""} '.length + r + model + VALUE_BYTES;
}

/** The longest route key: room kept for a route still to come is what its `calls` group takes at that length. */
const LONGEST_ROUTE = 'x'.repeat(128);

export const groupKey = (route: string, group: string) => `${route}\u0000${group}`;

/**
 * What /metrics exposes of `snapshot`, given the groups admitted before (`admitted`: key -> series); and the groups
 * admitted now (the caller records them: they are exported at 0 this time).
 */
export function planExposition(
  snapshot: MetricsSnapshot,
  admitted: ReadonlyMap<string, { series: number; bytes: number }>,
  opts: BudgetOptions,
): { exposition: MetricsExposition; admit: AdmittedGroup[] } {
  let total = 0;
  let series = 0;
  for (const g of admitted.values()) {
    total += g.bytes;
    series += g.series;
  }
  const admit: AdmittedGroup[] = [];
  const fresh = new Set<string>();
  let refused = 0;
  const has = (route: string, group: string) => admitted.has(groupKey(route, group)) || fresh.has(groupKey(route, group));
  const take = (route: string, group: string, limit: number): boolean => {
    if (has(route, group)) return true;
    const bytes = groupBytes(route, group);
    if (total + bytes > limit) {
      refused += groupSeries(group);
      return false;
    }
    total += bytes;
    series += groupSeries(group);
    fresh.add(groupKey(route, group));
    admit.push({ route, group, series: groupSeries(group), bytes });
    return true;
  };
  // Routes new to the ledger compete for room busiest first; the others keep theirs.
  const calls = (c: MetricsSnapshot['routes'][number]) => OUTCOMES.reduce((n, o) => n + c.counters.outcomes[o], 0);
  const routes = [...snapshot.routes].sort((a, b) => calls(b) - calls(a) || (a.route < b.route ? -1 : 1));

  // Routes with an SLO in force, configured exact keys not called yet among them: their SLO series from 0 too.
  const sloRoutes = new Set(snapshot.sloRoutes ?? []);
  const known = new Set(routes.map((r) => r.route));
  const uncalled = [...sloRoutes].filter((r) => !known.has(r)).sort();
  for (const r of routes) take(r.route, 'calls', opts.budget);
  const withCalls = routes.filter((r) => has(r.route, 'calls')).length;
  const limit = opts.budget - groupBytes(LONGEST_ROUTE, 'calls') * Math.max(0, opts.routeSlots - withCalls);
  for (const r of [...routes.map((x) => x.route), ...uncalled]) if (sloRoutes.has(r)) take(r, 'slo', limit);
  for (const r of routes) if (r.counters.duration.count > 0) take(r.route, 'duration', limit);
  for (const r of routes) if (r.counters.ttft.count > 0) take(r.route, 'ttft', limit);
  for (const r of routes) if ((r.extras?.overhead.count ?? 0) > 0) take(r.route, 'overhead', limit);
  // Policies: attempts per target (busiest first), the moves between targets, the breakers.
  const attemptTotals = (c: ResilienceCounts | undefined) => {
    const byTarget = new Map<string, number>();
    for (const a of c?.attempts ?? []) byTarget.set(a.target, (byTarget.get(a.target) ?? 0) + a.count);
    return [...byTarget].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([t]) => t);
  };
  for (const r of routes) for (const t of attemptTotals(r.resilience)) take(r.route, `attempts:${t}`, limit);
  for (const r of routes) for (const f of r.resilience?.fallbacks ?? []) take(r.route, fallbackGroup(f), limit);
  const breakers = new Map<string, { target: string; state: 'open' | 'closed' }[]>();
  for (const b of snapshot.breakers ?? []) {
    if (!take(b.route, `breaker:${b.target}`, limit)) continue;
    let list = breakers.get(b.route);
    if (!list) breakers.set(b.route, (list = []));
    list.push({ target: b.target, state: b.state });
  }
  for (const r of routes) if ((r.resilience?.hedges ?? []).some((h) => h.count > 0)) take(r.route, 'hedges', limit);
  for (const r of routes) for (const t of r.firstTokenTimeouts ?? []) take(r.route, `deadline:${t.target}`, limit);
  const models = new Map<string, ModelCounters[]>();
  for (const r of routes) models.set(r.route, exposedModels(r.route, r.counters.models, has, take, limit, opts.modelsPerRoute));

  const zero = (route: string, group: string) => opts.zeroStart !== false && fresh.has(groupKey(route, group));
  const out: ExposedRoute[] = [];
  // Routes known only by their breakers (the registry heard of them before any of their calls was filed).
  const breakerOnly = [...breakers.keys()].filter((r) => !known.has(r) && !sloRoutes.has(r)).sort();
  const all = [...snapshot.routes, ...[...uncalled, ...breakerOnly].map((route) => ({ route, counters: null, extras: undefined, resilience: undefined }))];
  for (const r of all.sort((a, b) => (a.route < b.route ? -1 : a.route > b.route ? 1 : 0))) {
    const c = r.counters;
    const route = r.route;
    const bounds = c?.bounds ?? DEFAULT_BOUNDS;
    const slo = r.extras?.sloEvents ?? { good: 0, bad: 0 };
    const overhead = r.extras?.overhead ?? emptyHistogram(OVERHEAD_BUCKETS_S);
    const exposed: ExposedRoute = {
      route,
      outcomes: !c || !has(route, 'calls') ? null : zero(route, 'calls') ? emptyOutcomes() : c.outcomes,
      duration: !c || !has(route, 'duration') ? null : zero(route, 'duration') ? emptyHistogram(bounds.duration) : c.duration,
      ttft: !c || !has(route, 'ttft') ? null : zero(route, 'ttft') ? emptyHistogram(bounds.ttft) : c.ttft,
      bounds,
      models: (models.get(route) ?? []).map((m) => (zero(route, `model:${m.model}`) ? { ...m, calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 } : m)),
      slo: !sloRoutes.has(route) || !has(route, 'slo') ? null : zero(route, 'slo') ? { good: 0, bad: 0 } : slo,
      overhead: !has(route, 'overhead') ? null : zero(route, 'overhead') ? emptyHistogram(OVERHEAD_BUCKETS_S) : overhead,
      attempts: exposedAttempts(route, r.resilience, has, zero),
      fallbacks: (r.resilience?.fallbacks ?? [])
        .filter((f) => has(route, fallbackGroup(f)))
        .map((f) => ({ ...f, count: zero(route, fallbackGroup(f)) ? 0 : f.count }))
        .sort((a, b) => (fallbackGroup(a) < fallbackGroup(b) ? -1 : 1)),
      breakers: (breakers.get(route) ?? []).sort((a, b) => (a.target < b.target ? -1 : 1)),
      hedges: !has(route, 'hedges') ? null : zero(route, 'hedges') ? { won: 0, lost: 0 } : hedgeCounts(r.resilience),
      firstTokenTimeouts: ('firstTokenTimeouts' in r ? (r.firstTokenTimeouts ?? []) : []).filter((t) => has(route, `deadline:${t.target}`)).sort((a, b) => (a.target < b.target ? -1 : 1)),
    };
    const any = exposed.outcomes || exposed.duration || exposed.ttft || exposed.models.length > 0 || exposed.slo || exposed.overhead;
    const policy = exposed.attempts.length > 0 || exposed.fallbacks.length > 0 || exposed.breakers.length > 0 || exposed.hedges !== null || exposed.firstTokenTimeouts.length > 0;
    if (any || policy) out.push(exposed);
  }
  return {
    exposition: { routes: out, droppedRecords: snapshot.droppedRecords, droppedSamples: snapshot.droppedSamples, series: { exported: series, bytes: total, budget: opts.budget, refused } },
    admit,
  };
}

/** A route's hedges by result. */
function hedgeCounts(c: ResilienceCounts | undefined): { won: number; lost: number } {
  const out = { won: 0, lost: 0 };
  for (const h of c?.hedges ?? []) if (h.result === 'won' || h.result === 'lost') out[h.result] += h.count;
  return out;
}

/** The group of one move between targets. */
function fallbackGroup(f: { from: string; to: string; reason: string }): string {
  return `fallback:${f.from}${FALLBACK_SEP}${f.to}${FALLBACK_SEP}${f.reason}`;
}

/** A route's attempts per target as exposed: every outcome of each target with room (at 0 when just admitted). */
function exposedAttempts(
  route: string,
  counts: ResilienceCounts | undefined,
  has: (route: string, group: string) => boolean,
  zero: (route: string, group: string) => boolean,
): ExposedRoute['attempts'] {
  const byTarget = new Map<string, ReturnType<typeof emptyOutcomes>>();
  for (const a of counts?.attempts ?? []) {
    if (!has(route, `attempts:${a.target}`)) continue;
    let outcomes = byTarget.get(a.target);
    if (!outcomes) byTarget.set(a.target, (outcomes = emptyOutcomes()));
    if (!zero(route, `attempts:${a.target}`) && a.outcome in outcomes) outcomes[a.outcome as keyof typeof outcomes] += a.count;
  }
  return [...byTarget].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([target, outcomes]) => ({ target, outcomes }));
}

/**
 * A route's models as exposed: those with a group of their own (admitted while the route had fewer than
 * `perRoute` and no `other`), then `other` summing every model without one — once `other` exists no model gets a
 * group of its own, so `other` only ever grows.
 */
function exposedModels(
  route: string,
  models: readonly ModelCounters[],
  has: (route: string, group: string) => boolean,
  take: (route: string, group: string, limit: number) => boolean,
  limit: number,
  perRoute: number,
): ModelCounters[] {
  const own: ModelCounters[] = [];
  const rest: ModelCounters[] = [];
  const byCalls = [...models].sort((a, b) => b.calls - a.calls || (a.model < b.model ? -1 : 1));
  for (const m of byCalls) if (m.model !== OTHER && has(route, `model:${m.model}`)) own.push(m);
  for (const m of byCalls) {
    if (own.includes(m)) continue;
    const room = m.model !== OTHER && !has(route, `model:${OTHER}`) && own.length < perRoute;
    if (room && take(route, `model:${m.model}`, limit)) own.push(m);
    else rest.push(m);
  }
  if (rest.length === 0 || !take(route, `model:${OTHER}`, limit)) return own;
  const other: ModelCounters = { model: OTHER, calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, pricedCount: 0 };
  for (const m of rest) {
    other.calls += m.calls;
    other.inputTokens += m.inputTokens;
    other.outputTokens += m.outputTokens;
    other.costUsd += m.costUsd;
    other.pricedCount += m.pricedCount;
  }
  return [...own, other];
}
