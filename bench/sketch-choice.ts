/**
 * Scratch bench behind the choice of sketch and alpha (src/sla/sketch.ts): size, merge cost and accuracy of the
 * pure-TS DDSketch at a few relative accuracies, on 10k log-normal latencies per one-minute window.
 * Runs in Node (CPU timing is meaningless inside production workerd, where clocks only move on I/O):
 *
 *   npx esbuild bench/sketch-choice.ts --bundle --platform=node --format=esm --outfile=/tmp/sketch-choice.mjs \
 *     && node_modules/.bin/node /tmp/sketch-choice.mjs
 */
import { QuantileSketch } from '../src/sla/sketch';

const WINDOWS = 60;
const PER_WINDOW = 10_000;
const QS = [0.5, 0.9, 0.95, 0.99, 0.999];

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

function logNormal(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => Math.exp(Math.log(300) + 0.8 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())));
}

/** Mean milliseconds per call of `fn` over enough rounds to take ~200 ms. */
function time(fn: () => void): number {
  let rounds = 0;
  const start = performance.now();
  while (performance.now() - start < 200) {
    fn();
    rounds++;
  }
  return (performance.now() - start) / rounds;
}

const windows = Array.from({ length: WINDOWS }, (_, i) => logNormal(PER_WINDOW, i + 1));
const all = Float64Array.from(windows.flatMap((w) => [...w])).sort();

const rows = [0.0025, 0.005, 0.01].map((alpha) => {
  const sketches = windows.map((values) => {
    const s = new QuantileSketch(alpha);
    for (const v of values) s.add(v);
    return s;
  });
  const stored = sketches.map((s) => JSON.stringify(s));
  const merged = new QuantileSketch(alpha);
  for (const s of sketches) merged.merge(s);
  const worstError = Math.max(
    ...QS.map((q) => {
      const exact = all[Math.floor(q * (all.length - 1))] as number;
      return Math.abs((merged.quantile(q) as number) - exact) / exact;
    }),
  );
  return {
    alpha,
    'bytes (10k window)': stored[0]?.length,
    'add 10k (ms)': time(() => {
      const s = new QuantileSketch(alpha);
      for (const v of windows[0] as Float64Array) s.add(v);
    }).toFixed(3),
    'merge 60 (ms)': time(() => {
      const m = new QuantileSketch(alpha);
      for (const s of sketches) m.merge(s);
    }).toFixed(3),
    'parse+merge 60 (ms)': time(() => {
      const m = new QuantileSketch(alpha);
      for (const text of stored) m.merge(QuantileSketch.fromJSON(JSON.parse(text)));
    }).toFixed(3),
    'worst rel. error p50..p99.9': `${(worstError * 100).toFixed(3)} %`,
  };
});

console.table(rows);
