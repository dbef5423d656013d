import { z } from 'zod';
import { BUILTIN_PROVIDERS } from '../core/providers/builtin';
import type { Provider } from '../core/providers/types';
import type { PriceTable } from '../core/pricing/cost';
import { baseUrl, envSchema, parseGatewayKeys } from './schema';
import { resolveService, type ServiceConfig } from './service';
import { parseBudgets, type BudgetConfig } from '../core/budget/config';
import { otlpHeaderSecrets, resolveTelemetry, TELEMETRY_VARS, type TelemetryConfig } from './telemetry';
import { checkPolicies, type PoliciesResult } from './policies';

export type RecorderKind = 'durable' | 'log' | 'memory' | 'none';

/** Config in force: every default filled in, every value checked. Every var the worker reads is here. */
export interface ResolvedConfig extends ServiceConfig {
  readonly providers: ReadonlyMap<string, Provider>;
  readonly upstreamTimeoutMs: number;
  readonly maxRequestBytes: number;
  readonly injectStreamUsage: boolean;
  readonly tokenEstimate: boolean;
  /** Keep message content in records (for span export); off by default. */
  readonly captureContent: boolean;
  /** Recorder kinds, in order; `RECORDER=durable,log` sends every record to both. */
  readonly recorders: readonly RecorderKind[];
  readonly routeShards: number;
  readonly flushIntervalMs: number;
  readonly flushMaxRecords: number;
  /** Largest `/v1/traces` or `/v1/timings` body, after decompression. */
  readonly ingestMaxBytes: number;
  /** Most spans or timings in one ingest request; a larger batch gets 413. */
  readonly ingestMaxItems: number;
  /** Most route keys one ingest request may add; the items of further new ones go to `_overflow` (counted). */
  readonly ingestMaxNewRoutes: number;
  /** Most route keys recorded; calls of further routes are recorded under `_overflow` (src/core/route-cap.ts). */
  readonly maxRoutes: number;
  /** Most bytes the routes' series may take in /metrics (src/core/series-budget.ts). */
  readonly metricsMaxBytes: number;
  /** Longest /metrics and /sla serve the registry's cached summary before it is refreshed (0: every read). */
  readonly summaryMaxAgeMs: number;
  /** `TELEMETRY_COUNTS_INTERVAL_MS`: how often an isolate's counts go to the registry at most (src/worker/counts.ts). */
  readonly countsIntervalMs: number;
  /** Every secret the config holds (gateway keys, managed provider keys, the OTLP exporter's headers): masked wherever content goes. */
  readonly secrets: readonly string[];
  readonly prices: PriceTable;
  /** `GATEWAY_KEYS` (key -> team), or null when unset. Secret: never log or return it. */
  readonly gatewayKeys: Readonly<Record<string, string>> | null;
  /** Provider keys the gateway adds for authenticated clients: `<NAME>_API_KEY` secrets. Secret. */
  readonly managedKeys: ReadonlyMap<string, string>;
  /** Span export, or null when no OTLP endpoint is set (or its settings are invalid: see `telemetryProblems`). */
  readonly telemetry: TelemetryConfig | null;
  /** `BUDGETS` (team cost budgets), or null when unset: then the proxy does no budget work at all. */
  readonly budgets: BudgetConfig | null;
  /** Invalid telemetry settings do not stop the proxy (telemetry never reaches the client): /healthz lists them. */
  readonly telemetryProblems: readonly string[];
  /**
   * The `POLICIES` var, checked against the providers and managed keys above. Invalid policies do not stop the
   * proxy either: calls go as they would with none, and /healthz and `GET /policies` list the problems.
   */
  readonly policies: PoliciesResult;
  /** The `POLICIES` var's text, null when unset or blank. */
  readonly policiesText: string | null;
}

/** When the config is invalid, `service` still holds the tokens, the SLA config and the webhook. */
export type ConfigResult = { ok: true; config: ResolvedConfig } | { ok: false; problems: string[]; service: ServiceConfig };

function describe(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((i) => `${prefix}${i.path.map(String).join('.') || '(value)'}: ${i.message}`);
}

