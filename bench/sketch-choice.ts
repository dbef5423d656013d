/**
 * Why src/sla/sketch.ts: the three candidates the issue names, measured side by side on the same data — our
 * pure-TS DDSketch (alpha 0.005), hdr-histogram-js in pure JS mode (3 significant digits, microseconds; workerd
 * forbids compiling WebAssembly at run time) and @datadog/sketches-js (1 % and 0.5 %).
 * Per candidate, over 60 one-minute windows of 10,000 latencies (log-normal, and a Pareto heavy tail): serialised
 * size of a window, time to record 10k values, time to deserialise and merge 60 windows, worst
 * relative error over p50..p99.9 against exact lower-rank quantiles, and whether min/max/sum survive serialisation.
 *
 *   npm run bench:sketch
 */
import { DDSketch } from '@datadog/sketches-js';
import * as hdr from 'hdr-histogram-js';
import fs from 'node:fs';
import { QuantileSketch } from '../src/core/sla/sketch';

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
const logNormal = (r: () => number) => Math.exp(Math.log(300) + 0.8 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
const pareto = (r: () => number) => 50 / Math.pow(1 - r(), 1 / 1.5);

/** Median milliseconds per call of `fn` over rounds of ~100 ms. */
function time(fn: () => void): number {
  const samples: number[] = [];
  for (let round = 0; round < 5; round++) {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < 100) {
      fn();
      n++;
    }
    samples.push((performance.now() - start) / n);
  }
  return samples.sort((a, b) => a - b)[2] as number;
}

interface Candidate<S> {
  name: string;
  make(): S;
  add(s: S, v: number): void;
  quantile(s: S, q: number): number;
  serialize(s: S): string | Uint8Array;
  merge(into: S, stored: string | Uint8Array): void;
  /** min, max, sum after a serialise/deserialise round trip (NaN where the format does not keep them). */
  summary(stored: string | Uint8Array): [number, number, number];
}

const ours: Candidate<QuantileSketch> = {
  name: 'ours (DDSketch, a=0.005)',
  make: () => new QuantileSketch(0.005),
  add: (s, v) => s.add(v),
  quantile: (s, q) => s.quantile(q) as number,
  serialize: (s) => JSON.stringify(s),
  merge: (into, stored) => into.merge(QuantileSketch.fromJSON(JSON.parse(stored as string))),
  summary: (stored) => {
    const s = QuantileSketch.fromJSON(JSON.parse(stored as string));
    return [s.min as number, s.max as number, s.sum];
  },
};
const hdrJs: Candidate<hdr.Histogram> = {
  name: 'hdr-histogram-js (JS, 3 digits, us)',
  make: () => hdr.build({ bitBucketSize: 'packed', numberOfSignificantValueDigits: 3, autoResize: true, useWebAssembly: false }),
  add: (s, v) => s.recordValue(Math.round(v * 1000)),
  quantile: (s, q) => s.getValueAtPercentile(q * 100) / 1000,
  serialize: (s) => hdr.encodeIntoCompressedBase64(s),
  merge: (into, stored) => into.add(hdr.decodeFromCompressedBase64(stored as string, 'packed', false)),
  summary: (stored) => {
    const h = hdr.decodeFromCompressedBase64(stored as string, 'packed', false);
    return [h.minNonZeroValue / 1000, h.maxValue / 1000, NaN];
  },
};
const dd = (alpha: number): Candidate<DDSketch> => ({
  name: `@datadog/sketches-js (a=${alpha})`,
  make: () => new DDSketch({ relativeAccuracy: alpha }),
  add: (s, v) => s.accept(v),
  quantile: (s, q) => s.getValueAtQuantile(q),
  serialize: (s) => s.toProto(),
  merge: (into, stored) => into.merge(DDSketch.fromProto(stored as Uint8Array)),
  summary: (stored) => {
    const s = DDSketch.fromProto(stored as Uint8Array);
    return [s.min, s.max, s.sum];
  },
});

function measure<S>(c: Candidate<S>, windows: Float64Array[], exact: Float64Array) {
  const sketches = windows.map((w) => {
    const s = c.make();
    for (const v of w) c.add(s, v);
    return s;
  });
  const stored = sketches.map((s) => c.serialize(s));
  const merged = c.make();
  for (const s of stored) c.merge(merged, s);
  const worst = Math.max(...QS.map((q) => Math.abs(c.quantile(merged, q) - (exact[Math.floor(q * (exact.length - 1))] as number)) / (exact[Math.floor(q * (exact.length - 1))] as number)));
  const first = windows[0] as Float64Array;
  const [min, max, sum] = c.summary(stored[0] as string | Uint8Array);
  const keeps = Math.abs(min - Math.min(...first)) < 1e-9 && Math.abs(max - Math.max(...first)) < 1e-9 && Math.abs(sum - first.reduce((a, b) => a + b, 0)) < 1e-6;
  return {
    candidate: c.name,
    bytesPerWindow: typeof stored[0] === 'string' ? (stored[0] as string).length : (stored[0] as Uint8Array).byteLength,
    record10kMs: Number(time(() => { const s = c.make(); for (const v of first) c.add(s, v); }).toFixed(3)),
    deserializeMerge60Ms: Number(time(() => { const m = c.make(); for (const s of stored) c.merge(m, s); }).toFixed(3)),
    worstRelErrorPct: Number((worst * 100).toFixed(3)),
    keepsMinMaxSum: keeps,
  };
}

const results: Record<string, ReturnType<typeof measure>[]> = {};
for (const [dataset, gen] of [['log-normal', logNormal], ['pareto', pareto]] as const) {
  const windows = Array.from({ length: WINDOWS }, (_, i) => {
    const r = rng(i + 1);
    return Float64Array.from({ length: PER_WINDOW }, () => gen(r));
  });
  const exact = Float64Array.from(windows.flatMap((w) => [...w])).sort();
  results[dataset] = [measure(ours, windows, exact), measure(hdrJs, windows, exact), measure(dd(0.01), windows, exact), measure(dd(0.005), windows, exact)];
  console.log(`\n${dataset}: ${WINDOWS} windows x ${PER_WINDOW} values`);
  console.table(results[dataset]);
}
fs.mkdirSync('bench/results', { recursive: true });
const file = `bench/results/sketch-choice-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
fs.writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2)}\n`);
console.log(`written ${file}`);
