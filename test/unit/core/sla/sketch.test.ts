import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TRACKABLE_MS, QuantileSketch } from '../../../../src/core/sla/sketch';

const QS = [0.5, 0.9, 0.95, 0.99, 0.999] as const;

/** Seeded PRNG (mulberry32) so a failing dataset can be regenerated. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** Latency-shaped datasets (ms). */
const DISTRIBUTIONS: Record<string, (r: () => number) => number> = {
  uniform: (r) => r() * 1000,
  lognormal: (r) => Math.exp(Math.log(300) + 0.8 * normal(r)),
  bimodal: (r) => (r() < 0.5 ? Math.max(0, 50 + 5 * normal(r)) : Math.max(0, 2000 + 200 * normal(r))),
  pareto: (r) => 10 / Math.pow(1 - r(), 1 / 1.2),
  constant: () => 42.5,
  'with zeros': (r) => (r() < 0.3 ? 0 : Math.exp(Math.log(120) + normal(r))),
};

function dataset(name: string, n: number, seed = 1): Float64Array {
  const r = rng(seed);
  const gen = DISTRIBUTIONS[name] as (r: () => number) => number;
  return Float64Array.from({ length: n }, () => gen(r));
}

function sketchOf(values: ArrayLike<number>, alpha?: number): QuantileSketch {
  const s = new QuantileSketch(alpha);
  for (let i = 0; i < values.length; i++) s.add(values[i] as number);
  return s;
}

/** The lower-rank quantile: the value at rank floor(q·(n-1)) of the sorted data. */
function exactQuantile(sorted: Float64Array, q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))] as number;
}

function expectAccurate(sketch: QuantileSketch, values: Float64Array, qs: readonly number[] = QS): void {
  const sorted = Float64Array.from(values).sort();
  for (const q of qs) {
    const exact = exactQuantile(sorted, q);
    const estimate = sketch.quantile(q) as number;
    const error = exact === 0 ? estimate : Math.abs(estimate - exact) / exact;
    expect(error, `q=${q} exact=${exact} estimate=${estimate}`).toBeLessThanOrEqual(0.01);
  }
}

describe('QuantileSketch accuracy (within 1 % relative of the lower-rank quantile)', () => {
  for (const name of Object.keys(DISTRIBUTIONS)) {
    for (const n of [10, 1_000, 100_000]) {
      it(`${name}, n=${n}`, () => {
        const values = dataset(name, n, n);
        const sketch = sketchOf(values);
        expectAccurate(sketch, values);
        expect(sketch.count).toBe(n);
        expect(sketch.min).toBe(Math.min(...values));
        expect(sketch.max).toBe(Math.max(...values));
      });
    }
  }

  it('lognormal, n=1e6', () => {
    const values = dataset('lognormal', 1_000_000, 7);
    expectAccurate(sketchOf(values), values);
  });

  it('holds for arbitrary data (zeros, sub-ms and multi-hour values)', () => {
    // Values in (0, 1e-6] share the zero bucket by design (below anything a Worker can time): keep them out.
    const value = fc.oneof(fc.constant(0), fc.double({ min: 1e-5, max: MAX_TRACKABLE_MS, noNaN: true }));
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 300 }), fc.double({ min: 0, max: 1, noNaN: true }), (xs, q) => {
        const values = Float64Array.from(xs);
        expectAccurate(sketchOf(values), values, [...QS, q, 0, 1]);
      }),
    );
  });

  it('stays within the configured relative accuracy (0.5 %), not just the 1 % required', () => {
    const value = fc.oneof(fc.constant(0), fc.double({ min: 1e-5, max: MAX_TRACKABLE_MS, noNaN: true }));
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 200 }), fc.double({ min: 0, max: 1, noNaN: true }), (xs, q) => {
        const sorted = Float64Array.from(xs).sort();
        const exact = exactQuantile(sorted, q);
        const estimate = sketchOf(xs).quantile(q) as number;
        expect(exact === 0 ? estimate : Math.abs(estimate - exact) / exact).toBeLessThanOrEqual(0.005 + 1e-12);
      }),
    );
  });

  it('answers q = 0 and q = 1 with the exact min and max, and null when empty', () => {
    const values = dataset('pareto', 1000);
    const sketch = sketchOf(values);
    expect(sketch.quantile(0)).toBe(Math.min(...values));
    expect(sketch.quantile(1)).toBe(Math.max(...values));
    const empty = new QuantileSketch();
    expect([empty.quantile(0.5), empty.min, empty.max, empty.mean, empty.count, empty.sum]).toEqual([null, null, null, null, 0, 0]);
  });

  it('keeps count, sum, min, max and mean exact beside the buckets', () => {
    const s = new QuantileSketch();
    s.add(2, 3);
    s.add(0);
    s.add(10.5);
    expect([s.count, s.sum, s.min, s.max, s.mean]).toEqual([5, 16.5, 0, 10.5, 3.3]);
  });

  it('puts values above the trackable maximum in the top bucket, max still exact', () => {
    const s = new QuantileSketch();
    s.add(5e7);
    s.add(9e7);
    s.add(1);
    expect(s.max).toBe(9e7);
    expect(s.quantile(0.5)).toBeLessThanOrEqual(MAX_TRACKABLE_MS * 1.01);
    expect(s.quantile(0.5)).toBeGreaterThanOrEqual(MAX_TRACKABLE_MS * 0.99);
  });
});

