import { describe, expect, it } from 'vitest';
import { backoffMs, failureReason, retryable, retryAfterMs } from '../../../../src/core/resilience/retry';

const headers = (h: Record<string, string>) => (name: string) => h[name] ?? null;
const on = { statuses: new Set([429, 503]), networkError: true, timeout: false };

describe('retry-after', () => {
  it('reads retry-after-ms first, then retry-after in seconds or as an HTTP date', () => {
    const now = Date.UTC(2026, 11, 1, 12, 0, 0);
    expect(retryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(retryAfterMs(headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(retryAfterMs(headers({ 'retry-after': '0.5' }), now)).toBe(500);
    expect(retryAfterMs(headers({ 'retry-after': new Date(now + 3000).toUTCString() }), now)).toBe(3000);
    expect(retryAfterMs(headers({ 'retry-after': new Date(now - 3000).toUTCString() }), now)).toBe(0);
  });

  it('is null when absent or unreadable', () => {
    expect(retryAfterMs(headers({}), 0)).toBeNull();
    expect(retryAfterMs(headers({ 'retry-after': 'soon' }), 0)).toBeNull();
    expect(retryAfterMs(headers({ 'retry-after-ms': '-5' }), 0)).toBeNull();
  });
});

describe('backoff', () => {
  it('doubles per retry up to the cap, half of it fixed and half jittered by the random source', () => {
    expect(backoffMs(1, 200, 10_000, () => 0)).toBe(100);
    expect(backoffMs(1, 200, 10_000, () => 1)).toBe(200);
    expect(backoffMs(3, 200, 10_000, () => 0.5)).toBe(600);
    expect(backoffMs(10, 200, 1000, () => 1)).toBe(1000);
    expect(backoffMs(10, 200, 1000, () => 0)).toBe(500);
  });
});

describe('what retry_on lets the call move on from', () => {
  it('statuses, network errors and timeouts as listed; a first-token deadline always', () => {
    expect(retryable({ kind: 'status', status: 503 }, on)).toBe(true);
    expect(retryable({ kind: 'status', status: 500 }, on)).toBe(false);
    expect(retryable({ kind: 'status', status: 400 }, on)).toBe(false);
    expect(retryable({ kind: 'network_error' }, on)).toBe(true);
    expect(retryable({ kind: 'timeout' }, on)).toBe(false);
    expect(retryable({ kind: 'first_token_timeout' }, on)).toBe(true);
  });

  it("an error event before a stream's first token counts as a 429 (rate limit) or a 500", () => {
    expect(retryable({ kind: 'stream_error', rateLimited: true }, on)).toBe(true);
    expect(retryable({ kind: 'stream_error', rateLimited: false }, on)).toBe(false);
    expect(retryable({ kind: 'stream_error', rateLimited: false }, { ...on, statuses: new Set([500]) })).toBe(true);
  });

  it('names the reason as records and metrics show it', () => {
    expect(failureReason({ kind: 'status', status: 503 })).toBe('status_503');
    expect(failureReason({ kind: 'first_token_timeout' })).toBe('first_token_timeout');
    expect(failureReason({ kind: 'stream_error', rateLimited: true })).toBe('stream_rate_limited');
  });
});
