import type { DerivedDeadlineSpec, HedgeSpec } from './deadline';
import type { Strategy } from './order';

/**
 * A route's resilience policy as the request path applies it: every default filled in, every value checked
 * (`src/config/policies.ts` validates `POLICIES` into it). Pure data.
 */

/** One place a call can be sent: a configured provider of the path's wire format, optionally another model. */
export interface TargetSpec {
  readonly provider: string;
  /** Written into the request body's `model` when set. */
  readonly model: string | null;
}

/** When a target is taken out of rotation, and for how long (per route and target). */
export interface BreakerSpec {
  /** Failures / calls at or above which the breaker opens (0-1]. */
  readonly failureRate: number;
  /** Fewest calls in the window before the rate can open it. */
  readonly minCalls: number;
  readonly windowMs: number;
  /** How long an open breaker skips its target before one probe call decides. */
  readonly cooldownMs: number;
}

/** What an attempt may fail with and still be retried or replaced (`retry_on`). */
export interface RetryOn {
  readonly statuses: ReadonlySet<number>;
  readonly networkError: boolean;
  readonly timeout: boolean;
}

export interface ResolvedPolicy {
  /** The `routes` key that matched, null when only `default` applies. */
  readonly matched: string | null;
  /** As listed; the provider the path names goes first unless it is listed (`planTargets`). */
  readonly targets: readonly TargetSpec[];
  /** Retries per target. */
  readonly retries: number;
  readonly retryOn: RetryOn;
  /** First retry's backoff; doubled each retry up to `backoffMaxMs`, with jitter. */
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
  /** Longest `retry-after` honoured; a longer one moves on to the next target instead of waiting. */
  readonly retryAfterMaxMs: number;
  /** Streams: held until their first content event or this many ms after the attempt started. */
  readonly firstTokenTimeoutMs: number | null;
  /** The whole call, every attempt and wait included, until the client gets its answer. */
  readonly timeoutMs: number | null;
  readonly breaker: BreakerSpec | null;
  /** The order a call tries the targets in: as listed, or by their measured tail (src/core/resilience/order.ts). */
  readonly strategy: Strategy;
  /** `first_token_timeout`: each target's first-token deadline from its measured TTFT (`firstTokenTimeoutMs` below `minSamples`). */
  readonly derivedFirstToken: DerivedDeadlineSpec | null;
  /** `hedge`: a second concurrent attempt at the next healthy target when the first is slow. */
  readonly hedge: HedgeSpec | null;
  /** Fewest samples a measured percentile needs before a decision (deadline, hedge delay, order) uses it. */
  readonly minSamples: number;
}

/** A target's label in records, headers and metrics: `provider`, or `provider:model` when the model is set. */
export function targetLabel(t: TargetSpec): string {
  return t.model === null ? t.provider : `${t.provider}:${t.model}`;
}
