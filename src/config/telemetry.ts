import { z } from 'zod';
import type { Priority } from '../core/record';

/** Which head sampler: the standard `OTEL_TRACES_SAMPLER` values. */
export type SamplerKind =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

/** Span export settings, resolved from the standard `OTEL_*` vars and our `TELEMETRY_*` ones. */
export interface TelemetryConfig {
  /** Full URL spans are posted to (OTLP/HTTP JSON); null: no span export (metrics only). */
  readonly tracesUrl: string | null;
  /** Full URL the GenAI client metrics are posted to; null: no metrics export. */
  readonly metricsUrl: string | null;
  /** `OTEL_EXPORTER_OTLP_[TRACES_|METRICS_]COMPRESSION`: how each signal's exports are encoded. */
  readonly compression: { readonly traces: Compression; readonly metrics: Compression };
  /** `OTEL_METRIC_EXPORT_INTERVAL` (ms): at most one metrics export per isolate per interval. */
  readonly metricsIntervalMs: number;
  /** `OTEL_SAMPLING_TARGET_PER_S`: adaptive head sampling aims at this many spans/s per isolate; null: off. */
  readonly samplingTargetPerS: number | null;
  /** `OTEL_SAMPLING_MIN_RATIO`, `OTEL_SAMPLING_MAX_RATIO`: bounds of an adaptive head ratio. */
  readonly samplingMinRatio: number;
  readonly samplingMaxRatio: number;
  /** `TELEMETRY_QUEUE_OVERFLOW`: which span a full queue drops. */
  readonly overflow: 'drop_newest' | 'drop_oldest';
  /** `OTEL_EXPORTER_OTLP_HEADERS`. Secret (collector credentials): never logged or exported. */
  readonly headers: Readonly<Record<string, string>>;
  readonly serviceName: string;
  readonly sampler: SamplerKind;
  /** Head-sampling ratio per priority; `critical` is always 1. */
  readonly ratios: Readonly<Record<Priority, number>>;
  /** Tail sampling: calls slower than this (ms) are always kept; null = the route's SLA `max_p95_ms`. */
  readonly slowMs: number | null;
  /** `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`: string attribute values are cut to this many characters. */
  readonly valueLengthLimit: number;
  /** `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`. */
  readonly attributeCountLimit: number;
  /** Captured messages per direction (the most recent are kept). */
  readonly maxMessages: number;
  /** `OTEL_EXPORTER_OTLP_TIMEOUT` (ms): an export not answered by then counts as failed. */
  readonly exportTimeoutMs: number;
  /** `OTEL_BSP_SCHEDULE_DELAY` (ms): spans wait at most this long to share an export. */
  readonly scheduleDelayMs: number;
  /** `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`. */
  readonly maxBatch: number;
  /** `OTEL_BSP_MAX_QUEUE_SIZE`: spans waiting or in flight per isolate; beyond it new spans are dropped (counted). */
  readonly maxQueue: number;
  /** Consecutive failed exports that open the circuit breaker. */
  readonly breakerFailures: number;
  /** How long an open breaker drops spans before it lets one probe export through. */
  readonly breakerCooldownMs: number;
}

export type Compression = 'none' | 'gzip';

const optional = z.string().optional();

/** `none` or `gzip`, or unset (then `fallback`). */
const compressionVar = optional.transform((s) => (s === undefined || s.trim() === '' ? undefined : s.trim().toLowerCase())).pipe(z.enum(['none', 'gzip']).optional());

/** A ratio var from 0 to 1, `fallback` when unset or empty. */
const ratioVar = (fallback: number) => optional.transform((s) => (s === undefined || s.trim() === '' ? fallback : Number(s))).pipe(z.number({ error: 'expected a number' }).min(0).max(1));

/** An integer var from `min` to `max`, `fallback` when unset or empty. */
const intVar = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  optional
    .transform((s) => (s === undefined || s.trim() === '' ? fallback : Number(s)))
    .pipe(z.number({ error: 'expected a number' }).int().min(min).max(max));

const positiveInt = (fallback: number) => intVar(fallback, 1);

const ratio = z.number({ error: 'expected a number' }).min(0).max(1);

