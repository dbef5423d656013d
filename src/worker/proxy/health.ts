import { registry, routeStub } from '../../core/objects';
import { Breaker, type BreakerChange, type BreakerEvent } from '../../core/resilience/breaker';
import { healthOf, type HealthBucket } from '../../core/resilience/health';
import type { BreakerSpec } from '../../core/resilience/policy';
import type { Outcome } from '../../core/record';

/** How often an isolate reads a route's targets' health from its route objects (off the response path). */
export const SHARED_HEALTH_MS = 5_000;
/** Most routes whose breakers one isolate keeps (route keys are the clients' strings): past this, the oldest are forgotten. */
const MAX_BREAKERS = 2_000;


interface Waiter {
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * One isolate's circuit breakers, per route and target (src/core/resilience/breaker.ts), fed at once by this
 * isolate's attempts and, every `SHARED_HEALTH_MS` at most per route, by every isolate's as the route objects hold
 * them (read in the waitUntil of a call, never on its way). A breaker that opens or closes is told to the registry,
 * which keeps the state /metrics shows and raises the alert.
 */
export class RouteHealth {
  /** Per route, its targets' breakers (all made from the route's one breaker spec). */
  private readonly routes = new Map<string, { spec: BreakerSpec; targets: Map<string, Breaker> }>();
  private readonly sharedAt = new Map<string, number>();

  constructor(private readonly env: Env) {}

  /** The breaker of a route's target (made on first use; made anew when the policy's breaker changed). */
  breaker(route: string, target: string, spec: BreakerSpec): Breaker {
    let r = this.routes.get(route);
    if (!r || (r.spec !== spec && !sameSpec(r.spec, spec))) {
      if (this.routes.size >= MAX_BREAKERS) this.routes.delete(this.routes.keys().next().value as string);
      this.routes.set(route, (r = { spec, targets: new Map() }));
    }
    let b = r.targets.get(target);
    if (!b) r.targets.set(target, (b = new Breaker(spec)));
    return b;
  }

  /** Files an attempt's outcome with its target's breaker; a change of state is told to the registry. */
  record(ctx: Waiter, route: string, target: string, spec: BreakerSpec, outcome: Outcome, now: number, forced: boolean): void {
    const change = this.breaker(route, target, spec).record(healthOf(outcome), now, forced);
    if (change) this.tell(ctx, route, target, spec, change);
  }

  /**
   * Reads every isolate's recent outcomes of a route's targets from its route objects when the last read is older
   * than `SHARED_HEALTH_MS` (the promise to wait for, else null). Marked read first, so concurrent calls do not each
   * ask; a failed read is tried again after the interval.
   */
  refresh(ctx: Waiter, route: string, shards: number, targets: readonly string[], spec: BreakerSpec, now: number): Promise<void> | null {
    if (now - (this.sharedAt.get(route) ?? Number.NEGATIVE_INFINITY) < SHARED_HEALTH_MS) return null;
    if (this.sharedAt.size >= MAX_BREAKERS) this.sharedAt.clear();
    this.sharedAt.set(route, now);
    return this.readShared(route, shards, now - spec.windowMs).then(
      (buckets) => {
        for (const target of targets) {
          const change = this.breaker(route, target, spec).observeShared(buckets.get(target) ?? [], now);
          if (change) this.tell(ctx, route, target, spec, change);
        }
      },
      (err: unknown) => console.error('llm-sla-gateway: could not read the health of the targets', err instanceof Error ? err.message : String(err)),
    );
  }

  private async readShared(route: string, shards: number, from: number): Promise<Map<string, HealthBucket[]>> {
    const answers = await Promise.all(Array.from({ length: shards }, (_, i) => routeStub(this.env.ROUTE_STATS, route, i).targetHealth(from)));
    const out = new Map<string, HealthBucket[]>();
    for (const a of answers) for (const [target, buckets] of Object.entries(a)) out.set(target, [...(out.get(target) ?? []), ...buckets]);
    return out;
  }

  private tell(ctx: Waiter, route: string, target: string, spec: BreakerSpec, change: BreakerChange): void {
    const event: BreakerEvent = {
      route,
      target,
      state: change.to,
      at: change.at,
      calls: change.calls,
      failureRate: change.failureRate,
      source: change.source,
      windowS: Math.round(spec.windowMs / 1000),
      cooldownS: Math.round(spec.cooldownMs / 1000),
    };
    ctx.waitUntil(
      registry(this.env)
        .breakerChanged(event)
        .catch((err: unknown) => console.error('llm-sla-gateway: could not report a circuit breaker change', err instanceof Error ? err.message : String(err))),
    );
  }
}

function sameSpec(a: BreakerSpec, b: BreakerSpec): boolean {
  return a.failureRate === b.failureRate && a.minCalls === b.minCalls && a.windowMs === b.windowMs && a.cooldownMs === b.cooldownMs;
}
