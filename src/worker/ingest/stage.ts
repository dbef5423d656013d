import { ROUTE_KEY } from '../../core/labels';
import { recordLabel } from '../mask';
import type { Pricer } from '../pricing';
import { APP_PROVIDER, type CallRecord } from '../../core/record';
import type { Usage } from '../../core/usage';
import type { AttrValue, OtlpSpan } from './otlp';

/**
 * How old a record may be. Route objects keep minute windows for an hour and hourly rollups for 48 h (the current
 * hour and the 47 before it); a sample older than that is dropped there, so it is refused here, with a minute of
 * slack for the time the batch takes to reach its object.
 */
export const MAX_AGE_MS = 47 * 3_600_000 - 60_000;
/** How far in the future a record may start: the route objects' own clock-skew tolerance. */
export const MAX_FUTURE_MS = 60_000;
/** Longest stage duration accepted: longer is a clock error, not a latency. */
export const MAX_DURATION_MS = 24 * 3_600_000;


/** A stage as reported by an application, before it is checked. */
export interface Stage {
  route: string;
  /** Start, epoch ms. */
  startMs: number;
  durationMs: number;
  ok: boolean;
  errorType: string | null;
  attributes: ReadonlyMap<string, AttrValue>;
}

export interface StageContext {
  now: number;
  /** The gateway key's team, or the `x-sla-team` header; an attribute `llm_sla.team` is used only without either. */
  team: string | null;
  /** Prices a stage's tokens (`PRICES`, then the catalog): `src/worker/pricing.ts`. */
  price: Pricer;
  /** Whether a stage's `llm_sla.team` attribute may name its team: only without gateway keys (then the key's team is the only identity). */
  teamFromAttributes: boolean;
  /** The configured secrets: a label holding one (or a key-shaped string) is masked (`src/worker/mask.ts`). */
  secrets: readonly string[];
}

const ZERO_REQUEST: CallRecord['request'] = Object.freeze({ maxTokens: null, temperature: null, topP: null });
const NO_SERVER: CallRecord['server'] = Object.freeze({ address: '', port: 0 });
const NO_TRACE: CallRecord['trace'] = Object.freeze({ traceparent: null, tracestate: null });

function tokens(attrs: ReadonlyMap<string, AttrValue>, key: string): number | null | 'bad' {
  if (!attrs.has(key)) return null;
  const v = attrs.get(key);
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 'bad';
}

function text(attrs: ReadonlyMap<string, AttrValue>, key: string, max = 256): string | null {
  const v = attrs.get(key);
  return typeof v === 'string' && v !== '' ? v.slice(0, max) : null;
}

/**
 * The record of one reported stage, or why it is refused. Records of stages are CallRecords with provider `app`,
 * operation `other`, status 0, no stream and no server: outcome `success` or `upstream_error`, usage from the
 * `gen_ai.usage.*` attributes (source `provider`) or none, cost when the model's price is known.
 */
