import { describe, expect, it } from 'vitest';
import { Breaker } from '../../../../src/core/resilience/breaker';
import { HealthBuckets } from '../../../../src/core/resilience/health';

const spec = { failureRate: 0.5, minCalls: 4, windowMs: 60_000, cooldownMs: 30_000 };
const T0 = 1_700_000_000_000;

describe('circuit breaker, driven by now', () => {
  it('opens when the window holds min_calls at or above the failure rate, not before', () => {
    const b = new Breaker(spec);
    expect(b.record(false, T0)).toBeNull();
    expect(b.record(false, T0 + 1)).toBeNull();
    expect(b.record(true, T0 + 2)).toBeNull();
    const change = b.record(false, T0 + 3);
    expect(change).toMatchObject({ to: 'open', calls: 4, failureRate: 0.75, source: 'local' });
    expect(b.state).toBe('open');
    expect(b.allow(T0 + 10)).toBe(false);
  });

  it('forgets outcomes older than the window', () => {
    const b = new Breaker(spec);
    for (let i = 0; i < 3; i++) b.record(false, T0 + i);
    // 70 s later the three failures are out of the window: one more failure is one call of four needed.
    expect(b.record(false, T0 + 70_000)).toBeNull();
    expect(b.state).toBe('closed');
  });

  it('client errors and cancels say nothing', () => {
    const b = new Breaker(spec);
    for (let i = 0; i < 10; i++) expect(b.record(null, T0 + i)).toBeNull();
    expect(b.state).toBe('closed');
  });

  it('after the cooldown lets exactly one probe through; a successful probe closes it', () => {
    const b = new Breaker(spec);
    for (let i = 0; i < 4; i++) b.record(false, T0 + i);
    expect(b.allow(T0 + 29_999)).toBe(false);
    expect(b.allow(T0 + 30_003)).toBe(true);
    expect(b.state).toBe('half_open');
    expect(b.allow(T0 + 30_004)).toBe(false);
    expect(b.record(true, T0 + 30_100)).toMatchObject({ to: 'closed', source: 'probe' });
    expect(b.allow(T0 + 30_101)).toBe(true);
    // The failures that opened it do not count again.
    expect(b.record(false, T0 + 30_200)).toBeNull();
    expect(b.state).toBe('closed');
  });

  it('a failed probe opens it for another cooldown', () => {
    const b = new Breaker(spec);
    for (let i = 0; i < 4; i++) b.record(false, T0 + i);
    expect(b.allow(T0 + 31_000)).toBe(true);
    expect(b.record(false, T0 + 31_100)).toBeNull();
    expect(b.state).toBe('open');
    expect(b.allow(T0 + 60_000)).toBe(false);
    expect(b.allow(T0 + 61_100)).toBe(true);
  });

  it('a probe that never reports is replaced after another cooldown', () => {
    const b = new Breaker(spec);
    for (let i = 0; i < 4; i++) b.record(false, T0 + i);
    expect(b.allow(T0 + 30_003)).toBe(true);
    expect(b.allow(T0 + 45_000)).toBe(false);
    expect(b.allow(T0 + 60_003)).toBe(true);
  });

  it('a call sent while open (every target open) decides like a probe', () => {
    const b = new Breaker(spec);
    for (let i = 0; i < 4; i++) b.record(false, T0 + i);
    expect(b.record(true, T0 + 100, true)).toMatchObject({ to: 'closed' });
  });

  it("trips on every isolate's outcomes as the route objects report them, counting only those after its last change", () => {
    const b = new Breaker(spec);
    const shared = new HealthBuckets(120_000);
    for (let i = 0; i < 6; i++) shared.add(T0 + i * 1000, i % 3 !== 0);
    expect(b.observeShared(shared.list(), T0 + 6000)).toMatchObject({ to: 'open', source: 'shared', calls: 6 });
    expect(b.allow(T0 + 40_000)).toBe(true);
    b.record(true, T0 + 40_001);
    expect(b.state).toBe('closed');
    // The same buckets again: all from before it closed.
    expect(b.observeShared(shared.list(), T0 + 41_000)).toBeNull();
    expect(b.state).toBe('closed');
  });
});

describe('peek', () => {
  it('says what allow would, without taking the probe', () => {
    const b = new Breaker({ failureRate: 0.5, minCalls: 2, windowMs: 60_000, cooldownMs: 30_000 });
    expect(b.peek(0)).toBe('closed');
    b.record(false, 1);
    b.record(false, 2);
    expect(b.peek(3)).toBe('open');
    expect(b.peek(30_002)).toBe('probe');
    expect(b.peek(30_002)).toBe('probe');
    expect(b.state).toBe('open');
    expect(b.allow(30_002)).toBe(true);
    expect(b.peek(30_003)).toBe('open');
    expect(b.peek(60_003)).toBe('probe');
  });
});
