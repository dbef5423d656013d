import { describe, expect, it } from 'vitest';
import { addToHistogram, DURATION_BUCKETS_S, emptyHistogram, type HistogramCounts } from '../../../src/core/metrics';
import { histogramBounds, rebucket, unionBounds } from '../../../src/core/metrics-buckets';

const cumulative = (h: HistogramCounts, bounds: readonly number[], le: number) => h.counts.slice(0, bounds.indexOf(le) + 1).reduce((a, b) => a + b, 0);

describe('histogram boundaries from the SLO in force', () => {
  it('adds the latency and TTFT thresholds, in seconds, to the GenAI boundaries', () => {
    expect(histogramBounds(null).duration).toEqual(DURATION_BUCKETS_S);
    const b = histogramBounds({ latency_ms: 300, ttft_ms: 150 });
    expect(b.duration).toContain(0.3);
    expect(b.ttft).toContain(0.15);
    expect([...b.duration]).toEqual([...b.duration].sort((x, y) => x - y));
    // A threshold already among them adds nothing.
    expect(histogramBounds({ latency_ms: 1280, ttft_ms: null }).duration).toEqual(DURATION_BUCKETS_S);
  });

  it('moves counts onto new boundaries so the new bucket counts exactly from the change on, and never goes down', () => {
    const old = DURATION_BUCKETS_S;
    const next = histogramBounds({ latency_ms: 300, ttft_ms: null }).duration;
    const h = emptyHistogram(old);
    for (const s of [0.1, 0.25, 0.31, 0.5, 3]) addToHistogram(h, old, s);
    const moved = rebucket(h, old, next);
    expect(moved.count).toBe(5);
    // The calls of (0.16, 0.32] cannot be split: they all go above 0.3; le=0.3 starts at the count up to 0.16.
    expect(cumulative(moved, next, 0.3)).toBe(cumulative(h, old, 0.16));
    expect(cumulative(moved, next, 0.32)).toBe(cumulative(h, old, 0.32));
    const before = cumulative(moved, next, 0.3);
    for (const s of [0.2, 0.29, 0.3, 0.301]) addToHistogram(moved, next, s);
    expect(cumulative(moved, next, 0.3) - before).toBe(3);
    // And back: the removed bound's bucket merges into the next one.
    const back = rebucket(moved, next, old);
    expect(back.counts.length).toBe(old.length + 1);
    expect(cumulative(back, old, 0.32)).toBe(cumulative(moved, next, 0.32));
    expect(unionBounds(old, next)).toEqual(next);
  });
});
