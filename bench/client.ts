import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';

/** Percentile by the lower-rank definition, of values sorted ascending. */
export function pct(sorted: readonly number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))] ?? NaN;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export const CHAT = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Benchmark prompt.' }] });
export const CHAT_STREAM = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Benchmark prompt.' }], stream: true });

export interface Timing {
  ttfbMs: number;
  totalMs: number;
  status: number;
  /** The response's `Server-Timing` durations by name (ms), when it had any (the gateway's `gateway`, `upstream`). */
  serverTiming?: Record<string, number>;
}

/** `gateway;dur=0.5, upstream;dur=12` -> { gateway: 0.5, upstream: 12 }. */
export function parseServerTiming(header: string | string[] | undefined): Record<string, number> | undefined {
  if (header === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const part of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const m = /^\s*([\w-]+)(?:;[^,]*?)?;dur=([\d.]+)/.exec(part);
    if (m) out[m[1] as string] = Number(m[2]);
  }
  return out;
}

/** One POST over `agent`, timed with hrtime: to the first body byte and to the last. `headers` are added (a target's own). */
export function post(agent: http.Agent, base: string, path: string, body: string, headers: Record<string, string> = {}): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const start = process.hrtime.bigint();
    let first = 0n;
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        res.on('data', () => {
          if (first === 0n) first = process.hrtime.bigint();
        });
        res.on('end', () => {
          const end = process.hrtime.bigint();
          const serverTiming = parseServerTiming(res.headers['server-timing']);
          resolve({ ttfbMs: Number((first || end) - start) / 1e6, totalMs: Number(end - start) / 1e6, status: res.statusCode ?? 0, ...(serverTiming ? { serverTiming } : {}) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `n` calls one after another on one kept-alive connection. */
export async function sequential(base: string, path: string, body: string, n: number, headers: Record<string, string> = {}): Promise<Timing[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const out: Timing[] = [];
  try {
    for (let i = 0; i < n; i++) out.push(await post(agent, base, path, body, headers));
  } finally {
    agent.destroy();
  }
  return out;
}

export interface LoadResult {
  rps: number;
  p99Ms: number;
  errors: number;
  requests: number;
  tool: 'wrk' | 'node';
}

function wrkAvailable(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

const wrkLua = (headers: Record<string, string>) => `wrk.method = "POST"
wrk.body = '${CHAT}'
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer sk-bench"
${Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`).join('\n')}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %f %f\\n", summary.requests, e.status + e.connect + e.read + e.write + e.timeout, latency:percentile(99), summary.duration))
  io.write(string.format("ERRORS status %d connect %d read %d write %d timeout %d\\n", e.status, e.connect, e.read, e.write, e.timeout))
end`;

/** `connections` clients hammering for `seconds`: wrk when installed (C, microsecond latencies), else Node. */
export async function load(
  base: string,
  path: string,
  connections: number,
  seconds: number,
  luaPath: string,
  fs: typeof import('node:fs'),
  headers: Record<string, string> = {},
): Promise<LoadResult> {
  if (wrkAvailable()) {
    fs.writeFileSync(luaPath, wrkLua(headers));
    // Asynchronously: the mock upstream lives in this process and must keep answering while wrk runs.
    const stdout = await new Promise<string>((resolve) => {
      const child = spawn('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '-s', luaPath, `${base}${path}`]);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', () => resolve(out));
    });
    const m = /RESULT (\d+) (\d+) ([\d.]+) ([\d.]+)/.exec(stdout);
    if (m) {
      const requests = Number(m[1]);
      const kinds = /ERRORS (.*)/.exec(stdout)?.[1] ?? '';
      // Which kind of error wrk saw (non-2xx statuses, socket errors, its 2 s timeout): said, not only counted.
      if (Number(m[2]) > 0) console.error(`load ${base}${path}: ${m[2]} errors (${kinds})`);
      return { rps: requests / (Number(m[4]) / 1e6), p99Ms: Number(m[3]) / 1000, errors: Number(m[2]), requests, tool: 'wrk' };
    }
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let errors = 0;
  const until = Date.now() + seconds * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < until) {
        try {
          const t = await post(agent, base, path, CHAT, headers);
          if (t.status !== 200) errors++;
          latencies.push(t.totalMs);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, p99Ms: pct(latencies, 0.99), errors, requests: latencies.length, tool: 'node' };
}