describe('QuantileSketch merging', () => {
  it('60 one-minute sketches merge to the accuracy (and buckets) of one sketch of everything', () => {
    const values = dataset('lognormal', 60_000, 3);
    const merged = new QuantileSketch();
    for (let w = 0; w < 60; w++) merged.merge(sketchOf(values.subarray(w * 1000, (w + 1) * 1000)));
    expectAccurate(merged, values);
    const whole = sketchOf(values);
    expect({ ...merged.toJSON(), s: 0 }).toEqual({ ...whole.toJSON(), s: 0 });
    expect(merged.sum).toBeCloseTo(whole.sum, 6);
  });

  it('any split into shards merges to the same sketch as the whole', () => {
    const value = fc.oneof(fc.constant(0), fc.double({ min: 1e-5, max: 1e6, noNaN: true }));
    fc.assert(
      fc.property(fc.array(fc.array(value, { maxLength: 50 }), { minLength: 1, maxLength: 8 }), (shards) => {
        const merged = new QuantileSketch();
        for (const shard of shards) merged.merge(sketchOf(shard));
        const whole = sketchOf(shards.flat());
        expect({ ...merged.toJSON(), s: 0 }).toEqual({ ...whole.toJSON(), s: 0 });
        expect(merged.sum).toBeCloseTo(whole.sum, 3);
        for (const q of QS) expect(merged.quantile(q)).toBe(whole.quantile(q));
      }),
    );
  });

  it('refuses to merge sketches of different relative accuracy', () => {
    expect(() => new QuantileSketch(0.005).merge(new QuantileSketch(0.01))).toThrow(
      'Cannot merge sketches with different relative accuracy',
    );
  });

  it('leaves the merged-in sketch untouched, and a clone is independent', () => {
    const a = sketchOf([1, 2, 3]);
    const b = sketchOf([100]);
    a.merge(b);
    expect(b.toJSON()).toEqual(sketchOf([100]).toJSON());
    const c = a.clone();
    c.add(5000);
    expect([a.count, c.count, a.max, c.max]).toEqual([4, 5, 100, 5000]);
  });
});

