import { describe, expect, it } from 'vitest';
import { MeanLatencySelector } from '../../../../src/core/resilience/mean-latency';

describe("the mean-of-the-last-10 selector (LiteLLM's latency-based routing, the benchmark's reference)", () => {
  it('tries a target never measured first, then the lowest mean of the last 10', () => {
    const s = new MeanLatencySelector(['a', 'b'], () => 0);
    s.observe('a', 50);
    expect(s.pick()).toBe('b');
    s.observe('b', 150);
    expect(s.pick()).toBe('a');
  });

  it('one stall among the last ten moves every call to the other target until it leaves the list', () => {
    const s = new MeanLatencySelector(['a', 'b'], () => 0);
    for (let i = 0; i < 10; i++) s.observe('a', 50);
    s.observe('b', 150);
    expect(s.pick()).toBe('a');
    s.observe('a', 3000);
    expect(s.mean('a')).toBeCloseTo((9 * 50 + 3000) / 10);
    expect(s.pick()).toBe('b');
    for (let i = 0; i < 9; i++) s.observe('a', 50);
    expect(s.pick()).toBe('b');
    s.observe('a', 50);
    expect(s.pick()).toBe('a');
  });

  it('ties are drawn at random', () => {
    expect(new MeanLatencySelector(['a', 'b'], () => 0).pick()).toBe('a');
    expect(new MeanLatencySelector(['a', 'b'], () => 0.99).pick()).toBe('b');
  });
});
