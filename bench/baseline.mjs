// `npm run bench:baseline -- <result.json> <result.json> ... [--note "..."]`: writes bench/baseline.json from several
// `npm run bench` runs of the same code: each ratio's worst value over them (lowest for `b_*`, requests/s ratios;
// highest for the others), the envelope that `bench:check` allows 10 % past. Every run named must have lost
// nothing, or no baseline is written.
import fs from 'node:fs';

const args = process.argv.slice(2);
const noteAt = args.indexOf('--note');
const note = noteAt >= 0 ? args[noteAt + 1] : undefined;
const files = args.filter((a, i) => noteAt < 0 || (i !== noteAt && i !== noteAt + 1));
if (files.length < 2) {
  console.error('usage: npm run bench:baseline -- <result.json> <result.json> [...] [--note "..."]  (at least two runs of the same code)');
  process.exit(2);
}
const runs = files.map((f) => ({ file: f, result: JSON.parse(fs.readFileSync(f, 'utf8')) }));
for (const { file, result } of runs) {
  const lost = (result.goals ?? []).filter((g) => (g.key === 'sla_counted' || g.key === 'spans_accounted') && !g.met);
  if (lost.length > 0) {
    console.error(`${file} lost calls or spans (${lost.map((g) => g.key).join(', ')}): not a baseline`);
    process.exit(1);
  }
}
const keys = [...new Set(runs.flatMap(({ result }) => Object.keys(result.ratios ?? {})))].sort();
const ratios = {};
for (const key of keys) {
  const values = runs.map(({ result }) => result.ratios?.[key]).filter((x) => typeof x === 'number' && !Number.isNaN(x));
  if (values.length !== runs.length) continue; // a ratio some run lacks is not gated
  ratios[key] = key.startsWith('b_') ? Math.min(...values) : Math.max(...values);
}
const dates = runs.map(({ result }) => result.date).sort();
const baseline = {
  date: dates.at(-1),
  sources: runs.map(({ file }) => file),
  rule: "each ratio's worst value over the sources (lowest for b_*, highest for the others); bench:check fails 10 % past it",
  ...(note ? { note } : {}),
  ratios,
};
fs.writeFileSync('bench/baseline.json', `${JSON.stringify(baseline, null, 2)}\n`);
console.log(`bench/baseline.json: ${Object.keys(ratios).length} ratios, worst of ${runs.length} runs (${dates[0]} – ${dates.at(-1)})`);
