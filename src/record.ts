import type { Operation, ProviderFormat } from './providers/types';
import type { Usage, UsageSource } from './usage/types';

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
  readonly usage: Usage | null;
  readonly usageSource: UsageSource;
  readonly costUsd: number | null;
  readonly responseId: string | null;
  readonly finishReasons: readonly string[];
  readonly request: RequestParams;
  /** Upstream host and port the call went to. */
  readonly server: { readonly address: string; readonly port: number };
}

export interface RequestParams {
  readonly maxTokens: number | null;
  readonly temperature: number | null;
  readonly topP: number | null;
}
