import { z } from 'zod';
import type { Provider } from '../core/providers/types';
import type { DerivedDeadlineSpec, HedgeSpec } from '../core/resilience/deadline';
import { STRATEGIES } from '../core/resilience/order';
import { targetLabel, type BreakerSpec, type ResolvedPolicy } from '../core/resilience/policy';
import { MIN_SAMPLES } from '../core/resilience/tails';
import { matchRoute, routePattern } from '../core/sla/config';
import { describeIssues } from '../core/sla/issues';

/**
 * `POLICIES`: what the gateway does to keep a route's SLA — targets to fall back to, retries, deadlines, circuit
 * breakers — as `default` and `routes` blocks matched like `SLA_CONFIG` (keys and `*` globs, the most specific match
 * merged over `default`). Validated once (`parsePolicies`, then `policyProblems` against the providers and keys the
 * gateway holds); resolved per route (`resolvePolicy`) into `ResolvedPolicy` (src/core/resilience/policy.ts).
 */

const providerRef = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a provider name (a-z, 0-9, _ and -, starting with a letter)');
const target = z.strictObject({
  provider: providerRef,
  // Printable ASCII without quotes or backslashes: it goes into a header (`x-sla-served-by`) and /metrics labels as is.
  model: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[!#-[\]-~]+$/, 'a model name in printable ASCII, without spaces, quotes or backslashes')
    .optional(),
});
const ms = (max: number) => z.number().int().min(0).max(max);
const deadline = z.number().int().min(1).max(3_600_000);

const breaker = z.strictObject({
  failure_rate: z.number().gt(0).max(1).optional(),
  min_calls: z.number().int().min(1).max(1_000_000).optional(),
  window_s: z.number().int().min(10).max(3600).optional(),
  cooldown_s: z.number().int().min(1).max(3600).optional(),
});

const percentile = z.number().gt(0, 'a percentile above 0').lt(100, 'a percentile below 100');

/** `first_token_timeout`: the deadline from the target's measured TTFT (every key optional, defaults below). */
const firstTokenTimeout = z
  .strictObject({
    percentile: percentile.optional(),
    factor: z.number().min(1, 'a factor of at least 1 (the deadline is never below the percentile)').max(100).optional(),
    min_ms: deadline.optional(),
    max_ms: deadline.optional(),
    min_samples: z.number().int().min(1).max(1_000_000).optional(),
  })
  .superRefine((f, ctx) => {
    const min = f.min_ms ?? DERIVED_DEFAULTS.min_ms;
    const max = f.max_ms ?? DERIVED_DEFAULTS.max_ms;
    if (min > max) ctx.addIssue({ code: 'custom', path: ['max_ms'], message: `max_ms (${max}) is below min_ms (${min})` });
  });

/** `hedge.after`: a percentile of the target's measured tail, or a fixed delay in ms — one of the two. */
const hedgeAfter = z
  .strictObject({ percentile: percentile.optional(), ms: deadline.optional() })
  .superRefine((a, ctx) => {
    if ((a.percentile === undefined) === (a.ms === undefined)) ctx.addIssue({ code: 'custom', message: 'give either percentile or ms (one of the two)' });
  });

const hedge = z.strictObject({
  after: hedgeAfter.optional(),
  max_ratio: z.number().gt(0, 'a share of the calls above 0').max(1, 'a share of the calls, at most 1').optional(),
});

const retryOnItem = z.union([z.number().int().min(400).max(599), z.enum(['network_error', 'timeout'])]);

export const policyBlock = z
  .strictObject({
    targets: z.array(target).min(1).max(8).optional(),
    retries: z.number().int().min(0).max(10).optional(),
    retry_on: z.array(retryOnItem).optional(),
    backoff_ms: ms(60_000).optional(),
    max_backoff_ms: ms(300_000).optional(),
    retry_after_max_ms: ms(300_000).optional(),
    first_token_timeout_ms: deadline.nullable().optional(),
    timeout_ms: deadline.nullable().optional(),
    breaker: breaker.nullable().optional(),
    strategy: z.enum(STRATEGIES).optional(),
    first_token_timeout: firstTokenTimeout.nullable().optional(),
    hedge: hedge.nullable().optional(),
  })
  .superRefine((b, ctx) => {
    const seen = new Set<string>();
    b.targets?.forEach((t, i) => {
      const label = targetLabel({ provider: t.provider, model: t.model ?? null });
      if (seen.has(label)) ctx.addIssue({ code: 'custom', path: ['targets', i], message: `${label} is listed twice` });
      seen.add(label);
    });
  });

const policiesSchema = z.strictObject({
  default: policyBlock.optional(),
  routes: z.record(routePattern, policyBlock).optional(),
});

export type PolicyBlock = z.infer<typeof policyBlock>;
export type Policies = z.infer<typeof policiesSchema>;

/** Rate limits, server errors (529: Anthropic's overload), network errors and timeouts. */
export const DEFAULT_RETRY_ON: readonly (number | 'network_error' | 'timeout')[] = [429, 500, 502, 503, 504, 529, 'network_error', 'timeout'];
export const DEFAULTS = { retries: 0, backoff_ms: 200, max_backoff_ms: 10_000, retry_after_max_ms: 10_000 } as const;
/** `first_token_timeout`'s defaults (the issue's example). */
export const DERIVED_DEFAULTS = { percentile: 95, factor: 2, min_ms: 300, max_ms: 10_000, min_samples: MIN_SAMPLES } as const;
export const HEDGE_DEFAULTS = { after: { percentile: 95 }, max_ratio: 0.05 } as const;
export const BREAKER_DEFAULTS = { failure_rate: 0.5, min_calls: 10, window_s: 60, cooldown_s: 30 } as const;

export type PoliciesResult = { ok: true; policies: Policies } | { ok: false; problems: string[] };

/** The `POLICIES` text (or a `PUT /policies` body), schema-checked. Blank means no policies. */
export function parsePolicies(text: string | null | undefined): PoliciesResult {
  if (text === undefined || text === null || text.trim() === '') return { ok: true, policies: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, problems: [`POLICIES is not valid JSON: ${(e as Error).message}`] };
  }
  const parsed = policiesSchema.safeParse(raw);
  return parsed.success ? { ok: true, policies: parsed.data } : { ok: false, problems: describeIssues(parsed.error) };
}

