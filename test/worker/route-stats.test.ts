import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { RouteStats } from '../../durable-objects/route-stats';
import { routeStub } from '../../src/core/objects';
import type { Sample } from '../../src/core/sla/window';

const MINUTE = 60_000;
const sample = (ts: number, totalMs: number, outcome: Sample['outcome'] = 'success'): Sample => ({
  ts,
  outcome,
  totalMs,
  ttftMs: null,
  inputTokens: 3,
  outputTokens: 2,
  costUsd: 0.001,
});

function rows(state: DurableObjectState): string[] {
  return state.storage.sql.exec<{ key: string }>('SELECT key FROM windows ORDER BY key').toArray().map((r) => r.key);
}

describe('RouteStats Durable Object', () => {
  it('files samples into minute windows stored one row each, and survives a restart from storage', async () => {
    const stub = routeStub(env.ROUTE_STATS, 'do.rows', 0);
    const now = Date.now();
    const result = await stub.ingest({
      route: 'do.rows',
      samples: [sample(now, 10), sample(now - MINUTE, 20), sample(now - 2 * MINUTE, 30, 'timeout')],
      models: ['m', 'm', null],
      droppedBefore: 4,
    });
    expect(result).toMatchObject({ added: 3, droppedLate: 0 });
    await runInDurableObject(stub, (_o: RouteStats, state) => {
      expect(rows(state).filter((k) => k.startsWith('m:'))).toHaveLength(3);
    });
    const snap = await stub.snapshot(now - 10 * MINUTE, now + MINUTE);
    expect(snap.merged.count).toBe(3);
    expect(await stub.minutes(now - 10 * MINUTE, now + MINUTE)).toHaveLength(3);
    const metrics = await stub.metrics();
    expect(metrics).toMatchObject({ route: 'do.rows', droppedRecords: 4 });
    expect(metrics.counters.outcomes).toMatchObject({ success: 2, timeout: 1, upstream_error: 0 });
    expect(metrics.counters.duration.count).toBe(3);
    expect(metrics.counters.models.map((m) => [m.model, m.calls])).toEqual([
      ['m', 2],
      ['unknown', 1],
    ]);
    // A fresh instance over the same storage sees the same windows.
    const restored = await runInDurableObject(stub, (_o: RouteStats, state) => {
      const Ctor = (_o as unknown as { constructor: new (s: DurableObjectState, e: Env) => RouteStats }).constructor;
      return new Ctor(state, env).snapshot(now - 10 * MINUTE, now + MINUTE).merged.count;
    });
    expect(restored).toBe(3);
  });

  it('rolls windows past retention into hourly rollups by alarm, keeping counts and bounding rows', async () => {
    const stub = routeStub(env.ROUTE_STATS, 'do.rollover', 0);
    const now = Date.now();
    // 60 minutes are retained: samples 61..179 minutes old go straight to hourly rollups, older than 48 h are dropped.
    const samples = [sample(now, 5)];
    for (let m = 61; m < 180; m += 7) samples.push(sample(now - m * MINUTE, m));
    samples.push(sample(now - 49 * 60 * MINUTE, 1));
    const result = await stub.ingest({ route: 'do.rollover', samples, models: samples.map(() => 'm'), droppedBefore: 0 });
    expect(result.droppedLate).toBe(1);
    expect(result.late).toBe(samples.length - 2);
    await runInDurableObject(stub, (_o: RouteStats, state) => {
      const keys = rows(state);
      expect(keys.filter((k) => k.startsWith('m:'))).toHaveLength(1);
      expect(keys.filter((k) => k.startsWith('h:')).length).toBeGreaterThanOrEqual(2);
      expect(keys.length).toBeLessThanOrEqual(60 + 48);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const day = await stub.snapshot(now - 24 * 60 * MINUTE, now + MINUTE);
    expect(day.merged.count).toBe(samples.length - 1);
    expect(await runInDurableObject(stub, async (_o: RouteStats, state) => state.storage.getAlarm())).not.toBeNull();
  });

  it('reset forgets every window and counter', async () => {
    const stub = routeStub(env.ROUTE_STATS, 'do.reset', 0);
    await stub.ingest({ route: 'do.reset', samples: [sample(Date.now(), 1)], models: ['m'], droppedBefore: 0 });
    await stub.reset();
    expect((await stub.snapshot(0, Date.now() + MINUTE)).merged.count).toBe(0);
    expect((await stub.metrics()).counters).toMatchObject({ models: [], duration: { count: 0 } });
  });
});
