import type { RetryOn } from './policy';

/**
 * How an attempt ended when it was not the answer the client gets as it is: the facts `nextStep` decides on.
 * `first_token_timeout`: a held stream had no first content event by its deadline; `stream_error`: a held stream
 * sent an error event before its first content (an overload or rate limit announced inside a 200).
 */
export type AttemptFailure =
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'network_error' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'first_token_timeout' }
  | { readonly kind: 'stream_error'; readonly rateLimited: boolean };

/** Why the call moved on after an attempt, as records and `llm_sla_fallbacks_total{reason}` name it. */
export function failureReason(f: AttemptFailure): string {
  switch (f.kind) {
    case 'status':
      return `status_${f.status}`;
    case 'stream_error':
      return f.rateLimited ? 'stream_rate_limited' : 'stream_error';
    default:
      return f.kind;
  }
}

/**
 * Whether `retry_on` lets the call move on from this failure. A stream's error event before its first content
 * counts as a 429 (rate limit) or a 500 (anything else); a first-token deadline always does: configuring one is
 * asking for it.
 */
export function retryable(f: AttemptFailure, on: RetryOn): boolean {
  switch (f.kind) {
    case 'status':
      return on.statuses.has(f.status);
    case 'network_error':
      return on.networkError;
    case 'timeout':
      return on.timeout;
    case 'first_token_timeout':
      return true;
    case 'stream_error':
      return on.statuses.has(f.rateLimited ? 429 : 500);
  }
}

const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * How long a response asks the client to wait, in ms: `retry-after-ms` (OpenAI, Azure) first, else `retry-after`
 * in seconds or as an HTTP date. Null when neither is there or readable.
 */
export function retryAfterMs(get: (name: string) => string | null, now: number): number | null {
  const ms = get('retry-after-ms')?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.min(Number(ms), MAX_RETRY_AFTER_MS);
  const after = get('retry-after')?.trim();
  if (!after) return null;
  if (/^\d+(\.\d+)?$/.test(after)) return Math.min(Number(after) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(after);
  return Number.isNaN(at) ? null : Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

/**
 * The wait before retry `n` (1-based) of one target: `base · 2^(n-1)`, at most `max`, with "equal jitter" — half
 * of it fixed, half drawn from `random` (so retries of many calls spread out, yet none is retried at once).
 */
export function backoffMs(n: number, baseMs: number, maxMs: number, random: () => number): number {
  const full = Math.min(maxMs, baseMs * 2 ** Math.max(0, n - 1));
  return full / 2 + random() * (full / 2);
}
