import { describe, expect, it } from 'vitest';
import { BURST_CALLS, HedgeBudget, IDLE_MS } from '../../../../src/core/resilience/hedge-budget';
import { seeded } from '../../../../bench/fast-upstream';

describe('hedge budget (per isolate, a token bucket filled by the calls)', () => {
  it('starts empty: the first hedge waits for 1 / max_ratio calls', () => {
    const b = new HedgeBudget(0.05);
    for (let i = 0; i < 19; i++) b.call(i);
    expect(b.take(19)).toBe(false);
    b.call(20);
    expect(b.take(20)).toBe(true);
    expect(b.take(20)).toBe(false);
  });

  it('a burst where every call wants a hedge gets max_ratio of them', () => {
    const b = new HedgeBudget(0.05);
    let hedges = 0;
    for (let i = 0; i < 1000; i++) {
      b.call(i);
      if (b.take(i)) hedges++;
    }
    expect(hedges).toBe(50);
  });

  it('holds under bursts: in any run of calls, hedges <= max_ratio x calls + the credit of BURST_CALLS calls', () => {
    const ratio = 0.05;
    const b = new HedgeBudget(ratio);
    const random = seeded(42);
    const hedged: boolean[] = [];
    let now = 0;
    // Quiet stretches where nothing needs a hedge (credit builds up), then bursts where every call asks for one.
    for (let round = 0; round < 20; round++) {
      const quiet = Math.floor(random() * 400);
      for (let i = 0; i < quiet; i++) {
        b.call((now += 10));
        hedged.push(false);
      }
      const burst = Math.floor(random() * 200);
      for (let i = 0; i < burst; i++) {
        b.call((now += 1));
        hedged.push(b.take(now));
      }
    }
    const cap = Math.max(1, ratio * BURST_CALLS);
    expect(b.capacity).toBe(cap);
    // Every window of calls, checked through prefix sums.
    const prefix = [0];
    for (const h of hedged) prefix.push((prefix.at(-1) as number) + (h ? 1 : 0));
    let worst = -Infinity;
    for (let from = 0; from < hedged.length; from += 3) {
      for (let to = from + 1; to <= hedged.length; to += 5) {
        worst = Math.max(worst, (prefix[to] as number) - (prefix[from] as number) - ratio * (to - from));
      }
    }
    expect(worst).toBeLessThanOrEqual(cap + 1e-9);
    // The bursts do spend the credit the quiet stretches built: the bound is reached, not just respected.
    expect(worst).toBeGreaterThan(cap - 1);
    const total = prefix.at(-1) as number;
    expect(total).toBeLessThanOrEqual(ratio * hedged.length + 1e-9);
    expect(total).toBeGreaterThan(0);
  });

  it('concurrent asks after a burst of call starts: no more than the credit earned', () => {
    const b = new HedgeBudget(0.1);
    for (let i = 0; i < 40; i++) b.call(1000);
    let granted = 0;
    for (let i = 0; i < 40; i++) if (b.take(1050)) granted++;
    expect(granted).toBe(4);
  });

  it('credit left from before a quiet spell is forgotten', () => {
    const b = new HedgeBudget(0.5);
    for (let i = 0; i < 10; i++) b.call(i);
    expect(b.counts.tokens).toBe(5);
    expect(b.take(10 + IDLE_MS + 1)).toBe(false);
    b.call(20 + IDLE_MS);
    expect(b.counts.tokens).toBe(0.5);
  });

  it('refuses a ratio outside (0, 1]', () => {
    expect(() => new HedgeBudget(0)).toThrow(/\(0, 1\]/);
    expect(() => new HedgeBudget(1.5)).toThrow(/\(0, 1\]/);
  });
});
