import { routeStub, type RouteStatsNamespace } from '../../core/objects';
import { HedgeBudget } from '../../core/resilience/hedge-budget';
import { compactTails, NO_TAILS, RECENT_MS, tailsOf, type PercentilesRead, type Tails } from '../../core/resilience/tails';

/** How often an isolate reads a route's targets' tails from its route objects (off the response path). */
export const TAILS_REFRESH_MS = 5_000;
/** Most routes one isolate keeps tails and hedge budgets for (route keys are the clients' strings). */
const MAX_ROUTES = 2_000;

/**
 * What one isolate knows of its routes' targets for the decisions of their policies: each target's measured tail
 * (src/core/resilience/tails.ts) as the route objects last answered — every isolate's attempts over the last
 * `RECENT_MS`, read every `TAILS_REFRESH_MS` at most per route, in the waitUntil of a call, never on its way — and
 * each route's hedge budget (src/core/resilience/hedge-budget.ts). A route never read has no tails: its decisions
 * fall back to the fixed settings until the first read lands.
 */
export class RouteTails {
  private readonly tails = new Map<string, { at: number; tails: Tails }>();
  private readonly budgets = new Map<string, HedgeBudget>();
  private readonly reading = new Set<string>();

  constructor(private readonly ns: RouteStatsNamespace) {}

  /** A route's tails as last read (none before the first read). */
  of(route: string): Tails {
    return this.tails.get(route)?.tails ?? NO_TAILS;
  }

  /**
   * Reads a route's tails again when the last read is older than `TAILS_REFRESH_MS` (the promise to wait for, else
   * null), keeping of each target only the percentiles its policy reads (`read`): a few numbers per route, not
   * sketches. One read at a time per route; a failed read keeps the last tails and is tried again after the interval.
   */
  refresh(route: string, shards: number, now: number, read: () => PercentilesRead): Promise<void> | null {
    const last = this.tails.get(route);
    if ((last && now - last.at < TAILS_REFRESH_MS) || this.reading.has(route)) return null;
    if (!last && this.tails.size >= MAX_ROUTES) this.tails.delete(this.tails.keys().next().value as string);
    this.tails.set(route, { at: now, tails: last?.tails ?? NO_TAILS });
    this.reading.add(route);
    return Promise.all(Array.from({ length: shards }, (_, i) => routeStub(this.ns, route, i).targetWindows(now - RECENT_MS, now + 1)))
      .then(
        (answers) => {
          this.tails.set(route, { at: now, tails: compactTails(tailsOf(answers), read()) });
        },
        (err: unknown) => console.error('llm-sla-gateway: could not read the tails of the targets', err instanceof Error ? err.message : String(err)),
      )
      .finally(() => this.reading.delete(route));
  }

  /** A route's hedge budget in this isolate (made anew when the ratio changes). */
  budget(route: string, maxRatio: number): HedgeBudget {
    let b = this.budgets.get(route);
    if (!b || b.maxRatio !== maxRatio) {
      if (!b && this.budgets.size >= MAX_ROUTES) this.budgets.delete(this.budgets.keys().next().value as string);
      this.budgets.set(route, (b = new HedgeBudget(maxRatio)));
    }
    return b;
  }
}
