import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWranglerDev } from '../support/wrangler-dev';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface DevGateway {
  url: string;
  log(): string;
  stop(): Promise<void>;
}

/** `wrangler dev` as `npm run dev` runs it, on a free port, with a fresh local state and these vars. */
export async function startGateway(vars: Record<string, string> | ((url: string) => Record<string, string>)): Promise<DevGateway> {
  const dev = await startWranglerDev(vars, 90_000);
  return { url: dev.base, log: dev.log, stop: dev.stop };
}
