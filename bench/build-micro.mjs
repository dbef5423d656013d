// Builds `npm run bench:micro` for Node. otel-cf-workers (the span type measured in `span-encode.ts`) imports
// `cloudflare:workers` and requires Node built-ins at run time: the first is a stub here, the second gets a real
// `require` in the ESM bundle.
import { build } from 'esbuild';

await build({
  entryPoints: ['bench/micro.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  outfile: 'bench/.build/micro.mjs',
  alias: { 'cloudflare:workers': './bench/stubs/cloudflare-workers.mjs' },
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  logLevel: 'warning',
});
