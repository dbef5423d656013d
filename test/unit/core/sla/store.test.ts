import { describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS, parseWindowKey, windowKey, WindowStore } from '../../../../src/core/sla/store';
import { mergeWindows, serializeWindow, type Sample, type WindowStats } from '../../../../src/core/sla/window';

/** 2026-11-20 12:00:00 UTC: an hour boundary, so arithmetic in the tests reads plainly. */
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

function sample(ts: number, totalMs = 100): Sample {
  return { ts, outcome: 'success', totalMs, ttftMs: null, inputTokens: 1, outputTokens: 1, costUsd: 0.001 };
}
const total = (windows: WindowStats[]) => windows.reduce((n, w) => n + w.count, 0);
const starts = (windows: WindowStats[]) => windows.map((w) => [w.durationMs === HOUR_MS ? 'h' : 'm', (w.start - T0) / MINUTE_MS]);

describe('WindowStore: filing samples', () => {
  it('files each sample in the minute window of its ts', () => {
    const store = new WindowStore();
    const r = store.add([sample(T0 + 5_000), sample(T0 + 59_999), sample(T0 + 60_000)], T0 + 61_000);
    expect(r).toMatchObject({ added: 3, late: 0, droppedLate: 0, rejected: 0 });
    const windows = store.windowsFor(T0, T0 + 2 * MINUTE_MS);
    expect(starts(windows)).toEqual([['m', 0], ['m', 1]]);
    expect(windows.map((w) => w.count)).toEqual([2, 1]);
  });

  it('files samples older than the minute retention in their hour rollup, and drops what is older still', () => {
    const store = new WindowStore({ minuteRetention: 10, hourRetention: 3 });
    const now = T0 + 30 * MINUTE_MS; // retained minutes: 12:21..12:30
    const r = store.add([sample(T0 + 25 * MINUTE_MS), sample(T0 + 5 * MINUTE_MS), sample(T0 - 90 * MINUTE_MS), sample(T0 - 3 * HOUR_MS)], now);
    expect(r).toMatchObject({ added: 3, late: 2, droppedLate: 1 });
    expect(store.counters.droppedLate).toBe(1);
    expect(starts(store.windowsFor(T0 - 3 * HOUR_MS, now + MINUTE_MS))).toEqual([['h', -120], ['h', 0], ['m', 25]]);
  });

  it('puts samples from the future in now\'s window, counting those more than 60 s ahead', () => {
    const store = new WindowStore();
    const now = T0 + 59_000;
    const r = store.add([sample(now + 30_000), sample(now + 10 * MINUTE_MS)], now);
    expect(r.clampedFuture).toBe(1);
    expect(starts(store.windowsFor(T0, T0 + HOUR_MS))).toEqual([['m', 0]]);
    expect(store.windowsFor(T0, T0 + HOUR_MS)[0]?.count).toBe(2);
  });

  it('skips malformed samples without losing the rest of the batch', () => {
    const store = new WindowStore();
    const r = store.add([sample(T0), { ...sample(T0), totalMs: -5 }, null, sample(T0)], T0);
    expect(r).toMatchObject({ added: 2, rejected: 2 });
    expect(r.problems[0]).toMatch(/totalMs/);
    expect(store.counters.rejected).toBe(2);
  });

  it('refuses bad retention settings', () => {
    expect(() => new WindowStore({ minuteRetention: 0 })).toThrow(/minuteRetention must be a positive integer/);
    expect(() => new WindowStore({ hourRetention: 1.5 })).toThrow(/hourRetention/);
    expect(() => new WindowStore({ alpha: 2 })).toThrow(/Relative accuracy/);
  });
});

describe('WindowStore: rollover and retention', () => {
  it('folds minute windows past retention into their hour and expires old rollups', () => {
    const store = new WindowStore({ minuteRetention: 5, hourRetention: 2 });
    for (let m = 0; m < 5; m++) store.add([sample(T0 + m * MINUTE_MS), sample(T0 + m * MINUTE_MS + 1)], T0 + m * MINUTE_MS);
    expect(store.size).toEqual({ minutes: 5, hours: 0 });
    expect(store.rollover(T0 + 7 * MINUTE_MS)).toMatchObject({ rolled: 3, expired: 0 });
    expect(store.size).toEqual({ minutes: 2, hours: 1 });
    const windows = store.windowsFor(T0, T0 + HOUR_MS);
    expect(starts(windows)).toEqual([['h', 0], ['m', 3], ['m', 4]]);
    expect(total(windows)).toBe(10);
    // Hour 12:00 is dropped once 13:00 and 14:00 are the two retained hours.
    expect(store.rollover(T0 + 2 * HOUR_MS).expired).toBe(3);
    expect(store.size).toEqual({ minutes: 0, hours: 0 });
  });

  it('never lets time run backwards: an earlier now files by the latest seen', () => {
    const store = new WindowStore({ minuteRetention: 5 });
    store.add([sample(T0 + 20 * MINUTE_MS)], T0 + 20 * MINUTE_MS);
    store.add([sample(T0)], T0); // 20 minutes back: past retention, so it goes to the hour rollup
    expect(starts(store.windowsFor(T0, T0 + HOUR_MS))).toEqual([['h', 0], ['m', 20]]);
  });

  it('stays bounded over a simulated day of traffic, and a 24 h query still counts every retained call', () => {
    const store = new WindowStore(); // 60 minutes, 48 hours
    const end = T0 + 30 * HOUR_MS;
    let sent = 0;
    let maxMinutes = 0;
    let maxHours = 0;
    for (let now = T0; now < end; now += 20_000) {
      // A batch every 20 s: three calls, one of them 40 s late, as isolates flush.
      store.add([sample(now), sample(now - 1_000), sample(now - 40_000)], now);
      sent += 3;
      maxMinutes = Math.max(maxMinutes, store.size.minutes);
      maxHours = Math.max(maxHours, store.size.hours);
    }
    expect(maxMinutes).toBe(60);
    expect(maxHours).toBeLessThanOrEqual(48);
    const now = end - 20_000;
    expect(total(store.windowsFor(T0 - HOUR_MS, now + 1))).toBe(sent); // nothing lost within 48 h
    const day = total(store.windowsFor(now - 24 * HOUR_MS, now + 1));
    // Whole-hour rollups at the old end: between 24 h and 25 h of calls (9 calls a minute).
    expect(day).toBeGreaterThanOrEqual(24 * 60 * 9);
    expect(day).toBeLessThanOrEqual(25 * 60 * 9);
    const lastFive = store.windowsFor(now - 5 * MINUTE_MS, now + 1);
    expect(lastFive.every((w) => w.durationMs === MINUTE_MS)).toBe(true);
    expect(mergeWindows(lastFive, now - 5 * MINUTE_MS, 5 * MINUTE_MS).count).toBe(total(lastFive));
  });

  it('schedules the next rollover at the oldest window\'s expiry', () => {
    const store = new WindowStore({ minuteRetention: 60, hourRetention: 2 });
    expect(store.nextRolloverAt(T0)).toBeNull();
    store.add([sample(T0 + 90_000)], T0 + 90_000);
    expect(store.nextRolloverAt(T0 + 90_000)).toBe(T0 + MINUTE_MS + 60 * MINUTE_MS);
    store.rollover(T0 + 61 * MINUTE_MS);
    expect(store.size).toEqual({ minutes: 0, hours: 1 });
    expect(store.nextRolloverAt(T0 + 61 * MINUTE_MS)).toBe(T0 + 2 * HOUR_MS);
    expect(store.nextRolloverAt(T0 + 5 * HOUR_MS)).toBe(T0 + 5 * HOUR_MS); // overdue: now
  });
});

