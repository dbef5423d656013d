import { z } from 'zod';
import type { Sample } from './sample';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Longest SLO period: the hourly counters kept for it stay bounded (2,160 rows per route object). */
export const MAX_PERIOD_HOURS = 90 * 24;

/** `"30d"`, `"7d"`, `"12h"` -> hours; a whole number of hours between 1h and 90d. */
export function parsePeriod(period: string): number {
  const m = /^(\d{1,4})([hd])$/.exec(period.trim());
  if (!m) throw new Error(`period must look like "30d" or "12h", got ${JSON.stringify(period)}`);
  const hours = Number(m[1]) * (m[2] === 'd' ? 24 : 1);
  if (hours < 1 || hours > MAX_PERIOD_HOURS) throw new Error(`period must be between 1h and 90d, got ${period}`);
  return hours;
}

/** The multi-window, multi-burn-rate alert pairs, by name (see `BURN_ALERTS`). */
export const BURN_ALERT_NAMES = ['fast', 'slow', 'ticket_fast', 'ticket_slow'] as const;
export type BurnAlertName = (typeof BURN_ALERT_NAMES)[number];

/** Prometheus label names a user may set on an SLO (`labels`); the ones the gateway sets itself are refused. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const RESERVED_LABELS: ReadonlySet<string> = new Set(['alertname', 'route', 'slo', 'objective', 'burn', 'severity', 'long', 'short', 'factor', 'type', 'window', 'le', 'good']);

export const sloSchema = z.strictObject({
  /** Fraction of calls that must be good over the period, e.g. 0.99. */
  objective: z.number().gt(0).lt(1),
  period: z
    .string()
    .superRefine((s, ctx) => {
      try {
        parsePeriod(s);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
      }
    })
    .optional(),
  /** A successful call slower than this (total time) is bad. */
  latency_ms: z.number().positive().finite().optional(),
  /** A successful stream whose first token came later than this is bad. */
  ttft_ms: z.number().positive().finite().optional(),
  /** The burn-rate alert pairs raised (by the gateway and in the generated Prometheus rules); default: all four. */
  alerts: z.array(z.enum(BURN_ALERT_NAMES)).refine((a) => new Set(a).size === a.length, 'alerts must not repeat a pair').optional(),
  /** A name for the SLO in alerts and rules (an OpenSLO document's `metadata.name`); default: the route pattern. */
  name: z.string().regex(/^[\w.:/*-]{1,128}$/, 'name is 1-128 chars of letters, digits, . _ : / - and *').optional(),
  /** Said in the alerts' and rules' annotations. */
  description: z.string().max(1024).optional(),
  /** Extra labels on this SLO's alerts and rules (e.g. `team`, `service`). */
  labels: z
    .record(z.string(), z.string().max(256))
    .superRefine((l, ctx) => {
      for (const k of Object.keys(l)) {
        if (!LABEL_NAME.test(k)) ctx.addIssue({ code: 'custom', message: `label name ${JSON.stringify(k)} is not a Prometheus label name` });
        else if (RESERVED_LABELS.has(k)) ctx.addIssue({ code: 'custom', message: `label ${JSON.stringify(k)} is set by the gateway itself` });
      }
    })
    .optional(),
});

export type SloConfig = z.infer<typeof sloSchema>;
export const DEFAULT_PERIOD = '30d';

/** An SLO in force for one route. */
export interface ResolvedSlo {
  objective: number;
  period: string;
  period_hours: number;
  latency_ms: number | null;
  ttft_ms: number | null;
  count_client_errors: boolean;
  /** The alert pairs raised, in `BURN_ALERTS` order. */
  alerts: readonly BurnAlertName[];
  name: string | null;
  description: string | null;
  labels: Readonly<Record<string, string>>;
}

export function resolveSlo(slo: SloConfig | undefined, countClientErrors: boolean): ResolvedSlo | null {
  if (slo === undefined) return null;
  const period = slo.period ?? DEFAULT_PERIOD;
  return {
    objective: slo.objective,
    period,
    period_hours: parsePeriod(period),
    latency_ms: slo.latency_ms ?? null,
    ttft_ms: slo.ttft_ms ?? null,
    count_client_errors: countClientErrors,
    alerts: BURN_ALERT_NAMES.filter((n) => slo.alerts === undefined || slo.alerts.includes(n)),
    name: slo.name ?? null,
    description: slo.description ?? null,
    labels: slo.labels ?? {},
  };
}

const FAILURES: ReadonlySet<Sample['outcome']> = new Set(['upstream_error', 'network_error', 'timeout', 'rate_limited']);

/**
 * Good or bad under an SLO, decided once, when the sample is filed: success within the latency (and, for a stream,
 * TTFT) thresholds is good; a failure (the success rate's rules) or a slow success is bad. Aborted calls, and client
 * errors unless counted, are neither (null), as they are neither success nor failure in the success rate.
 */
