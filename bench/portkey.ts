import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { CHAT, CHAT_STREAM, post } from './client';
import { freePort, startWorker, track, type Target } from './runtime';

/**
 * Portkey's open-source gateway (`@portkey-ai/gateway`, a devDependency), the peer a user would otherwise pick, two
 * ways: on the same workerd as the gateway (`startPortkeyWorkerd`: its Hono app bundled for workerd by
 * bench/build.mjs from the package's Node build; bench/portkey-workerd/entry.mjs), and as the package ships it, the
 * Node build (`build/start-server.js --headless`, Hono on @hono/node-server) run by the Node that runs the benchmark
 * (Node 24 under `npm run bench`). Calls reach a provider at a custom host by Portkey's own headers:
 * `x-portkey-provider: openai` and `x-portkey-custom-host: <mock>/v1`, on Portkey's path `/v1/chat/completions`.
 */
export const PORTKEY_PATH = '/v1/chat/completions';

export function portkeyHeaders(upstream: string): Record<string, string> {
  return { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${upstream}/v1` };
}

function portkeyEntry(): string {
  const require = createRequire(path.resolve('package.json'));
  return path.join(path.dirname(require.resolve('@portkey-ai/gateway/package.json')), 'build', 'start-server.js');
}

export function portkeyVersion(): string {
  const require = createRequire(path.resolve('package.json'));
  return (require('@portkey-ai/gateway/package.json') as { version: string }).version;
}

export const PORTKEY_WORKERD_BUNDLE = 'bench/.build/portkey-workerd/index.js';

/** Portkey on workerd (the bundle bench/build.mjs makes); `upstream` is the mock its calls go to (by header). */
export async function startPortkeyWorkerd(upstream: string, name = 'portkey'): Promise<Target> {
  return { ...(await startWorker(name, PORTKEY_WORKERD_BUNDLE, {})), headers: portkeyHeaders(upstream) };
}

/** Starts Portkey's Node build on a free port; `upstream` is the mock its calls go to (by header). */
export async function startPortkey(upstream: string, name = 'portkey-node'): Promise<Target> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [portkeyEntry(), '--headless', `--port=${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  track(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`Portkey exited: ${stderr}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      break;
    } catch {
      if (i > 200) throw new Error(`Portkey did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    name,
    url,
    pid: child.pid ?? null,
    headers: portkeyHeaders(upstream),
    dispose: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}

/** The body of one call, read whole. */
function fetchBody(base: string, p: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(p, base), { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Before timing Portkey: it must really proxy to the mock — status 200 and the mock's own bytes, for a JSON call and
 * for a stream (`streamUpstream` answers streams) — or the benchmark would time its error path.
 */
export async function verifyPortkey(portkey: Target, upstream: string, streamUpstream: string): Promise<void> {
  const cases = [
    { what: 'JSON', body: CHAT, mock: upstream },
    { what: 'stream', body: CHAT_STREAM, mock: streamUpstream },
  ];
  for (const c of cases) {
    const direct = await fetchBody(c.mock, '/v1/chat/completions', c.body, {});
    const via = await fetchBody(portkey.url, PORTKEY_PATH, c.body, portkeyHeaders(c.mock));
    if (via.status !== 200 || via.body !== direct.body) {
      throw new Error(`Portkey did not proxy a ${c.what} call to the mock: status ${via.status}, body ${JSON.stringify(via.body.slice(0, 300))}`);
    }
  }
  // And the timing client's path works (keep-alive agent, the target's headers).
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const t = await post(agent, portkey.url, PORTKEY_PATH, CHAT, portkey.headers);
    if (t.status !== 200) throw new Error(`Portkey answered ${t.status} to the timing client`);
  } finally {
    agent.destroy();
  }
}
