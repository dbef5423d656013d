import { describe, expect, it } from 'vitest';
import { parseSlaConfig, sloFor } from '../../../../src/core/sla/config';
import { burnRate, errorBudget, judge, parsePeriod, resolveSlo, sumWindowCounts, type ResolvedSlo, type SloWindowCounts } from '../../../../src/core/sla/slo';
import { SloLedger } from '../../../../src/core/sla/slo-ledger';
import type { Sample } from '../../../../src/core/sla/sample';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 1);

/** Deterministic generator (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const slo = resolveSlo({ objective: 0.99, period: '30d', latency_ms: 2000, ttft_ms: 800 }, false) as ResolvedSlo;
const sample = (over: Partial<Sample>): Sample => ({ ts: T0, outcome: 'success', totalMs: 100, ttftMs: null, inputTokens: 0, outputTokens: 0, costUsd: null, ...over });

describe('SLO config', () => {
  it('validates slo blocks on default and routes, and resolves them per route', () => {
    const ok = parseSlaConfig(JSON.stringify({ default: { slo: { objective: 0.999 } }, routes: { 'chat*': { slo: { objective: 0.99, period: '7d', latency_ms: 2000, ttft_ms: 800 } } } }));
    expect(ok.ok).toBe(true);
    if (!ok.ok) return;
    expect(sloFor(ok.config, 'chat.fast')).toEqual({
      objective: 0.99,
      period: '7d',
      period_hours: 168,
      latency_ms: 2000,
      ttft_ms: 800,
      count_client_errors: false,
      alerts: ['fast', 'slow', 'ticket_fast', 'ticket_slow'],
      name: null,
      description: null,
      labels: {},
    });
    expect(sloFor(ok.config, 'other')).toMatchObject({ objective: 0.999, period: '30d', period_hours: 720, latency_ms: null });
    expect(sloFor(ok.config, null)).toBeNull();
    for (const [bad, problem] of [
      [{ objective: 1 }, 'objective'],
      [{ objective: 0.99, period: '100d' }, 'between 1h and 90d'],
      [{ objective: 0.99, period: '1w' }, 'period must look like'],
      [{ objective: 0.99, latency_ms: -5 }, 'latency_ms'],
      [{ objective: 0.99, extra: 1 }, 'extra'],
      [{ period: '30d' }, 'objective'],
    ] as const) {
      const r = parseSlaConfig(JSON.stringify({ default: { slo: bad } }));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problems.join('\n')).toContain(problem);
    }
    expect(parsePeriod('12h')).toBe(12);
    expect(parsePeriod('90d')).toBe(2160);
  });

  it('judges a call good only when it succeeded within the latency and, for streams, TTFT thresholds', () => {
    expect(judge(sample({}), slo)).toBe('good');
    expect(judge(sample({ totalMs: 2000 }), slo)).toBe('good');
    expect(judge(sample({ totalMs: 2001 }), slo)).toBe('bad');
    expect(judge(sample({ ttftMs: 801 }), slo)).toBe('bad');
    expect(judge(sample({ ttftMs: 800, totalMs: 1500 }), slo)).toBe('good');
    for (const outcome of ['upstream_error', 'network_error', 'timeout', 'rate_limited'] as const) expect(judge(sample({ outcome }), slo)).toBe('bad');
    expect(judge(sample({ outcome: 'aborted' }), slo)).toBeNull();
    expect(judge(sample({ outcome: 'client_error' }), slo)).toBeNull();
    expect(judge(sample({ outcome: 'client_error' }), { ...slo, count_client_errors: true })).toBe('bad');
    expect(judge(sample({ totalMs: 1e9 }), { ...slo, latency_ms: null, ttft_ms: null })).toBe('good');
  });
});

describe('SloLedger', () => {
  it('counts good and bad calls exactly on generated data, across shards, hours and 40 days of expiry', () => {
    const random = rng(14);
    const shards = [new SloLedger(720), new SloLedger(720), new SloLedger(720)];
    const all: { ts: number; verdict: 'good' | 'bad' }[] = [];
    let now = T0;
    let maxSize = 0;
    // 40 days, a call every ~3 minutes on average, sometimes a few minutes late (isolate batches, skew).
    while (now < T0 + 40 * DAY) {
      now += Math.floor(random() * 6 * MIN);
      const s = sample({
        ts: now - Math.floor(random() * 5 * MIN),
        outcome: random() < 0.03 ? 'upstream_error' : random() < 0.01 ? 'aborted' : 'success',
        totalMs: Math.exp(6 + random() * 2.5),
        ttftMs: random() < 0.5 ? Math.exp(5 + random() * 2) : null,
      });
      const verdict = judge(s, slo);
      if (verdict === null) continue;
      all.push({ ts: s.ts, verdict });
      (shards[Math.floor(random() * shards.length)] as SloLedger).add(s.ts, verdict, now);
      maxSize = Math.max(maxSize, ...shards.map((l) => l.size.minutes + l.size.hours));
    }
    // Bounded: 120 minute counters and 720 hour counters per object at most.
    expect(maxSize).toBeLessThanOrEqual(120 + 720);
    const exact = (from: number, to: number) => {
      const inRange = all.filter((c) => c.ts >= from && c.ts < to);
      return { good: inRange.filter((c) => c.verdict === 'good').length, bad: inRange.filter((c) => c.verdict === 'bad').length };
    };
    const merged = sumWindowCounts(shards.map((l) => l.windows(now, 720)));
    const minuteEnd = Math.floor(now / MIN) * MIN + MIN;
    const hourEnd = Math.floor(now / HOUR) * HOUR + HOUR;
    const expected: SloWindowCounts = {
      '5m': exact(minuteEnd - 5 * MIN, minuteEnd),
      '30m': exact(minuteEnd - 30 * MIN, minuteEnd),
      '1h': exact(minuteEnd - 60 * MIN, minuteEnd),
      '2h': exact(minuteEnd - 120 * MIN, minuteEnd),
      '6h': exact(hourEnd - 6 * HOUR, hourEnd),
      '1d': exact(hourEnd - 24 * HOUR, hourEnd),
      '3d': exact(hourEnd - 72 * HOUR, hourEnd),
      period: exact(hourEnd - 720 * HOUR, hourEnd),
    };
    // Integer counters: sums over shards and hours are exact, well inside the 1 % the issue allows.
    for (const key of Object.keys(expected) as (keyof SloWindowCounts)[]) {
      const e = expected[key];
      const m = merged[key];
      expect(Math.abs(m.good - e.good)).toBeLessThanOrEqual(Math.ceil(0.01 * e.good));
      expect(m).toEqual(e);
    }
    expect(merged.period.good + merged.period.bad).toBeGreaterThan(5000);
  });

  it('survives a round trip through storage rows and drops what expires', () => {
    const l = new SloLedger(72);
    l.add(T0, 'good', T0);
    l.add(T0 + 30 * MIN, 'bad', T0 + 30 * MIN);
    const rows = l.dirtyRows();
    l.markClean();
    const { ledger, skipped } = SloLedger.fromRows([...rows, { key: 'zz', good: 1, bad: 0 }], 72, T0 + 31 * MIN);
    expect(skipped).toBe(1);
    expect(ledger.windows(T0 + 31 * MIN, 72)['1h']).toEqual({ good: 1, bad: 1 });
    // Three hours on, the minute counters are gone but the hour keeps both.
    ledger.expire(T0 + 3 * HOUR);
    expect(ledger.size.minutes).toBe(0);
    expect(ledger.windows(T0 + 3 * HOUR, 72)['6h']).toEqual({ good: 1, bad: 1 });
    expect(ledger.removedKeys().length).toBe(2);
    // Past 3 days, nothing is left and a call that old is counted as dropped.
    ledger.add(T0, 'bad', T0 + 4 * DAY);
    expect(ledger.size).toEqual({ minutes: 0, hours: 0 });
    expect(ledger.droppedLate).toBe(1);
  });
});

describe('error budget and burn rates', () => {
  const counts = (over: Partial<SloWindowCounts>): SloWindowCounts => ({
    '5m': { good: 0, bad: 0 },
    '30m': { good: 0, bad: 0 },
    '1h': { good: 0, bad: 0 },
    '2h': { good: 0, bad: 0 },
    '6h': { good: 0, bad: 0 },
    '1d': { good: 0, bad: 0 },
    '3d': { good: 0, bad: 0 },
    period: { good: 0, bad: 0 },
    ...over,
  });

  it('computes the budget left, the burn rates and when the budget runs out (worked example of docs/sla.md)', () => {
    // 99 % over 30 days; 100,000 calls so far, 400 bad: 1,000 bad allowed, 60 % left. The last hour: 2 % bad.
    const b = errorBudget(slo, counts({ period: { good: 99_600, bad: 400 }, '1h': { good: 980, bad: 20 }, '5m': { good: 90, bad: 10 } }), T0);
    expect(b.budget_remaining).toBeCloseTo(0.6, 9);
    expect(b.burn_rates['1h']).toBeCloseTo(2, 9);
    expect(b.burn_rates['5m']).toBeCloseTo(10, 9);
    expect(b.burn_rates['6h']).toBeNull();
    // 60 % of a 30-day budget at 2x: 0.6 * 720 h / 2 = 216 h.
    expect(b.exhausted_at).toBe(new Date(T0 + 216 * HOUR).toISOString());
    expect(b.burning).toEqual([]);
    expect(burnRate({ good: 0, bad: 0 }, 0.99)).toBeNull();
  });

  it('fires a pair only when both its windows exceed the factor', () => {
    const fast = counts({ '1h': { good: 850, bad: 150 }, '5m': { good: 80, bad: 20 }, period: { good: 1000, bad: 150 } });
    expect(errorBudget(slo, fast, T0).burning).toEqual(['fast']);
    // The short window recovered: the fast pair stops even though the hour still burns at 15x.
    expect(errorBudget(slo, { ...fast, '5m': { good: 100, bad: 0 } }, T0).burning).toEqual([]);
    const slow = counts({ '6h': { good: 930, bad: 70 }, '30m': { good: 93, bad: 7 }, period: { good: 930, bad: 70 } });
    expect(errorBudget(slo, slow, T0).burning).toEqual(['slow']);
    // Too few calls in the long window: no page on one failure.
    expect(errorBudget(slo, counts({ '1h': { good: 0, bad: 1 }, '5m': { good: 0, bad: 1 } }), T0, 10).burning).toEqual([]);
    // The ticket pairs: 3x over a day and two hours, 1x over three days and six hours.
    const ticket = counts({ '1d': { good: 960, bad: 40 }, '2h': { good: 95, bad: 5 }, '3d': { good: 980, bad: 20 }, '6h': { good: 98, bad: 2 }, period: { good: 980, bad: 20 } });
    expect(errorBudget(slo, ticket, T0).burning).toEqual(['ticket_fast', 'ticket_slow']);
    // Only the pairs the SLO asks for.
    const pageOnly = resolveSlo({ objective: 0.99, alerts: ['fast', 'slow'] }, false) as ResolvedSlo;
    expect(errorBudget(pageOnly, ticket, T0).burning).toEqual([]);
    expect(errorBudget(pageOnly, fast, T0).burning).toEqual(['fast']);
    // Already spent: runs out now.
    expect(errorBudget(slo, counts({ period: { good: 90, bad: 10 } }), T0).exhausted_at).toBe(new Date(T0).toISOString());
  });

  it('resolves nothing with no calls', () => {
    const b = errorBudget(resolveSlo({ objective: 0.9 }, false) as ResolvedSlo, counts({}), T0);
    expect(b).toMatchObject({ good: 0, bad: 0, budget_remaining: 1, exhausted_at: null, burning: [], period: '30d' });
  });
});
