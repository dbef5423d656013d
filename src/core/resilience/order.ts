import type { Tails, TargetTail } from './tails';

/** `strategy`: the targets in the order listed, or the healthy ones by their measured tail. */
export type Strategy = 'ordered' | 'lowest_ttft_p95' | 'lowest_latency_p95';
export const STRATEGIES = ['ordered', 'lowest_ttft_p95', 'lowest_latency_p95'] as const satisfies readonly Strategy[];

/**
 * Share of the calls of a route ordered by tail that go first to a healthy target other than the best one: how a
 * target that was slow (or never measured) keeps fresh samples, and so wins its traffic back once it recovers.
 */
export const EXPLORE_SHARE = 0.05;

/** The tail a strategy orders by, ms; null when the target is not measured on enough samples. */
export function tailOf(strategy: Exclude<Strategy, 'ordered'>, tail: TargetTail | undefined, minSamples: number): number | null {
  const m = strategy === 'lowest_ttft_p95' ? tail?.ttft : tail?.latency;
  return m === undefined || m.count < minSamples ? null : m.at(95);
}

export interface Ordering {
  /** Indexes into the targets, in the order the call tries them. */
  readonly order: readonly number[];
  /** The target sent first for exploration (not the best measured), or null. */
  readonly explored: number | null;
}

/** A target's circuit breaker as an order sees it: closed, due for its probe, or open (src/core/resilience/breaker.ts). */
export type TargetHealth = 'closed' | 'probe' | 'open';

/**
 * The order one call tries a route's targets in. `ordered`: as listed. Otherwise the healthy targets (breaker
 * closed) by their measured p95 — of the time to first token, or of the latency — lowest first, ties and targets not
 * yet measured on `minSamples` keeping their listed order after the measured ones. A target whose breaker is due for
 * its probe goes first (the probe decides, as it would first in the list); one whose breaker is open goes last (the
 * attempt loop skips it). A share `explore` of the calls puts one of the other healthy targets first, drawn evenly.
 * Deterministic under the injected `random`.
 */
export function orderTargets(
  strategy: Strategy,
  labels: readonly string[],
  tails: Tails,
  health: (index: number) => TargetHealth,
  minSamples: number,
  random: () => number,
  explore = EXPLORE_SHARE,
): Ordering {
  const listed = labels.map((_, i) => i);
  if (strategy === 'ordered' || labels.length < 2) return { order: listed, explored: null };
  const probes = listed.filter((i) => health(i) === 'probe');
  const up = listed.filter((i) => health(i) === 'closed');
  const down = listed.filter((i) => health(i) === 'open');
  const measured = up.map((i) => ({ i, tail: tailOf(strategy, tails.get(labels[i] as string), minSamples) }));
  const known = measured.filter((m): m is { i: number; tail: number } => m.tail !== null).sort((a, b) => a.tail - b.tail || a.i - b.i);
  const best = [...known.map((m) => m.i), ...measured.filter((m) => m.tail === null).map((m) => m.i)];
  let explored: number | null = null;
  if (best.length >= 2 && random() < explore) {
    const k = 1 + Math.min(best.length - 2, Math.floor(random() * (best.length - 1)));
    explored = best[k] as number;
    best.splice(k, 1);
    best.unshift(explored);
  }
  return { order: [...probes, ...best, ...down], explored };
}