const httpUrl = z
  .string()
  .trim()
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
    } catch {
      return false;
    }
  }, 'expected an http(s) URL without credentials');

export const telemetrySchema = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_COMPRESSION: compressionVar,
  OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: compressionVar,
  OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: compressionVar,
  OTEL_METRICS_EXPORTER: optional.transform((s) => (s === undefined || s.trim() === '' ? 'otlp' : s.trim().toLowerCase())).pipe(z.enum(['otlp', 'none'])),
  OTEL_METRIC_EXPORT_INTERVAL: intVar(60_000, 100),
  OTEL_SAMPLING_TARGET_PER_S: optional.transform((s) => (s === undefined || s.trim() === '' ? null : Number(s))).pipe(z.number({ error: 'expected a number' }).positive().nullable()),
  OTEL_SAMPLING_MIN_RATIO: ratioVar(0.001),
  OTEL_SAMPLING_MAX_RATIO: ratioVar(1),
  TELEMETRY_QUEUE_OVERFLOW: optional.transform((s) => (s === undefined || s.trim() === '' ? 'drop_newest' : s.trim().toLowerCase())).pipe(z.enum(['drop_newest', 'drop_oldest'])),
  OTEL_EXPORTER_OTLP_HEADERS: optional,
  OTEL_SERVICE_NAME: optional,
  OTEL_TRACES_SAMPLER: optional
    .transform((s) => (s === undefined || s.trim() === '' ? 'parentbased_traceidratio' : s.trim().toLowerCase()))
    .pipe(
      z.enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio']),
    ),
  OTEL_TRACES_SAMPLER_ARG: optional.transform((s) => (s === undefined || s.trim() === '' ? 1 : Number(s))).pipe(ratio),
  OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: positiveInt(4096),
  OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: positiveInt(128),
  OTEL_EXPORTER_OTLP_TIMEOUT: positiveInt(10_000),
  OTEL_BSP_SCHEDULE_DELAY: positiveInt(1000),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: positiveInt(512),
  OTEL_BSP_MAX_QUEUE_SIZE: positiveInt(2048),
  TELEMETRY_PRIORITY_RATIOS: optional,
  TELEMETRY_SLOW_MS: optional.transform((s) => (s === undefined || s.trim() === '' ? null : Number(s))).pipe(z.number().positive().nullable()),
  TELEMETRY_MAX_MESSAGES: positiveInt(32),
  TELEMETRY_BREAKER_FAILURES: positiveInt(3),
  TELEMETRY_BREAKER_COOLDOWN_MS: positiveInt(30_000),
});

export const TELEMETRY_VARS = Object.keys(telemetrySchema.shape) as (keyof typeof telemetrySchema.shape)[];

/**
 * Resolves the telemetry vars: null when no OTLP endpoint is set (then nothing is exported and no request is ever
 * made). Problems name the var, never a header value.
 */
