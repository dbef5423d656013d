import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { onTestFinished } from 'vitest';
import { registry } from '../../src/core/objects';
import type { SlaConfig } from '../../src/core/sla/config';
import { createGateway, defaultRecorder } from '../../src/worker/app';
import { MemoryRecorder, TeeRecorder } from '../../src/worker/recorder/recorder';
import type { CallRecord } from '../../src/core/record';

/** The mock upstream's address (test/support/mock-upstream.ts, started by the global set-up). */
export const MOCK = env.UPSTREAM_OPENAI;
export const GW = 'http://gateway.test';

let ids = 0;
/** A fresh id for the mock to file a request and its stream progress under. */
export function mockId(prefix = 't'): string {
  return `${prefix}-${Date.now()}-${++ids}`;
}

/**
 * The real gateway app with an in-memory recorder, called as the runtime calls it, with an execution context
 * whose waitUntil work the test can wait for. `vars` override the worker's env (a fresh env object: config is
 * re-read). The Durable Objects keep the test runtime's own bindings (vitest.config.ts), as a deployment's objects
 * keep its vars: an SLA config the objects must judge by (`sla`) is set the way an operator sets one at runtime
 * (the registry's `PUT /sla/config`), before the first call, and removed when the test ends.
 */
export function gateway(vars: Record<string, string> = {}, options: { durable?: boolean; sla?: SlaConfig } = {}) {
  const recorder = new MemoryRecorder();
  // With `durable`, records also go the production way: batched to the routes' Durable Objects.
  const app = createGateway({
    recorder: options.durable ? (config, e) => new TeeRecorder([recorder, defaultRecorder({ ...config, recorders: ['durable'] }, e)]) : () => recorder,
  });
  const testEnv = { ...env, ...vars } as Env;
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