export function judge(s: Pick<Sample, 'outcome' | 'totalMs' | 'ttftMs'>, slo: ResolvedSlo): 'good' | 'bad' | null {
  if (s.outcome === 'success') {
    if (slo.latency_ms !== null && s.totalMs > slo.latency_ms) return 'bad';
    if (slo.ttft_ms !== null && s.ttftMs !== null && s.ttftMs > slo.ttft_ms) return 'bad';
    return 'good';
  }
  if (FAILURES.has(s.outcome) || (s.outcome === 'client_error' && slo.count_client_errors)) return 'bad';
  return null;
}

export interface SloCounts {
  good: number;
  bad: number;
}

/** The burn-rate windows reported (the SRE workbook's alert windows), and the period. */
export const BURN_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
export type BurnWindow = (typeof BURN_WINDOWS)[number];
export type SloWindowCounts = Record<BurnWindow | 'period', SloCounts>;

/**
 * The SRE workbook's multi-window, multi-burn-rate pairs (both windows above the factor): two that page (2 % of a
 * 30-day budget in an hour, 5 % in six hours) and two that open a ticket (10 % in a day, 10 % in three days). The
 * gateway's own alerts and the generated Prometheus rules use the same pairs.
 */
export const BURN_ALERTS = [
  { name: 'fast', long: '1h', short: '5m', factor: 14.4, severity: 'page' },
  { name: 'slow', long: '6h', short: '30m', factor: 6, severity: 'page' },
  { name: 'ticket_fast', long: '1d', short: '2h', factor: 3, severity: 'ticket' },
  { name: 'ticket_slow', long: '3d', short: '6h', factor: 1, severity: 'ticket' },
] as const satisfies readonly { name: BurnAlertName; long: BurnWindow; short: BurnWindow; factor: number; severity: 'page' | 'ticket' }[];
export type BurnAlert = (typeof BURN_ALERTS)[number];

export interface ErrorBudget {
  objective: number;
  period: string;
  latency_ms: number | null;
  ttft_ms: number | null;
  /** Calls judged over the period. */
  good: number;
  bad: number;
  /** 1 - bad / allowed bad; negative once overspent; 1 with no calls. */
  budget_remaining: number;
  /** Error rate over each window / (1 - objective); null for a window with no judged call. */
  burn_rates: Record<BurnWindow, number | null>;
  /** When the rest of the budget is gone at the 1h burn rate; null when not burning; now when already spent. */
  exhausted_at: string | null;
  /** Burn-rate alert pairs whose two windows are both above their factor now. */
  burning: BurnAlertName[];
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

export function burnRate(c: SloCounts, objective: number): number | null {
  const n = c.good + c.bad;
  return n === 0 ? null : c.bad / n / (1 - objective);
}

/** The error budget of one route from its counts (summed over shards). */
export function errorBudget(slo: ResolvedSlo, counts: SloWindowCounts, now: number, minSamples = 1): ErrorBudget {
  const { good, bad } = counts.period;
  const allowed = (good + bad) * (1 - slo.objective);
  const remaining = good + bad === 0 ? 1 : 1 - bad / allowed;
  const burn = Object.fromEntries(BURN_WINDOWS.map((w) => [w, burnRate(counts[w], slo.objective)])) as Record<BurnWindow, number | null>;
  const current = burn['1h'];
  let exhausted: number | null = null;
  if (remaining <= 0) exhausted = now;
  else if (current !== null && current > 0) exhausted = now + (remaining * slo.period_hours * HOUR_MS) / current;
  const burning = BURN_ALERTS.filter((a) => {
    if (!slo.alerts.includes(a.name)) return false;
    const long = counts[a.long];
    if (long.good + long.bad < minSamples) return false;
    return (burn[a.long] ?? 0) > a.factor && (burn[a.short] ?? 0) > a.factor;
  }).map((a) => a.name);
  return {
    objective: slo.objective,
    period: slo.period,
    latency_ms: slo.latency_ms,
    ttft_ms: slo.ttft_ms,
    good,
    bad,
    budget_remaining: round(remaining, 6),
    burn_rates: Object.fromEntries(BURN_WINDOWS.map((w) => [w, burn[w] === null ? null : round(burn[w], 4)])) as Record<BurnWindow, number | null>,
    exhausted_at: exhausted === null || exhausted - now > 10 * 365 * DAY_MS ? null : new Date(exhausted).toISOString(),
    burning,
  };
}

export function addCounts(into: SloCounts, c: SloCounts): void {
  into.good += c.good;
  into.bad += c.bad;
}

export function emptyWindowCounts(): SloWindowCounts {
  const out = { period: { good: 0, bad: 0 } } as SloWindowCounts;
  for (const w of BURN_WINDOWS) out[w] = { good: 0, bad: 0 };
  return out;
}

export function sumWindowCounts(all: Iterable<SloWindowCounts>): SloWindowCounts {
  const out = emptyWindowCounts();
  for (const c of all) for (const k of Object.keys(out) as (keyof SloWindowCounts)[]) addCounts(out[k], c[k]);
  return out;
}
