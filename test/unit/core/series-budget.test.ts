import { describe, expect, it } from 'vitest';
import { addToHistogram, DURATION_BUCKETS_S, emptyCounters, TTFT_BUCKETS_S, type MetricsSnapshot, type RouteCounterData } from '../../../src/core/metrics';
import { groupBytes, groupKey, planExposition, type AdmittedGroup, type BudgetOptions } from '../../../src/core/series-budget';

function counters(calls: number, models: string[], ttft = false): RouteCounterData {
  const c = emptyCounters();
  c.outcomes.success = calls;
  for (let i = 0; i < calls; i++) addToHistogram(c.duration, DURATION_BUCKETS_S, 0.1);
  if (ttft) addToHistogram(c.ttft, TTFT_BUCKETS_S, 0.05);
  c.models = models.map((model, i) => ({ model, calls: models.length - i, inputTokens: 10, outputTokens: 5, costUsd: 0.01, pricedCount: 1 }));
  return c;
}

const snapshot = (routes: [string, RouteCounterData][]): MetricsSnapshot => ({ routes: routes.map(([route, c]) => ({ route, counters: c })), droppedRecords: 0, droppedSamples: 0 });

/** A ledger as the registry keeps one: admitted groups carried from refresh to refresh. */
function ledger(opts: BudgetOptions) {
  const groups = new Map<string, { series: number; bytes: number }>();
  return (s: MetricsSnapshot) => {
    const plan = planExposition(s, groups, opts);
    for (const g of plan.admit as AdmittedGroup[]) groups.set(groupKey(g.route, g.group), { series: g.series, bytes: g.bytes });
    return plan;
  };
}

