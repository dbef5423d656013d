import { DurableObject } from 'cloudflare:workers';
import { budgetAlert } from './alerts';
import { TEAM } from '../../src/core/labels';
import { crossed, periodKeys, type BudgetView, type PeriodSpend, type SpendEntry, type TeamSpend } from '../../src/core/budget/spend';
import { registry } from '../../src/core/objects';

export type { BudgetView } from '../../src/core/budget/spend';

/** Spend rows older than this many days are deleted (months: 400 days). */
const KEEP_DAYS = 40;

/**
 * Team cost budgets (one object): the runtime budget config and each budgeted team's spend per UTC day and month,
 * added in batches from the isolates' call records. Sends the 80 % and 100 % alerts once per team, period and
 * threshold, through the registry's alert log and webhook.
 */
export class TeamBudgets extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS spend (team TEXT NOT NULL, period TEXT NOT NULL, usd REAL NOT NULL, estimated_usd REAL NOT NULL,
      calls INTEGER NOT NULL, unpriced INTEGER NOT NULL, PRIMARY KEY (team, period))`);
    this.sql.exec('CREATE TABLE IF NOT EXISTS alerted (team TEXT NOT NULL, period TEXT NOT NULL, threshold REAL NOT NULL, PRIMARY KEY (team, period, threshold))');
    this.sql.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  }

  /**
   * Adds a batch of call costs and answers the fresh view. Isolates send only teams that have a budget (so the
   * table holds at most the budgeted teams, for 40 days and 13 months), each with the limits it applied.
   */
  async add(entries: SpendEntry[], now = Date.now()): Promise<BudgetView> {
    const alerts: ReturnType<typeof budgetAlert>[] = [];
    for (const e of entries) {
      const budget = e.budget;
      if (!TEAM.test(e.team) || !Number.isFinite(e.usd) || e.usd < 0 || !Number.isFinite(e.ts)) continue;
      const keys = periodKeys(e.ts);
      for (const [period, key, limit] of [['day', `d:${keys.day}`, budget.daily_usd], ['month', `m:${keys.month}`, budget.monthly_usd]] as const) {
        const before = this.row(e.team, key)?.usd ?? 0;
        this.sql.exec(
          `INSERT INTO spend (team, period, usd, estimated_usd, calls, unpriced) VALUES (?, ?, ?, ?, 1, ?)
           ON CONFLICT(team, period) DO UPDATE SET usd = usd + excluded.usd, estimated_usd = estimated_usd + excluded.estimated_usd,
           calls = calls + 1, unpriced = unpriced + excluded.unpriced`,
          e.team,
          key,
          e.usd,
          estimatedPart(e),
          e.priced ? 0 : 1,
        );
        if (limit === null) continue;
        for (const threshold of crossed(before, before + e.usd, limit)) {
          const fresh = this.sql.exec('INSERT OR IGNORE INTO alerted (team, period, threshold) VALUES (?, ?, ?)', e.team, key, threshold).rowsWritten > 0;
          if (fresh) alerts.push(budgetAlert(e.team, period, key.slice(2), before + e.usd, limit, threshold, budget.action, now));
        }
      }
    }
    this.prune(now);
    if (alerts.length > 0) {
      try {
        await registry(this.env).recordAlerts(alerts.map((a) => ({ ts: now, route: a.route, payload: a })));
      } catch (err) {
        console.error('llm-sla-gateway: budget alerts could not reach the registry', err instanceof Error ? err.message : String(err));
      }
    }
    return this.view(now);
  }

  /** The runtime budgets and the spend of every team with spend in the UTC day or month of `now`. */
  view(now = Date.now()): BudgetView {
    const keys = periodKeys(now);
    const spend: Record<string, TeamSpend> = {};
    const teams = this.sql.exec<{ team: string }>('SELECT DISTINCT team FROM spend WHERE period IN (?, ?)', `d:${keys.day}`, `m:${keys.month}`).toArray();
    for (const { team } of teams) spend[team] = { day: this.row(team, `d:${keys.day}`), month: this.row(team, `m:${keys.month}`) };
    return { at: now, override: this.meta('budgets'), spend };
  }

  setConfig(json: string | null): void {
    if (json === null) this.sql.exec('DELETE FROM meta WHERE key = ?', 'budgets');
    else this.sql.exec('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', 'budgets', json);
  }

  private row(team: string, period: string): PeriodSpend | null {
    const r = this.sql
      .exec<{ usd: number; estimated_usd: number; calls: number; unpriced: number }>('SELECT usd, estimated_usd, calls, unpriced FROM spend WHERE team = ? AND period = ?', team, period)
      .toArray()[0];
    return r ? { key: period.slice(2), usd: r.usd, estimated_usd: r.estimated_usd, calls: r.calls, unpriced: r.unpriced } : null;
  }

  private prune(now: number): void {
    const day = periodKeys(now - KEEP_DAYS * 86_400_000).day;
    const month = periodKeys(now - 400 * 86_400_000).month;
    this.sql.exec("DELETE FROM spend WHERE (period LIKE 'd:%' AND period < ?) OR (period LIKE 'm:%' AND period < ?)", `d:${day}`, `m:${month}`);
    this.sql.exec("DELETE FROM alerted WHERE (period LIKE 'd:%' AND period < ?) OR (period LIKE 'm:%' AND period < ?)", `d:${day}`, `m:${month}`);
  }

  private meta(key: string): string | null {
    return this.sql.exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', key).toArray()[0]?.value ?? null;
  }
}

/** The part of an entry's cost that rests on estimated tokens. */
function estimatedPart(e: SpendEntry): number {
  const part = e.estimatedUsd;
  if (typeof part === 'number' && Number.isFinite(part) && part >= 0) return Math.min(part, e.usd);
  return e.estimated ? e.usd : 0;
}
