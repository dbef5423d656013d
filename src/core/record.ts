import type { ChunkGaps } from './chunk-gaps';
import type { Operation, ProviderFormat } from './providers/types';
import type { Usage, UsageSource } from './usage';

export type Outcome =
  | 'success'
  | 'client_error'
  | 'rate_limited'
  | 'upstream_error'
  | 'network_error'
  | 'timeout'
  | 'aborted';

/** Everything measured about one proxied call, produced after the response is complete. */
export interface CallRecord {
  /** Start of the call, epoch milliseconds. */
  readonly ts: number;
  readonly route: string;
  readonly provider: string;
  readonly format: ProviderFormat;
  readonly operation: Operation;
  readonly team: string | null;
  readonly requestModel: string | null;
  readonly responseModel: string | null;
  readonly stream: boolean;
  /** HTTP status the client got; 0 when the gateway never got a response to pass on. */
  readonly status: number;
  readonly outcome: Outcome;
  /** Error type: the provider's (stream error event), the HTTP status, or the gateway's failure. */
  readonly errorType: string | null;
  /** From the request's arrival until the last byte was handed to the client. */
  readonly totalMs: number;
  /** Until the first body byte (or the response headers, for an empty body). */
  readonly ttfbMs: number | null;
  /** Until the first content token of a stream (text, tool-call or refusal delta); null for non-streams. */
  readonly ttftMs: number | null;
  /**
   * Until the first chunk of a stream was received, whatever it carried (a role-only delta, Anthropic's
   * `message_start`): the GenAI conventions' time to first chunk. A chunk is one server-sent event with data, as
   * the providers' SDKs hand them on; null for non-streams and streams that sent none.
   */
  readonly ttfcMs: number | null;
  /** Streams only, when GenAI metrics are exported: the time between consecutive chunks. */
  readonly chunkGaps: ChunkGaps | null;
  /**
   * Time the gateway itself added: total time until the response went back minus the wait for the upstream (its
   * headers). Null or absent when the gateway did not proxy the call (ingested timings) or got no response.
   */
  readonly gatewayMs?: number | null;
  readonly usage: Usage | null;
  readonly usageSource: UsageSource;
  readonly costUsd: number | null;
  readonly responseId: string | null;
  /** OpenAI-format responses: the `service_tier` the response carries (`default`, `flex`, `priority`...). */
  readonly serviceTier: string | null;
  /** OpenAI-format responses: `system_fingerprint`. */
  readonly systemFingerprint: string | null;
  readonly finishReasons: readonly string[];
  readonly request: RequestParams;
  /** Upstream host and port the call went to. */
  readonly server: { readonly address: string; readonly port: number };
  /** The caller's W3C trace context, so telemetry can join its trace. */
  readonly trace: { readonly traceparent: string | null; readonly tracestate: string | null };
  /** `x-sla-priority`: sampling priority of the call. */
  readonly priority: Priority;
  /**
   * Message content, only when `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`: the request body's JSON
   * (messages, system, input...) and the text the model produced (bounded). Never holds headers or keys.
   */
  readonly content: { readonly request: unknown; readonly outputText: string } | null;
  /**
   * Calls a route's policy (`POLICIES`) handled: every attempt and why the call moved on. The fields above are the
   * call as the client saw it (its status, its times from the request's arrival, the answer's usage); `costUsd`
   * is every attempt's cost. Absent (or null) on the plain path.
   */
  readonly resilience?: CallResilience | null;
}

/** What a policy did for one call. */
export interface CallResilience {
  /** The target whose answer the client got (`provider` or `provider:model`); null when the gateway answered itself. */
  readonly servedBy: string | null;
  readonly attempts: readonly AttemptRecord[];
  /** Targets left out of this call, and why (an open breaker, no managed key, another wire format). */
  readonly skipped: readonly { readonly target: string; readonly reason: string }[];
  /** A route ordered by its targets' tails: the strategy, and the target sent first to explore (null: the best). */
  readonly strategy?: 'lowest_ttft_p95' | 'lowest_latency_p95';
  readonly explored?: string | null;
  /** The hedge the call sent (at most one): its target, after how long, and whether its answer was the client's. */
  readonly hedge?: { readonly target: string; readonly afterMs: number; readonly result: 'won' | 'lost' };
}

/** One attempt of a call, as its target saw it. */
export interface AttemptRecord {
  readonly target: string;
  readonly provider: string;
  readonly model: string | null;
  readonly outcome: Outcome;
  /** HTTP status the target answered; 0 when it never did. */
  readonly status: number;
  readonly errorType: string | null;
  /** When the attempt started, ms after the call's `ts`. */
  readonly atMs: number;
  readonly totalMs: number;
  /** From the attempt's start to its first content token; for one given up before it, how long it waited. */
  readonly ttftMs: number | null;
  readonly usage: Usage | null;
  readonly usageSource: UsageSource;
  readonly costUsd: number | null;
  /** Why the call moved on after it (`status_503`, `network_error`, `timeout`, `first_token_timeout`...); null for the answer. */
  readonly reason: string | null;
  readonly server: { readonly address: string; readonly port: number };
  /** The second attempt of a hedge. */
  readonly hedge?: true;
  /** Its first-token deadline: derived from the target's measured TTFT, or the fixed one. */
  readonly firstTokenTimeout?: { readonly ms: number; readonly source: 'derived' | 'fixed' };
}

/** The provider name of records that did not pass through the proxy (stages from `/v1/traces` and `/v1/timings`). */
export const APP_PROVIDER = 'app';

export type Priority = 'critical' | 'high' | 'normal' | 'low';

export interface RequestParams {
  readonly maxTokens: number | null;
  readonly temperature: number | null;
  readonly topP: number | null;
}