describe('the series budget and the zero start', () => {
  it('exports a new route at 0 (every outcome) at its first refresh and its counts from the next', () => {
    const refresh = ledger({ budget: 2_000_000, routeSlots: 501, modelsPerRoute: 5 });
    const first = refresh(snapshot([['a', counters(3, ['m'], true)]]));
    expect(first.admit.map((g) => g.group).sort()).toEqual(['calls', 'duration', 'model:m', 'ttft']);
    const a = first.exposition.routes[0];
    expect(Object.values(a?.outcomes ?? {})).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(a?.duration?.count).toBe(0);
    expect(a?.ttft?.count).toBe(0);
    expect(a?.models).toEqual([{ model: 'm', calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, pricedCount: 1 }]);
    const second = refresh(snapshot([['a', counters(5, ['m'], true)]]));
    expect(second.admit).toEqual([]);
    expect(second.exposition.routes[0]?.outcomes?.success).toBe(5);
    expect(second.exposition.routes[0]?.duration?.count).toBe(5);
  });

  it('admits without the zero start when told to (routes a version without the ledger exported already)', () => {
    const plan = planExposition(snapshot([['a', counters(3, ['m'])]]), new Map(), { budget: 2_000_000, routeSlots: 10, modelsPerRoute: 5, zeroStart: false });
    expect(plan.admit.length).toBeGreaterThan(0);
    expect(plan.exposition.routes[0]?.outcomes?.success).toBe(3);
  });

  it("keeps a route's first models, then sums the rest under other, which never loses a model it counted", () => {
    const refresh = ledger({ budget: 2_000_000, routeSlots: 10, modelsPerRoute: 2 });
    refresh(snapshot([['a', counters(1, ['m1'])]]));
    const plan = refresh(snapshot([['a', counters(1, ['m1', 'm2', 'm3', 'm4'])]]));
    expect(plan.exposition.routes[0]?.models.map((m) => m.model)).toEqual(['m1', 'm2', 'other']);
    const later = refresh(snapshot([['a', counters(1, ['m1', 'm2', 'm3', 'm4', 'm5'])]]));
    const other = later.exposition.routes[0]?.models.find((m) => m.model === 'other');
    expect(later.exposition.routes[0]?.models.map((m) => m.model)).toEqual(['m1', 'm2', 'other']);
    expect(other?.inputTokens).toBe(30); // m3, m4 and now m5
  });

  it('stays within the budget (bytes of the lines), routes first, and keeps room for the calls of the routes still to come', () => {
    const calls = groupBytes('r0', 'calls');
    const opts = { budget: 8 * calls + 3 * groupBytes('r0', 'duration'), routeSlots: 8, modelsPerRoute: 5 };
    const refresh = ledger(opts);
    const routes: [string, RouteCounterData][] = Array.from({ length: 6 }, (_, i) => [`r${i}`, counters(10 - i, ['m'], true)]);
    const plan = refresh(snapshot(routes));
    const bytes = plan.admit.reduce((n, g) => n + g.bytes, 0);
    expect(bytes).toBeLessThanOrEqual(opts.budget);
    expect(plan.exposition.series.bytes).toBe(bytes);
    // Every route has its calls group; 2 slots stay free for routes to come, at the longest route key.
    expect(plan.exposition.routes.every((r) => r.outcomes !== null)).toBe(true);
    expect(bytes).toBeLessThanOrEqual(opts.budget - 2 * groupBytes('x'.repeat(128), 'calls'));
    expect(plan.exposition.series.refused).toBeGreaterThan(0);
    // The busiest routes got their histograms first.
    expect(plan.exposition.routes.find((r) => r.route === 'r0')?.duration).not.toBeNull();
    expect(plan.exposition.routes.find((r) => r.route === 'r5')?.duration).toBeNull();
  });

  it("counts a group's bytes as its lines take them in the exposition, at most", () => {
    const route = 'x'.repeat(128);
    const lines = (group: string) => groupBytes(route, group);
    // 7 lines of `llm_sla_requests_total{route="<128>",outcome="<o>"} <value>`.
    expect(lines('calls')).toBeGreaterThan(7 * (128 + 40));
    expect(lines('calls')).toBeLessThan(7 * 210);
    expect(lines('duration')).toBeGreaterThan(lines('calls'));
  });

  it("a route's hedges start at 0 like any counter; its derived deadlines are gauges, shown as they are, within the budget", () => {
    const refresh = ledger({ budget: 2_000_000, routeSlots: 10, modelsPerRoute: 5 });
    const withPolicy = (won: number, lost: number, ms: number): MetricsSnapshot => ({
      routes: [
        {
          route: 'a',
          counters: counters(3, []),
          resilience: { attempts: [{ target: 'primary', outcome: 'success', count: 3 }], fallbacks: [], hedges: [{ result: 'won', count: won }, { result: 'lost', count: lost }] },
          firstTokenTimeouts: [{ target: 'primary', ms }],
        },
      ],
      droppedRecords: 0,
      droppedSamples: 0,
    });
    const first = refresh(withPolicy(2, 1, 380));
    expect(first.admit.map((g) => g.group)).toEqual(expect.arrayContaining(['hedges', 'deadline:primary']));
    expect(first.exposition.routes[0]).toMatchObject({ hedges: { won: 0, lost: 0 }, firstTokenTimeouts: [{ target: 'primary', ms: 380 }] });
    const second = refresh(withPolicy(3, 4, 420));
    expect(second.exposition.routes[0]).toMatchObject({ hedges: { won: 3, lost: 4 }, firstTokenTimeouts: [{ target: 'primary', ms: 420 }] });
    expect(groupBytes('a', 'hedges')).toBeGreaterThan(2 * 'llm_sla_hedges_total{route="a",result="lost"} '.length);
    // No room: neither is exported, and the series refused say so.
    const tight = planExposition(withPolicy(1, 1, 380), new Map(), { budget: groupBytes('a', 'calls') + groupBytes('a', 'duration'), routeSlots: 1, modelsPerRoute: 5 });
    expect(tight.exposition.routes[0]).toMatchObject({ hedges: null, firstTokenTimeouts: [] });
    expect(tight.exposition.series.refused).toBeGreaterThanOrEqual(3);
  });

  it("exposes a policy route's attempts per target and its fallbacks from 0, its breakers as they are, all within the budget", () => {
    const refresh = ledger({ budget: 2_000_000, routeSlots: 10, modelsPerRoute: 5 });
    const resilience = (n: number) => ({
      attempts: [
        { target: 'openai', outcome: 'upstream_error', count: 3 * n },
        { target: 'openai', outcome: 'success', count: n },
        { target: 'backup:gpt-4o-mini', outcome: 'success', count: 3 * n },
      ],
      fallbacks: [{ from: 'openai', to: 'backup:gpt-4o-mini', reason: 'status_503', count: 3 * n }],
    });
    const with_ = (n: number): MetricsSnapshot => ({
      ...snapshot([['rag', counters(4 * n, ['m'])]]),
      routes: [{ route: 'rag', counters: counters(4 * n, ['m']), resilience: resilience(n) }],
      breakers: [{ route: 'rag', target: 'openai', state: 'open' }],
    });
    const first = refresh(with_(1));
    expect(first.admit.map((g) => g.group).filter((g) => !/^(calls|duration|model:)/.test(g)).sort()).toEqual([
      'attempts:backup:gpt-4o-mini',
      'attempts:openai',
      'breaker:openai',
      'fallback:openai\u001fbackup:gpt-4o-mini\u001fstatus_503',
    ]);
    const r1 = first.exposition.routes[0];
    expect(r1?.attempts.map((a) => [a.target, a.outcomes.success, a.outcomes.upstream_error])).toEqual([
      ['backup:gpt-4o-mini', 0, 0],
      ['openai', 0, 0],
    ]);
    expect(r1?.fallbacks).toEqual([{ from: 'openai', to: 'backup:gpt-4o-mini', reason: 'status_503', count: 0 }]);
    // A gauge: its state at once, never a zero start.
    expect(r1?.breakers).toEqual([{ target: 'openai', state: 'open' }]);
    const r2 = refresh(with_(2)).exposition.routes[0];
    expect(r2?.attempts.map((a) => [a.target, a.outcomes.success, a.outcomes.upstream_error])).toEqual([
      ['backup:gpt-4o-mini', 6, 0],
      ['openai', 2, 6],
    ]);
    expect(r2?.fallbacks[0]?.count).toBe(6);
    // Each group is counted in the budget by the bytes of its lines.
    expect(first.admit.find((g) => g.group === 'attempts:openai')?.bytes).toBe(groupBytes('rag', 'attempts:openai'));
    expect(groupBytes('rag', 'breaker:openai')).toBe(
      'llm_sla_breaker_state{route="rag",target="openai",state="closed"} '.length + 20 + 'llm_sla_breaker_state{route="rag",target="openai",state="open"} '.length + 20,
    );
  });

  it("refuses a policy route's groups that do not fit, counting their series", () => {
    const plan = planExposition(
      {
        ...snapshot([['rag', counters(1, [])]]),
        routes: [{ route: 'rag', counters: counters(1, []), resilience: { attempts: [{ target: 'openai', outcome: 'success', count: 1 }], fallbacks: [] } }],
      },
      new Map(),
      { budget: groupBytes('rag', 'calls') + groupBytes('rag', 'duration'), routeSlots: 1, modelsPerRoute: 5 },
    );
    expect(plan.admit.map((g) => g.group)).toEqual(['calls', 'duration']);
    expect(plan.exposition.routes[0]?.attempts).toEqual([]);
    expect(plan.exposition.series.refused).toBeGreaterThanOrEqual(7);
  });
});
