import { describe, expect, it } from 'vitest';
import type { CallRecord } from '../../../../src/core/record';
import {
  addSample,
  checkSample,
  deserializeWindow,
  emptyWindow,
  mergeInto,
  mergeWindows,
  sampleOf,
  serializeWindow,
  type Outcome,
  type Sample,
} from '../../../../src/core/sla/window';

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

function sample(over: Partial<Sample> = {}): Sample {
  return { ts: T0, outcome: 'success', totalMs: 100, ttftMs: null, inputTokens: 10, outputTokens: 20, costUsd: 0.001, ...over };
}

describe('sampleOf', () => {
  it('keeps what aggregation needs from a call record', () => {
    const record = {
      ts: T0,
      route: 'openai/chat',
      outcome: 'success',
      totalMs: 812.5,
      ttftMs: 95.25,
      usage: { input: 1200, output: 300, cacheRead: 0, cacheCreation: 0, reasoning: 0 },
      costUsd: 0.0042,
    } as unknown as CallRecord;
    expect(sampleOf(record)).toEqual({
      ts: T0,
      outcome: 'success',
      totalMs: 812.5,
      ttftMs: 95.25,
      inputTokens: 1200,
      outputTokens: 300,
      costUsd: 0.0042,
    });
    const noUsage = { ...record, usage: null, costUsd: null, ttftMs: null } as unknown as CallRecord;
    expect(sampleOf(noUsage)).toMatchObject({ inputTokens: 0, outputTokens: 0, costUsd: null, ttftMs: null });
  });
});

describe('checkSample', () => {
  it.each<[string, unknown, RegExp]>([
    ['a negative latency', sample({ totalMs: -1 }), /totalMs/],
    ['a NaN ttft', sample({ ttftMs: NaN }), /ttftMs/],
    ['an unknown outcome', { ...sample(), outcome: 'weird' }, /outcome/],
    ['fractional tokens', sample({ inputTokens: 1.5 }), /inputTokens/],
    ['an extra key', { ...sample(), route: 'x' }, /route: unknown key/],
    ['a non-object', 'nope', /Invalid sample/],
  ])('refuses %s', (_, data, message) => {
    expect(() => checkSample(data)).toThrow(message);
  });

  it('passes a good sample through', () => {
    expect(checkSample(sample({ ttftMs: 5 }))).toEqual(sample({ ttftMs: 5 }));
  });
});

describe('window statistics', () => {
  it('counts outcomes, tokens and cost, and sketches latency and ttft', () => {
    const w = emptyWindow(T0, 60_000);
    addSample(w, sample({ totalMs: 100, ttftMs: 40 }));
    addSample(w, sample({ totalMs: 300, outcome: 'upstream_error', costUsd: null, inputTokens: 5, outputTokens: 0 }));
    addSample(w, sample({ totalMs: 200, ttftMs: 60 }));
    expect(w.count).toBe(3);
    expect(w.outcomes).toMatchObject({ success: 2, upstream_error: 1, aborted: 0 });
    expect([w.latency.count, w.latency.min, w.latency.max]).toEqual([3, 100, 300]);
    expect([w.ttft.count, w.ttft.min, w.ttft.max]).toEqual([2, 40, 60]);
    expect([w.inputTokens, w.outputTokens, w.costUsd, w.costUnknown]).toEqual([25, 40, 0.002, 1]);
  });

  it('counts an aborted call as an outcome but keeps its duration out of the latency sketch', () => {
    const w = emptyWindow(T0, 60_000);
    addSample(w, sample({ totalMs: 100 }));
    addSample(w, sample({ outcome: 'aborted', totalMs: 30_000, ttftMs: 250 }));
    expect(w.count).toBe(2);
    expect(w.outcomes.aborted).toBe(1);
    expect(w.latency.count).toBe(1);
    expect(w.latency.max).toBe(100);
    // Its first token arrived before the client left: that is a real time-to-first-token.
    expect(w.ttft.count).toBe(1);
  });

  it('merges windows: counts add, sketches merge', () => {
    const a = emptyWindow(T0, 60_000);
    const b = emptyWindow(T0 + 60_000, 60_000);
    addSample(a, sample({ totalMs: 10 }));
    addSample(b, sample({ totalMs: 1000, outcome: 'timeout', costUsd: null }));
    const merged = mergeWindows([a, b], T0, 120_000);
    expect([merged.start, merged.durationMs, merged.count, merged.costUnknown]).toEqual([T0, 120_000, 2, 1]);
    expect(merged.outcomes).toMatchObject({ success: 1, timeout: 1 });
    expect([merged.latency.min, merged.latency.max]).toEqual([10, 1000]);
    expect(a.count).toBe(1); // inputs untouched
    mergeInto(a, b);
    expect(a.count).toBe(2);
    expect(mergeWindows([], T0, 60_000).count).toBe(0);
  });

  it('round-trips through JSON text', () => {
    const w = emptyWindow(T0, 60_000);
    const outcomes: Outcome[] = ['success', 'client_error', 'rate_limited', 'upstream_error', 'network_error', 'timeout', 'aborted'];
    outcomes.forEach((outcome, i) => addSample(w, sample({ outcome, totalMs: 50 * (i + 1), ttftMs: i % 2 ? 20 * i : null })));
    const back = deserializeWindow(JSON.parse(JSON.stringify(serializeWindow(w))));
    expect(serializeWindow(back)).toEqual(serializeWindow(w));
    expect(back.latency.quantile(0.5)).toBe(w.latency.quantile(0.5));
    expect(back.ttft.count).toBe(3);
  });

  it('refuses window data that does not add up', () => {
    const w = emptyWindow(T0, 60_000);
    addSample(w, sample());
    const data = serializeWindow(w);
    expect(() => deserializeWindow({ ...data, count: 2 })).toThrow(/outcomes add up to 1, not 2/);
    expect(() => deserializeWindow({ ...data, outcomes: { ...data.outcomes, success: 0, aborted: 1 } })).toThrow(
      /latency count does not match/,
    );
    expect(() => deserializeWindow({ ...data, latency: { ...data.latency, n: 7 } })).toThrow(/Invalid sketch data/);
    expect(() => deserializeWindow({ ...data, durationMs: 0 })).toThrow(/durationMs/);
  });
});
