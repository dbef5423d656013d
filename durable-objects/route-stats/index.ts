import { DurableObject } from 'cloudflare:workers';
import { RouteCounters } from './counters';
import { mergeWindows, serializeWindow, type Sample, type WindowData } from '../../src/core/sla/window';
import { MINUTE_MS, WindowStore, type AddResult } from '../../src/core/sla/store';
import type { RouteCounterData } from '../../src/core/metrics';
import { SloJudge } from './slo-judge';
import type { RuntimeSla } from '../../src/config/in-force';
import type { SloWindowCounts } from '../../src/core/sla/slo';
import { checkSample } from '../../src/core/sla/sample';
import type { HealthBucket } from '../../src/core/resilience/health';
import { RouteTargets } from './targets';
import type { ResilienceCounts } from '../../src/core/metrics';
import { addOverheads, extrasFromJSON, type RouteExtras } from '../../src/core/route-metrics';

/** A batch from one isolate: samples of one route, the model of each, and records that isolate lost before. */
export interface IngestBatch {
  route: string;
  samples: Sample[];
  models: (string | null)[];
  /** The gateway's own time on each call, ms (absent from isolates older than it, and for ingested timings). */
  overheadMs?: (number | null)[];
  droppedBefore: number;
}

/** What a batch did; `relist` once after a reset: the route is no longer on the registry's list. */
export interface IngestResult extends AddResult {
  relist?: true;
}

export interface RouteSnapshot {
  route: string | null;
  merged: WindowData;
  /** Good/bad counts over the burn windows and the SLO period (only when a period is given). */
  slo: SloWindowCounts | null;
}

