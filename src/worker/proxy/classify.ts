import type { Outcome } from '../../core/record';

export interface OutcomeFacts {
  readonly status: number;
  readonly clientAborted: boolean;
  readonly timedOut: boolean;
  readonly bodyEnd: 'complete' | 'error' | 'cancelled' | null;
  readonly streamErrorType: string | null;
}

/** The outcome of a call; checked in order, so a client that left is `aborted` whatever else went wrong. */
export function classify(f: OutcomeFacts): Outcome {
  if (f.clientAborted || f.bodyEnd === 'cancelled') return 'aborted';
  if (f.timedOut) return 'timeout';
  if (f.status === 0 || f.bodyEnd === 'error') return 'network_error';
  if (f.status === 429) return 'rate_limited';
  if (f.status >= 500) return 'upstream_error';
  if (f.status >= 400) return 'client_error';
  if (f.streamErrorType !== null) return /rate_limit/.test(f.streamErrorType) ? 'rate_limited' : 'upstream_error';
  return 'success';
}

/** `error.type` for a call that did not succeed: the provider's error type, else the status, else the outcome. */
export function errorType(outcome: Outcome, status: number, streamErrorType: string | null): string | null {
  if (outcome === 'success') return null;
  if (streamErrorType !== null) return streamErrorType;
  if (status >= 400 && outcome !== 'timeout' && outcome !== 'aborted') return String(status);
  return outcome;
}
