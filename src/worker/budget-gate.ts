import { GatewayError } from './errors';
import type { ProviderFormat } from '../core/providers/types';
import type { CallRecord } from '../core/record';
import { teamBudgets } from '../core/objects';
import { isolateCounts } from './counts';
import { openBatch, type Batch } from './settle';
import type { BudgetView } from '../core/budget/spend';
import { budgetsInForce, type BudgetConfig } from '../core/budget/config';
import { decide, periodEnd, periodKeys, type SpendEntry } from '../core/budget/spend';

/** A cached view older than this is refreshed in the background (waitUntil) by the next call that sees it. */
export const BUDGET_REFRESH_MS = 1000;
/** Costs are sent to the store in batches, this long after the first of a batch. */
export const BUDGET_FLUSH_MS = 200;
/** The one wait a cold isolate makes for the store before its first budgeted call. */
const LOAD_TIMEOUT_MS = 1000;
/** A reservation whose call never reported its cost (its record was lost) is released after this long. */
const RESERVATION_TTL_MS = 10 * 60_000;


/** What the request path keeps of the gate's answer: for the header, and for the spend after the call. */
export interface BudgetTicket {
  readonly team: string;
  /** USD left of the tighter limit before this call; null when the team has no budget. */
  readonly remaining: number | null;
  readonly cache: BudgetCache;
  /** The reservation this call holds until its cost is known (0: none). */
  readonly reservation: number;
}

interface Reservation {
  team: string;
  ts: number;
  usd: number;
  expires: number;
}

/**
 * One isolate's view of team budgets: the store's last answer (budgets in force, each team's spend today and this
 * month) plus the cost of this isolate's calls not yet in that answer. A call is judged on this view alone; the
 * view is refreshed off the response path. What it can miss — other isolates' calls since the last refresh, and
 * calls still running — is the overshoot documented in docs/budgets.md.
 */
export class BudgetCache {
  private view: BudgetView | null = null;
  private fetchedAt = -Infinity;
  private refreshing = false;
  private pending: SpendEntry[] = [];
  /** Cost not yet in `view`: pending and in flight, by `team\0day` and `team\0month`. */
  private readonly local = new Map<string, number>();
  private batch: Batch<object> | null = null;
  /** Calls admitted whose cost is not known yet, each counted at the team's average cost per call. */
  private readonly reservations = new Map<number, Reservation>();
  private nextReservation = 1;
  /** Cost per call seen here, per team: the reservation when the store's view has no calls of the team yet. */
  private readonly observed = new Map<string, { usd: number; calls: number }>();
  /** The latest call time seen: the store reads "today" on this clock, so tests can drive it with `now`. */
  private latest = 0;
  private clock(): number {
    return this.latest || Date.now();
  }

  constructor(
    private readonly env: Env,
    private readonly envBudgets: BudgetConfig,
  ) {}

  /** Budgets in force: `PUT /budgets` (as last seen from the store) wins over the `BUDGETS` var. */
  budgets(): BudgetConfig {
    return budgetsInForce(this.envBudgets, this.view?.override ?? null).budgets;
  }

  /**
   * Admits a call of `team` or throws: 429 once a `block` budget is spent; 403 when the budget refuses unpriced
   * calls (`unpriced: "block"`) and `priced()` says the call's model has no price (asked only then).
   */
  async gate(
    team: string,
    format: ProviderFormat,
    ctx: { waitUntil(p: Promise<unknown>): void },
    now: number,
    priced: () => Promise<{ model: string | null; priced: boolean }> = () => Promise.resolve({ model: null, priced: true }),
  ): Promise<BudgetTicket> {
    this.latest = Math.max(this.latest, now);
    const stale = now - this.fetchedAt > BUDGET_REFRESH_MS;
    // A cold isolate's calls wait for the store (bounded, each its own request: workerd does not let a request wait
    // on another's I/O) until a first answer; after that, or within a second of a failed attempt, no call waits.
    if (this.view === null && (stale || this.refreshing)) await this.refresh(now, LOAD_TIMEOUT_MS);
    else if (stale && !this.refreshing) ctx.waitUntil(this.refresh(now, LOAD_TIMEOUT_MS));
    if (this.view === null) isolateCounts.add('budget_fail_open');
    if (this.reservations.size > 0) this.expireReservations(now);
    const budget = this.budgets().get(team);
    if (!budget) return { team, remaining: null, cache: this, reservation: 0 };
    const { day, month } = this.spent(team, now);
    const d = decide(budget, day, month);
    if (d.blocked && d.exhausted !== null && d.limit !== null) {
      isolateCounts.add('budget_blocked');
      const what = d.exhausted === 'day' ? 'daily' : 'monthly';
      const resets = new Date(periodEnd(d.exhausted, now)).toISOString();
      throw new GatewayError(
        429,
        'budget_exceeded',
        `Team '${team}' has spent its ${what} budget: $${d.spent.toFixed(4)} of $${d.limit.toFixed(2)}. It resets at ${resets}.`,
        format,
      );
    }
    if (budget.action === 'block' && budget.unpriced === 'block') {
      const p = await priced();
      if (!p.priced) {
        isolateCounts.add('budget_blocked_unpriced');
        throw new GatewayError(
          403,
          'unpriced_model',
          `Team '${team}' refuses calls it cannot price, and model ${p.model === null ? '(none named)' : `'${p.model}'`} has no known price: set it in PRICES, or the team's budget to "unpriced": "allow".`,
          format,
        );
      }
    }
    return { team, remaining: d.remaining, cache: this, reservation: this.reserve(team, now) };
  }

