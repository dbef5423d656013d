import type { TargetTail } from './tails';

/**
 * Deadlines a policy derives from a target's measured tail (src/core/resilience/tails.ts) instead of fixing them:
 * the first-token deadline (`first_token_timeout`) and the hedge delay (`hedge.after`). Pure arithmetic on the
 * figures the isolate last read; below `minSamples` nothing is derived and the fixed setting applies.
 */

/** `first_token_timeout`: the target's TTFT `percentile` times `factor`, clamped into [minMs, maxMs]. */
export interface DerivedDeadlineSpec {
  readonly percentile: number;
  readonly factor: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** Fewer TTFT samples than this over the recent windows: the fixed `first_token_timeout_ms` (or none) applies. */
  readonly minSamples: number;
}

/** Where an attempt's first-token deadline came from. */
export type DeadlineSource = 'derived' | 'fixed' | 'none';

export interface Deadline {
  readonly ms: number | null;
  readonly source: DeadlineSource;
  /** The measured percentile it was derived from (null unless derived). */
  readonly fromMs: number | null;
}

/** The first-token deadline of an attempt at a target: derived from its tail when measured enough, else `fixedMs`. */
export function firstTokenDeadline(spec: DerivedDeadlineSpec | null, fixedMs: number | null, tail: TargetTail | undefined): Deadline {
  const fixed: Deadline = { ms: fixedMs, source: fixedMs === null ? 'none' : 'fixed', fromMs: null };
  if (spec === null || tail === undefined || tail.ttft.count < spec.minSamples) return fixed;
  const p = tail.ttft.at(spec.percentile);
  if (p === null) return fixed;
  return { ms: Math.round(Math.min(spec.maxMs, Math.max(spec.minMs, p * spec.factor))), source: 'derived', fromMs: p };
}

/** `hedge.after`: a percentile of the target's measured tail, or a fixed delay. */
export type HedgeAfter = { readonly percentile: number; readonly ms?: undefined } | { readonly ms: number; readonly percentile?: undefined };

/** `hedge`: when a second attempt may go, and how many may. */
export interface HedgeSpec {
  readonly after: HedgeAfter;
  /** Hedges at most this share of the route's calls (per isolate, a token bucket: src/core/resilience/hedge-budget.ts). */
  readonly maxRatio: number;
  /** Fewest samples `after.percentile` needs; below it the call is not hedged. */
  readonly minSamples: number;
}

/**
 * How long after its start an attempt at a target waits for its first token (a stream) or its response (otherwise)
 * before a hedge may go: the fixed `after.ms`, or the target's measured percentile — of its TTFT for a stream, of its
 * latency otherwise. Null (no hedge) when the percentile is not measured on enough samples.
 */
export function hedgeDelay(spec: HedgeSpec, tail: TargetTail | undefined, stream: boolean): number | null {
  if (spec.after.ms !== undefined) return spec.after.ms;
  const measured = stream ? tail?.ttft : tail?.latency;
  if (measured === undefined || measured.count < spec.minSamples) return null;
  const p = measured.at(spec.after.percentile);
  return p === null ? null : Math.round(p);
}

/** Why an attempt was let go: the other attempt of a hedge answered first. Not a fallback (`llm_sla_fallbacks_total`). */
export const HEDGE_LOST = 'hedge_lost';
