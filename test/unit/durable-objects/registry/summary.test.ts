import { describe, expect, it } from 'vitest';
import type { SlaReport } from '../../../../src/core/report-types';
import { SummaryCache } from '../../../../durable-objects/registry/summary-cache';

const snapshot = (n: number) => ({ routes: [], droppedRecords: n, droppedSamples: 0, series: { exported: 0, bytes: 0, budget: 2_000_000, refused: 0 } });
const report = (w: string) => ({ window: w }) as SlaReport;

describe('SummaryCache: the fan-out runs once per max age', () => {
  it('readers within the max age, and readers arriving while it runs, share one computation', async () => {
    const cache = new SummaryCache();
    let runs = 0;
    let release: () => void = () => {};
    const compute = () => {
      runs++;
      return new Promise<ReturnType<typeof snapshot>>((resolve) => (release = () => resolve(snapshot(runs))));
    };
    const a = cache.metricsFor(1_000, 60_000, compute);
    const b = cache.metricsFor(1_001, 60_000, compute);
    release();
    expect((await a).value).toEqual((await b).value);
    expect((await cache.metricsFor(60_999, 60_000, compute)).at).toBe(1_000);
    expect(runs).toBe(1);
    // Past the max age: a new fan-out.
    const c = cache.metricsFor(61_000, 60_000, compute);
    release();
    expect((await c).at).toBe(61_000);
    expect(runs).toBe(2);
    expect(cache.refreshes).toBe(2);
  });

  it('max age 0 computes on every read; a failed computation is not kept', async () => {
    const cache = new SummaryCache();
    let runs = 0;
    await cache.metricsFor(1, 0, async () => snapshot(++runs));
    await cache.metricsFor(1, 0, async () => snapshot(++runs));
    expect(runs).toBe(2);

    await expect(cache.metricsFor(100_000, 60_000, () => Promise.reject(new Error('route object gone')))).rejects.toThrow('gone');
    await Promise.resolve();
    expect((await cache.metricsFor(100_001, 60_000, async () => snapshot(42))).value.droppedRecords).toBe(42);
  });

  it('keeps one /sla report per key, at most 16, and forgets them all on clear()', async () => {
    const cache = new SummaryCache();
    let runs = 0;
    const compute = (w: string) => async () => (runs++, report(w));
    for (let i = 0; i < 20; i++) await cache.reportFor(`w${i}`, 0, 60_000, compute(`w${i}`));
    expect(runs).toBe(20);
    await cache.reportFor('w19', 1, 60_000, compute('w19'));
    expect(runs).toBe(20);
    await cache.reportFor('w0', 1, 60_000, compute('w0')); // evicted: the oldest went first
    expect(runs).toBe(21);
    cache.clear();
    await cache.reportFor('w19', 2, 60_000, compute('w19'));
    expect(runs).toBe(22);
  });
});