/**
 * What the schema cannot see: every target names a configured provider, a block's targets speak one wire format,
 * and a target on another provider than the block's first has a managed key (`<NAME>_API_KEY`): a fallback never
 * sends the client's key anywhere but the provider its path names.
 */
export function policyProblems(policies: Policies, providers: ReadonlyMap<string, Provider>, managedKeys: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  const blocks: [string, PolicyBlock][] = [
    ...(policies.default ? [['default', policies.default] as [string, PolicyBlock]] : []),
    ...Object.entries(policies.routes ?? {}).map(([k, b]) => [`routes[${JSON.stringify(k)}]`, b] as [string, PolicyBlock]),
  ];
  for (const [where, block] of blocks) {
    const targets = block.targets ?? [];
    const formats = new Map<string, string[]>();
    targets.forEach((t, i) => {
      const p = providers.get(t.provider);
      if (!p) {
        problems.push(`${where}.targets[${i}].provider: no provider named ${JSON.stringify(t.provider)} (known: ${[...providers.keys()].join(', ')})`);
        return;
      }
      formats.set(p.format, [...(formats.get(p.format) ?? []), t.provider]);
      const first = targets[0]?.provider;
      if (i > 0 && t.provider !== first && !managedKeys.has(t.provider)) {
        const key = `${t.provider.toUpperCase().replaceAll('-', '_')}_API_KEY`;
        problems.push(
          `${where}.targets[${i}]: falls back to ${JSON.stringify(t.provider)}, which has no managed key (set the ${key} secret): ` +
            "the client's own key only ever goes to the provider its path names",
        );
      }
    });
    if (formats.size > 1) {
      problems.push(`${where}.targets: mixes wire formats (${[...formats].map(([f, names]) => `${f}: ${names.join(', ')}`).join('; ')}); a call can only fall back to a provider of its own format`);
    }
  }
  return problems;
}

/** Both checks: the policies, or every problem found. */
export function checkPolicies(text: string | null | undefined, providers: ReadonlyMap<string, Provider>, managedKeys: ReadonlyMap<string, string>): PoliciesResult {
  const parsed = parsePolicies(text);
  if (!parsed.ok) return parsed;
  const problems = policyProblems(parsed.policies, providers, managedKeys);
  return problems.length > 0 ? { ok: false, problems } : parsed;
}

