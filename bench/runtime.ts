import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * The Workers runtime for benchmarks: plain `workerd serve` (one process), not `wrangler dev`, whose extra proxy
 * layer would swamp what we measure (PLATFORM.md). The gateway runs from the bundle `wrangler deploy --dry-run`
 * builds, with its Durable Objects (SQLite, on a fresh local directory); the floor is a bare pass-through worker on the same binary.
 * The workerd binary is wrangler's own, the runtime `npm run dev` uses.
 */
const wranglerToml = fs.readFileSync('wrangler.toml', 'utf8');
const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(wranglerToml)?.[1] ?? '2026-11-01';
/** The flags `wrangler.toml` gives the gateway, so that the bench runs what `wrangler deploy` ships. */
const compatibilityFlags = (JSON.parse(/compatibility_flags\s*=\s*(\[[^\]]*\])/.exec(wranglerToml)?.[1] ?? '[]') as string[]);
const BUILD = path.resolve('bench/.build');

function workerdBinary(): string {
  const require = createRequire(path.resolve('node_modules/wrangler/package.json'));
  const pkg = require.resolve('workerd/package.json');
  return path.join(path.dirname(pkg), 'bin', 'workerd');
}

/** Processes this run started: ended when it exits, even by an error before the targets' `dispose()` is reached. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
});
export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export interface Target {
  name: string;
  url: string;
  /** The workerd process, for memory readings. */
  pid: number | null;
  /** Headers every call to this target carries (Portkey's routing headers). */
  headers?: Record<string, string>;
  dispose(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A fresh directory for a gateway's Durable Object SQLite files (in-memory storage has no SQL). */
function storageDir(name: string): string {
  const dir = path.join(BUILD, 'storage', name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const text = (name: string, value: string) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(value)})`;

function capnp(name: string, port: number, modulePath: string, vars: Record<string, string>, durable: boolean): string {
  const bindings = Object.entries(vars).map(([k, v]) => text(k, v));
  if (durable) {
    bindings.push(
      '(name = "ROUTE_STATS", durableObjectNamespace = "RouteStats")',
      '(name = "SLA_REGISTRY", durableObjectNamespace = "SlaRegistry")',
      '(name = "TEAM_BUDGETS", durableObjectNamespace = "TeamBudgets")',
    );
  }
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "loopback", network = (allow = ["local", "private", "public"])),${durable ? `
    (name = "do-disk", disk = (path = ${JSON.stringify(storageDir(name))}, writable = true)),` : ''}
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed ${JSON.stringify(modulePath)})],
  compatibilityDate = ${JSON.stringify(compatibilityDate)},
  compatibilityFlags = ${JSON.stringify(compatibilityFlags)},
  bindings = [${bindings.join(', ')}],
  globalOutbound = "loopback",
  ${durable ? `durableObjectNamespaces = [
    (className = "RouteStats", uniqueKey = "${name}-route-stats", enableSql = true),
    (className = "SlaRegistry", uniqueKey = "${name}-registry", enableSql = true),
    (className = "TeamBudgets", uniqueKey = "${name}-team-budgets", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "do-disk"),` : ''}
);
`;
}

async function serve(name: string, modulePath: string, vars: Record<string, string>, durable: boolean, extraArgs: string[] = []): Promise<Target> {
  const port = await freePort();
  fs.mkdirSync(BUILD, { recursive: true });
  const config = path.join(BUILD, `${name}.capnp`);
  fs.writeFileSync(config, capnp(name, port, path.relative(BUILD, modulePath), vars, durable));
  const verbose = process.env.BENCH_VERBOSE === '1';
  const child: ChildProcess = spawn(workerdBinary(), ['serve', config, '--experimental', ...(verbose ? ['--verbose'] : []), ...extraArgs], {
    stdio: ['ignore', verbose ? 'inherit' : 'ignore', verbose ? 'inherit' : 'pipe'],
  });
  track(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`workerd (${name}) exited: ${stderr}`);
    try {
      await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      break;
    } catch {
      if (i > 200) throw new Error(`workerd (${name}) did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    name,
    url,
    pid: child.pid ?? null,
    dispose: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}

export function startGateway(bundle: string, vars: Record<string, string>, name = 'gateway', extraArgs: string[] = []): Promise<Target> {
  // The benchmarks check /sla and /metrics counts right after a load: the registry's summary is read fresh unless a
  // benchmark sets SUMMARY_MAX_AGE_MS itself (bench/routes-cap.ts measures both).
  return serve(name, path.resolve(bundle), { SUMMARY_MAX_AGE_MS: '0', ...vars }, true, extraArgs);
}

/** Forward, stream back, nothing else: the least any gateway on this runtime can cost. */
const FLOOR = `export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const rest = url.pathname.replace(/^\\/[^/]+/, '');
    return fetch(env.UPSTREAM + rest + url.search, request);
  },
};
`;

/** Any single-module worker on the same runtime (experiments). */
export function startWorker(name: string, file: string, vars: Record<string, string>): Promise<Target> {
  return serve(name, path.resolve(file), vars, false);
}

export function startFloor(upstream: string, name = 'floor', extraArgs: string[] = []): Promise<Target> {
  fs.mkdirSync(BUILD, { recursive: true });
  const file = path.join(BUILD, 'floor.js');
  fs.writeFileSync(file, FLOOR);
  return serve(name, file, { UPSTREAM: upstream }, false, extraArgs);
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number | null): number {
  if (pid === null) return NaN;
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
