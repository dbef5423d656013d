import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './listen';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WRANGLER = path.join(ROOT, 'node_modules/wrangler/bin/wrangler.js');

export interface WranglerDev {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** Everything wrangler printed so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * `wrangler dev` as a user runs it (workerd, fresh local state, random ports), with `vars` passed as `--var`.
 * Resolves once it is ready. `/sla` and `/metrics` are read fresh (`SUMMARY_MAX_AGE_MS=0`) unless `vars` says
 * otherwise: the tests read them right after their calls.
 */
export async function startWranglerDev(vars: Record<string, string> | ((url: string) => Record<string, string>), readyWithinMs = 60_000): Promise<WranglerDev> {
  const port = await freePort();
  // Vars may name the gateway's own URL (PUBLIC_URL), known once its port is.
  if (typeof vars === 'function') vars = vars(`http://127.0.0.1:${port}`);
  const args = [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(await freePort())];
  for (const [k, v] of Object.entries({ SUMMARY_MAX_AGE_MS: '0', ...vars })) args.push('--var', `${k}:${v}`);
  args.push('--persist-to', mkdtempSync(path.join(os.tmpdir(), 'llm-sla-dev-')));
  const dev: ChildProcess = spawn(process.execPath, args, {
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true', NO_COLOR: '1' },
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  dev.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  dev.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const stop = async () => {
    if (dev.pid && dev.exitCode === null) {
      process.kill(-dev.pid, 'SIGTERM');
      await new Promise((r) => dev.once('exit', r));
    }
  };
  const until = Date.now() + readyWithinMs;
  while (!/Ready on/.test(log)) {
    if (dev.exitCode !== null) throw new Error(`wrangler dev exited with ${dev.exitCode}:\n${log}`);
    if (Date.now() > until) {
      await stop();
      throw new Error(`wrangler dev not ready after ${readyWithinMs / 1000} s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base: `http://127.0.0.1:${port}`, log: () => log, stop };
}
