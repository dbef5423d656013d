import type { ResolvedConfig } from '../config/resolve';
import type { CallRecord } from '../record';
import { sampleOf, type Sample } from '../sla/window';
import { registry, routeStub } from '../objects';
import { openBatch, type Batch } from '../settle';
import type { Recorder } from './recorder';
import { changedTotals, forgetReported, isolateId } from '../isolate-counts';

/** Counters of this isolate's flushes, for /metrics and tests. */
export const flushStats = { flushes: 0, sent: 0, retries: 0, droppedRecords: 0, droppedUnreported: 0 };

const RETRY_DELAYS_MS = [50, 250];

interface Pending {
  samples: Sample[];
  models: (string | null)[];
}

/**
 * Batches records per isolate and sends them to the routes' Durable Objects with one RPC per route and flush:
 * a flush runs `flushIntervalMs` after the first record of a batch, or at once when `flushMaxRecords` wait.
 * `record()` (run inside the call's waitUntil) resolves at once, except for the call that opened the batch and the
 * one that filled it: those run the flush and wait for it (`openBatch`). It never rejects: a flush that still fails
 * after retries counts its records as dropped, reported with the next batch.
 */
export class DurableObjectRecorder implements Recorder {
  private pending = new Map<string, Pending>();
  private size = 0;
  /** The batch being filled (see `openBatch`: only the requests that flush it wait for it). */
  private batch: Batch<object> | null = null;
  private readonly registered = new Set<string>();
  private droppedUnreported = 0;
  private nextShard = 0;

  constructor(
    private readonly env: Env,
    private readonly config: Pick<ResolvedConfig, 'routeShards' | 'flushIntervalMs' | 'flushMaxRecords'>,
  ) {}

  record(record: CallRecord): Promise<void> | void {
    let p = this.pending.get(record.route);
    if (!p) this.pending.set(record.route, (p = { samples: [], models: [] }));
    p.samples.push(sampleOf(record));
    p.models.push(record.responseModel ?? record.requestModel);
    let wait: Promise<void> | undefined;
    if (!this.batch) {
      const batch: Batch<object> = openBatch({}, this.config.flushIntervalMs, (f) => this.batch?.fields === f, () => this.flush());
      this.batch = batch;
      wait = batch.owned;
    }
    if (++this.size >= this.config.flushMaxRecords) return this.flush();
    return wait;
  }

  /** Sends everything waiting now; never rejects. */
  async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    this.size = 0;
    this.batch?.taken();
    this.batch = null;
    await this.send(batch);
  }

  private async send(batch: Map<string, Pending>): Promise<void> {
    if (batch.size === 0) return;
    flushStats.flushes++;
    const fresh = [...batch.keys()].filter((r) => !this.registered.has(r));
    if (fresh.length > 0) {
      const ok = await withRetries(() => registry(this.env).register(fresh.map((route) => ({ route, shards: this.config.routeShards }))));
      if (ok) for (const r of fresh) this.registered.add(r);
    }
    await Promise.all([...batch].map(([route, p]) => this.sendRoute(route, p)));
    // This isolate's drop and warning totals, only when they changed (one more RPC, rarely).
    const totals = changedTotals();
    if (totals) await registry(this.env).reportTotals(isolateId(), totals).catch(forgetReported);
  }

  private async sendRoute(route: string, p: Pending): Promise<void> {
    const shard = this.nextShard++ % this.config.routeShards;
    const droppedBefore = this.droppedUnreported;
    this.droppedUnreported = 0;
    flushStats.droppedUnreported = 0;
    const stub = routeStub(this.env.ROUTE_STATS, route, shard);
    const ok = await withRetries(() => stub.ingest({ route, samples: p.samples, models: p.models, droppedBefore }));
    if (ok) {
      flushStats.sent += p.samples.length;
      return;
    }
    this.droppedUnreported += droppedBefore + p.samples.length;
    flushStats.droppedUnreported = this.droppedUnreported;
    flushStats.droppedRecords += p.samples.length;
    console.error(`llm-sla-gateway: dropped ${p.samples.length} records of route ${route} after ${RETRY_DELAYS_MS.length + 1} attempts`);
  }
}


async function withRetries(fn: () => Promise<unknown>): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fn();
      return true;
    } catch (err) {
      const delay = RETRY_DELAYS_MS[attempt];
      if (delay === undefined) {
        console.error('llm-sla-gateway: flush failed', err instanceof Error ? err.message : String(err));
        return false;
      }
      flushStats.retries++;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
