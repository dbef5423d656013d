// `npm run bench:check`: compares the newest bench/results/*.json with bench/baseline.json and fails when a ratio is
// more than 10 % worse (keys starting with `b_`, requests/s ratios, are higher-is-better; the others, overhead, time
// and CPU ratios, lower-is-better), or when the run lost a call or a span (its `goals` say so).
import fs from 'node:fs';

const TOLERANCE = 0.1;
const higherIsBetter = (key) => key.startsWith('b_');

// Bench runs only (named by their date): not the soak, micro or sketch results beside them.
const files = fs.readdirSync('bench/results').filter((f) => /^\d{4}-.*\.json$/.test(f)).sort();
const latest = files.at(-1);
if (!latest) {
  console.error('no results in bench/results: run `npm run bench` first');
  process.exit(2);
}
const baseline = JSON.parse(fs.readFileSync('bench/baseline.json', 'utf8'));
const result = JSON.parse(fs.readFileSync(`bench/results/${latest}`, 'utf8'));
let failed = 0;
console.log(`comparing bench/results/${latest} with bench/baseline.json (${baseline.date})`);
for (const [key, base] of Object.entries(baseline.ratios)) {
  const now = result.ratios[key];
  if (typeof now !== 'number' || typeof base !== 'number') {
    console.log(`  ${key.padEnd(34)} baseline ${base}  now ${now}  (not comparable)`);
    continue;
  }
  const worse = higherIsBetter(key) ? now < base * (1 - TOLERANCE) : now > base * (1 + TOLERANCE);
  if (worse) failed++;
  console.log(`  ${key.padEnd(34)} baseline ${base.toFixed(3)}  now ${now.toFixed(3)}  ${worse ? 'WORSE by more than 10 %' : 'ok'}`);
}
// Nothing lost is not a ratio: any call /sla did not count, or span not accounted for, fails the check.
for (const g of (result.goals ?? []).filter((x) => x.key === 'sla_counted' || x.key === 'spans_accounted')) {
  if (!g.met) failed++;
  console.log(`  ${g.key.padEnd(34)} ${g.value} (${g.goal})  ${g.met ? 'ok' : 'LOST'}`);
}
process.exit(failed > 0 ? 1 : 0);
