// `npm run bench:check`: compares the newest bench/results/*.json with bench/baseline.json and fails when a
// gateway/floor ratio is more than 10 % worse (lower throughput ratio, higher overhead ratios).
import fs from 'node:fs';

const HIGHER_IS_BETTER = new Set(['b_rps']);
const TOLERANCE = 0.1;

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
    console.log(`  ${key.padEnd(18)} baseline ${base}  now ${now}  (not comparable)`);
    continue;
  }
  const worse = HIGHER_IS_BETTER.has(key) ? now < base * (1 - TOLERANCE) : now > base * (1 + TOLERANCE);
  if (worse) failed++;
  console.log(`  ${key.padEnd(18)} baseline ${base.toFixed(3)}  now ${now.toFixed(3)}  ${worse ? 'WORSE by more than 10 %' : 'ok'}`);
}
process.exit(failed > 0 ? 1 : 0);