export function parseConfig(raw: Record<string, unknown>): ConfigResult {
  const asString = (k: string): string | undefined => (typeof raw[k] === 'string' ? (raw[k] as string) : undefined);
  const parsed = envSchema.safeParse({
    PROVIDERS: asString('PROVIDERS'),
    PRICES: asString('PRICES'),
    UPSTREAM_TIMEOUT_MS: asString('UPSTREAM_TIMEOUT_MS'),
    MAX_REQUEST_BYTES: asString('MAX_REQUEST_BYTES'),
    INJECT_STREAM_USAGE: asString('INJECT_STREAM_USAGE'),
    TOKEN_ESTIMATE: asString('TOKEN_ESTIMATE'),
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: asString('OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT'),
    RECORDER: asString('RECORDER'),
    ROUTE_SHARDS: asString('ROUTE_SHARDS'),
    FLUSH_INTERVAL_MS: asString('FLUSH_INTERVAL_MS'),
    FLUSH_MAX_RECORDS: asString('FLUSH_MAX_RECORDS'),
    INGEST_MAX_BYTES: asString('INGEST_MAX_BYTES'),
    INGEST_MAX_ITEMS: asString('INGEST_MAX_ITEMS'),
    INGEST_MAX_NEW_ROUTES: asString('INGEST_MAX_NEW_ROUTES'),
    MAX_ROUTES: asString('MAX_ROUTES'),
    METRICS_MAX_BYTES: asString('METRICS_MAX_BYTES'),
    SUMMARY_MAX_AGE_MS: asString('SUMMARY_MAX_AGE_MS'),
    TELEMETRY_COUNTS_INTERVAL_MS: asString('TELEMETRY_COUNTS_INTERVAL_MS'),
    ALERT_INTERVAL_MS: asString('ALERT_INTERVAL_MS'),
  });
  const problems: string[] = parsed.success ? [] : describe(parsed.error);

  const providers = new Map<string, Provider>();
  for (const [name, p] of Object.entries(BUILTIN_PROVIDERS)) providers.set(name, { name, ...p });
  if (parsed.success) {
    for (const [name, p] of Object.entries(parsed.data.PROVIDERS)) {
      providers.set(name, {
        name,
        baseUrl: p.baseUrl,
        format: p.format,
        injectStreamUsage: p.injectStreamUsage ?? p.format === 'openai',
      });
    }
  }
  for (const [key, value] of Object.entries(raw)) {
    if (!key.startsWith('UPSTREAM_') || key === 'UPSTREAM_TIMEOUT_MS') continue;
    const name = key.slice('UPSTREAM_'.length).toLowerCase().replaceAll('_', '-');
    const provider = providers.get(name) ?? providers.get(name.replaceAll('-', '_'));
    if (!provider) {
      problems.push(`${key}: no provider named ${JSON.stringify(name)} (known: ${[...providers.keys()].join(', ')})`);
      continue;
    }
    const url = baseUrl.safeParse(value);
    if (!url.success) problems.push(...describe(url.error, `${key}: `));
    else providers.set(provider.name, { ...provider, baseUrl: url.data });
  }

  const gateway = parseGatewayKeys(asString('GATEWAY_KEYS'));
  problems.push(...gateway.problems);
  const managedKeys = new Map<string, string>();
  for (const name of providers.keys()) {
    const key = asString(`${name.toUpperCase().replaceAll('-', '_')}_API_KEY`);
    if (key !== undefined && key !== '') managedKeys.set(name, key);
  }
  if (managedKeys.size > 0 && gateway.keys === null) {
    problems.push(
      `${[...managedKeys.keys()].map((n) => `${n.toUpperCase()}_API_KEY`).join(', ')} set without GATEWAY_KEYS: ` +
        'the gateway would lend provider keys to anyone who can reach it',
    );
  }

  const budgetsVar = asString('BUDGETS');
  const budgets = budgetsVar === undefined || budgetsVar.trim() === '' ? null : parseBudgets(budgetsVar);
  if (budgets && !budgets.ok) problems.push(...budgets.problems);

  const service = resolveService(asString);
  if (!parsed.success || problems.length > 0) return { ok: false, problems, service };
  const policiesVar = asString('POLICIES');
  const policiesText = policiesVar === undefined || policiesVar.trim() === '' ? null : policiesVar;
  const policies = checkPolicies(policiesText, providers, managedKeys);
  if (!policies.ok) console.error(`llm-sla-gateway: invalid POLICIES, no policy in force:\n  ${policies.problems.join('\n  ')}`);
  const env = parsed.data;
  const telemetry = resolveTelemetry(Object.fromEntries(TELEMETRY_VARS.map((k) => [k, asString(k)])));
  if (telemetry.problems.length > 0) {
    console.error(`llm-sla-gateway: span export is off, its settings are invalid:\n  ${telemetry.problems.join('\n  ')}`);
  }
  return {
    ok: true,
    config: {
      ...service,
      providers,
      upstreamTimeoutMs: env.UPSTREAM_TIMEOUT_MS,
      maxRequestBytes: env.MAX_REQUEST_BYTES,
      injectStreamUsage: env.INJECT_STREAM_USAGE,
      tokenEstimate: env.TOKEN_ESTIMATE,
      captureContent: env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
      recorders: env.RECORDER,
      routeShards: env.ROUTE_SHARDS,
      flushIntervalMs: env.FLUSH_INTERVAL_MS,
      flushMaxRecords: env.FLUSH_MAX_RECORDS,
      ingestMaxBytes: env.INGEST_MAX_BYTES,
      ingestMaxItems: env.INGEST_MAX_ITEMS,
      ingestMaxNewRoutes: env.INGEST_MAX_NEW_ROUTES,
      maxRoutes: env.MAX_ROUTES,
      metricsMaxBytes: env.METRICS_MAX_BYTES,
      summaryMaxAgeMs: env.SUMMARY_MAX_AGE_MS,
      countsIntervalMs: env.TELEMETRY_COUNTS_INTERVAL_MS,
      secrets: [...Object.keys(gateway.keys ?? {}), ...managedKeys.values(), ...otlpHeaderSecrets(asString('OTEL_EXPORTER_OTLP_HEADERS'))],
      // The override; every other price comes from the catalog (src/worker/pricing.ts).
      prices: env.PRICES,
      gatewayKeys: gateway.keys,
      managedKeys,
      telemetry: telemetry.config,
      telemetryProblems: telemetry.problems,
      budgets: budgets?.ok ? budgets.budgets : null,
      policies,
      policiesText,
    },
  };
}
