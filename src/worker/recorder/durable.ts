import { isolateCounts } from '../counts';
import { FULL_RECHECK_MS, OVERFLOW_ROUTE, REREGISTER_MS, type Admission } from '../../core/route-cap';
import type { ResolvedConfig } from '../../config/resolve';
import { APP_PROVIDER, type CallRecord } from '../../core/record';
import { sampleOf, type Sample } from '../../core/sla/window';
import { registry, routeStub } from '../../core/objects';
import { openBatch, type Batch } from '../settle';
import type { Recorder } from './recorder';

/** Whether a record's route is its provider's default key (`<provider>/<operation>`), not one a client named. */
function isDefaultRouteKey(r: CallRecord): boolean {
  return r.provider !== APP_PROVIDER && r.route === `${r.provider}/${r.operation}`;
}

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
/**
 * Samples of routes the registry could not register are held, not sent to objects it does not list (where /sla
 * would never see them), and tried again at later flushes: when no other flush comes first, one is run this long
 * after the failure (each entry one more attempt; the whole stays within a waitUntil's 30 s).
 */
export const HELD_RETRY_MS: readonly number[] = [1000, 4000, 10_000];
/** At most this many samples are held; past it the oldest routes' samples are dropped (counted). */
export const MAX_HELD_SAMPLES = 10_000;

interface Pending {
  samples: Sample[];
  models: (string | null)[];
  /** The gateway's own time on each call (`CallRecord.gatewayMs`). */
  overheads: (number | null)[];
  /** The route is its provider's default key (`<provider>/<operation>`): it always has room in the registry. */
  reserved: boolean;
}

interface Held extends Pending {
  /** Registrations tried for these samples. */
  attempts: number;
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
  /** Routes the registry admitted, and when: no registry RPC for them again within `REREGISTER_MS`. */
  private readonly registered = new Map<string, number>();
  /** Samples of routes whose registration failed, waiting for a later flush to register them (bounded). */
  private held = new Map<string, Held>();
  private heldSamples = 0;
  /** Until when unknown routes go to the overflow route without asking (the registry said the cap is reached). */
  private fullUntil = 0;
  readonly stats: FlushStats = { flushes: 0, sent: 0, retries: 0, droppedRecords: 0, droppedUnreported: 0 };
  private nextShard = 0;

  constructor(
    private readonly env: Env,
    private readonly config: Pick<ResolvedConfig, 'routeShards' | 'flushIntervalMs' | 'flushMaxRecords'> & Partial<Pick<ResolvedConfig, 'maxRoutes'>>,
    /** When held samples are tried again if no other flush comes first (tests shorten it). */
    private readonly heldRetryMs: readonly number[] = HELD_RETRY_MS,
  ) {}

  record(record: CallRecord): Promise<void> | void {
    let p = this.pending.get(record.route);
    if (!p) this.pending.set(record.route, (p = { samples: [], models: [], overheads: [], reserved: isDefaultRouteKey(record) }));
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
    const withHeld = this.takeHeld(batch);
    if (withHeld.size === 0) return;
    this.stats.flushes++;
    const routed = await this.admit(withHeld);
    const relist = (await Promise.all([...routed].map(([route, p]) => this.sendRoute(route, p)))).filter((r): r is string => r !== null);
    // A route reset (`/sla/reset`) while this isolate knew it: off the registry's list, so it is registered again.
    if (relist.length > 0) await this.relist(relist);
    await this.retryHeld();
  }

  /** The batch with the held samples of routes still to register merged in (their attempts carried). */
  private takeHeld(batch: Map<string, Pending>): Map<string, Pending> {
    if (this.held.size === 0) return batch;
    const out = new Map<string, Pending>(this.held);
    for (const [route, p] of batch) {
      const h = out.get(route);
      if (!h) out.set(route, p);
      else out.set(route, { ...h, samples: [...h.samples, ...p.samples], models: [...h.models, ...p.models], overheads: [...h.overheads, ...p.overheads], reserved: h.reserved || p.reserved });
    }
    this.held = new Map();
    this.heldSamples = 0;
    return out;
  }

