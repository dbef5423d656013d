/**
 * Recent outcomes of one target in fixed 10-second buckets: what a circuit breaker judges. The same shape is kept by
 * an isolate (its own calls, at once) and by a route object (every isolate's calls), and crosses the RPC between
 * them as plain data.
 */
export const HEALTH_BUCKET_MS = 10_000;

/** What an attempt's outcome says of its target: failed (5xx, 429, network error, timeout), succeeded, or nothing (a client error, a cancel). */
export function healthOf(outcome: string): boolean | null {
  if (outcome === 'success') return true;
  if (outcome === 'client_error' || outcome === 'aborted') return null;
  return false;
}

export interface HealthBucket {
  /** Start of the bucket, epoch ms, a multiple of `HEALTH_BUCKET_MS`. */
  start: number;
  calls: number;
  failures: number;
}

/** Calls and failures in the buckets that start at or after `from`. */
export function sumSince(buckets: readonly HealthBucket[], from: number): { calls: number; failures: number } {
  let calls = 0;
  let failures = 0;
  for (const b of buckets) {
    if (b.start < from) continue;
    calls += b.calls;
    failures += b.failures;
  }
  return { calls, failures };
}

/** A bounded run of buckets, oldest first; buckets older than `keepMs` are dropped as new ones open. */
export class HealthBuckets {
  private readonly buckets: HealthBucket[] = [];

  constructor(private readonly keepMs: number) {}

  add(now: number, failed: boolean, n = 1): void {
    const start = Math.floor(now / HEALTH_BUCKET_MS) * HEALTH_BUCKET_MS;
    let last = this.buckets.at(-1);
    if (!last || last.start < start) {
      this.buckets.push((last = { start, calls: 0, failures: 0 }));
      while (this.buckets.length > 0 && (this.buckets[0] as HealthBucket).start <= start - this.keepMs) this.buckets.shift();
    }
    // A time behind the newest bucket (clocks of several isolates) is filed in the newest one.
    last.calls += n;
    if (failed) last.failures += n;
  }

  since(from: number): { calls: number; failures: number } {
    return sumSince(this.buckets, from);
  }

  /** Copies of the buckets that start at or after `from`. */
  list(from = Number.NEGATIVE_INFINITY): HealthBucket[] {
    return this.buckets.filter((b) => b.start >= from).map((b) => ({ ...b }));
  }

  clear(): void {
    this.buckets.length = 0;
  }
}
