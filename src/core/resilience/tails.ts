import { QuantileSketch } from '../sla/sketch';
import { deserializeWindow, type WindowData } from '../sla/window';

/**
 * What the decisions of a route's policy read of each target: the quantile sketches of its attempts' time to first
 * token and latency over the recent minute windows, as the route objects hold them (every isolate's attempts, merged
 * across the route's shards). Pure data, read off the response path and kept by each isolate between reads.
 */

/** How far back a target's measured tail reaches: the minute windows of the last five minutes (the current one included). */
export const RECENT_MS = 5 * 60_000;

/** Fewest samples a measured percentile needs before a decision uses it, unless `first_token_timeout.min_samples` says. */
export const MIN_SAMPLES = 50;

/**
 * One measure of a target (its TTFT, or its latency): how many samples, and percentiles of them — any, from its
 * sketch, or, once `compact`ed, the few a policy reads (a few numbers an isolate keeps per route instead of sketches).
 */
export class Measured {
  private constructor(
    private readonly sketch: QuantileSketch | null,
    readonly count: number,
    private readonly memo: Map<number, number | null>,
  ) {}

  static of(sketch: QuantileSketch): Measured {
    return new Measured(sketch, sketch.count, new Map());
  }

  /** The `percentile` (0-100) of the samples, ms; null when there are none (or it was not kept). Memoized. */
  at(percentile: number): number | null {
    let v = this.memo.get(percentile);
    if (v === undefined) {
      if (this.sketch === null) return null;
      this.memo.set(percentile, (v = this.sketch.quantile(percentile / 100)));
    }
    return v;
  }

  /** The same measure with only `percentiles` kept. */
  compact(percentiles: readonly number[]): Measured {
    return new Measured(null, this.count, new Map(percentiles.map((p) => [p, this.at(p)])));
  }
}

/** A target's measured tail: its streams' time to first token, and every attempt's latency. */
export interface TargetTail {
  readonly ttft: Measured;
  readonly latency: Measured;
}

/** Each target's tail, by label (`provider` or `provider:model`). */
export type Tails = ReadonlyMap<string, TargetTail>;

export const NO_TAILS: Tails = new Map();

/**
 * The targets' windows as each shard of a route answers them (`RouteStats.targetWindows`), merged per target. A
 * window that does not read back (another version's data) is left out rather than failing the whole read.
 */
export function tailsOf(shards: readonly Readonly<Record<string, WindowData>>[]): Tails {
  const merged = new Map<string, { ttft: QuantileSketch; latency: QuantileSketch }>();
  for (const shard of shards) {
    for (const [target, data] of Object.entries(shard)) {
      let w;
      try {
        w = deserializeWindow(data);
      } catch {
        continue;
      }
      const into = merged.get(target);
      if (into === undefined) merged.set(target, { ttft: w.ttft, latency: w.latency });
      else {
        into.ttft.merge(w.ttft);
        into.latency.merge(w.latency);
      }
    }
  }
  return new Map([...merged].map(([target, s]) => [target, { ttft: Measured.of(s.ttft), latency: Measured.of(s.latency) }]));
}

/** The percentiles a route's policy reads, per measure (src/core/resilience/decisions.ts says which). */
export interface PercentilesRead {
  readonly ttft: readonly number[];
  readonly latency: readonly number[];
}

/** The tails reduced to the percentiles read: what an isolate keeps between reads. */
export function compactTails(tails: Tails, read: PercentilesRead): Tails {
  return new Map([...tails].map(([target, t]) => [target, { ttft: t.ttft.compact(read.ttft), latency: t.latency.compact(read.latency) }]));
}

/** A tail from raw values (tests, the benchmark's reference): every value added to fresh sketches. */
export function tailFrom(ttftMs: readonly number[], latencyMs: readonly number[] = ttftMs): TargetTail {
  const ttft = new QuantileSketch();
  const latency = new QuantileSketch();
  for (const v of ttftMs) ttft.add(v);
  for (const v of latencyMs) latency.add(v);
  return { ttft: Measured.of(ttft), latency: Measured.of(latency) };
}