  /**
   * Holds the samples of routes whose registration failed, for a later flush; once `HELD_RETRY_MS.length` more
   * flushes failed to register them too, or past `MAX_HELD_SAMPLES`, they are dropped and counted
   * (`llm_sla_dropped_records_total`).
   */
  private hold(route: string, p: Pending): void {
    const attempts = ((p as Partial<Held>).attempts ?? 0) + 1;
    if (attempts > this.heldRetryMs.length) return this.drop(route, p.samples.length, `its route could not be registered in ${attempts} flushes`);
    this.held.set(route, { ...p, attempts });
    this.heldSamples += p.samples.length;
    for (const [r, h] of this.held) {
      if (this.heldSamples <= MAX_HELD_SAMPLES) break;
      this.held.delete(r);
      this.heldSamples -= h.samples.length;
      this.drop(r, h.samples.length, `more than ${MAX_HELD_SAMPLES} records wait for registration`);
    }
  }

  private drop(route: string, n: number, why: string): void {
    this.stats.droppedRecords += n;
    this.stats.droppedUnreported += n;
    console.error(`llm-sla-gateway: dropped ${n} records of route ${route}: ${why}`);
  }

  /**
   * Samples still held after this flush are tried again: by the next batch if one is open (another request carries
   * it), else by one this flush opens and waits for, after `HELD_RETRY_MS` (bounded by the attempts).
   */
  private async retryHeld(): Promise<void> {
    if (this.held.size === 0 || this.batch) return;
    const attempts = Math.max(...[...this.held.values()].map((h) => h.attempts));
    const delay = this.heldRetryMs[Math.min(attempts, this.heldRetryMs.length) - 1] ?? 0;
    const batch: Batch<object> = openBatch({}, delay, (f) => this.batch?.fields === f, () => this.flush());
    this.batch = batch;
    await batch.owned;
  }

  /**
   * The batch with routes past the cap folded into the overflow route. Known routes cost nothing; fresh ones are
   * registered in one RPC whose answer says which were admitted, and whether the cap is reached (then unknown routes
   * go to the overflow route unasked for a minute; default route keys are still asked). When the registry cannot be
   * reached, the fresh routes' samples are held for a later flush (`hold`), never sent to objects it does not list.
   */
  private async admit(batch: Map<string, Pending>): Promise<Map<string, Pending>> {
    const now = Date.now();
    const fresh = [...batch.keys()].filter((r) => !(now - (this.registered.get(r) ?? -Infinity) < REREGISTER_MS));
    if (fresh.length === 0) return batch;
    const max = this.config.maxRoutes ?? Number.POSITIVE_INFINITY;
    let refused: string[] = [];
    // Told the cap is reached: unknown routes go to the overflow route unasked, but default route keys always have room.
    const ask = now < this.fullUntil ? fresh.filter((r) => r === OVERFLOW_ROUTE || batch.get(r)?.reserved === true || this.registered.has(r)) : fresh;
    refused = fresh.filter((r) => !ask.includes(r));
    if (ask.length > 0) {
      const entries = ask.map((route) => ({ route, shards: this.config.routeShards, ...(batch.get(route)?.reserved ? { reserved: true } : {}) }));
      const reply: { answer?: Admission | void } = {};
      const ok = await this.withRetries(async () => (reply.answer = await registry(this.env).register(entries, max)));
      if (!ok) {
        // Not sent to objects the registry does not list: held for a later flush to register (bounded, counted).
        const out = new Map(batch);
        for (const r of ask) {
          const p = out.get(r);
          out.delete(r);
          if (p) this.hold(r, p);
        }
        return refused.length === 0 ? out : this.overflow(out, refused);
      }
      const admitted = new Set(reply.answer ? reply.answer.admitted : ask);
      for (const r of admitted) this.registered.set(r, now);
      refused.push(...ask.filter((r) => !admitted.has(r)));
      if (reply.answer?.full) this.fullUntil = now + FULL_RECHECK_MS;
    }
    if (refused.length === 0) return batch;
    return this.overflow(batch, refused);
  }

  /** The batch with the `refused` routes' samples folded into the overflow route (counted). */
  private async overflow(batch: Map<string, Pending>, refused: readonly string[]): Promise<Map<string, Pending>> {
    const max = this.config.maxRoutes ?? Number.POSITIVE_INFINITY;
    const out = new Map(batch);
    let overflow = out.get(OVERFLOW_ROUTE);
    if (!overflow) out.set(OVERFLOW_ROUTE, (overflow = { samples: [], models: [], overheads: [], reserved: false }));
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
      if (ok) this.registered.set(OVERFLOW_ROUTE, Date.now());
      else {
        out.delete(OVERFLOW_ROUTE);
        this.hold(OVERFLOW_ROUTE, overflow);
      }
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
    const now = Date.now();
    for (const r of reply.answer ? reply.answer.admitted : routes) this.registered.set(r, now);
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
    // (Registration and ingest RPCs alike: three attempts, 50 and 250 ms apart.)
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
