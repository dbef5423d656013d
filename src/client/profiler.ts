/**
 * A small profiler for the stages of an AI pipeline the gateway does not proxy (embedding, retrieval, reranking,
 * tool calls...): it times them and sends the timings to the gateway's `POST /v1/timings` in batches, in the
 * background, so they land in the same per-route Durable Objects and `/sla` as the proxied LLM calls.
 *
 * Runs anywhere with `fetch` and `setTimeout` (Node 18+, browsers, Workers, Deno, Bun); imports nothing. In a
 * Worker, keep the isolate alive for the send: `ctx.waitUntil(profiler.flush())` at the end of a request.
 *
 * Delivery: every batch carries an `idempotency-key` that stays the same across its retries, and the gateway
 * answers a key it has already recorded (within 15 minutes) without counting it again, so a batch whose response
 * was lost can be retried safely: each timing lands exactly once. Retries: network errors, timeouts, 408, 429 and
 * 5xx, with exponential backoff, up to `maxAttempts`; other 4xx answers are final. Nothing is dropped silently:
 * `stats` counts what was sent, refused by the gateway, and dropped (buffer full, attempts exhausted, closed).
 */

import type { AttributeValue, Timing, ProfilerOptions, ProfilerStats, Timer, Profiler } from './types';

export type { AttributeValue, Timing, ProfilerOptions, ProfilerStats, Timer, Profiler } from './types';

interface Batch {
  id: string;
  timings: Timing[];
  attempts: number;
  notBefore: number;
}

type Outcome = 'done' | 'retry' | 'final';

const clock: () => number = typeof performance !== 'undefined' && typeof performance.now === 'function' ? () => performance.now() : () => Date.now();

function batchId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

