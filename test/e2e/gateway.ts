import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/listen';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WRANGLER = path.join(ROOT, 'node_modules/wrangler/bin/wrangler.js');

export interface DevGateway {
  url: string;
  log(): string;
  stop(): Promise<void>;
}

/** `wrangler dev` as `npm run dev` runs it, on a free port, with a fresh local state and these vars. */
export async function startGateway(vars: Record<string, string>): Promise<DevGateway> {
  const port = await freePort();
  const args = [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(await freePort())];
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  args.push('--persist-to', mkdtempSync(path.join(os.tmpdir(), 'llm-sla-e2e-')));
  const dev: ChildProcess = spawn(process.execPath, args, {
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true', NO_COLOR: '1' },
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  dev.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  dev.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const until = Date.now() + 90_000;
  while (!/Ready on/.test(log)) {
    if (Date.now() > until || dev.exitCode !== null) {
      if (dev.pid && dev.exitCode === null) process.kill(-dev.pid, 'SIGTERM');
      throw new Error(`wrangler dev did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    log: () => log,
    stop: async () => {
      if (!dev.pid || dev.exitCode !== null) return;
      const exited = new Promise((r) => dev.once('exit', r));
      process.kill(-dev.pid, 'SIGTERM');
      await exited;
    },
  };
}
