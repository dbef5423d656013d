import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { onTestFinished } from 'vitest';
import { registry } from '../../src/core/objects';
import type { SlaConfig } from '../../src/core/sla/config';
import { createGateway, defaultRecorder } from '../../src/worker/app';
import { MemoryRecorder, TeeRecorder, type Recorder } from '../../src/worker/recorder/recorder';
import type { CallRecord } from '../../src/core/record';

/** The mock upstream's address (test/support/mock-upstream.ts, started by the global set-up). */
export const MOCK = env.UPSTREAM_OPENAI;
export const GW = 'http://gateway.test';

let ids = 0;
/** A fresh id for the mock to file a request and its stream progress under. */
export function mockId(prefix = 't'): string {
  return `${prefix}-${Date.now()}-${++ids}`;
}

export interface HarnessOptions {
  /** Records also go the production way: batched to the routes' Durable Objects. */
  durable?: boolean;
  /** An SLA config the Durable Objects must judge by (see `gateway`). */
  sla?: SlaConfig;
  /** A recorder that also gets every record (`'env'`: the one the `RECORDER` var chooses, as in production). */
  recorder?: Recorder | 'env';
  /** The gateway's clock (budgets' UTC days, adaptive sampling); the runtime's own by default. */
  now?: () => number;
  /** The gateway's random draws (backoff jitter, exploration); `Math.random` by default. */
  random?: () => number;
  /**
   * Bindings replaced in the worker's env, or removed (`undefined`): a failing object; or added, as a deployment adds
   * an Analytics Engine dataset (`SLA_ANALYTICS`, left out of wrangler.toml).
   */
  bindings?: Partial<Record<keyof Env | 'SLA_ANALYTICS', unknown>>;
}

/**
 * The one worker-tier harness: the real gateway app, called as the runtime calls it, with an execution context
 * whose waitUntil work the test can wait for; every record is also kept in memory (`recorder`, `settle()`).
 * `vars` override the worker's env (a fresh env object: config is re-read). The Durable Objects keep the test
 * runtime's own bindings (vitest.config.ts), as a deployment's objects keep its vars: an SLA config the objects must
 * judge by (`sla`) is set the way an operator sets one at runtime (the registry's `PUT /sla/config`), before the
 * first call, and removed when the test ends.
 */
export function gateway(vars: Record<string, string> = {}, options: HarnessOptions = {}) {
  const recorder = new MemoryRecorder();
  const also = options.recorder;
  const app = createGateway({
    recorder: (config, e) => {
      const parts: Recorder[] = [recorder];
      if (options.durable) parts.push(defaultRecorder({ ...config, recorders: ['durable'] }, e));
      if (also === 'env') parts.push(defaultRecorder(config, e));
      else if (also) parts.push(also);
      return parts.length === 1 ? recorder : new TeeRecorder(parts);
    },
    ...(options.now ? { now: options.now } : {}),
    ...(options.random ? { random: options.random } : {}),
  });
  const testEnv = { ...env, ...vars } as Env;
  for (const [name, value] of Object.entries(options.bindings ?? {})) {
    if (value === undefined) Reflect.deleteProperty(testEnv, name);
    else Reflect.set(testEnv, name, value);
  }
  let ready: Promise<void> | null = null;
  if (options.sla !== undefined) {
    const text = JSON.stringify(options.sla);
    ready = registry(env).setConfig(text);
    onTestFinished(() => registry(env).setConfig(null));
  }
  const contexts: ExecutionContext[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    if (ready) await ready;
    const ctx = createExecutionContext();
    contexts.push(ctx);
    return app.fetch(new Request(input, init), testEnv, ctx);
  };
  /** Waits for every call's waitUntil work (the records) and returns the records. */
  const settle = async (): Promise<readonly CallRecord[]> => {
    await Promise.all(contexts.splice(0).map((ctx) => waitOnExecutionContext(ctx)));
    return recorder.records;
  };
  return { fetch, settle, recorder, env: testEnv };
}

export function jsonPost(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test-key', ...headers },
    body: JSON.stringify(body),
  };
}

/** What the mock received for an id. */
export async function mockRequests(id: string): Promise<
  { method: string; path: string; query: string; headers: Record<string, string>; bodyBase64: string }[]
> {
  const res = await fetch(`${MOCK}/__mock/requests?id=${encodeURIComponent(id)}`);
  return res.json();
}

export async function mockState(id: string): Promise<{ eventsSent: number; finished: boolean; aborted: boolean }> {
  const res = await fetch(`${MOCK}/__mock/state?id=${encodeURIComponent(id)}`);
  return res.json();
}

export function decodeBase64(b64: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0)));
}

/** Bytes of a response body. */
export async function bytesOf(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

export function only(records: readonly CallRecord[]): CallRecord {
  if (records.length !== 1) throw new Error(`expected exactly one record, got ${records.length}`);
  return records[0] as CallRecord;
}

/**
 * `/metrics` as a scraper sees it once a route's series are established: read twice, because a route's series are
 * exported at 0 the first time /metrics shows them (the zero start, `src/core/series-budget.ts`) and counted from
 * the next refresh on (every read refreshes in the tests: `SUMMARY_MAX_AGE_MS=0`). The first read is returned too.
 */
export async function scrape(gw: { fetch: (input: string, init?: RequestInit) => Promise<Response> }): Promise<{ first: string; text: string }> {
  const first = await (await gw.fetch(`${GW}/metrics`)).text();
  const text = await (await gw.fetch(`${GW}/metrics`)).text();
  return { first, text };
}

/** The value of one Prometheus sample (`name` with its labels, as exposed), or null when the line is absent. */
export function metricValue(text: string, name: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}
