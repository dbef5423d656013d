import { describe, expect, it } from 'vitest';
import { limitNewRoutes, OVERFLOW_ROUTE, REREGISTER_MS, routeIdleLimitMs } from '../../../src/core/route-cap';

const HOUR = 3_600_000;

describe('limitNewRoutes', () => {
  it('keeps known routes and the first maxNew new ones, in the request order; the rest go to the overflow route', () => {
    const records = ['a', 'n1', 'n2', 'n1', 'n3', 'a', 'n3', 'n4'].map((route, i) => ({ route, i }));
    const out = limitNewRoutes(records, (r) => r === 'a', 2);
    expect(out.records.map((r) => r.route)).toEqual(['a', 'n1', 'n2', 'n1', OVERFLOW_ROUTE, 'a', OVERFLOW_ROUTE, OVERFLOW_ROUTE]);
    expect(out.records.map((r) => r.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(out).toMatchObject({ limited: 3, added: ['n1', 'n2'] });
  });
});

describe('routeIdleLimitMs', () => {
  it("is the route objects' retention plus the re-registration interval: 48 h of windows, or the SLO period (at least 72 h)", () => {
    expect(routeIdleLimitMs(null)).toBe(48 * HOUR + REREGISTER_MS);
    expect(routeIdleLimitMs(24)).toBe(72 * HOUR + REREGISTER_MS);
    expect(routeIdleLimitMs(30 * 24)).toBe(720 * HOUR + REREGISTER_MS);
  });
});
