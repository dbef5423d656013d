import { z } from 'zod';
import { describeIssues } from './issues';
import { resolveSlo, sloSchema, type ResolvedSlo } from './slo';

const MINUTE = 60_000;
const MAX_WINDOW_MS = 24 * 60 * MINUTE;
const UNIT_MS = { s: 1000, m: MINUTE, h: 60 * MINUTE } as const;

/**
 * `"90s"`, `"5m"`, `"1h"` -> milliseconds. Windows are built from one-minute windows, so a window must be a whole
 * number of minutes between 1m and 24h; anything else throws with what was wrong.
 */
export function parseWindow(window: string): number {
  const m = /^(\d{1,6})([smh])$/.exec(window.trim());
  if (!m) throw new Error(`window must look like "30m", "1h" or "600s", got ${JSON.stringify(window)}`);
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (ms < MINUTE || ms > MAX_WINDOW_MS) throw new Error(`window must be between 1m and 24h, got ${window}`);
  if (ms % MINUTE !== 0) throw new Error(`window must be a whole number of minutes, got ${window}`);
  return ms;
}

const window = z.string().superRefine((s, ctx) => {
  try {
    parseWindow(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});
const ms = z.number().positive().finite();

const targets = z.strictObject({
  max_p50_ms: ms.optional(),
  max_p90_ms: ms.optional(),
  max_p95_ms: ms.optional(),
  max_p99_ms: ms.optional(),
  max_ttft_p95_ms: ms.optional(),
  min_success_rate: z.number().min(0).max(1).optional(),
  min_throughput_rps: z.number().nonnegative().finite().optional(),
  min_samples: z.number().int().min(1).optional(),
  window: window.optional(),
  count_client_errors: z.boolean().optional(),
  /** Error budget: see docs/sla.md. */
  slo: sloSchema.optional(),
});

/** Route keys as the gateway accepts them (x-sla-route), plus `*` for "any run of characters". */
export const routePattern = z.string().regex(/^[\w.:/*-]{1,128}$/, 'route patterns are 1-128 chars of letters, digits, . _ : / - and *');

const slaConfig = z.strictObject({
  default: targets.optional(),
  routes: z.record(routePattern, targets).optional(),
  count_client_errors: z.boolean().optional(),
  alert_after: z.number().int().min(1).optional(),
});

export type Targets = z.infer<typeof targets>;
export type SlaConfig = z.infer<typeof slaConfig>;

/** Targets in force for one route: every default filled in. */
export interface ResolvedTargets extends Omit<Targets, 'min_samples' | 'window' | 'count_client_errors'> {
  /**
   * Fewer calls than this in the window is `insufficient_data`. Default 10: below that one slow call is the p95,
   * and one failure is a 10 % error rate, so a verdict would be noise.
   */
  min_samples: number;
  window: string;
  window_ms: number;
  count_client_errors: boolean;
  /** The `routes` key that matched, null when only `default` applies. */
  matched: string | null;
  /** Targets the config left unset that the gateway's built-in defaults fill in (`BUILTIN_TARGETS`). */
  builtin: string[];
}

export const DEFAULT_MIN_SAMPLES = 10;
export const DEFAULT_WINDOW = '5m';
export const DEFAULT_ALERT_AFTER = 2;

/**
 * Targets in force whatever the config says, unless it sets them itself: a route failing most of its calls must
 * never read as `passed` because nobody wrote an SLA. `min_success_rate: 0` in the config turns the floor off.
 */
export const BUILTIN_TARGETS = { min_success_rate: 0.95 } as const satisfies Targets;

/** No targets of its own: only `BUILTIN_TARGETS` apply. */
export const DEFAULT_SLA_CONFIG: SlaConfig = { default: {}, routes: {} };

/** The `SLA_CONFIG` var. Missing or blank means `DEFAULT_SLA_CONFIG`. */
export function parseSlaConfig(json: string | undefined): { ok: true; config: SlaConfig } | { ok: false; problems: string[] } {
  if (json === undefined || json.trim() === '') return { ok: true, config: DEFAULT_SLA_CONFIG };
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    return { ok: false, problems: [`SLA_CONFIG is not valid JSON: ${(e as Error).message}`] };
  }
  const parsed = slaConfig.safeParse(raw);
  if (!parsed.success) return { ok: false, problems: describeIssues(parsed.error) };
  return { ok: true, config: parsed.data };
}

/** `*` matches any run of characters (slashes included); everything else is literal. */
function globMatches(pattern: string, route: string): boolean {
  const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*');
  return new RegExp(`^${source}$`).test(route);
}

/**
 * The most specific `routes` key for a route: the exact key, else the longest matching glob (ties: fewer `*`,
 * then alphabetical, so the choice never depends on key order).
 */
export function matchRoute(config: { readonly routes?: Readonly<Record<string, unknown>> | undefined }, route: string): string | null {
  const routes = config.routes ?? {};
  if (Object.hasOwn(routes, route) && !route.includes('*')) return route;
  const stars = (p: string) => p.split('*').length - 1;
  const globs = Object.keys(routes).filter((p) => p.includes('*') && globMatches(p, route));
  globs.sort((a, b) => b.length - a.length || stars(a) - stars(b) || (a < b ? -1 : 1));
  return globs[0] ?? null;
}

/** Targets for a route (null: the overall view, judged on `default` alone), merged over `default`. */
export function targetsFor(config: SlaConfig, route: string | null): ResolvedTargets {
  const matched = route === null ? null : matchRoute(config, route);
  const own = matched === null ? {} : (config.routes?.[matched] ?? {});
  // Keys set to undefined (configs built in code) must not hide the default's value.
  const defined = (t: Targets | undefined) => Object.fromEntries(Object.entries(t ?? {}).filter(([, v]) => v !== undefined));
  const merged: Targets = { ...defined(config.default), ...defined(own) };
  const window = merged.window ?? DEFAULT_WINDOW;
  const builtin = (Object.keys(BUILTIN_TARGETS) as (keyof typeof BUILTIN_TARGETS)[]).filter((k) => merged[k] === undefined);
  return {
    ...Object.fromEntries(builtin.map((k) => [k, BUILTIN_TARGETS[k]])),
    ...merged,
    min_samples: merged.min_samples ?? DEFAULT_MIN_SAMPLES,
    window,
    window_ms: parseWindow(window),
    count_client_errors: merged.count_client_errors ?? config.count_client_errors ?? false,
    matched,
    builtin,
  };
}

/** Consecutive evaluations with a new status before it alerts. */
export function alertAfter(config: SlaConfig): number {
  return config.alert_after ?? DEFAULT_ALERT_AFTER;
}

/** The SLO in force for a route (null: the overall view, or no `slo` configured). */
export function sloFor(config: SlaConfig, route: string | null): ResolvedSlo | null {
  if (route === null) return null;
  const t = targetsFor(config, route);
  return resolveSlo(t.slo, t.count_client_errors);
}
