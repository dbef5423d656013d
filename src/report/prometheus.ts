import { OVERHEAD_BUCKETS_S, type HistogramCounts, type MetricsExposition } from '../core/metrics';
import { OUTCOMES } from '../core/sla/sample';

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
/** `k="v",k2="v2"`, escaped (no braces). */
const labelBody = (l: Record<string, string>) =>
  Object.entries(l)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',');
const num = (v: number) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(12))));

export class Exposition {
  private readonly lines: string[] = [];
  family(name: string, type: 'counter' | 'histogram' | 'gauge', help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, l: Record<string, string>, value: number): void {
    const body = labelBody(l);
    this.lines.push(`${name}${body ? `{${body}}` : ''} ${num(value)}`);
  }
  /** A histogram's lines; the labels are escaped once for all of them. */
  histogram(name: string, l: Record<string, string>, bounds: readonly number[], h: HistogramCounts): void {
    const body = labelBody(l);
    let cumulative = 0;
    bounds.forEach((b, i) => {
      cumulative += h.counts[i] ?? 0;
      this.lines.push(`${name}_bucket{${body},le="${num(b)}"} ${num(cumulative)}`);
    });
    this.lines.push(`${name}_bucket{${body},le="+Inf"} ${num(h.count)}`, `${name}_sum{${body}} ${num(h.sum)}`, `${name}_count{${body}} ${num(h.count)}`);
  }
  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/**
 * Prometheus text exposition (format 0.0.4) of the routes' cumulative counters, as the series budget exposes them
 * (`src/core/series-budget.ts`): requests by outcome and the duration and TTFT histograms per route, tokens and
 * cost per route and model (its first models, the rest under `other`); then the gateway's own counts (`counters`,
 * summed over isolates).
 */
export function renderPrometheus(exposition: MetricsExposition, counters: Readonly<Record<string, number>>, extra: { droppedLocal?: number } = {}): string {
  const routes = exposition.routes;
  const out = new Exposition();
  out.family('llm_sla_requests_total', 'counter', 'LLM calls through the gateway, by route and outcome (each series starts at 0 when its route first appears).');
  for (const r of routes) if (r.outcomes) for (const outcome of OUTCOMES) out.sample('llm_sla_requests_total', { route: r.route, outcome }, r.outcomes[outcome]);
  out.family('llm_sla_request_duration_seconds', 'histogram', 'Total call duration until the last byte reached the client, per route (aborted calls left out).');
  for (const r of routes) if (r.duration) out.histogram('llm_sla_request_duration_seconds', { route: r.route }, r.bounds.duration, r.duration);
  out.family('llm_sla_time_to_first_token_seconds', 'histogram', 'Time to the first content token of streamed calls, per route.');
  for (const r of routes) if (r.ttft) out.histogram('llm_sla_time_to_first_token_seconds', { route: r.route }, r.bounds.ttft, r.ttft);
  out.family('llm_sla_slo_calls_total', 'counter', "Calls judged under the route's SLO when filed: good (succeeded within its thresholds) or not.");
  for (const r of routes) {
    if (!r.slo) continue;
    out.sample('llm_sla_slo_calls_total', { route: r.route, good: 'true' }, r.slo.good);
    out.sample('llm_sla_slo_calls_total', { route: r.route, good: 'false' }, r.slo.bad);
  }
  out.family('llm_sla_gateway_overhead_seconds', 'histogram', 'Time the gateway itself added to a proxied call: before the upstream was called and after its headers came back (Server-Timing gateway).');
  for (const r of routes) if (r.overhead) out.histogram('llm_sla_gateway_overhead_seconds', { route: r.route }, OVERHEAD_BUCKETS_S, r.overhead);
  out.family('llm_sla_tokens_total', 'counter', "Tokens used, by route, model (a route's first models; the rest as other) and type (input includes cached tokens).");
  for (const r of routes) {
    for (const m of r.models) {
      out.sample('llm_sla_tokens_total', { route: r.route, model: m.model, type: 'input' }, m.inputTokens);
      out.sample('llm_sla_tokens_total', { route: r.route, model: m.model, type: 'output' }, m.outputTokens);
    }
  }
  out.family('llm_sla_cost_usd_total', 'counter', 'Cost of calls with a known price, in USD, by route and model.');
  // Unknown cost is absent, never 0: a model with no priced call has no sample.
  for (const r of routes) for (const m of r.models) if (m.pricedCount > 0) out.sample('llm_sla_cost_usd_total', { route: r.route, model: m.model }, m.costUsd);
  out.family('llm_sla_metrics_series', 'gauge', "Series of the routes /metrics exports (their lines' bytes within METRICS_MAX_BYTES).");
  out.sample('llm_sla_metrics_series', {}, exposition.series.exported);
  out.family('llm_sla_metrics_series_bytes', 'gauge', "Bytes the routes' series take in /metrics at most, and METRICS_MAX_BYTES, their budget.");
  out.sample('llm_sla_metrics_series_bytes', { of: 'exported' }, exposition.series.bytes);
  out.sample('llm_sla_metrics_series_bytes', { of: 'budget' }, exposition.series.budget);
  out.family('llm_sla_metrics_series_refused', 'gauge', 'Series of routes, histograms or models with data that the budget had no room for at the last refresh (see /sla for them).');
  out.sample('llm_sla_metrics_series_refused', {}, exposition.series.refused);
  renderResilience(out, exposition.routes);
  out.family('llm_sla_dropped_records_total', 'counter', 'Call records lost on the way to the Durable Objects.');
  out.sample('llm_sla_dropped_records_total', {}, exposition.droppedRecords + (extra.droppedLocal ?? 0));
  out.family('llm_sla_dropped_samples_total', 'counter', 'Samples the windows could not file (too old or malformed).');
  out.sample('llm_sla_dropped_samples_total', {}, exposition.droppedSamples);
  const t = counters;
  const n = (k: string) => t[k] ?? 0;
  out.family('llm_sla_telemetry_spans_total', 'counter', 'Call spans by fate: exported, unsampled, or dropped (breaker open, queue full: new span refused or oldest evicted, export failed).');
  for (const result of ['exported', 'unsampled', 'dropped_breaker_open', 'dropped_queue_full', 'dropped_queue_evicted', 'dropped_export_failed']) {
    out.sample('llm_sla_telemetry_spans_total', { result }, n(`spans_${result}`));
  }
  out.family('llm_sla_telemetry_exports_total', 'counter', 'OTLP export requests by result (failed includes timeouts).');
  out.sample('llm_sla_telemetry_exports_total', { result: 'ok' }, n('exports_ok'));
  out.sample('llm_sla_telemetry_exports_total', { result: 'failed' }, n('exports_failed'));
  out.family('llm_sla_telemetry_breaker_opens_total', 'counter', 'Times the span export circuit breaker opened.');
  out.sample('llm_sla_telemetry_breaker_opens_total', {}, n('breaker_opens'));
  out.family('llm_sla_internal_failures_total', 'counter', 'Measurement failures the client never saw: a call record that could not be built, a recorder that threw.');
  out.sample('llm_sla_internal_failures_total', { stage: 'record' }, n('gateway_records_lost'));
  out.sample('llm_sla_internal_failures_total', { stage: 'recorder' }, n('gateway_recorder_failures'));
  out.family('llm_sla_token_estimator_total', 'counter', 'Token estimator (js-tiktoken) loads and failures to load; a failure leaves usage unknown.');
  out.sample('llm_sla_token_estimator_total', { result: 'loaded' }, n('gateway_estimator_loads'));
  out.sample('llm_sla_token_estimator_total', { result: 'failed' }, n('gateway_estimator_failures'));
  out.family('llm_sla_warnings_total', 'counter', 'Calls answered with an x-sla-warning header, by warning.');
  out.sample('llm_sla_warnings_total', { warning: 'invalid_route_header' }, n('gateway_warning_invalid_route_header'));
  out.family('llm_sla_labels_cut_total', 'counter', 'Labels (model, team, route) cut to their length or charset bound before they were recorded.');
  for (const label of ['model', 'team', 'route']) out.sample('llm_sla_labels_cut_total', { label }, n(`labels_cut_${label}`));
  out.family('llm_sla_labels_masked_total', 'counter', 'Labels (model, team, route) that held a key-shaped string or a configured secret, recorded as _redacted.');
  for (const label of ['model', 'team', 'route']) out.sample('llm_sla_labels_masked_total', { label }, n(`labels_masked_${label}`));
  out.family('llm_sla_route_overflow_total', 'counter', 'Calls recorded under the _overflow route: MAX_ROUTES routes were already known, or their ingest request named more than INGEST_MAX_NEW_ROUTES new ones.');
  out.sample('llm_sla_route_overflow_total', {}, n('routes_overflow_calls'));
  out.family('llm_sla_ingest_new_routes_limited_total', 'counter', 'Ingested spans/timings recorded under _overflow because their request named more new routes than INGEST_MAX_NEW_ROUTES.');
  out.sample('llm_sla_ingest_new_routes_limited_total', {}, n('ingest_new_routes_limited'));
  out.family('llm_sla_telemetry_export_bytes_total', 'counter', 'Body bytes of span exports sent (after gzip when on).');
  out.sample('llm_sla_telemetry_export_bytes_total', {}, n('export_bytes'));
  out.family('llm_sla_telemetry_metric_exports_total', 'counter', 'GenAI metrics exports by result (cumulative totals: a failed one is carried by the next).');
  out.sample('llm_sla_telemetry_metric_exports_total', { result: 'ok' }, n('metric_exports_ok'));
  out.sample('llm_sla_telemetry_metric_exports_total', { result: 'failed' }, n('metric_exports_failed'));
  out.family('llm_sla_telemetry_metric_points_overflow_total', 'counter', 'GenAI metric points folded into the otel.metric.overflow series (series limit reached).');
  out.sample('llm_sla_telemetry_metric_points_overflow_total', {}, n('metric_points_overflow'));
  out.family('llm_sla_analytics_points_failed_total', 'counter', 'Analytics Engine data points the binding refused.');
  out.sample('llm_sla_analytics_points_failed_total', {}, n('analytics_points_failed'));
  return out.toString();
}

/**
 * What the routes' policies did (POLICIES), as the series budget exposes it: every attempt by target and outcome,
 * every move from one target to another and why, the hedges won and lost, each target's derived first-token deadline,
 * and each circuit breaker's state (one series per state, 1 for the current one).
 */
function renderResilience(out: Exposition, routes: MetricsExposition['routes']): void {
  out.family('llm_sla_attempts_total', 'counter', 'Upstream attempts of the calls a policy handled, by route, target and outcome (a call counts once per attempt).');
  for (const r of routes) for (const a of r.attempts) for (const outcome of OUTCOMES) out.sample('llm_sla_attempts_total', { route: r.route, target: a.target, outcome }, a.outcomes[outcome]);
  out.family('llm_sla_fallbacks_total', 'counter', 'Calls that moved from one target to another, by route, from, to and reason (status_503, network_error, timeout, first_token_timeout...).');
  for (const r of routes) for (const f of r.fallbacks) out.sample('llm_sla_fallbacks_total', { route: r.route, from: f.from, to: f.to, reason: f.reason }, f.count);
  out.family('llm_sla_hedges_total', 'counter', "Calls that sent a hedge (a second concurrent attempt), by route and result: won (the hedge's answer was the client's) or lost.");
  for (const r of routes) if (r.hedges) for (const result of ['won', 'lost'] as const) out.sample('llm_sla_hedges_total', { route: r.route, result }, r.hedges[result]);
  out.family('llm_sla_first_token_timeout_ms', 'gauge', "First-token deadline an attempt at each target gets now, on routes whose policy derives it from the target's measured TTFT (the fixed one below min_samples).");
  for (const r of routes) for (const t of r.firstTokenTimeouts) out.sample('llm_sla_first_token_timeout_ms', { route: r.route, target: t.target }, t.ms);
  out.family('llm_sla_breaker_state', 'gauge', 'Circuit breaker of each route and target as the isolates last reported it: 1 for its current state.');
  for (const r of routes) for (const b of r.breakers) for (const state of ['closed', 'open'] as const) out.sample('llm_sla_breaker_state', { route: r.route, target: b.target, state }, b.state === state ? 1 : 0);
}
