import { z } from 'zod';
import { TEAM, TEAM_RULE } from '../core/labels';
import { INGEST_MAX_NEW_ROUTES } from '../core/route-cap';
import { METRICS_MAX_BYTES_DEFAULT } from '../core/series-budget';

/** Path segments the gateway answers itself; they can never name a provider. */
export const RESERVED_NAMES = ['sla', 'metrics', 'dashboard', 'v1', 'healthz', 'favicon.ico', 'budgets', 'policies'] as const;

const providerName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'provider names are 1-32 chars of a-z, 0-9, _ and -, starting with a letter')
  .refine((n) => !(RESERVED_NAMES as readonly string[]).includes(n), 'this name is reserved by the gateway');

export const baseUrl = z
  .string()
  .trim()
  .transform((s, ctx) => {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: `not an absolute URL: ${JSON.stringify(s)}` });
      return z.NEVER;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      ctx.addIssue({ code: 'custom', message: `must be http or https: ${s}` });
      return z.NEVER;
    }
    if (url.search || url.hash || url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: `must not carry a query, fragment or credentials: ${s}` });
      return z.NEVER;
    }
    return url.origin + url.pathname.replace(/\/+$/, '');
  });

const customProvider = z.strictObject({
  baseUrl,
  format: z.enum(['openai', 'anthropic']),
  injectStreamUsage: z.boolean().optional(),
});

const modelPrice = z.strictObject({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cachedInput: z.number().nonnegative().optional(),
  cacheWrite: z.number().nonnegative().optional(),
});

/** A JSON-encoded var: parsed, then validated by `inner`. Empty or missing means `fallback`. */
function jsonVar<T extends z.ZodType>(inner: T, fallback: z.input<T>) {
  return z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s.trim() === '') return fallback;
      try {
        return JSON.parse(s) as unknown;
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` });
        return z.NEVER;
      }
    })
    .pipe(inner);
}

const flag = (fallback: boolean) =>
  z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s === '') return fallback;
      const v = s.trim().toLowerCase();
      if (['1', 'true', 'on', 'yes'].includes(v)) return true;
      if (['0', 'false', 'off', 'no'].includes(v)) return false;
      ctx.addIssue({ code: 'custom', message: `expected on/off or true/false, got ${JSON.stringify(s)}` });
      return z.NEVER;
    });

const positiveInt = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === '' ? fallback : Number(s)))
    .pipe(z.number({ error: 'expected a number' }).int().positive());

/** The vars the gateway reads, as wrangler delivers them (strings). `UPSTREAM_<NAME>` vars are read apart. */
/** `ALERT_INTERVAL_MS`: how often the registry judges every route, raises and delivers alerts: a minute by default, 1 s to 1 h. */
export const alertInterval = z
  .string()
  .optional()
  .transform((s) => (s === undefined || s.trim() === '' ? 60_000 : Number(s)))
  .pipe(z.number({ error: 'expected a number' }).int().min(1000).max(3_600_000));

export const envSchema = z.object({
  PROVIDERS: jsonVar(
    z.record(z.string(), customProvider).superRefine((providers, ctx) => {
      for (const name of Object.keys(providers)) {
        const ok = providerName.safeParse(name);
        if (!ok.success) ctx.addIssue({ code: 'custom', path: [name], message: ok.error.issues[0]?.message ?? 'invalid name' });
      }
    }),
    {},
  ),
  PRICES: jsonVar(z.record(z.string().min(1), modelPrice), {}),
  UPSTREAM_TIMEOUT_MS: positiveInt(120_000),
  MAX_REQUEST_BYTES: positiveInt(10 * 1024 * 1024),
  INJECT_STREAM_USAGE: flag(true),
  // Off by default: building the encoder takes ~250 ms of CPU, past the Free plan's 10 ms per invocation.
  TOKEN_ESTIMATE: flag(false),
  OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: flag(false),
  RECORDER: z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === '' ? ['durable'] : s.split(',').map((k) => k.trim())))
    .pipe(z.array(z.enum(['durable', 'log', 'memory', 'none'])).min(1)),
  ROUTE_SHARDS: positiveInt(1).pipe(z.number().max(64)),
  FLUSH_INTERVAL_MS: positiveInt(1000),
  FLUSH_MAX_RECORDS: positiveInt(500),
  INGEST_MAX_BYTES: positiveInt(5 * 1024 * 1024),
  INGEST_MAX_ITEMS: positiveInt(10_000),
  INGEST_MAX_NEW_ROUTES: positiveInt(INGEST_MAX_NEW_ROUTES).pipe(z.number().max(10_000)),
  MAX_ROUTES: positiveInt(500).pipe(z.number().max(10_000)),
  METRICS_MAX_BYTES: positiveInt(METRICS_MAX_BYTES_DEFAULT).pipe(z.number().min(10_000).max(100_000_000)),
  /** This isolate's counts (span export, drops, warnings) go to the registry at most this often; 0: after every call. */
  TELEMETRY_COUNTS_INTERVAL_MS: z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === '' ? 1000 : Number(s)))
    .pipe(z.number({ error: 'expected a number' }).int().min(0).max(60_000)),
  SUMMARY_MAX_AGE_MS: z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === '' ? 60_000 : Number(s)))
    .pipe(z.number({ error: 'expected a number' }).int().min(0).max(3_600_000)),
  ALERT_INTERVAL_MS: alertInterval,
});


/**
 * `GATEWAY_KEYS`: `{"<key>": "<team>"}`. Validated by hand so that no problem message ever contains a key (zod
 * would put an invalid record key in the issue path). Unset or empty: no gateway keys, no check.
 */
export function parseGatewayKeys(raw: string | undefined): { keys: Record<string, string> | null; problems: string[] } {
  if (raw === undefined || raw.trim() === '') return { keys: null, problems: [] };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { keys: null, problems: ['GATEWAY_KEYS: invalid JSON (expected {"<key>": "<team>"})'] };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { keys: null, problems: ['GATEWAY_KEYS: expected a JSON object {"<key>": "<team>"}'] };
  }
  const problems: string[] = [];
  const keys: Record<string, string> = {};
  Object.entries(value).forEach(([key, team], i) => {
    if (key.length < 16) problems.push(`GATEWAY_KEYS: key #${i + 1} is shorter than 16 characters`);
    // A key's team is a team name, or "" for a key that names no team.
    if (typeof team !== 'string' || (team !== '' && !TEAM.test(team))) {
      problems.push(`GATEWAY_KEYS: the team of key #${i + 1} must be "" (no team) or a team name: ${TEAM_RULE}`);
    }
    keys[key] = typeof team === 'string' ? team : '';
  });
  return { keys, problems };
}
