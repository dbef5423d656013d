import { z } from 'zod';
import { describeIssues } from './issues';

/**
 * A sketch as stored. Counts are either a dense run `c` starting at bucket index `o`, or sparse `p` pairs
 * `[gap, count, gap, count, ...]` where each gap is the distance from the previous bucket (the first from `o`):
 * whichever is shorter. Count, sum, min and max are kept exactly beside the buckets.
 */
export interface SketchData {
  /** Relative accuracy. */
  a: number;
  /** Count of values. */
  n: number;
  /** Exact sum. */
  s: number;
  /** Exact min and max; null when empty. */
  lo: number | null;
  hi: number | null;
  /** Count of the zero bucket. */
  z: number;
  /** Index of the first bucket. */
  o: number;
  c?: number[];
  p?: number[];
}

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const ms = z.number().nonnegative().finite();

const schema = z
  .strictObject({
    a: z.number().min(0.001).max(0.1),
    n: count,
    s: ms,
    lo: ms.nullable(),
    hi: ms.nullable(),
    z: count,
    o: z.number().int(),
    // Counts arrays are checked by `checkCounts`: a zod schema per element costs ~10x more on a DO's wake-up path.
    c: z.custom<unknown[]>(Array.isArray, 'expected an array').optional(),
    p: z.custom<unknown[]>(Array.isArray, 'expected an array').optional(),
  })
  .refine((d) => d.c === undefined || d.p === undefined, 'give dense counts (c) or sparse pairs (p), not both');

/** Validated data with the buckets decoded to a dense run `counts` starting at bucket index `offset`. */
export interface DecodedSketch {
  alpha: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  zeros: number;
  offset: number;
  counts: number[];
}

function fail(problem: string): never {
  throw new Error(`Invalid sketch data: ${problem}`);
}

function checkCounts(name: string, values: readonly unknown[]): number[] {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      fail(`${name}[${i}]: expected a non-negative integer, got ${JSON.stringify(v)}`);
    }
  }
  return values as number[];
}

/** Sparse `[gap, count, ...]` pairs to a dense run from `o`. */
function densify(p: readonly number[]): number[] {
  if (p.length % 2 !== 0) fail('sparse pairs (p) must have an even length');
  const counts: number[] = [];
  let index = 0;
  for (let i = 0; i < p.length; i += 2) {
    if (i > 0 && p[i] === 0) fail('sparse pairs repeat a bucket');
    index += p[i] as number;
    if (index > 1e6) fail('sparse gaps run past any trackable bucket');
    while (counts.length < index) counts.push(0);
    counts[index] = p[i + 1] as number;
  }
  return counts;
}

/** Checks shape and consistency; `indexRange` gives the bucket indexes the alpha allows (memory bound). */
export function decodeSketch(data: unknown, indexRange: (alpha: number) => [number, number]): DecodedSketch {
  const parsed = schema.safeParse(data);
  if (!parsed.success) fail(describeIssues(parsed.error).join('; '));
  const d = parsed.data;
  // Per-element zod schemas cost ~10x more than this loop, and this runs for every window a DO loads.
  const counts = d.p ? densify(checkCounts('p', d.p)) : checkCounts('c', d.c ?? []).slice();
  const [lowest, highest] = indexRange(d.a);
  if (counts.length > 0 && (d.o < lowest || d.o + counts.length - 1 > highest)) {
    fail(`bucket indexes ${d.o}..${d.o + counts.length - 1} outside [${lowest}, ${highest}]`);
  }
  let total = d.z;
  for (const n of counts) total += n;
  if (total !== d.n) fail(`bucket counts add up to ${total}, not n = ${d.n}`);
  const base = { alpha: d.a, zeros: d.z, offset: d.o, counts };
  if (d.n === 0) {
    if (d.lo !== null || d.hi !== null || d.s !== 0) fail('an empty sketch has null min/max and zero sum');
    return { ...base, count: 0, sum: 0, min: Infinity, max: -Infinity };
  }
  if (d.lo === null || d.hi === null || d.lo > d.hi) fail('a non-empty sketch needs min <= max');
  return { ...base, count: d.n, sum: d.s, min: d.lo, max: d.hi };
}

/** Dense or sparse, whichever is shorter: a dense run costs one number a bucket, sparse two per non-empty one. */
export function encodeCounts(offset: number, bins: readonly number[]): { o: number; c?: number[]; p?: number[] } {
  let first = 0;
  let last = bins.length - 1;
  while (first <= last && bins[first] === 0) first++;
  while (last >= first && bins[last] === 0) last--;
  if (first > last) return { o: 0, c: [] };
  const run = bins.slice(first, last + 1);
  const nonEmpty = run.filter((n) => n > 0).length;
  if (run.length <= 2 * nonEmpty) return { o: offset + first, c: run };
  const p: number[] = [];
  let previous = 0;
  run.forEach((n, i) => {
    if (n === 0) return;
    p.push(i - previous, n);
    previous = i;
  });
  return { o: offset + first, p };
}
