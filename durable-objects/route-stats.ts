import { DurableObject } from 'cloudflare:workers';
import { RouteCounters } from '../src/sla/counters';
import { mergeWindows, serializeWindow, type Sample, type WindowData } from '../src/sla/window';
import { MINUTE_MS, WindowStore, type AddResult } from '../src/sla/store';
import type { MetricsSeries } from '../src/report/types';

/** A batch from one isolate: samples of one route, the model of each, and records that isolate lost before. */
export interface IngestBatch {
  route: string;
  samples: Sample[];
  models: (string | null)[];
  droppedBefore: number;
}

export interface RouteSnapshot {
  route: string | null;
  merged: WindowData;
}

export interface RouteMetrics {
  route: string | null;
  series: MetricsSeries[];
  droppedRecords: number;
  droppedSamples: number;
}

/**
 * One route key (or one shard of it): minute windows and hourly rollups of its calls, and cumulative counters for
 * /metrics. A thin shell over `WindowStore` and `RouteCounters`; rows live in the object's SQLite storage, one per
 * window, written in the same event as the change so a crash cannot count a sample twice.
 */
export class RouteStats extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private store: WindowStore;
  private counters: RouteCounters;
  private route: string | null;
  /** The alarm time set by this instance, to avoid a storage read per ingest. */
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS windows (key TEXT PRIMARY KEY, data TEXT NOT NULL)');
    this.sql.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    const rows = this.sql.exec<{ key: string; data: string }>('SELECT key, data FROM windows').toArray();
    this.store = WindowStore.fromRows(rows.map((r) => [r.key, JSON.parse(r.data) as unknown] as const), Date.now());
    this.counters = RouteCounters.fromJSON(this.meta('counters'));
    this.route = this.meta('route') as string | null;
  }

  async ingest(batch: IngestBatch): Promise<AddResult> {
    const now = Date.now();
    if (this.route === null) {
      this.route = batch.route;
      this.setMeta('route', batch.route);
    }
    const result = this.store.add(batch.samples, now);
    this.counters.addBatch(batch.samples, batch.models, batch.droppedBefore, result.droppedLate + result.rejected);
    this.persist();
    await this.scheduleRollover(now);
    return result;
  }

  /** The route's windows over [from, to) merged into one. */
  snapshot(from: number, to: number): RouteSnapshot {
    const merged = mergeWindows(this.store.windowsFor(from, to), from, to - from);
    return { route: this.route, merged: serializeWindow(merged) };
  }

  /** The minute windows over [from, to), oldest first, unmerged: the per-minute series of `/sla/<route>` and the dashboard. */
  minutes(from: number, to: number): WindowData[] {
    return this.store.windowsFor(from, to).filter((w) => w.durationMs === MINUTE_MS).map(serializeWindow);
  }

  metrics(): RouteMetrics {
    return { route: this.route, ...this.counters.snapshot() };
  }

  /** Forgets everything this object holds. */
  async reset(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.alarmAt = null;
    this.sql.exec('CREATE TABLE IF NOT EXISTS windows (key TEXT PRIMARY KEY, data TEXT NOT NULL)');
    this.sql.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    this.store = new WindowStore();
    this.counters = new RouteCounters();
    if (this.route !== null) this.setMeta('route', this.route);
  }

  /** Rolls minute windows past retention into hourly rollups and drops expired rollups. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.alarmAt = null;
    this.store.rollover(now);
    this.persist();
    await this.scheduleRollover(now);
  }

  private persist(): void {
    for (const key of this.store.removedKeys()) this.sql.exec('DELETE FROM windows WHERE key = ?', key);
    for (const row of this.store.dirtyWindows()) {
      this.sql.exec('INSERT OR REPLACE INTO windows (key, data) VALUES (?, ?)', row.key, JSON.stringify(row.data));
    }
    this.store.markClean();
    this.setMeta('counters', this.counters.toJSON());
  }

  private async scheduleRollover(now: number): Promise<void> {
    const next = this.store.nextRolloverAt(now);
    if (next === null) return;
    this.alarmAt ??= await this.ctx.storage.getAlarm();
    if (this.alarmAt === null || this.alarmAt > next) {
      await this.ctx.storage.setAlarm(next);
      this.alarmAt = next;
    }
  }

  private meta(key: string): unknown {
    const row = this.sql.exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', key).toArray()[0];
    return row ? (JSON.parse(row.value) as unknown) : null;
  }

  private setMeta(key: string, value: unknown): void {
    this.sql.exec('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', key, JSON.stringify(value));
  }
}
