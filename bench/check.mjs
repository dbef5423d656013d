// `npm run bench:check [N | run.json ...]`: compares the newest bench run (or, given N, each ratio's median over the
// newest N runs; given files, over those)
// with bench/baseline.json and fails when a ratio is more than 10 % worse (keys starting with `b_`, requests/s
// ratios, are higher-is-better; the others, overhead, time and CPU ratios, lower-is-better), or when a run checked
// lost a call or a span (its `goals` say so), or missed the hedging goal of issue 24 (`hedging.goals`).
//
// The baseline is each ratio's worst value over several runs of the same code (`npm run bench:baseline`): on this
// shared machine one run of unchanged code differs from the next by more than 10 % on most ratios, so a baseline
// from one run fails half the runs of the code it was taken from. 10 % past the worst of several runs is a
// regression; inside the runs' own spread is not.
import fs from 'node:fs';

const TOLERANCE = 0.1;
const higherIsBetter = (key) => key.startsWith('b_');

// Bench runs only (named by their date): not the soak, micro or sketch results beside them.
const files = fs.readdirSync('bench/results').filter((f) => /^\d{4}-.*\.json$/.test(f)).sort();
// `bench:check <run.json> ...` checks those runs (their median) instead of the newest.
const named = process.argv.slice(2).filter((a) => a.endsWith('.json')).map((f) => f.replace(/^bench\/results\//, ''));
const count = Math.max(1, Number(process.argv[2] ?? 1) || 1);
const checked = named.length > 0 ? named : files.slice(-count);
if (checked.length === 0) {
  console.error('no results in bench/results: run `npm run bench` first');
  process.exit(2);
}
const baseline = JSON.parse(fs.readFileSync('bench/baseline.json', 'utf8'));
const results = checked.map((f) => JSON.parse(fs.readFileSync(`bench/results/${f}`, 'utf8')));
const median = (values) => {
  const v = values.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((x, y) => x - y);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
};
let failed = 0;
const runs = baseline.sources ? `worst of ${baseline.sources.length} runs` : baseline.date;
console.log(`comparing ${checked.length === 1 ? `bench/results/${checked[0]}` : `the median of the newest ${checked.length} runs (${checked.join(', ')})`} with bench/baseline.json (${runs})`);
for (const [key, base] of Object.entries(baseline.ratios)) {
  const now = median(results.map((r) => r.ratios?.[key]));
  if (typeof now !== 'number' || typeof base !== 'number') {
    console.log(`  ${key.padEnd(34)} baseline ${base}  now ${now}  (not comparable)`);
    continue;
  }
  const worse = higherIsBetter(key) ? now < base * (1 - TOLERANCE) : now > base * (1 + TOLERANCE);
  if (worse) failed++;
  console.log(`  ${key.padEnd(34)} baseline ${base.toFixed(3)}  now ${now.toFixed(3)}  ${worse ? 'WORSE by more than 10 %' : 'ok'}`);
}
// Nothing lost is not a ratio: any call /sla did not count, or span not accounted for, in any run checked fails.
for (const [i, result] of results.entries()) {
  for (const g of (result.goals ?? []).filter((x) => x.key === 'sla_counted' || x.key === 'spans_accounted')) {
    if (!g.met) failed++;
    console.log(`  ${g.key.padEnd(34)} ${g.value} (${g.goal})  ${g.met ? 'ok' : 'LOST'}${results.length > 1 ? `  [${checked[i]}]` : ''}`);
  }
}
// Issue 24's goal is not a ratio against a baseline either: hedging must cut the client-seen TTFT p99 at least 5x
// against A alone for at most 6 extra calls per 100, in every run checked (bench/hedging.ts).
for (const [i, result] of results.entries()) {
  for (const g of result.hedging?.goals ?? []) {
    if (!g.met) failed++;
    console.log(`  ${g.key.padEnd(34)} ${g.value} (${g.goal})  ${g.met ? 'ok' : 'MISSED'}${results.length > 1 ? `  [${checked[i]}]` : ''}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