  /**
   * Counts an admitted call at its team's average cost until its real cost is known, so calls in flight count
   * against the limit: without it, every call admitted before the first of them finished could go over.
   */
  private reserve(team: string, now: number): number {
    const s = this.view?.spend[team];
    const known = s?.day && s.day.calls > 0 ? s.day : s?.month && s.month.calls > 0 ? s.month : this.observed.get(team);
    const usd = known && known.calls > 0 ? known.usd / known.calls : 0;
    if (!(usd > 0)) return 0;
    const id = this.nextReservation++;
    this.reservations.set(id, { team, ts: now, usd, expires: now + RESERVATION_TTL_MS });
    this.addLocal({ team, ts: now, usd }, 1);
    return id;
  }

  private release(id: number): void {
    const r = this.reservations.get(id);
    if (!r) return;
    this.reservations.delete(id);
    this.addLocal(r, -1);
  }

  private expireReservations(now: number): void {
    for (const [id, r] of this.reservations) if (r.expires <= now) this.release(id);
  }

  /** Spend of a team in the UTC day and month of `now`: the store's view (when of the same period) plus local cost. */
  spent(team: string, now: number): { day: number; month: number } {
    const keys = periodKeys(now);
    const s = this.view?.spend[team];
    const day = (s?.day?.key === keys.day ? s.day.usd : 0) + (this.local.get(`${team}\0${keys.day}`) ?? 0);
    const month = (s?.month?.key === keys.month ? s.month.usd : 0) + (this.local.get(`${team}\0${keys.month}`) ?? 0);
    return { day, month };
  }

  /**
   * Replaces a finished call's reservation with its cost, counted here at once and sent to the store in the next
   * batch. Never rejects.
   */
  spend(record: Pick<CallRecord, 'team' | 'ts' | 'costUsd' | 'usageSource'> & { estimatedUsd?: number }, reservation = 0): Promise<void> | undefined {
    if (reservation !== 0) this.release(reservation);
    const team = record.team;
    const budget = team === null ? undefined : this.budgets().get(team);
    if (team === null || budget === undefined) return undefined;
    const entry: SpendEntry = { team, budget, ts: record.ts, usd: record.costUsd ?? 0, estimated: record.usageSource === 'estimated', priced: record.costUsd !== null };
    // A call with several attempts (src/worker/proxy/resilient.ts) says which part of its cost rests on estimates.
    if (record.estimatedUsd !== undefined) entry.estimatedUsd = record.estimatedUsd;
    this.pending.push(entry);
    this.addLocal(entry, 1);
    if (entry.priced) {
      const o = this.observed.get(team) ?? { usd: 0, calls: 0 };
      this.observed.set(team, { usd: o.usd + entry.usd, calls: o.calls + 1 });
    }
    if (this.batch) return undefined;
    const batch: Batch<object> = openBatch({}, BUDGET_FLUSH_MS, (f) => this.batch?.fields === f, () => this.flush());
    this.batch = batch;
    return batch.owned;
  }

  private async flush(): Promise<void> {
    const entries = this.pending;
    this.pending = [];
    this.batch = null;
    if (entries.length === 0) return;
    try {
      const view = await this.store().add(entries, this.clock());
      this.accept(view);
    } catch (err) {
      isolateCounts.add('budget_store_errors');
      isolateCounts.add('budget_spend_dropped', entries.length);
      console.error('llm-sla-gateway: budget store unreachable, spend not recorded', err instanceof Error ? err.message : String(err));
    } finally {
      for (const e of entries) this.addLocal(e, -1);
    }
  }

  private async refresh(now: number, timeoutMs: number): Promise<void> {
    this.refreshing = true;
    this.fetchedAt = now;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('budget store timed out')), timeoutMs)));
      this.accept(await Promise.race([this.store().view(now), timeout]));
    } catch (err) {
      isolateCounts.add('budget_store_errors');
      console.error('llm-sla-gateway: budget store unreachable, failing open', err instanceof Error ? err.message : String(err));
    } finally {
      clearTimeout(timer);
      this.refreshing = false;
    }
  }

  private accept(view: BudgetView): void {
    this.view = view;
  }

  private addLocal(e: Pick<SpendEntry, 'team' | 'ts' | 'usd'>, sign: 1 | -1): void {
    const keys = periodKeys(e.ts);
    for (const k of [`${e.team}\0${keys.day}`, `${e.team}\0${keys.month}`]) {
      const v = (this.local.get(k) ?? 0) + sign * e.usd;
      if (sign < 0 && Math.abs(v) < 1e-12) this.local.delete(k);
      else this.local.set(k, v);
    }
  }

  private store() {
    return teamBudgets(this.env);
  }
}

/** `x-sla-budget-remaining-usd` on an answered call of a team with a budget. */
export function stampBudget(ticket: BudgetTicket | null, res: Response): Response {
  if (ticket !== null && ticket.remaining !== null) res.headers.set('x-sla-budget-remaining-usd', ticket.remaining.toFixed(6));
  return res;
}