describe('QuantileSketch serialisation', () => {
  it('round-trips quantiles, count, min, max and sum exactly, through JSON text', () => {
    for (const name of Object.keys(DISTRIBUTIONS)) {
      const sketch = sketchOf(dataset(name, 5000));
      const back = QuantileSketch.fromJSON(JSON.parse(JSON.stringify(sketch)));
      expect([back.count, back.sum, back.min, back.max, back.alpha]).toEqual([sketch.count, sketch.sum, sketch.min, sketch.max, sketch.alpha]);
      for (const q of [0, ...QS, 1]) expect(back.quantile(q)).toBe(sketch.quantile(q));
      expect(back.toJSON()).toEqual(sketch.toJSON());
    }
    expect(QuantileSketch.fromJSON(new QuantileSketch().toJSON()).count).toBe(0);
  });

  it('uses sparse pairs when they are shorter than a dense run, and restores them', () => {
    const sketch = sketchOf([1, 1000, 1e6]);
    const data = sketch.toJSON();
    expect(data.c).toBeUndefined();
    expect(data.p).toHaveLength(6);
    expect(QuantileSketch.fromJSON(data).toJSON()).toEqual(data);
  });

  it('merges 60 stored 10k-value windows in a few milliseconds', () => {
    // Clocks advance during CPU work under the vitest plugin (not in production workerd); average many rounds.
    const stored = Array.from({ length: 60 }, (_, i) => JSON.stringify(sketchOf(dataset('lognormal', 10_000, 100 + i))));
    const sketches = stored.map((text) => QuantileSketch.fromJSON(JSON.parse(text)));
    const rounds = 50;
    let t = performance.now();
    for (let r = 0; r < rounds; r++) {
      const merged = new QuantileSketch();
      for (const s of sketches) merged.merge(s);
      expect(merged.count).toBe(600_000);
    }
    const mergeMs = (performance.now() - t) / rounds;
    t = performance.now();
    for (let r = 0; r < rounds; r++) {
      const merged = new QuantileSketch();
      for (const text of stored) merged.merge(QuantileSketch.fromJSON(JSON.parse(text)));
      expect(merged.quantile(0.99)).not.toBeNull();
    }
    const loadMs = (performance.now() - t) / rounds;
    console.log(`merge of 60 sketches: ${mergeMs.toFixed(3)} ms; parse + validate + merge of 60: ${loadMs.toFixed(3)} ms`);
    // Generous bounds: the point is the order of magnitude, not a flaky benchmark.
    expect(mergeMs).toBeLessThan(20);
    expect(loadMs).toBeLessThan(100);
  });

  it('stores 10k log-normal latencies in a few KB', () => {
    const size = JSON.stringify(sketchOf(dataset('lognormal', 10_000, 11))).length;
    console.log(`serialised 10k log-normal sketch: ${size} bytes`);
    expect(size).toBeLessThan(4096);
  });
});

describe('QuantileSketch bad input', () => {
  it.each([NaN, -1, Infinity, -Infinity])('add(%s) throws', (v) => {
    expect(() => new QuantileSketch().add(v)).toThrow(/finite non-negative milliseconds/);
  });
  it.each([0, -2, 1.5, NaN])('add(1, %s) throws', (count) => {
    expect(() => new QuantileSketch().add(1, count)).toThrow(/positive integers/);
  });
  it.each([-0.1, 1.01, NaN])('quantile(%s) throws', (q) => {
    expect(() => new QuantileSketch().quantile(q)).toThrow(/Quantile must be in \[0, 1\]/);
  });
  it.each([0, 0.5, 1e-9, NaN])('relative accuracy %s is refused', (a) => {
    expect(() => new QuantileSketch(a)).toThrow(/Relative accuracy/);
  });

  const good = sketchOf([10, 10.05, 10.1]).toJSON(); // dense: c = [2, 1]
  const sparse = sketchOf([1, 1000, 1e6]).toJSON();
  it('has a dense and a sparse fixture to corrupt', () => {
    expect([good.c, sparse.p?.length]).toEqual([[2, 1], 6]);
  });
  it.each<[string, unknown, RegExp]>([
    ['null', null, /Invalid sketch data/],
    ['an unknown key', { ...good, extra: 1 }, /extra: unknown key/],
    ['a negative count', { ...good, c: [-1] }, /c\[0\]/],
    ['counts that do not add up to n', { ...good, n: 99 }, /add up to 3, not n = 99/],
    ['a bucket beyond the trackable range', { ...good, o: 1e6 }, /outside/],
    ['min above max', { ...good, lo: 5, hi: 1 }, /min <= max/],
    ['both dense and sparse counts', { ...good, p: [0, 3] }, /not both/],
    ['a fractional sparse count', { ...sparse, p: [0, 1.5] }, /p\[1\]: expected a non-negative integer/],
    ['odd sparse pairs', { ...sparse, p: [0, 1, 5] }, /even length/],
    ['a repeated sparse bucket', { ...sparse, p: [0, 1, 0, 2] }, /repeat a bucket/],
    ['counts that are not an array', { ...good, c: 'nope' }, /c: expected an array/],
    ['an empty sketch with a min', { a: 0.005, n: 0, s: 0, lo: 1, hi: 1, z: 0, o: 0, c: [] }, /empty sketch/],
  ])('fromJSON refuses %s', (_, data, message) => {
    expect(() => QuantileSketch.fromJSON(data)).toThrow(message);
  });
});