function unref(timer: unknown): void {
  // Node: a pending flush must not keep the process alive (call close() before exit).
  const t = timer as { unref?: () => void } | null;
  if (t && typeof t.unref === 'function') t.unref();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createProfiler(options: ProfilerOptions): Profiler {
  const endpoint = `${options.url.replace(/\/+$/, '')}/v1/timings`;
  const flushIntervalMs = options.flushIntervalMs ?? 1000;
  const maxBatch = options.maxBatch ?? 500;
  const maxBuffered = options.maxBuffered ?? 10_000;
  const maxAttempts = options.maxAttempts ?? 6;
  const retryBaseMs = options.retryBaseMs ?? 250;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const doFetch = options.fetch ?? ((input: string, init: RequestInit) => fetch(input, init));
  const stats: ProfilerStats = { recorded: 0, sent: 0, rejected: 0, dropped: 0, retries: 0, duplicates: 0 };
  const buffer: Timing[] = [];
  const outbox: Batch[] = [];
  let queued = 0; // timings in buffer and outbox
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pumping: Promise<void> | null = null;
  let draining = 0;
  let closed = false;

  const report = (message: string) => {
    try {
      options.onError?.(new Error(`llm-sla profiler: ${message}`));
    } catch {
      // the callback's own failure is not ours to raise
    }
  };

  const drop = (n: number, why: string) => {
    stats.dropped += n;
    report(`dropped ${n} timing${n === 1 ? '' : 's'}: ${why}`);
  };

  function schedule(delayMs: number): void {
    if (timer !== null || closed) return;
    timer = setTimeout(() => {
      timer = null;
      void pump();
    }, delayMs);
    unref(timer);
  }

  function record(timing: Timing): void {
    stats.recorded++;
    if (closed) return drop(1, 'the profiler is closed');
    if (queued >= maxBuffered) return drop(1, `more than maxBuffered (${maxBuffered}) timings waiting`);
    buffer.push(timing);
    queued++;
    if (buffer.length >= maxBatch) void pump();
    else schedule(flushIntervalMs);
  }

  async function send(batch: Batch): Promise<Outcome> {
    batch.attempts++;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': batch.id };
    if (options.key !== undefined) headers['x-gateway-key'] = options.key;
    if (options.team !== undefined) headers['x-sla-team'] = options.team;
    const init: RequestInit = { method: 'POST', headers, body: JSON.stringify(batch.timings) };
    if (typeof AbortSignal !== 'undefined' && typeof AbortSignal.timeout === 'function') init.signal = AbortSignal.timeout(requestTimeoutMs);
    let res: Response;
    try {
      res = await doFetch(endpoint, init);
    } catch (err) {
      report(`sending ${batch.timings.length} timings failed (attempt ${batch.attempts}): ${err instanceof Error ? err.message : String(err)}`);
      return 'retry';
    }
    let body: unknown = null;
    try {
      body = await res.json();
    } catch {
      // a proxy's HTML error page, an empty body: judged by the status alone
    }
    if (res.ok) {
      const answer = (body ?? {}) as { accepted?: unknown; rejected?: unknown; problems?: unknown; duplicate?: unknown };
      const accepted = typeof answer.accepted === 'number' ? answer.accepted : batch.timings.length;
      const rejected = typeof answer.rejected === 'number' ? answer.rejected : 0;
      stats.sent += accepted;
      stats.rejected += rejected;
      if (answer.duplicate === true) stats.duplicates++;
      if (rejected > 0) report(`the gateway refused ${rejected} timing${rejected === 1 ? '' : 's'}: ${JSON.stringify(answer.problems ?? [])}`);
      return 'done';
    }
    const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
    report(`the gateway answered ${res.status} (attempt ${batch.attempts}): ${JSON.stringify(body)}`);
    return retryable ? 'retry' : 'final';
  }

  async function run(): Promise<void> {
    for (;;) {
      if (outbox.length === 0) {
        if (buffer.length === 0) return;
        outbox.push({ id: batchId(), timings: buffer.splice(0, maxBatch), attempts: 0, notBefore: 0 });
      }
      const batch = outbox[0] as Batch;
      const wait = batch.notBefore - clock();
      if (wait > 0) {
        if (draining === 0) return schedule(wait);
        await sleep(wait);
      }
      const outcome = await send(batch);
      if (outcome === 'retry' && batch.attempts < maxAttempts) {
        stats.retries++;
        const backoff = Math.min(retryMaxMs, retryBaseMs * 2 ** (batch.attempts - 1));
        batch.notBefore = clock() + backoff * (0.5 + Math.random() / 2);
        continue;
      }
      outbox.shift();
      queued -= batch.timings.length;
      if (outcome === 'retry') drop(batch.timings.length, `${maxAttempts} attempts failed`);
      else if (outcome === 'final') drop(batch.timings.length, 'the gateway refused the batch');
    }
  }

  function pump(): Promise<void> {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    pumping ??= run().finally(() => {
      pumping = null;
      if (queued > 0 && draining === 0) schedule(flushIntervalMs);
    });
    return pumping;
  }

  async function flush(): Promise<void> {
    draining++;
    try {
      while (queued > 0) await pump();
    } finally {
      draining--;
    }
  }

  function start(route: string): Timer {
    const ts = Date.now();
    const t0 = clock();
    let ok = true;
    let errorType: string | undefined;
    let attributes: Record<string, AttributeValue> | undefined;
    let ended = false;
    return {
      route,
      markFailure(type?: string) {
        ok = false;
        if (type !== undefined) errorType = type;
      },
      setAttribute(key: string, value: AttributeValue) {
        (attributes ??= {})[key] = value;
      },
      end() {
        if (ended) return;
        ended = true;
        const timing: Timing = { route, duration_ms: Math.max(0, clock() - t0), ok, ts };
        if (attributes) timing.attributes = attributes;
        if (errorType !== undefined) timing.error_type = errorType;
        record(timing);
      },
    };
  }

  return {
    async timer<T>(route: string, fn: (timer: Timer) => T | Promise<T>): Promise<T> {
      const t = start(route);
      try {
        return await fn(t);
      } catch (err) {
        t.markFailure(err instanceof Error ? err.name : 'error');
        throw err;
      } finally {
        t.end();
      }
    },
    start,
    record: (timing: Timing) => record({ ...timing }),
    flush,
    async close() {
      await flush();
      closed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
    stats,
    get pending() {
      return queued;
    },
  };
}
