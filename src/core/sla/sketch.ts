import { decodeSketch, encodeCounts, type SketchData } from './sketch-data';

export type { SketchData } from './sketch-data';

/** Quantiles within 0.5 % relative: half the 1 % the SLAs are judged at, so sketch error never decides a verdict. */
export const DEFAULT_RELATIVE_ACCURACY = 0.005;
/** Values (ms) at or below this go to the zero bucket: a nanosecond is below anything a Worker can time. */
export const MIN_TRACKABLE_MS = 1e-6;
/**
 * Values (ms) above this (~2.8 h, beyond any upstream timeout) share the top bucket. With the floor above it
 * bounds a sketch at ~3,000 buckets for alpha 0.005 whatever the traffic.
 */
export const MAX_TRACKABLE_MS = 1e7;

/**
 * DDSketch-style mergeable quantile sketch over non-negative milliseconds: bucket i holds (gamma^(i-1), gamma^i]
 * with gamma = (1+a)/(1-a), so answering with 2·gamma^i/(gamma+1) is within relative accuracy a of any value in it.
 * Pure TypeScript: workerd forbids compiling WebAssembly at runtime.
 */
export class QuantileSketch {
  readonly alpha: number;
  private readonly logGamma: number;
  /** counts[i] is the count of bucket index `offset + i`; grown only to the indexes seen. */
  private counts: number[] = [];
  private offset = 0;
  private zeros = 0;
  private n = 0;
  private total = 0;
  private lo = Infinity;
  private hi = -Infinity;

  constructor(alpha = DEFAULT_RELATIVE_ACCURACY) {
    if (!(alpha >= 0.001 && alpha <= 0.1)) throw new Error(`Relative accuracy must be in [0.001, 0.1], got ${alpha}`);
    this.alpha = alpha;
    this.logGamma = Math.log((1 + alpha) / (1 - alpha));
  }

  /** The bucket indexes an alpha can use: what bounds memory, and what `fromJSON` accepts. */
  static indexRange(alpha: number): [number, number] {
    const logGamma = Math.log((1 + alpha) / (1 - alpha));
    return [Math.ceil(Math.log(MIN_TRACKABLE_MS) / logGamma), Math.ceil(Math.log(MAX_TRACKABLE_MS) / logGamma)];
  }

  get count(): number { return this.n; }
  get sum(): number { return this.total; }
  get min(): number | null { return this.n ? this.lo : null; }
  get max(): number | null { return this.n ? this.hi : null; }
  get mean(): number | null { return this.n ? this.total / this.n : null; }

  add(value: number, count = 1): void {
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(`Sketch values must be finite non-negative milliseconds, got ${value}`);
    }
    if (!Number.isSafeInteger(count) || count < 1) throw new Error(`Sketch counts must be positive integers, got ${count}`);
    this.n += count;
    this.total += value * count;
    if (value < this.lo) this.lo = value;
    if (value > this.hi) this.hi = value;
    if (value <= MIN_TRACKABLE_MS) this.zeros += count;
    else this.bump(Math.ceil(Math.log(Math.min(value, MAX_TRACKABLE_MS)) / this.logGamma), count);
  }

  merge(other: QuantileSketch): void {
    if (other.alpha !== this.alpha) throw new Error('Cannot merge sketches with different relative accuracy');
    if (other.n === 0) return;
    this.n += other.n;
    this.total += other.total;
    this.zeros += other.zeros;
    if (other.lo < this.lo) this.lo = other.lo;
    if (other.hi > this.hi) this.hi = other.hi;
    for (let i = 0; i < other.counts.length; i++) {
      const c = other.counts[i] as number;
      if (c > 0) this.bump(other.offset + i, c);
    }
  }

  /**
   * The lower-rank quantile: an estimate of the value at rank floor(q·(n-1)) of the sorted data, within the relative
   * accuracy, clamped into [min, max] (so q = 0 and q = 1 are exact). Null when empty.
   */
  quantile(q: number): number | null {
    if (!(q >= 0 && q <= 1)) throw new Error(`Quantile must be in [0, 1], got ${q}`);
    if (this.n === 0) return null;
    const rank = Math.floor(q * (this.n - 1));
    if (rank === 0) return this.lo;
    if (rank === this.n - 1) return this.hi;
    let seen = this.zeros;
    if (rank < seen) return this.lo;
    let estimate = this.hi;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] as number;
      if (seen > rank) {
        estimate = (2 * Math.exp((this.offset + i) * this.logGamma)) / (1 + Math.exp(this.logGamma));
        break;
      }
    }
    return Math.min(Math.max(estimate, this.lo), this.hi);
  }

  clone(): QuantileSketch {
    const copy = new QuantileSketch(this.alpha);
    copy.merge(this);
    return copy;
  }

  toJSON(): SketchData {
    return {
      a: this.alpha,
      n: this.n,
      s: this.total,
      lo: this.min,
      hi: this.max,
      z: this.zeros,
      ...encodeCounts(this.offset, this.counts),
    };
  }

  /** Rebuilds a sketch from `toJSON()` output; throws `Invalid sketch data: ...` on anything else. */
  static fromJSON(data: unknown): QuantileSketch {
    const d = decodeSketch(data, (alpha) => QuantileSketch.indexRange(alpha));
    const sketch = new QuantileSketch(d.alpha);
    sketch.counts = d.counts;
    sketch.offset = d.offset;
    sketch.n = d.count;
    sketch.total = d.sum;
    sketch.zeros = d.zeros;
    sketch.lo = d.min;
    sketch.hi = d.max;
    return sketch;
  }

  private bump(index: number, count: number): void {
    if (this.counts.length === 0) {
      this.offset = index;
      this.counts.push(0);
    } else if (index < this.offset) {
      // Prepending is rare: after the first few values the run already spans the usual latencies.
      this.counts = new Array<number>(this.offset - index).fill(0).concat(this.counts);
      this.offset = index;
    }
    const i = index - this.offset;
    while (this.counts.length <= i) this.counts.push(0);
    this.counts[i] = (this.counts[i] as number) + count;
  }
}
