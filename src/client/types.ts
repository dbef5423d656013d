/** The profiler client's public types (`llm-sla-gateway/client`, re-exported by `profiler.ts`). */

export type AttributeValue = string | number | boolean | null;

/** One timing as `/v1/timings` takes it. */
export interface Timing {
  /** Route key: 1-128 of `A-Z a-z 0-9 . _ : / -`, e.g. `rag.retrieval`. */
  route: string;
  duration_ms: number;
  ok: boolean;
  /** Start, epoch milliseconds (default: the gateway's now minus the duration). */
  ts?: number;
  /** e.g. `gen_ai.request.model`, `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`. */
  attributes?: Record<string, AttributeValue>;
  error_type?: string;
}

export interface ProfilerOptions {
  /** The gateway's base URL, e.g. `https://gateway.example.com`; timings go to `<url>/v1/timings`. */
  url: string;
  /** A gateway key (`x-gateway-key`), needed when the gateway has `GATEWAY_KEYS`. */
  key?: string;
  /** `x-sla-team` label, when the gateway has no keys (with keys, the key's team labels the timings). */
  team?: string;
  /** Longest a timing waits before it is sent (default 1000 ms). */
  flushIntervalMs?: number;
  /** Timings per request (default 500; keep it within the gateway's `INGEST_MAX_ITEMS`). */
  maxBatch?: number;
  /** Timings held waiting or being retried (default 10,000); more are dropped and counted. */
  maxBuffered?: number;
  /** Attempts per batch before it is dropped and counted (default 6). */
  maxAttempts?: number;
  /** First retry delay (default 250 ms), doubled per attempt up to `retryMaxMs` (default 30 s), with jitter. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Longest wait for one request (default 10 s); a timed-out batch is retried under the same key. */
  requestTimeoutMs?: number;
  /** Another `fetch` (tests, custom agents). */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Told of every failed attempt and drop; never throws into your code. */
  onError?: (error: Error) => void;
}

export interface ProfilerStats {
  /** Timings handed to the profiler. */
  recorded: number;
  /** Accepted by the gateway. */
  sent: number;
  /** Refused by the gateway one by one (bad route, too old...): see `onError`. */
  rejected: number;
  /** Never delivered: buffer full, attempts exhausted, a final 4xx, or recorded after `close()`. */
  dropped: number;
  /** Failed attempts that were retried. */
  retries: number;
  /** Retried batches the gateway had already recorded (their first response was lost). */
  duplicates: number;
}

export interface Timer {
  readonly route: string;
  /** Marks the stage failed (`ok: false`); `timer()` does it by itself when the function throws. */
  markFailure(errorType?: string): void;
  setAttribute(key: string, value: AttributeValue): void;
  /** Stops the clock and queues the timing; later calls do nothing. */
  end(): void;
}

export interface Profiler {
  /** Times `fn` as one stage of `route`; a throw (or rejection) marks it failed and is passed on. */
  timer<T>(route: string, fn: (timer: Timer) => T | Promise<T>): Promise<T>;
  /** Starts a timer to `end()` yourself. */
  start(route: string): Timer;
  /** Queues a timing measured elsewhere. */
  record(timing: Timing): void;
  /** Sends everything queued now, retrying as needed; resolves when all of it was delivered or dropped. */
  flush(): Promise<void>;
  /** `flush()`, then stops: later timings are dropped and counted. */
  close(): Promise<void>;
  readonly stats: Readonly<ProfilerStats>;
  /** Timings not yet delivered. */
  readonly pending: number;
}