export interface RouteMetrics {
  route: string | null;
  /** Outcomes, histograms (on `counters.bounds`), tokens and cost per model. */
  counters: RouteCounterData;
  droppedRecords: number;
  droppedSamples: number;
  /** Calls judged under the route's SLO (null: no SLO in force, no series) and the gateway's overhead histogram. */
  extras: Omit<RouteExtras, 'sloEvents'> & { sloEvents: RouteExtras['sloEvents'] | null };
  /** Attempts and fallbacks of the calls a policy handled (src/core/resilience/). */
  resilience: ResilienceCounts;
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
  /** The gateway's overhead histogram (`src/core/route-metrics.ts`); the SLO event counter lives in the judge. */
  private extras: RouteExtras;
  private route: string | null;
  /** The alarm time set by this instance, to avoid a storage read per ingest. */
  private alarmAt: number | null = null;
  /** Error budget counters: calls judged good or bad when filed (`slo-judge.ts`). */
  private slo: SloJudge;
  /**
   * Set by `reset()` (`POST /sla/reset`, which also takes the route off the registry's list): the next batch's
   * answer says so (`relist`), and the isolate that sent it lists the route again.
   */
  private unlisted: boolean;
  /** Each target's own windows, health and counts, from the attempts of calls a policy handled (`targets.ts`). */
  private targets: RouteTargets;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.createTables();
    const rows = this.sql.exec<{ key: string; data: string }>('SELECT key, data FROM windows').toArray();
    this.store = WindowStore.fromRows(rows.map((r) => [r.key, JSON.parse(r.data) as unknown] as const), Date.now());
    this.counters = RouteCounters.fromJSON(this.meta('counters'));
    this.extras = extrasFromJSON(this.meta('extras'));
    this.route = this.meta('route') as string | null;
    this.slo = SloJudge.load(this.sql, env, Date.now());
    this.unlisted = this.meta('unlisted') === true;
    const targetRows = this.sql.exec<{ target: string; key: string; data: string }>('SELECT target, key, data FROM target_windows').toArray();
    this.targets = RouteTargets.load(targetRows.map((r) => ({ target: r.target, key: r.key, data: JSON.parse(r.data) as unknown })), this.meta('resilience'), Date.now());
  }

  private createTables(): void {
    this.sql.exec('CREATE TABLE IF NOT EXISTS windows (key TEXT PRIMARY KEY, data TEXT NOT NULL)');
    this.sql.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    this.sql.exec('CREATE TABLE IF NOT EXISTS target_windows (target TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (target, key))');
  }

  async ingest(batch: IngestBatch): Promise<IngestResult> {
    await this.slo.refreshConfig(Date.now());
    const now = Date.now();
    if (this.route === null) {
      this.route = batch.route;
      this.setMeta('route', batch.route);
    }
    const result = this.store.add(batch.samples, now);
    this.counters.setBounds(this.slo.bounds(this.route));
    addOverheads(this.extras, batch.overheadMs);
    this.counters.addBatch(batch.samples, batch.models, batch.droppedBefore, result.droppedLate + result.rejected);
    this.addAttempts(batch.samples, now);
    this.slo.judge(batch.route, batch.samples, now);
    this.persist();
    await this.scheduleRollover(now);
    if (!this.unlisted) return result;
    this.unlisted = false;
    this.setMeta('unlisted', false);
    return { ...result, relist: true };
  }

  /** The route's windows over [from, to) merged into one, and the SLO counts when a period is given. */
  snapshot(from: number, to: number, sloPeriodHours: number | null = null): RouteSnapshot {
    const merged = mergeWindows(this.store.windowsFor(from, to), from, to - from);
    return {
      route: this.route,
      merged: serializeWindow(merged),
      slo: sloPeriodHours === null ? null : this.slo.windows(Date.now(), sloPeriodHours),
    };
  }

  /** Every target's health buckets from `from` on (what the isolates' circuit breakers read, off the response path). */
  targetHealth(from: number): Record<string, HealthBucket[]> {
    return this.targets.healthSince(from);
  }

  /** Every target's windows over [from, to) merged: `/sla/<route>`'s `targets`. */
  targetWindows(from: number, to: number): Record<string, WindowData> {
    return this.targets.windows(from, to);
  }

  /** The minute windows over [from, to), oldest first, unmerged: the per-minute series of `/sla/<route>` and the dashboard. */
  minutes(from: number, to: number): WindowData[] {
    return this.store.windowsFor(from, to).filter((w) => w.durationMs === MINUTE_MS).map(serializeWindow);
  }

  /** Good/bad counts over the burn windows and the last `periodHours` (for /metrics). */
  sloCounts(periodHours: number): SloWindowCounts {
    return this.slo.windows(Date.now(), periodHours);
  }

  metrics(): RouteMetrics {
    // Boundaries follow the SLO in force even on a route with no call since it changed.
    if (this.counters.setBounds(this.slo.bounds(this.route))) this.setMeta('counters', this.counters.toJSON());
    return {
      route: this.route,
      ...this.counters.snapshot(),
      extras: { overhead: this.extras.overhead, sloEvents: this.slo.eventsFor(this.route) },
      resilience: this.targets.counts(),
    };
  }

  /** The registry's runtime SLA config, pushed when it changes: the next samples are judged by it. */
  setSlaOverride(runtime: RuntimeSla): void {
    this.slo.setOverride(runtime, Date.now());
  }

  /** Forgets everything this object holds. */
  async reset(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.alarmAt = null;
    this.createTables();
    this.store = new WindowStore();
    this.targets = new RouteTargets();
    this.counters = new RouteCounters();
    this.extras = extrasFromJSON(null);
    this.slo = SloJudge.load(this.sql, this.env, Date.now());
    if (this.route !== null) this.setMeta('route', this.route);
    this.unlisted = true;
    this.setMeta('unlisted', true);
  }

  /** Rolls minute windows past retention into hourly rollups and drops expired rollups. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.alarmAt = null;
    this.store.rollover(now);
    this.targets.rollover(now);
    this.slo.expire(now);
    this.persist();
    await this.scheduleRollover(now);
  }

  private persist(): void {
    for (const key of this.store.removedKeys()) this.sql.exec('DELETE FROM windows WHERE key = ?', key);
    for (const row of this.store.dirtyWindows()) {
      this.sql.exec('INSERT OR REPLACE INTO windows (key, data) VALUES (?, ?)', row.key, JSON.stringify(row.data));
    }
    this.store.markClean();
    const targets = this.targets.takeChanges();
    for (const r of targets.remove) this.sql.exec('DELETE FROM target_windows WHERE target = ? AND key = ?', r.target, r.key);
    for (const r of targets.write) {
      this.sql.exec('INSERT OR REPLACE INTO target_windows (target, key, data) VALUES (?, ?, ?)', r.target, r.key, JSON.stringify(r.data));
    }
    if (targets.counts) this.setMeta('resilience', targets.counts);
    this.slo.persist();
    this.setMeta('counters', this.counters.toJSON());
    this.setMeta('extras', { overhead: this.extras.overhead });
  }

  /** The attempts of the samples a policy handled, to their targets (a sample without attempts costs one check). */
  private addAttempts(samples: readonly unknown[], now: number): void {
    let checked: Sample[] | null = null;
    for (const raw of samples) {
      const r = raw as { attempts?: unknown; servedBy?: unknown } | null;
      if (r?.attempts === undefined && r?.servedBy === undefined) continue;
      try {
        (checked ??= []).push(checkSample(raw));
      } catch {
        // counted as rejected by the window store
      }
    }
    if (checked) this.targets.add(checked, now);
  }

  private async scheduleRollover(now: number): Promise<void> {
    const times = [this.store.nextRolloverAt(now), this.targets.nextRolloverAt(now), this.slo.nextExpiryAt(now)].filter((t): t is number => t !== null);
    if (times.length === 0) return;
    const next = Math.min(...times);
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
