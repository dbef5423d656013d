import type { ResilienceCounts } from '../../src/core/metrics';
import { HEDGE_LOST } from '../../src/core/resilience/deadline';
import { HealthBuckets, healthOf, type HealthBucket } from '../../src/core/resilience/health';
import type { AttemptSample, Sample } from '../../src/core/sla/sample';
import { mergeWindows, serializeWindow, type WindowData } from '../../src/core/sla/window';
import { WindowStore } from '../../src/core/sla/store';

/** Most targets one route object keeps apart; attempts at further targets are kept under `other`. */
export const MAX_TARGETS = 16;
/** Health buckets are kept this long: the longest breaker window. */
const HEALTH_KEEP_MS = 3_600_000 + 10_000;



/**
 * The targets' side of a route object: each target's own minute windows (its count, success rate, latency and TTFT
 * sketches, as the target saw each attempt), its recent health in 10-second buckets (what the isolates' circuit
 * breakers read, kept in memory only: a restarted object starts them over), and the cumulative attempt and fallback
 * counts of /metrics. Fed by the attempts of the samples a policy handled; the route's own windows keep the call as
 * the client saw it.
 */
export class RouteTargets {
  private readonly stores = new Map<string, WindowStore>();
  private readonly health = new Map<string, HealthBuckets>();
  private readonly attempts = new Map<string, number>();
  private readonly fallbacks = new Map<string, number>();
  private readonly hedges = new Map<string, number>();
  private countsDirty = false;

  /** Rebuilds from storage rows (`target`, window key, data) and the saved counts. */
  static load(rows: Iterable<{ target: string; key: string; data: unknown }>, counts: unknown, now: number): RouteTargets {
    const t = new RouteTargets();
    const byTarget = new Map<string, [string, unknown][]>();
    for (const r of rows) byTarget.set(r.target, [...(byTarget.get(r.target) ?? []), [r.key, r.data]]);
    for (const [target, list] of byTarget) t.stores.set(target, WindowStore.fromRows(list, now));
    const c = counts as Partial<ResilienceCounts> | null;
    for (const a of c?.attempts ?? []) t.attempts.set(`${a.target}\u0000${a.outcome}`, a.count);
    for (const f of c?.fallbacks ?? []) t.fallbacks.set(`${f.from}\u0000${f.to}\u0000${f.reason}`, f.count);
    for (const h of c?.hedges ?? []) t.hedges.set(h.result, h.count);
    return t;
  }

  /** Files the attempts of a batch of (checked) samples. */
  add(samples: readonly Sample[], now: number): void {
    const byTarget = new Map<string, Sample[]>();
    for (const s of samples) {
      if (s.hedge !== undefined) this.bump(this.hedges, s.hedge);
      if (s.servedBy !== undefined) {
        // Answered by its first attempt: the call's own sample is its target's.
        const target = this.name(s.servedBy);
        let list = byTarget.get(target);
        if (!list) byTarget.set(target, (list = []));
        list.push({ ts: s.ts, outcome: s.outcome, totalMs: s.totalMs, ttftMs: s.ttftMs, inputTokens: s.inputTokens, outputTokens: s.outputTokens, costUsd: s.costUsd });
        const ok = healthOf(s.outcome);
        if (ok !== null) this.buckets(target).add(s.ts + s.totalMs, !ok);
        this.bump(this.attempts, `${target}\u0000${s.outcome}`);
        continue;
      }
      const attempts = s.attempts;
      if (!attempts || attempts.length === 0) continue;
      attempts.forEach((a, i) => {
        const target = this.name(a.target);
        let list = byTarget.get(target);
        if (!list) byTarget.set(target, (list = []));
        list.push(attemptSample(s.ts, a));
        const ok = healthOf(a.outcome);
        if (ok !== null) this.buckets(target).add(s.ts + a.atMs + a.totalMs, !ok);
        this.bump(this.attempts, `${target}\u0000${a.outcome}`);
        // A move to another target (a retry of the same one is an attempt, not a fallback).
        const next = attempts[i + 1];
        const to = next === undefined ? null : this.name(next.target);
        // An attempt let go because the other attempt of a hedge answered first is counted as a hedge, not a fallback.
        if (a.reason !== null && a.reason !== HEDGE_LOST && to !== null && to !== target) this.bump(this.fallbacks, `${target}\u0000${to}\u0000${a.reason}`);
      });
    }
    for (const [target, list] of byTarget) this.store(target).add(list, now);
  }

  /** Every target's health buckets that start at or after `from`. */
  healthSince(from: number): Record<string, HealthBucket[]> {
    return Object.fromEntries([...this.health].map(([target, b]) => [target, b.list(from)]));
  }

  /** Every target's windows over [from, to) merged into one. */
  windows(from: number, to: number): Record<string, WindowData> {
    const out: Record<string, WindowData> = {};
    for (const [target, store] of this.stores) {
      const ws = store.windowsFor(from, to);
      if (ws.length > 0) out[target] = serializeWindow(mergeWindows(ws, from, to - from));
    }
    return out;
  }

  counts(): ResilienceCounts {
    return {
      attempts: [...this.attempts].map(([k, count]) => {
        const [target = '', outcome = ''] = k.split('\u0000');
        return { target, outcome, count };
      }),
      fallbacks: [...this.fallbacks].map(([k, count]) => {
        const [from = '', to = '', reason = ''] = k.split('\u0000');
        return { from, to, reason, count };
      }),
      hedges: [...this.hedges].map(([result, count]) => ({ result, count })),
    };
  }

  rollover(now: number): void {
    for (const store of this.stores.values()) store.rollover(now);
  }

  nextRolloverAt(now: number): number | null {
    const times = [...this.stores.values()].map((s) => s.nextRolloverAt(now)).filter((t): t is number => t !== null);
    return times.length ? Math.min(...times) : null;
  }

  /** Rows to write and delete since the last call, and the counts when they changed. */
  takeChanges(): { write: { target: string; key: string; data: WindowData }[]; remove: { target: string; key: string }[]; counts: ResilienceCounts | null } {
    const write: { target: string; key: string; data: WindowData }[] = [];
    const remove: { target: string; key: string }[] = [];
    for (const [target, store] of this.stores) {
      for (const key of store.removedKeys()) remove.push({ target, key });
      for (const row of store.dirtyWindows()) write.push({ target, key: row.key, data: row.data });
      store.markClean();
    }
    const counts = this.countsDirty ? this.counts() : null;
    this.countsDirty = false;
    return { write, remove, counts };
  }

  private name(target: string): string {
    return this.stores.has(target) || this.stores.size < MAX_TARGETS ? target : 'other';
  }

  private store(target: string): WindowStore {
    let s = this.stores.get(target);
    if (!s) this.stores.set(target, (s = new WindowStore()));
    return s;
  }

  private buckets(target: string): HealthBuckets {
    let b = this.health.get(target);
    if (!b) this.health.set(target, (b = new HealthBuckets(HEALTH_KEEP_MS)));
    return b;
  }

  private bump(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
    this.countsDirty = true;
  }
}

/** An attempt as its target's windows file it. */
function attemptSample(ts: number, a: AttemptSample): Sample {
  return { ts: ts + a.atMs, outcome: a.outcome, totalMs: a.totalMs, ttftMs: a.ttftMs, inputTokens: a.inputTokens, outputTokens: a.outputTokens, costUsd: a.costUsd };
}