export function stageRecord(stage: Stage, ctx: StageContext): CallRecord | string {
  const { route, startMs, durationMs, attributes: attrs } = stage;
  if (!ROUTE_KEY.test(route)) return `route ${JSON.stringify(route.slice(0, 140))} must be 1-128 chars of letters, digits, . _ : / - starting with a letter or digit`;
  if (!Number.isFinite(durationMs) || durationMs < 0 || durationMs > MAX_DURATION_MS) return `duration must be between 0 and ${MAX_DURATION_MS} ms`;
  if (!Number.isFinite(startMs)) return 'start time must be a number';
  if (startMs < ctx.now - MAX_AGE_MS) return `older than the ${Math.round(MAX_AGE_MS / 3_600_000)} h the route objects keep`;
  if (startMs > ctx.now + MAX_FUTURE_MS) return 'starts more than 60 s in the future';
  const input = tokens(attrs, 'gen_ai.usage.input_tokens');
  const output = tokens(attrs, 'gen_ai.usage.output_tokens');
  const cacheRead = tokens(attrs, 'gen_ai.usage.cache_read.input_tokens');
  const cacheCreation = tokens(attrs, 'gen_ai.usage.cache_creation.input_tokens');
  const reasoning = tokens(attrs, 'gen_ai.usage.reasoning.output_tokens');
  if ([input, output, cacheRead, cacheCreation, reasoning].includes('bad')) return 'gen_ai.usage.* attributes must be non-negative integers';
  const usage: Usage | null =
    input === null && output === null
      ? null
      : { input: Number(input ?? 0), output: Number(output ?? 0), cacheRead: Number(cacheRead ?? 0), cacheCreation: Number(cacheCreation ?? 0), reasoning: Number(reasoning ?? 0) };
  // The first content token: ours (`llm_sla.time_to_first_token`), else the conventions' first chunk, the nearest
  // an instrumentation of the GenAI conventions reports.
  const ttfc = seconds(attrs, 'gen_ai.response.time_to_first_chunk');
  const ttft = seconds(attrs, 'llm_sla.time_to_first_token');
  if (typeof ttfc === 'string') return ttfc;
  if (typeof ttft === 'string') return ttft;
  const ttfcMs = ttfc === null ? null : ttfc * 1000;
  const ttftMs = ttft === null ? ttfcMs : ttft * 1000;
  // Cut to the label rule below (and counted), not dropped; read whole so a cut is seen.
  const team = ctx.team ?? (ctx.teamFromAttributes ? text(attrs, 'llm_sla.team') : null);
  const requestModel = text(attrs, 'gen_ai.request.model');
  const responseModel = text(attrs, 'gen_ai.response.model');
  const priceProvider = text(attrs, 'gen_ai.provider.name', 64) ?? APP_PROVIDER;
  return {
    ts: startMs,
    // The labels' one rule (src/core/labels.ts), as for proxied calls; the price lookup sees the models whole.
    route: recordLabel('route', route, ctx.secrets),
    provider: APP_PROVIDER,
    format: 'openai',
    operation: 'other',
    team: recordLabel('team', team, ctx.secrets),
    requestModel: recordLabel('model', requestModel, ctx.secrets),
    responseModel: recordLabel('model', responseModel, ctx.secrets),
    stream: false,
    status: 0,
    outcome: stage.ok ? 'success' : 'upstream_error',
    errorType: stage.ok ? null : (stage.errorType ?? 'error'),
    totalMs: durationMs,
    ttfbMs: null,
    ttftMs,
    ttfcMs,
    chunkGaps: null,
    usage,
    usageSource: usage ? 'provider' : 'none',
    costUsd: ctx.price(priceProvider, responseModel ?? requestModel, usage, startMs),
    responseId: null,
    serviceTier: null,
    systemFingerprint: null,
    finishReasons: [],
    request: ZERO_REQUEST,
    server: NO_SERVER,
    trace: NO_TRACE,
    priority: 'normal',
    content: null,
  };
}

/** A non-negative number of seconds from an attribute, null when absent, or why it is refused. */
function seconds(attrs: Stage['attributes'], key: string): number | null | string {
  const v = attrs.get(key);
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return `${key} must be a non-negative number of seconds`;
  return v;
}

const NS_PER_MS = 1_000_000n;

/** A span as a stage: route `llm_sla.route` or the span name, duration from start and end, outcome from status. */
export function spanStage(span: OtlpSpan): Stage | string {
  if (span.startNs === null || span.endNs === null) return 'startTimeUnixNano and endTimeUnixNano are required';
  if (span.endNs < span.startNs) return 'ends before it starts';
  const routeAttr = span.attributes.get('llm_sla.route');
  const elapsed = span.endNs - span.startNs;
  return {
    route: typeof routeAttr === 'string' ? routeAttr : span.name,
    startMs: Number(span.startNs / NS_PER_MS) + Number(span.startNs % NS_PER_MS) / 1e6,
    durationMs: Number(elapsed / NS_PER_MS) + Number(elapsed % NS_PER_MS) / 1e6,
    ok: span.statusCode !== 2,
    errorType: text(span.attributes, 'error.type') ?? (span.statusMessage !== '' ? span.statusMessage.slice(0, 256) : null),
    attributes: span.attributes,
  };
}

/** One item of a `/v1/timings` batch as a stage: `{route, duration_ms, ok, ts?, attributes?}`. */
export function timingStage(item: unknown, now: number): Stage | string {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return 'must be an object {route, duration_ms, ok, ts?, attributes?}';
  const t = item as Record<string, unknown>;
  if (typeof t['route'] !== 'string') return 'route must be a string';
  const duration = t['duration_ms'];
  if (typeof duration !== 'number') return 'duration_ms must be a number';
  if (typeof t['ok'] !== 'boolean') return 'ok must be true or false';
  const ts = t['ts'];
  if (ts !== undefined && typeof ts !== 'number') return 'ts must be epoch milliseconds';
  const attributes = new Map<string, AttrValue>();
  const rawAttrs = t['attributes'];
  if (rawAttrs !== undefined) {
    if (typeof rawAttrs !== 'object' || rawAttrs === null || Array.isArray(rawAttrs)) return 'attributes must be an object';
    for (const [k, v] of Object.entries(rawAttrs)) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean' && v !== null) return `attribute ${JSON.stringify(k.slice(0, 64))} must be a string, number, boolean or null`;
      attributes.set(k, v);
    }
  }
  const errorType = t['error_type'];
  return {
    route: t['route'],
    // Without ts the stage is taken to have just ended.
    startMs: typeof ts === 'number' ? ts : now - duration,
    durationMs: duration,
    ok: t['ok'],
    errorType: typeof errorType === 'string' && errorType !== '' ? errorType.slice(0, 256) : null,
    attributes,
  };
}
