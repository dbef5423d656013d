import { z } from 'zod';
import { describeIssues } from '../sla/issues';
import { TEAM, TEAM_RULE } from '../labels';


const usd = z.number().positive().finite();
const teamBudget = z
  .strictObject({
    daily_usd: usd.optional(),
    monthly_usd: usd.optional(),
    /** `block`: refuse calls once a limit is spent; `alert`: only alert. */
    action: z.enum(['block', 'alert']).optional(),
    /**
     * What a `block` budget does with a call whose model has no price (in `PRICES` nor the catalog): `allow` it
     * (counted as unpriced, its cost unknown) or `block` it before any upstream contact.
     */
    unpriced: z.enum(['allow', 'block']).optional(),
  })
  .refine((b) => b.daily_usd !== undefined || b.monthly_usd !== undefined, 'set daily_usd, monthly_usd or both')
  .refine((b) => !(b.unpriced === 'block' && b.action === 'alert'), { message: 'unpriced "block" needs action "block"', path: ['unpriced'] });

const budgetsSchema = z.record(z.string().regex(TEAM, TEAM_RULE), teamBudget);

export interface TeamBudget {
  daily_usd: number | null;
  monthly_usd: number | null;
  action: 'block' | 'alert';
  unpriced: 'allow' | 'block';
}

/** Team -> budget, every default filled in. */
export type BudgetConfig = ReadonlyMap<string, TeamBudget>;

/** `BUDGETS` (or a `PUT /budgets` body): `{"<team>": {"daily_usd": 5, "monthly_usd": 100, "action": "block"}}`. */
export function parseBudgets(json: string): { ok: true; budgets: BudgetConfig } | { ok: false; problems: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    return { ok: false, problems: [`BUDGETS is not valid JSON: ${(e as Error).message}`] };
  }
  const parsed = budgetsSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, problems: describeIssues(parsed.error).map((p) => `BUDGETS: ${p}`) };
  const budgets = new Map<string, TeamBudget>();
  for (const [team, b] of Object.entries(parsed.data)) {
    budgets.set(team, { daily_usd: b.daily_usd ?? null, monthly_usd: b.monthly_usd ?? null, action: b.action ?? 'block', unpriced: b.unpriced ?? 'allow' });
  }
  return { ok: true, budgets };
}

/** The JSON form of a config, as `GET /budgets` shows it and `PUT /budgets` takes it. */
export function budgetsJson(budgets: BudgetConfig): Record<string, TeamBudget> {
  return Object.fromEntries(budgets);
}

let lastOverride: { text: string; budgets: BudgetConfig | null } | null = null;

/**
 * The budgets in force: a config set with `PUT /budgets` (the store's `override`, JSON text) wins over the `BUDGETS`
 * var. Each override text is parsed once; one that no longer parses (it was valid when it was stored) is ignored.
 */
export function budgetsInForce(envBudgets: BudgetConfig, override: string | null): { budgets: BudgetConfig; source: 'runtime' | 'env' } {
  if (override === null) return { budgets: envBudgets, source: 'env' };
  if (lastOverride?.text !== override) {
    const parsed = parseBudgets(override);
    lastOverride = { text: override, budgets: parsed.ok ? parsed.budgets : null };
  }
  return lastOverride.budgets === null ? { budgets: envBudgets, source: 'env' } : { budgets: lastOverride.budgets, source: 'runtime' };
}
