import { describe, expect, it } from 'vitest';
import { firstTokenDeadline, hedgeDelay, type DerivedDeadlineSpec, type HedgeSpec } from '../../../../src/core/resilience/deadline';
import { tailFrom } from '../../../../src/core/resilience/tails';

const SPEC: DerivedDeadlineSpec = { percentile: 95, factor: 2, minMs: 300, maxMs: 10_000, minSamples: 50 };
/** 100 values 1..100 ms scaled: p95 is the 95th (rank floor(0.95 x 99) = 94, the value 95 x scale). */
const ramp = (scale: number, n = 100) => Array.from({ length: n }, (_, i) => (i + 1) * scale);

describe('first-token deadline derived from the measured TTFT', () => {
  it('is the percentile times the factor, within the sketch accuracy', () => {
    const d = firstTokenDeadline(SPEC, 2000, tailFrom(ramp(10)));
    expect(d.source).toBe('derived');
    expect(d.fromMs).toBeCloseTo(950, -1);
    expect(d.ms).toBeGreaterThan(950 * 2 * 0.99);
    expect(d.ms).toBeLessThan(950 * 2 * 1.01);
  });

  it('follows the tail as it moves', () => {
    const fast = firstTokenDeadline(SPEC, null, tailFrom(ramp(4)));
    const slow = firstTokenDeadline(SPEC, null, tailFrom(ramp(20)));
    expect(fast.ms).toBeLessThan(slow.ms ?? 0);
    expect(slow.ms).toBeCloseTo(3800, -2);
  });

  it('is clamped into [min_ms, max_ms]', () => {
    expect(firstTokenDeadline(SPEC, null, tailFrom(ramp(0.5))).ms).toBe(300);
    expect(firstTokenDeadline(SPEC, null, tailFrom(ramp(200))).ms).toBe(10_000);
  });

  it('below min_samples the fixed first_token_timeout_ms applies, or none', () => {
    const few = tailFrom(ramp(10, 49));
    expect(firstTokenDeadline(SPEC, 2000, few)).toEqual({ ms: 2000, source: 'fixed', fromMs: null });
    expect(firstTokenDeadline(SPEC, null, few)).toEqual({ ms: null, source: 'none', fromMs: null });
    expect(firstTokenDeadline(SPEC, null, undefined)).toEqual({ ms: null, source: 'none', fromMs: null });
    expect(firstTokenDeadline(SPEC, 2000, tailFrom(ramp(10, 50))).source).toBe('derived');
  });

  it('a latency-only tail (no stream measured) derives nothing', () => {
    expect(firstTokenDeadline(SPEC, 1500, tailFrom([], ramp(10))).source).toBe('fixed');
  });

  it('without the derived setting the fixed one is used as it is', () => {
    expect(firstTokenDeadline(null, 2000, tailFrom(ramp(10)))).toEqual({ ms: 2000, source: 'fixed', fromMs: null });
  });
});

describe('hedge delay', () => {
  const byPercentile: HedgeSpec = { after: { percentile: 95 }, maxRatio: 0.05, minSamples: 50 };

  it('a fixed delay whatever was measured', () => {
    expect(hedgeDelay({ ...byPercentile, after: { ms: 250 } }, undefined, true)).toBe(250);
  });

  it("a percentile of the target's TTFT for a stream, of its latency otherwise", () => {
    const tail = tailFrom(ramp(2), ramp(10));
    expect(hedgeDelay(byPercentile, tail, true)).toBeCloseTo(190, -1);
    expect(hedgeDelay(byPercentile, tail, false)).toBeCloseTo(950, -1);
  });

  it('no hedge by percentile below min_samples', () => {
    expect(hedgeDelay(byPercentile, tailFrom(ramp(2, 10)), true)).toBeNull();
    expect(hedgeDelay(byPercentile, undefined, false)).toBeNull();
  });
});
