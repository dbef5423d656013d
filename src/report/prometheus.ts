import { DURATION_BUCKETS_S, emptyHistogram, mergeHistogram, TTFT_BUCKETS_S, type HistogramCounts, type MetricsSeries, type MetricsSnapshot } from '../core/metrics';

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',')}}`;
const num = (v: number) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(12))));

export class Exposition {
  private readonly lines: string[] = [];
  family(name: string, type: 'counter' | 'histogram' | 'gauge', help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, l: Record<string, string>, value: number): void {
    this.lines.push(`${name}${Object.keys(l).length ? labels(l) : ''} ${num(value)}`);
  }
  histogram(name: string, l: Record<string, string>, bounds: readonly number[], h: HistogramCounts): void {
    let cumulative = 0;
    bounds.forEach((b, i) => {
      cumulative += h.counts[i] ?? 0;
      this.sample(`${name}_bucket`, { ...l, le: num(b) }, cumulative);
    });
    this.sample(`${name}_bucket`, { ...l, le: '+Inf' }, h.count);
    this.sample(`${name}_sum`, l, h.sum);
    this.sample(`${name}_count`, l, h.count);
  }
  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

const byKey = <T>(items: T[], key: (t: T) => string) => [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

/**
 * Prometheus text exposition (format 0.0.4) of the routes' cumulative counters. Histograms are per route and model,
 * summed over outcomes except `aborted` (a client that left is not a latency measurement, as in /sla).
 */
export function renderPrometheus(snapshot: MetricsSnapshot, extra: { droppedLocal?: number } = {}): string {
  const rows = byKey(
    snapshot.routes.flatMap((r) => r.series.map((s) => ({ route: r.route, s }))),
    (x) => `${x.route}\u0000${x.s.model}\u0000${x.s.outcome}`,
  );
  const out = new Exposition();
  out.family('llm_sla_requests_total', 'counter', 'LLM calls through the gateway, by route, model and outcome.');
  for (const { route, s } of rows) out.sample('llm_sla_requests_total', { route, model: s.model, outcome: s.outcome }, s.count);

  const perModel = new Map<string, { route: string; model: string; duration: HistogramCounts; ttft: HistogramCounts; s: MetricsSeries[] }>();
  for (const { route, s } of rows) {
    const key = `${route}\u0000${s.model}`;
    let m = perModel.get(key);
    if (!m) perModel.set(key, (m = { route, model: s.model, duration: emptyHistogram(DURATION_BUCKETS_S), ttft: emptyHistogram(TTFT_BUCKETS_S), s: [] }));
    m.s.push(s);
    if (s.outcome === 'aborted') continue;
    mergeHistogram(m.duration, s.duration);
    mergeHistogram(m.ttft, s.ttft);
  }
  const models = [...perModel.values()];
  out.family('llm_sla_request_duration_seconds', 'histogram', 'Total call duration until the last byte reached the client.');
  for (const m of models) out.histogram('llm_sla_request_duration_seconds', { route: m.route, model: m.model }, DURATION_BUCKETS_S, m.duration);
  out.family('llm_sla_time_to_first_token_seconds', 'histogram', 'Time to the first content token of streamed calls.');
  for (const m of models) out.histogram('llm_sla_time_to_first_token_seconds', { route: m.route, model: m.model }, TTFT_BUCKETS_S, m.ttft);
  out.family('llm_sla_tokens_total', 'counter', 'Tokens used, by type (input includes cached tokens).');
  for (const m of models) {
    for (const type of ['input', 'output'] as const) {
      const n = m.s.reduce((t, s) => t + (type === 'input' ? s.inputTokens : s.outputTokens), 0);
      out.sample('llm_sla_tokens_total', { route: m.route, model: m.model, type }, n);
    }
  }
  out.family('llm_sla_cost_usd_total', 'counter', 'Cost of calls with a known price, in USD.');
  for (const m of models) {
    // Unknown cost is absent, never 0: a model with no priced call has no sample (series kept before `pricedCount`
    // existed count as priced when they hold a cost).
    const priced = m.s.some((s) => (s.pricedCount ?? (s.costUsd > 0 ? 1 : 0)) > 0);
    if (priced) out.sample('llm_sla_cost_usd_total', { route: m.route, model: m.model }, m.s.reduce((t, s) => t + s.costUsd, 0));
  }
  renderResilience(out, snapshot);
  out.family('llm_sla_dropped_records_total', 'counter', 'Call records lost on the way to the Durable Objects.');
  out.sample('llm_sla_dropped_records_total', {}, snapshot.droppedRecords + (extra.droppedLocal ?? 0));
  out.family('llm_sla_dropped_samples_total', 'counter', 'Samples the windows could not file (too old or malformed).');
  out.sample('llm_sla_dropped_samples_total', {}, snapshot.droppedSamples);
  const t = snapshot.telemetry ?? {};
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
  out.family('llm_sla_route_overflow_total', 'counter', 'Calls recorded under the _overflow route because MAX_ROUTES routes were already known.');
  out.sample('llm_sla_route_overflow_total', {}, n('routes_overflow_calls'));
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
 * What the routes' policies did (POLICIES): every attempt by target and outcome, every move from one target to
 * another and why, and each circuit breaker's state (one series per state, 1 for the current one).
 */
function renderResilience(out: Exposition, snapshot: MetricsSnapshot): void {
  const routes = byKey(snapshot.routes.filter((r) => r.resilience), (r) => r.route);
  out.family('llm_sla_attempts_total', 'counter', 'Upstream attempts of the calls a policy handled, by route, target and outcome (a call counts once per attempt).');
  for (const r of routes) {
    for (const a of byKey(r.resilience?.attempts ?? [], (x) => `${x.target}\u0000${x.outcome}`)) {
      out.sample('llm_sla_attempts_total', { route: r.route, target: a.target, outcome: a.outcome }, a.count);
    }
  }
  out.family('llm_sla_fallbacks_total', 'counter', 'Calls that moved from one target to another, by route, from, to and reason (status_503, network_error, timeout, first_token_timeout...).');
  for (const r of routes) {
    for (const f of byKey(r.resilience?.fallbacks ?? [], (x) => `${x.from}\u0000${x.to}\u0000${x.reason}`)) {
      out.sample('llm_sla_fallbacks_total', { route: r.route, from: f.from, to: f.to, reason: f.reason }, f.count);
    }
  }
  out.family('llm_sla_hedges_total', 'counter', "Calls that sent a hedge (a second concurrent attempt), by route and result: won (the hedge's answer was the client's) or lost.");
  for (const r of routes) {
    for (const h of byKey(r.resilience?.hedges ?? [], (x) => x.result)) out.sample('llm_sla_hedges_total', { route: r.route, result: h.result }, h.count);
  }
  out.family('llm_sla_first_token_timeout_ms', 'gauge', "First-token deadline an attempt at each target gets now, on routes whose policy derives it from the target's measured TTFT (the fixed one below min_samples).");
  for (const r of byKey(snapshot.routes, (x) => x.route)) {
    for (const t of byKey(r.firstTokenTimeouts ?? [], (x) => x.target)) out.sample('llm_sla_first_token_timeout_ms', { route: r.route, target: t.target }, t.ms);
  }
  out.family('llm_sla_breaker_state', 'gauge', 'Circuit breaker of each route and target as the isolates last reported it: 1 for its current state.');
  for (const b of byKey(snapshot.breakers ?? [], (x) => `${x.route}\u0000${x.target}`)) {
    for (const state of ['closed', 'open'] as const) out.sample('llm_sla_breaker_state', { route: b.route, target: b.target, state }, b.state === state ? 1 : 0);
  }
}
