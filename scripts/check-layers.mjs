#!/usr/bin/env node
// Keeps the tree laid out by where code runs (ARCHITECTURE.md): each folder imports only the layers below it, and
// no module imports itself back through others. Reads the relative imports of src/ and durable-objects/ as text
// (type-only imports count: a reader follows them too). Exits 1 listing every upward import and every cycle.
//   node scripts/check-layers.mjs
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Layer of a file, and the layers it may import. The entry (src/index.ts) may import anything. */
const LAYERS = [
  { name: 'core', test: (f) => f.startsWith('src/core/'), may: (l) => l === 'core' },
  { name: 'config', test: (f) => f.startsWith('src/config/'), may: (l) => l === 'core' || l === 'config' },
  { name: 'report', test: (f) => f.startsWith('src/report/'), may: (l) => l === 'core' || l === 'report' },
  { name: 'client', test: (f) => f.startsWith('src/client/'), may: (l) => l === 'client' },
  { name: 'worker', test: (f) => f.startsWith('src/worker/'), may: (l) => ['core', 'config', 'report', 'worker'].includes(l) },
  // Each Durable Object imports the shared layers and its own folder, never another object's or the worker's.
  { name: 'object', test: (f) => f.startsWith('durable-objects/'), may: (l, from, to) => ['core', 'config', 'report'].includes(l) || (l === 'object' && objectOf(from) === objectOf(to)) },
  { name: 'entry', test: (f) => f === 'src/index.ts', may: () => true },
];
const objectOf = (f) => f.split('/')[1];
const layerOf = (f) => LAYERS.find((l) => l.test(f));

function walk(dir) {
  const out = [];
  for (const name of readdirSync(path.join(root, dir))) {
    const rel = `${dir}/${name}`;
    if (statSync(path.join(root, rel)).isDirectory()) out.push(...walk(rel));
    else if (/\.(ts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') && !rel.includes('/browser/')) out.push(rel);
  }
  return out;
}

const files = [...walk('src'), ...walk('durable-objects')];
const known = new Set(files);
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function resolve(from, spec) {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`, base.replace(/\.js$/, '.ts')]) if (known.has(candidate)) return candidate;
  return null;
}

const graph = new Map();
const problems = [];
for (const f of files) {
  // A generated module holds other files' text (the dashboard's page script), not imports of its own.
  if (f.endsWith('.generated.ts')) continue;
  const text = readFileSync(path.join(root, f), 'utf8');
  const deps = new Set();
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    const to = resolve(f, spec);
    if (to === null) {
      problems.push(`${f}: import ${spec} is outside src/ and durable-objects/ or does not exist`);
      continue;
    }
    deps.add(to);
    const from = layerOf(f);
    const target = layerOf(to);
    if (!from || !target) problems.push(`${f} -> ${to}: a file outside every layer (add it to LAYERS in scripts/check-layers.mjs)`);
    else if (!from.may(target.name, f, to)) problems.push(`${f} (${from.name}) imports ${to} (${target.name}): not allowed`);
  }
  graph.set(f, deps);
}

// Cycles: Tarjan's strongly connected components; any component of two or more files is a cycle.
let index = 0;
const stack = [];
const state = new Map();
function strong(v) {
  const s = { index, low: index, on: true };
  index++;
  state.set(v, s);
  stack.push(v);
  for (const w of graph.get(v) ?? []) {
    if (!state.has(w)) {
      strong(w);
      s.low = Math.min(s.low, state.get(w).low);
    } else if (state.get(w).on) s.low = Math.min(s.low, state.get(w).index);
  }
  if (s.low === s.index) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      state.get(w).on = false;
      component.push(w);
    } while (w !== v);
    if (component.length > 1) problems.push(`import cycle: ${component.sort().join(' <-> ')}`);
  }
}
for (const f of files) if (!state.has(f)) strong(f);

if (problems.length > 0) {
  console.error(`check-layers: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-layers: ${files.length} files, no upward import, no cycle`);