/** Keys set to undefined (configs built in code) must not hide the default's value. */
function defined(b: PolicyBlock | undefined): Partial<PolicyBlock> {
  return Object.fromEntries(Object.entries(b ?? {}).filter(([, v]) => v !== undefined)) as Partial<PolicyBlock>;
}

function breakerOf(b: PolicyBlock['breaker']): BreakerSpec | null {
  if (!b) return null;
  return {
    failureRate: b.failure_rate ?? BREAKER_DEFAULTS.failure_rate,
    minCalls: b.min_calls ?? BREAKER_DEFAULTS.min_calls,
    windowMs: (b.window_s ?? BREAKER_DEFAULTS.window_s) * 1000,
    cooldownMs: (b.cooldown_s ?? BREAKER_DEFAULTS.cooldown_s) * 1000,
  };
}

function derivedOf(f: PolicyBlock['first_token_timeout']): DerivedDeadlineSpec | null {
  if (!f) return null;
  return {
    percentile: f.percentile ?? DERIVED_DEFAULTS.percentile,
    factor: f.factor ?? DERIVED_DEFAULTS.factor,
    minMs: f.min_ms ?? DERIVED_DEFAULTS.min_ms,
    maxMs: f.max_ms ?? DERIVED_DEFAULTS.max_ms,
    minSamples: f.min_samples ?? DERIVED_DEFAULTS.min_samples,
  };
}

function hedgeOf(h: PolicyBlock['hedge'], minSamples: number): HedgeSpec | null {
  if (!h) return null;
  const after = h.after?.ms !== undefined ? { ms: h.after.ms } : { percentile: h.after?.percentile ?? HEDGE_DEFAULTS.after.percentile };
  return { after, maxRatio: h.max_ratio ?? HEDGE_DEFAULTS.max_ratio, minSamples };
}

/**
 * The policy in force for a route: its most specific `routes` block merged over `default` (a block's keys replace
 * the default's whole; `null` switches a default's deadline, breaker or hedge off). Null when the policy changes
 * nothing a call does — no targets, no retries, no deadline, no strategy, no hedge — so the call takes the plain path.
 */
export function resolvePolicy(policies: Policies, route: string): ResolvedPolicy | null {
  const matched = matchRoute(policies, route);
  const merged: Partial<PolicyBlock> = { ...defined(policies.default), ...defined(matched === null ? undefined : policies.routes?.[matched]) };
  const retries = merged.retries ?? DEFAULTS.retries;
  const firstToken = merged.first_token_timeout_ms ?? null;
  const timeout = merged.timeout_ms ?? null;
  const strategy = merged.strategy ?? 'ordered';
  const derived = derivedOf(merged.first_token_timeout);
  const minSamples = derived?.minSamples ?? MIN_SAMPLES;
  const hedgeSpec = hedgeOf(merged.hedge, minSamples);
  if (merged.targets === undefined && retries === 0 && firstToken === null && timeout === null && strategy === 'ordered' && derived === null && hedgeSpec === null) return null;
  const on = merged.retry_on ?? DEFAULT_RETRY_ON;
  return {
    matched,
    targets: (merged.targets ?? []).map((t) => ({ provider: t.provider, model: t.model ?? null })),
    retries,
    retryOn: {
      statuses: new Set(on.filter((x): x is number => typeof x === 'number')),
      networkError: on.includes('network_error'),
      timeout: on.includes('timeout'),
    },
    backoffMs: merged.backoff_ms ?? DEFAULTS.backoff_ms,
    backoffMaxMs: merged.max_backoff_ms ?? DEFAULTS.max_backoff_ms,
    retryAfterMaxMs: merged.retry_after_max_ms ?? DEFAULTS.retry_after_max_ms,
    firstTokenTimeoutMs: firstToken,
    timeoutMs: timeout,
    breaker: breakerOf(merged.breaker),
    strategy,
    derivedFirstToken: derived,
    hedge: hedgeSpec,
    minSamples,
  };
}

/** Whether any block asks for anything at all (no policies: the proxy never looks a route up). */
export function hasPolicies(policies: Policies): boolean {
  return policies.default !== undefined || Object.keys(policies.routes ?? {}).length > 0;
}
