import { isolateCounts } from '../counts';
import { FULL_RECHECK_MS, OVERFLOW_ROUTE, type Admission } from '../../core/route-cap';
import type { ResolvedConfig } from '../../config/resolve';
import type { CallRecord } from '../../core/record';
import { sampleOf, type Sample } from '../../core/sla/window';
import { registry, routeStub } from '../../core/objects';
import { openBatch, type Batch } from '../settle';
import type { Recorder } from './recorder';

/** What one recorder's flushes did: `droppedUnreported` for /metrics, the rest for tests and the benchmark. */
export interface FlushStats {
  flushes: number;
  sent: number;
  retries: number;
  droppedRecords: number;
  /** Records dropped and not yet reported to a route object (each batch carries the count of those before it). */
  droppedUnreported: number;
}

const RETRY_DELAYS_MS = [50, 250];

interface Pending {
  samples: Sample[];
  models: (string | null)[];
  /** The gateway's own time on each call (`CallRecord.gatewayMs`). */
  overheads: (number | null)[];
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
  /** Routes the registry admitted (at most `maxRoutes` + the overflow route): no registry RPC for them again. */
  private readonly registered = new Set<string>();
  /** Until when unknown routes go to the overflow route without asking (the registry said the cap is reached). */
  private fullUntil = 0;
  readonly stats: FlushStats = { flushes: 0, sent: 0, retries: 0, droppedRecords: 0, droppedUnreported: 0 };
  private nextShard = 0;

  constructor(
    private readonly env: Env,
    private readonly config: Pick<ResolvedConfig, 'routeShards' | 'flushIntervalMs' | 'flushMaxRecords'> & Partial<Pick<ResolvedConfig, 'maxRoutes'>>,
  ) {}

  record(record: CallRecord): Promise<void> | void {
    let p = this.pending.get(record.route);
    if (!p) this.pending.set(record.route, (p = { samples: [], models: [], overheads: [] }));
    p.samples.push(sampleOf(record));
    p.models.push(record.responseModel ?? record.requestModel);
    p.overheads.push(record.gatewayMs ?? null);
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
    this.stats.flushes++;
    const routed = await this.admit(batch);
    const relist = (await Promise.all([...routed].map(([route, p]) => this.sendRoute(route, p)))).filter((r): r is string => r !== null);
    // A route reset (`/sla/reset`) while this isolate knew it: off the registry's list, so it is registered again.
    if (relist.length > 0) await this.relist(relist);
  }

  /**
   * The batch with routes past the cap folded into the overflow route. Known routes cost nothing; fresh ones are
   * registered in one RPC whose answer says which were admitted, and whether the cap is reached (then unknown routes
   * go to the overflow route unasked for a minute). A registry that cannot be reached admits the routes this time.
   */
  private async admit(batch: Map<string, Pending>): Promise<Map<string, Pending>> {
    const fresh = [...batch.keys()].filter((r) => !this.registered.has(r));
    if (fresh.length === 0) return batch;
    const max = this.config.maxRoutes ?? Number.POSITIVE_INFINITY;
    let refused: string[] = [];
    if (Date.now() < this.fullUntil) refused = fresh.filter((r) => r !== OVERFLOW_ROUTE);
    else {
      const entries = fresh.map((route) => ({ route, shards: this.config.routeShards }));
      const reply: { answer?: Admission | void } = {};
      const ok = await this.withRetries(async () => (reply.answer = await registry(this.env).register(entries, max)));
      if (!ok) return batch;
      const admitted = new Set(reply.answer ? reply.answer.admitted : fresh);
      for (const r of admitted) this.registered.add(r);
      refused = fresh.filter((r) => !admitted.has(r));
      if (reply.answer?.full) this.fullUntil = Date.now() + FULL_RECHECK_MS;
    }
    if (refused.length === 0) return batch;
    const out = new Map(batch);
    let overflow = out.get(OVERFLOW_ROUTE);
    if (!overflow) out.set(OVERFLOW_ROUTE, (overflow = { samples: [], models: [], overheads: [] }));
    for (const r of refused) {
      const p = out.get(r);
      if (!p) continue;
      out.delete(r);
      overflow.samples.push(...p.samples);
      overflow.models.push(...p.models);
      overflow.overheads.push(...p.overheads);
      isolateCounts.add('routes_overflow_calls', p.samples.length);
    }
    if (!this.registered.has(OVERFLOW_ROUTE)) {
      const ok = await this.withRetries(() => registry(this.env).register([{ route: OVERFLOW_ROUTE, shards: this.config.routeShards }], max));
      if (ok) this.registered.add(OVERFLOW_ROUTE);
    }
    return out;
  }

  /** Registers routes again (their objects said they were reset); one not admitted now is tried at the next flush. */
  private async relist(routes: string[]): Promise<void> {
    for (const r of routes) this.registered.delete(r);
    const entries = routes.map((route) => ({ route, shards: this.config.routeShards }));
    const reply: { answer?: Admission | void } = {};
    const ok = await this.withRetries(async () => (reply.answer = await registry(this.env).register(entries, this.config.maxRoutes ?? Number.POSITIVE_INFINITY)));
    if (!ok) return;
    for (const r of reply.answer ? reply.answer.admitted : routes) this.registered.add(r);
  }

  /** Sends one route's samples; the route when its object asks to be listed again (after a reset), else null. */
  private async sendRoute(route: string, p: Pending): Promise<string | null> {
    const shard = this.nextShard++ % this.config.routeShards;
    const droppedBefore = this.stats.droppedUnreported;
    this.stats.droppedUnreported = 0;
    const stub = routeStub(this.env.ROUTE_STATS, route, shard);
    let relist = false;
    const ok = await this.withRetries(async () => {
      relist = (await stub.ingest({ route, samples: p.samples, models: p.models, overheadMs: p.overheads, droppedBefore })).relist === true;
    });
    if (ok) {
      this.stats.sent += p.samples.length;
      return relist ? route : null;
    }
    this.stats.droppedUnreported += droppedBefore + p.samples.length;
    this.stats.droppedRecords += p.samples.length;
    console.error(`llm-sla-gateway: dropped ${p.samples.length} records of route ${route} after ${RETRY_DELAYS_MS.length + 1} attempts`);
    return null;
  }

  private async withRetries(fn: () => Promise<unknown>): Promise<boolean> {
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
        this.stats.retries++;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}