export function resolveTelemetry(raw: Record<string, string | undefined>): { config: TelemetryConfig | null; problems: string[] } {
  const parsed = telemetrySchema.safeParse(raw);
  if (!parsed.success) {
    return { config: null, problems: parsed.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`) };
  }
  const v = parsed.data;
  const problems: string[] = [];
  const headers = parseOtlpHeaders(v.OTEL_EXPORTER_OTLP_HEADERS, problems);
  const ratios = parsePriorityRatios(v.TELEMETRY_PRIORITY_RATIOS, v.OTEL_TRACES_SAMPLER_ARG, problems);
  const base = v.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, '');
  const tracesUrl = v.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base}/v1/traces` : null);
  const metricsUrl = v.OTEL_METRICS_EXPORTER === 'none' ? null : (v.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ?? (base ? `${base}/v1/metrics` : null));
  if (v.OTEL_SAMPLING_MIN_RATIO > v.OTEL_SAMPLING_MAX_RATIO) problems.push('OTEL_SAMPLING_MIN_RATIO: must not exceed OTEL_SAMPLING_MAX_RATIO');
  if (problems.length > 0 || (!tracesUrl && !metricsUrl)) return { config: null, problems };
  const compression = v.OTEL_EXPORTER_OTLP_COMPRESSION ?? 'none';
  return {
    problems,
    config: {
      tracesUrl,
      metricsUrl,
      compression: { traces: v.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION ?? compression, metrics: v.OTEL_EXPORTER_OTLP_METRICS_COMPRESSION ?? compression },
      metricsIntervalMs: v.OTEL_METRIC_EXPORT_INTERVAL,
      samplingTargetPerS: v.OTEL_SAMPLING_TARGET_PER_S,
      samplingMinRatio: v.OTEL_SAMPLING_MIN_RATIO,
      samplingMaxRatio: v.OTEL_SAMPLING_MAX_RATIO,
      overflow: v.TELEMETRY_QUEUE_OVERFLOW,
      headers,
      serviceName: v.OTEL_SERVICE_NAME?.trim() || 'llm-sla-gateway',
      sampler: v.OTEL_TRACES_SAMPLER,
      ratios,
      slowMs: v.TELEMETRY_SLOW_MS,
      valueLengthLimit: v.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
      attributeCountLimit: v.OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT,
      maxMessages: v.TELEMETRY_MAX_MESSAGES,
      exportTimeoutMs: v.OTEL_EXPORTER_OTLP_TIMEOUT,
      scheduleDelayMs: v.OTEL_BSP_SCHEDULE_DELAY,
      maxBatch: v.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
      maxQueue: v.OTEL_BSP_MAX_QUEUE_SIZE,
      breakerFailures: v.TELEMETRY_BREAKER_FAILURES,
      breakerCooldownMs: v.TELEMETRY_BREAKER_COOLDOWN_MS,
    },
  };
}

/**
 * The collector credentials `OTEL_EXPORTER_OTLP_HEADERS` holds, as secrets to mask in captured content: each value,
 * and each of its whitespace-separated parts (the token of `Bearer <token>` shows up alone in a prompt). Read even
 * when other telemetry settings are invalid (export off): content still reaches the log recorder then.
 */
export function otlpHeaderSecrets(raw: string | undefined): string[] {
  const values = Object.values(parseOtlpHeaders(raw, []));
  return [...new Set(values.flatMap((v) => [v, ...v.split(/\s+/).filter((part) => part.length >= 8)]))];
}

/** `k=v,k2=v2` with percent-encoded values (the OTLP exporter spec's format). */
function parseOtlpHeaders(raw: string | undefined, problems: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  if (raw === undefined || raw.trim() === '') return headers;
  raw.split(',').forEach((pair, i) => {
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim().toLowerCase();
    if (eq <= 0 || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) {
      problems.push(`OTEL_EXPORTER_OTLP_HEADERS: entry #${i + 1} is not key=value`);
      return;
    }
    try {
      headers[name] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      problems.push(`OTEL_EXPORTER_OTLP_HEADERS: the value of ${name} is not valid percent-encoding`);
    }
  });
  return headers;
}

const PRIORITIES: readonly Priority[] = ['critical', 'high', 'normal', 'low'];

/** `high=0.5,low=0.01`: per-priority head ratios; unnamed ones take `OTEL_TRACES_SAMPLER_ARG`, critical is always 1. */
function parsePriorityRatios(raw: string | undefined, base: number, problems: string[]): Record<Priority, number> {
  const ratios: Record<Priority, number> = { critical: 1, high: base, normal: base, low: base };
  if (raw === undefined || raw.trim() === '') return ratios;
  for (const pair of raw.split(',')) {
    const [name = '', value = ''] = pair.split('=').map((s) => s.trim().toLowerCase());
    const n = Number(value);
    if (!PRIORITIES.includes(name as Priority) || name === 'critical') {
      problems.push(`TELEMETRY_PRIORITY_RATIOS: ${JSON.stringify(name)} is not one of high, normal, low (critical is always kept)`);
    } else if (value === '' || !Number.isFinite(n) || n < 0 || n > 1) {
      problems.push(`TELEMETRY_PRIORITY_RATIOS: the ratio of ${name} must be a number from 0 to 1`);
    } else ratios[name as Priority] = n;
  }
  return ratios;
}
