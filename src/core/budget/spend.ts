import type { TeamBudget } from './config';

export type BudgetPeriod = 'day' | 'month';

/** UTC day and month keys of a time: `2026-12-02`, `2026-12`. */
export function periodKeys(t: number): { day: string; month: string } {
  const iso = new Date(t).toISOString();
  return { day: iso.slice(0, 10), month: iso.slice(0, 7) };
}

/** When a period that contains `t` ends (the next UTC midnight, or the first of the next month). */
export function periodEnd(period: BudgetPeriod, t: number): number {
  const d = new Date(t);
  return period === 'day'
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** A team's spend in one period, as the budget store keeps it. */
export interface PeriodSpend {
  /** `2026-12-02` or `2026-12`. */
  key: string;
  /** All recorded cost, estimated included. */
  usd: number;
  /** Of `usd`, the cost of calls whose tokens were estimated (no usage from the provider). */
  estimated_usd: number;
  calls: number;
  /** Calls without a price (unknown model): counted, cost unknown. */
  unpriced: number;
}

export interface TeamSpend {
  day: PeriodSpend | null;
  month: PeriodSpend | null;
}

/** One finished call's cost, as the request path hands it to the store. */
export interface SpendEntry {
  team: string;
  /** The team's budget as the sending isolate applies it (the store alerts on these limits). */
  budget: TeamBudget;
  ts: number;
  usd: number;
  estimated: boolean;
  priced: boolean;
  /** Of `usd`, what rests on estimated tokens, when only part of it does (a call whose attempts differ); else `estimated` says. */
  estimatedUsd?: number;
}

export interface BudgetDecision {
  blocked: boolean;
  /** The period whose limit is spent (the day before the month), when any is. */
  exhausted: BudgetPeriod | null;
  spent: number;
  limit: number | null;
  /** The smaller of what is left of the day and of the month; null without limits. */
  remaining: number | null;
}

/**
 * Judges a team's spend (in the periods that contain `now`) against its budget. A spend from another day or month
 * counts as nothing: that is the rollover.
 */
export function decide(budget: TeamBudget, spentDay: number, spentMonth: number): BudgetDecision {
  const left: number[] = [];
  let exhausted: BudgetPeriod | null = null;
  let spent = 0;
  let limit: number | null = null;
  for (const [period, cap, used] of [['day', budget.daily_usd, spentDay], ['month', budget.monthly_usd, spentMonth]] as const) {
    if (cap === null) continue;
    left.push(cap - used);
    if (exhausted === null && used >= cap) {
      exhausted = period;
      spent = used;
      limit = cap;
    }
  }
  return {
    blocked: exhausted !== null && budget.action === 'block',
    exhausted,
    spent,
    limit,
    remaining: left.length ? Math.max(0, Math.min(...left)) : null,
  };
}

/** The alert thresholds (fractions of the limit) a spend going from `before` to `after` crosses. */
export const ALERT_THRESHOLDS = [0.8, 1] as const;
export function crossed(before: number, after: number, limit: number): number[] {
  return ALERT_THRESHOLDS.filter((t) => before < t * limit && after >= t * limit);
}

/** What an isolate caches: the budgets in force and each budgeted team's spend in the current day and month. */
export interface BudgetView {
  /** When the view was taken (the store's clock). */
  at: number;
  /** Budgets set with `PUT /budgets` (JSON text, validated when set), or null to use the `BUDGETS` var. */
  override: string | null;
  spend: Record<string, TeamSpend>;
}
