// Builds what the benchmark runs: the gateway bundle exactly as `wrangler deploy` would upload it, and the
// benchmark runner itself (TypeScript -> one ESM file for Node).
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { build } from 'esbuild';

execFileSync(process.execPath, ['node_modules/wrangler/bin/wrangler.js', 'deploy', '--dry-run', '--outdir', 'bench/.build/gateway'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
});
// The gateway plus the benchmark-only record pump ((d) ingestion, (e) /sla with many windows), bundled the same way.
execFileSync(process.execPath, ['node_modules/wrangler/bin/wrangler.js', 'deploy', 'bench/ingest-worker.ts', '--dry-run', '--outdir', 'bench/.build/ingest'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
});
await build({
  entryPoints: ['bench/run.ts', 'bench/soak.ts', 'bench/profile.ts', 'bench/breakdown.ts', 'bench/budget-overshoot.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  outdir: 'bench/.build',
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
});
// Portkey's gateway for workerd, from its npm package's Node build (bench/portkey-workerd/entry.mjs says how).
const shims = 'bench/portkey-workerd/shims.mjs';
await build({
  entryPoints: ['bench/portkey-workerd/entry.mjs'],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  conditions: ['workerd', 'worker', 'import'],
  alias: { '@hono/node-server': `./${shims}`, '@hono/node-ws': `./${shims}`, ws: `./${shims}`, ioredis: `./${shims}` },
  external: ['node:*', ...builtinModules],
  outfile: 'bench/.build/portkey-workerd/index.js',
  logLevel: 'error',
});
