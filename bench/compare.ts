import fs from 'node:fs';
import http from 'node:http';
import { load, median, pct, post, type LoadResult, type Timing } from './client';
import { cpuSeconds, type Target } from './runtime';

/**
 * Targets measured side by side for `npm run bench`: one call each in turn (the order rotating call by call, so that
 * no target always follows the same one and pays for its tail), or one load run each per round (the order rotating
 * round by round); summaries per round, medians over the rounds.
 */
export interface Path {
  target: Target;
  path: string;
}

export interface SequentialSummary {
  p50: number;
  p90: number;
  p99: number;
  ttfbP50: number;
  totalP50: number;
  /** p50 of what the target's `Server-Timing` reported (ms), when it sent one: the gateway's own overhead and upstream wait. */
  reported?: { gatewayP50: number; upstreamP50: number };
}

function sortedOf(timings: Timing[], key: 'totalMs' | 'ttfbMs'): number[] {
  return timings.map((t) => t[key]).sort((a, b) => a - b);
}

/** p50 of the `gateway` and `upstream` durations a target reported in `Server-Timing`; undefined when it sent none. */
function reportedOf(timings: Timing[]): SequentialSummary['reported'] {
  const with_ = timings.filter((t) => t.serverTiming?.['gateway'] !== undefined && t.serverTiming['upstream'] !== undefined);
  if (with_.length === 0) return undefined;
  const sorted = (k: string) => with_.map((t) => t.serverTiming?.[k] ?? NaN).sort((a, b) => a - b);
  return { gatewayP50: pct(sorted('gateway'), 0.5), upstreamP50: pct(sorted('upstream'), 0.5) };
}

/** `calls` calls per target over `rounds` rounds, interleaved call by call; medians of each round's percentiles. */
export async function sequentialInterleaved(paths: Path[], body: string, calls: number, rounds: number): Promise<Record<string, SequentialSummary>> {
  const agents = paths.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const perRound: Record<string, SequentialSummary[]> = {};
  const perCall = Math.ceil(calls / rounds);
  try {
    for (let r = 0; r < rounds; r++) {
      const timings: Timing[][] = paths.map(() => []);
      for (let i = 0; i < perCall; i++) {
        for (let j = 0; j < paths.length; j++) {
          const k = (i + j) % paths.length;
          const p = paths[k] as Path;
          const t = await post(agents[k] as http.Agent, p.target.url, p.path, body, p.target.headers);
          if (t.status !== 200) throw new Error(`${p.target.name} answered ${t.status}`);
          (timings[k] as Timing[]).push(t);
        }
      }
      for (const [k, p] of paths.entries()) {
        const total = sortedOf(timings[k] as Timing[], 'totalMs');
        const ttfb = sortedOf(timings[k] as Timing[], 'ttfbMs');
        const reported = reportedOf(timings[k] as Timing[]);
        (perRound[p.target.name] ??= []).push({ p50: pct(total, 0.5), p90: pct(total, 0.9), p99: pct(total, 0.99), ttfbP50: pct(ttfb, 0.5), totalP50: pct(total, 0.5), ...(reported ? { reported } : {}) });
      }
    }
  } finally {
    for (const a of agents) a.destroy();
  }
  return Object.fromEntries(
    Object.entries(perRound).map(([name, v]) => [
      name,
      {
        p50: median(v.map((x) => x.p50)),
        p90: median(v.map((x) => x.p90)),
        p99: median(v.map((x) => x.p99)),
        ttfbP50: median(v.map((x) => x.ttfbP50)),
        totalP50: median(v.map((x) => x.totalP50)),
        ...(v.every((x) => x.reported)
          ? { reported: { gatewayP50: median(v.map((x) => x.reported?.gatewayP50 ?? NaN)), upstreamP50: median(v.map((x) => x.reported?.upstreamP50 ?? NaN)) } }
          : {}),
      },
    ]),
  );
}

export interface LoadSummary {
  rps: number;
  p99: number;
  errors: number;
  requests: number;
  tool: LoadResult['tool'] | undefined;
  /** Each round's req/s, for the spread. */
  rounds: number[];
}

/** `rounds` load runs of `seconds` per target at `connections`, the order rotating; CPU of each target's process per request. */
export async function loadInterleaved(
  paths: Path[],
  connections: number,
  seconds: number,
  rounds: number,
  luaPath: string,
): Promise<{ b: Record<string, LoadSummary>; cpuMsPerRequest: Record<string, number> }> {
  const results: Record<string, LoadResult[]> = {};
  const cpu: Record<string, { seconds: number; requests: number }> = {};
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < paths.length; j++) {
      const p = paths[(r + j) % paths.length] as Path;
      const t = p.target;
      const before = cpuSeconds(t.pid);
      const res = await load(t.url, p.path, connections, seconds, luaPath, fs, t.headers);
      (results[t.name] ??= []).push(res);
      const c = (cpu[t.name] ??= { seconds: 0, requests: 0 });
      c.seconds += cpuSeconds(t.pid) - before;
      c.requests += res.requests;
    }
  }
  const b = Object.fromEntries(
    Object.entries(results).map(([k, v]) => [
      k,
      {
        rps: median(v.map((x) => x.rps)),
        p99: median(v.map((x) => x.p99Ms)),
        errors: v.reduce((n, x) => n + x.errors, 0),
        requests: v.reduce((n, x) => n + x.requests, 0),
        tool: v[0]?.tool,
        rounds: v.map((x) => Math.round(x.rps)),
      },
    ]),
  );
  const cpuMsPerRequest = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, (1000 * v.seconds) / v.requests]));
  return { b, cpuMsPerRequest };
}
