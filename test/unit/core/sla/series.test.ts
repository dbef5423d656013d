import { describe, expect, it } from 'vitest';
import { minuteSeries, MAX_SERIES_MINUTES } from '../../../../src/core/sla/series';
import { addSample, emptyWindow, type Sample } from '../../../../src/core/sla/window';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

function sample(over: Partial<Sample> = {}): Sample {
  return { ts: T0, outcome: 'success', totalMs: 100, ttftMs: null, inputTokens: 1, outputTokens: 1, costUsd: null, ...over };
}

function minute(start: number, samples: Partial<Sample>[], durationMs = MINUTE) {
  const w = emptyWindow(start, durationMs);
  for (const s of samples) addSample(w, sample({ ts: start, ...s }));
  return w;
}

describe('minuteSeries', () => {
  it('gives one point per minute over the range, empty minutes as gaps', () => {
    // 1..100 ms: the exact (lower-rank) p50, p95, p99 are 50, 95 and 99.
    const busyMinute = Array.from({ length: 100 }, (_, i) => ({ totalMs: i + 1, ttftMs: i === 0 ? 40 : null }));
    const windows = [minute(T0 + MINUTE, busyMinute), minute(T0 + 3 * MINUTE, [{ totalMs: 50 }])];
    const points = minuteSeries(windows, T0, T0 + 5 * MINUTE, false);
    expect(points.map((p) => p.start)).toEqual([0, 1, 2, 3, 4].map((i) => new Date(T0 + i * MINUTE).toISOString()));
    expect(points.map((p) => p.count)).toEqual([0, 100, 0, 1, 0]);
    expect(points[0]).toEqual({ start: new Date(T0).toISOString(), count: 0, success_rate: null, throughput_rps: 0, p50: null, p95: null, p99: null, ttft_p95: null });
    const busy = points[1];
    expect(busy?.success_rate).toBe(1);
    expect(busy?.throughput_rps).toBeCloseTo(100 / 60, 4);
    // Within the sketch's 0.5 % relative accuracy of the exact values.
    for (const [key, exact] of [['p50', 50], ['p95', 95], ['p99', 99], ['ttft_p95', 40]] as const) {
      expect(Math.abs((busy?.[key] ?? -1) - exact), key).toBeLessThanOrEqual(exact * 0.005 + 0.05);
    }
    expect(points[3]?.ttft_p95).toBeNull();
  });

  it('merges windows with the same start (shards of one route) and counts failures by the client-error setting', () => {
    const shardA = minute(T0, [{ outcome: 'success' }, { outcome: 'client_error' }]);
    const shardB = minute(T0, [{ outcome: 'upstream_error' }, { outcome: 'success' }]);
    const [withoutClient] = minuteSeries([shardA, shardB], T0, T0 + MINUTE, false);
    expect(withoutClient?.count).toBe(4);
    expect(withoutClient?.success_rate).toBeCloseTo(2 / 3, 4);
    const [withClient] = minuteSeries([shardA, shardB], T0, T0 + MINUTE, true);
    expect(withClient?.success_rate).toBe(0.5);
    // Merging left the inputs as they were.
    expect(shardA.count).toBe(2);
  });

  it('ignores hourly rollups and windows outside the range', () => {
    const hour = minute(T0, [{ totalMs: 5 }], 3_600_000);
    const before = minute(T0 - MINUTE, [{ totalMs: 5 }]);
    const after = minute(T0 + 2 * MINUTE, [{ totalMs: 5 }]);
    const inside = minute(T0 + MINUTE, [{ totalMs: 7 }]);
    expect(minuteSeries([hour, before, after, inside], T0, T0 + 2 * MINUTE, false).map((p) => p.count)).toEqual([0, 1]);
  });

  it.each<[string, number, number, RegExp]>([
    ['an unaligned start', T0 + 1, T0 + MINUTE, /from must be a whole minute/],
    ['an unaligned end', T0, T0 + MINUTE + 5, /to must be a whole minute/],
    ['an empty range', T0, T0, /1 to 1440 minutes, got 0/],
    ['a reversed range', T0 + MINUTE, T0, /got -1/],
    ['a range too long', T0, T0 + (MAX_SERIES_MINUTES + 1) * MINUTE, /got 1441/],
    ['a NaN', Number.NaN, T0, /from must be a whole minute/],
  ])('refuses %s with a clear error', (_, from, to, message) => {
    expect(() => minuteSeries([], from, to, false)).toThrow(message);
  });
});
