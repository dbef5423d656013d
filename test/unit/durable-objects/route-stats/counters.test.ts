import { describe, expect, it } from 'vitest';
import { emptyHistogram, DURATION_BUCKETS_S, TTFT_BUCKETS_S } from '../../../../src/core/metrics';
import type { Sample } from '../../../../src/core/sla/sample';
import { RouteCounters } from '../../../../durable-objects/route-stats/counters';

const sample = (outcome: Sample['outcome'], totalMs: number, ttftMs: number | null = null): Sample => ({ ts: 1, outcome, totalMs, ttftMs, inputTokens: 10, outputTokens: 2, costUsd: 0.001 });

describe('RouteCounters', () => {
  it('counts outcomes, the route histograms without aborted calls, and tokens per model up to the cap, then other', () => {
    const c = new RouteCounters(2);
    c.addBatch([sample('success', 100, 20), sample('aborted', 90_000), sample('upstream_error', 50), sample('success', 10)], ['a', 'b', 'c', 'd'], 1, 0);
    const { counters, droppedRecords } = c.snapshot();
    expect(droppedRecords).toBe(1);
    expect(counters.outcomes).toMatchObject({ success: 2, aborted: 1, upstream_error: 1, timeout: 0 });
    expect(counters.duration.count).toBe(3);
    expect(counters.ttft.count).toBe(1);
    expect(counters.models.map((m) => [m.model, m.calls, m.inputTokens])).toEqual([
      ['a', 1, 10],
      ['b', 1, 10],
      ['other', 2, 20],
    ]);
  });

  it('reads the per-model-and-outcome series kept before, folded into the route counters', () => {
    const h = (bounds: readonly number[], n: number) => ({ ...emptyHistogram(bounds), count: n });
    const legacy = {
      series: [
        { model: 'm', outcome: 'success', count: 4, duration: h(DURATION_BUCKETS_S, 4), ttft: h(TTFT_BUCKETS_S, 1), inputTokens: 40, outputTokens: 8, costUsd: 0.4, pricedCount: 4 },
        { model: 'm', outcome: 'aborted', count: 1, duration: h(DURATION_BUCKETS_S, 1), ttft: h(TTFT_BUCKETS_S, 0), inputTokens: 10, outputTokens: 0, costUsd: 0 },
      ],
      droppedRecords: 2,
      droppedSamples: 0,
    };
    const { counters, droppedRecords } = RouteCounters.fromJSON(legacy).snapshot();
    expect(droppedRecords).toBe(2);
    expect(counters.outcomes).toMatchObject({ success: 4, aborted: 1 });
    expect(counters.duration.count).toBe(4);
    expect(counters.models).toEqual([{ model: 'm', calls: 5, inputTokens: 50, outputTokens: 8, costUsd: 0.4, pricedCount: 4 }]);
    expect(RouteCounters.fromJSON(JSON.parse(JSON.stringify(RouteCounters.fromJSON(legacy)))).snapshot().counters).toEqual(counters);
  });
});