/** Every window a store holds, as stored (minute windows and hourly rollups, oldest first). */
const windowsOf = (store: WindowStore) => store.windowsFor(0, Number.MAX_SAFE_INTEGER).map(serializeWindow);

describe('WindowStore: persistence', () => {
  function busyStore(): WindowStore {
    const store = new WindowStore({ minuteRetention: 10, hourRetention: 4 });
    for (let now = T0; now < T0 + 2 * HOUR_MS; now += 45_000) store.add([sample(now, now % 997), sample(now - 5_000, 3)], now);
    store.add([{ ...sample(T0), outcome: 'nope' }], T0 + 2 * HOUR_MS);
    return store;
  }

  it('writes changed windows row by row and restores from the rows', () => {
    const store = busyStore();
    const rows = new Map(store.dirtyWindows().map((r) => [r.key, JSON.parse(JSON.stringify(r.data)) as unknown]));
    expect(rows.size).toBe(store.size.minutes + store.size.hours);
    store.markClean();
    expect(store.dirtyWindows()).toEqual([]);

    // Ten more minutes: one window changes per add, old minutes roll into the current hour's rollup.
    const now = T0 + 2 * HOUR_MS + 10 * MINUTE_MS;
    store.add([sample(now)], now);
    const dirty = store.dirtyWindows().map((r) => r.key);
    expect(dirty).toContain(windowKey('m', now));
    expect(dirty).toContain(windowKey('h', T0 + HOUR_MS)); // 12:51..12:59 rolled into 13:00's rollup
    expect(store.removedKeys().length).toBeGreaterThan(0);
    for (const key of store.removedKeys()) rows.delete(key);
    for (const r of store.dirtyWindows()) rows.set(r.key, r.data);
    store.markClean();

    const restored = WindowStore.fromRows(rows, now, { minuteRetention: 10, hourRetention: 4 });
    expect(windowsOf(restored)).toEqual(windowsOf(store));
    expect(restored.size).toEqual(store.size);
    expect(restored.dirtyWindows()).toEqual([]);
  });

  it('rolls restored rows over to now, leaving the changes to write', () => {
    const store = busyStore();
    const rows = store.dirtyWindows().map((r) => [r.key, r.data] as const);
    const minuteRows = rows.filter(([key]) => key.startsWith('m:')).map(([key]) => key);
    expect(minuteRows.length).toBeGreaterThan(0);
    const restored = WindowStore.fromRows(rows, T0 + 3 * HOUR_MS, { minuteRetention: 10, hourRetention: 4 });
    expect(restored.size.minutes).toBe(0);
    // 11:00's rollup (samples 5 s before 12:00) is past the 4-hour retention at 15:00.
    expect(restored.removedKeys().sort()).toEqual([windowKey('h', T0 - HOUR_MS), ...minuteRows].sort());
    expect(restored.dirtyWindows().map((r) => r.key)).toEqual([windowKey('h', T0 + HOUR_MS)]);
  });

  it('refuses bad rows', () => {
    const store = busyStore();
    const row = store.dirtyWindows().find((r) => r.key.startsWith('m:'));
    if (!row) throw new Error('expected a minute row');
    expect(() => WindowStore.fromRows([['x:1', row.data]], T0)).toThrow(/Invalid window key/);
    expect(() => WindowStore.fromRows([[windowKey('m', 0), row.data]], T0)).toThrow(/row .* holds the window starting at/);
    expect(() => WindowStore.fromRows([[windowKey('h', row.data.start), row.data]], T0)).toThrow(/not aligned/);
    expect(() => WindowStore.fromRows([[row.key, row.data]], T0, { alpha: 0.01 })).toThrow(/relative accuracy 0.005, not 0.01/);
    expect(parseWindowKey(windowKey('h', T0))).toEqual({ kind: 'h', start: T0 });
  });
});
