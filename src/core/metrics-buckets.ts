import { DEFAULT_BOUNDS, DURATION_BUCKETS_S, TTFT_BUCKETS_S, type HistogramBounds, type HistogramCounts } from './metrics';

/**
 * Histogram bucket boundaries per route: the GenAI conventions' boundaries plus the route's SLO thresholds, so a
 * latency SLO can be read off the histogram as `_bucket{le="<threshold>"} / _count` (a Pyrra latency indicator).
 * One function from the SLO in force to the boundaries, whichever way the series are laid out, and one rule to move
 * counts kept on other boundaries onto them (`rebucket`).
 */

export { DEFAULT_BOUNDS, type HistogramBounds } from './metrics';

/** Seconds, kept to 9 significant digits so 300 ms is exactly the `0.3` the exposition prints. */
const seconds = (ms: number) => Number((ms / 1000).toPrecision(9));

function withBound(bounds: readonly number[], ms: number | null): readonly number[] {
  if (ms === null) return bounds;
  const b = seconds(ms);
  return bounds.includes(b) ? bounds : [...bounds, b].sort((x, y) => x - y);
}

/** The boundaries of a route: the defaults, plus its SLO's `latency_ms` and `ttft_ms` (null: no SLO). */
export function histogramBounds(slo: { latency_ms: number | null; ttft_ms: number | null } | null): HistogramBounds {
  if (slo === null || (slo.latency_ms === null && slo.ttft_ms === null)) return DEFAULT_BOUNDS;
  return { duration: withBound(DURATION_BUCKETS_S, slo.latency_ms), ttft: withBound(TTFT_BUCKETS_S, slo.ttft_ms) };
}

export function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Counts kept on `from` moved onto `to`. Each old bucket's calls go to the new bucket of its upper bound, or of the
 * next bound above it when `to` lacks it (a removed bound: its bucket merges into the next). A bound `to` adds
 * splits an old bucket whose calls cannot be told apart: they all go above the new bound, so the new
 * `_bucket{le=new}` starts at the cumulative count below it and counts exactly from then on — a counter that never
 * goes down, whose `increase()` over any window after the change is exact.
 */
export function rebucket(h: HistogramCounts, from: readonly number[], to: readonly number[]): HistogramCounts {
  if (sameBounds(from, to)) return h;
  const counts = new Array<number>(to.length + 1).fill(0);
  h.counts.forEach((n, i) => {
    const upper = i < from.length ? (from[i] as number) : Number.POSITIVE_INFINITY;
    let j = to.findIndex((b) => b >= upper);
    if (j === -1) j = to.length;
    counts[j] = (counts[j] ?? 0) + n;
  });
  return { counts, sum: h.sum, count: h.count };
}

/** Every boundary of either list (shards of one route between two configs). */
export function unionBounds(a: readonly number[], b: readonly number[]): readonly number[] {
  return sameBounds(a, b) ? a : [...new Set([...a, ...b])].sort((x, y) => x - y);
}
