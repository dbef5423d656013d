import { describe, expect, it } from 'vitest';
import { EXPLORE_SHARE, orderTargets } from '../../../../src/core/resilience/order';
import { tailFrom, type Tails } from '../../../../src/core/resilience/tails';
import { seeded } from '../../../../bench/fast-upstream';

const flat = (ms: number, n = 100) => Array.from({ length: n }, () => ms);
/** A stream of random draws that never explores (every draw above the share). */
const never = () => 0.99;
const all = () => 'closed' as const;

describe('ordering targets by their measured tail', () => {
  const tails: Tails = new Map([
    ['a', tailFrom(flat(300), flat(900))],
    ['b', tailFrom(flat(100), flat(2000))],
    ['c', tailFrom(flat(200), flat(500))],
  ]);
  const labels = ['a', 'b', 'c'];

  it('ordered: as listed', () => {
    expect(orderTargets('ordered', labels, tails, all, 50, never)).toEqual({ order: [0, 1, 2], explored: null });
  });

  it('lowest_ttft_p95 and lowest_latency_p95: lowest tail first', () => {
    expect(orderTargets('lowest_ttft_p95', labels, tails, all, 50, never).order).toEqual([1, 2, 0]);
    expect(orderTargets('lowest_latency_p95', labels, tails, all, 50, never).order).toEqual([2, 0, 1]);
  });

  it('reads the p95, not the median: a fast median with a heavy tail loses to a slower one with a light tail', () => {
    const heavy = [...flat(50, 90), ...flat(3000, 10)];
    const t: Tails = new Map([
      ['fast', tailFrom(heavy)],
      ['steady', tailFrom(flat(150))],
    ]);
    expect(orderTargets('lowest_ttft_p95', ['fast', 'steady'], t, all, 50, never).order).toEqual([1, 0]);
  });

  it('targets measured on fewer than min_samples follow the measured ones, as listed', () => {
    const t: Tails = new Map([
      ['a', tailFrom(flat(300))],
      ['b', tailFrom(flat(10, 20))],
    ]);
    expect(orderTargets('lowest_ttft_p95', ['x', 'b', 'a'], t, all, 50, never).order).toEqual([2, 0, 1]);
  });

  it('a target whose breaker is open goes last, whatever its tail; one due for its probe goes first', () => {
    expect(orderTargets('lowest_ttft_p95', labels, tails, (i) => (i === 1 ? 'open' : 'closed'), 50, never).order).toEqual([2, 0, 1]);
    expect(orderTargets('lowest_ttft_p95', labels, tails, (i) => (i === 0 ? 'probe' : 'closed'), 50, never).order).toEqual([0, 1, 2]);
  });

  it('a share of the calls go first to another healthy target, drawn evenly; deterministic under the injected random', () => {
    const random = seeded(7);
    const first = new Map<number, number>();
    let explored = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const o = orderTargets('lowest_ttft_p95', labels, tails, all, 50, random);
      first.set(o.order[0] as number, (first.get(o.order[0] as number) ?? 0) + 1);
      if (o.explored !== null) {
        explored++;
        expect(o.order[0]).toBe(o.explored);
        expect(o.order).toHaveLength(3);
      }
    }
    expect(explored / n).toBeCloseTo(EXPLORE_SHARE, 2);
    // The best (b) keeps the rest; the other two share the exploration about evenly.
    expect((first.get(1) ?? 0) / n).toBeCloseTo(1 - EXPLORE_SHARE, 2);
    expect(Math.abs((first.get(2) ?? 0) - (first.get(0) ?? 0))).toBeLessThan(n * EXPLORE_SHARE * 0.2);
    const again = seeded(7);
    const replay = Array.from({ length: 50 }, () => orderTargets('lowest_ttft_p95', labels, tails, all, 50, again).order.join());
    const once = seeded(7);
    expect(Array.from({ length: 50 }, () => orderTargets('lowest_ttft_p95', labels, tails, all, 50, once).order.join())).toEqual(replay);
  });

  it('a recovered target wins its traffic back: explored calls refresh its tail, then it leads again', () => {
    // Target a was slow; b took the traffic. a is explored now and then, and each explored call is measured.
    const ttft = new Map<string, number[]>([
      ['a', flat(900, 60)],
      ['b', flat(200, 60)],
    ]);
    const random = seeded(3);
    const firstOf: string[] = [];
    for (let call = 0; call < 4000; call++) {
      const t: Tails = new Map([...ttft].map(([k, v]) => [k, tailFrom(v.slice(-60))]));
      const o = orderTargets('lowest_ttft_p95', ['a', 'b'], t, all, 50, random);
      const first = o.order[0] === 0 ? 'a' : 'b';
      firstOf.push(first);
      // a has recovered: it now answers in 100 ms; b stays at 200 ms.
      ttft.get(first)?.push(first === 'a' ? 100 : 200);
    }
    expect(firstOf.slice(0, 100).filter((x) => x === 'b').length).toBeGreaterThan(90);
    expect(firstOf.slice(-500).filter((x) => x === 'a').length).toBeGreaterThan(450);
  });

  it('a single target, or none healthy but one: nothing to order', () => {
    expect(orderTargets('lowest_ttft_p95', ['a'], tails, all, 50, () => 0).order).toEqual([0]);
    expect(orderTargets('lowest_ttft_p95', labels, tails, (i) => (i === 2 ? 'closed' : 'open'), 50, () => 0)).toEqual({ order: [2, 0, 1], explored: null });
  });
});
