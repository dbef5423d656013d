import { z } from 'zod';
import { describeIssues } from '../sla/issues';

/** Team labels as the gateway accepts them (`x-sla-team`, a gateway key's team). */
export const TEAM_NAME = /^[\w.:/@-]{1,64}$/;

const usd = z.number().positive().finite();
const teamBudget = z
  .strictObject({
    daily_usd: usd.optional(),
    monthly_usd: usd.optional(),
    /** `block`: refuse calls once a limit is spent; `alert`: only alert. */
    action: z.enum(['block', 'alert']).optional(),
  })
  .refine((b) => b.daily_usd !== undefined || b.monthly_usd !== undefined, 'set daily_usd, monthly_usd or both');

const budgetsSchema = z.record(z.string().regex(TEAM_NAME, 'team names are 1-64 chars of letters, digits, . _ : / @ -'), teamBudget);

export interface TeamBudget {
  daily_usd: number | null;
  monthly_usd: number | null;
  action: 'block' | 'alert';
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
    budgets.set(team, { daily_usd: b.daily_usd ?? null, monthly_usd: b.monthly_usd ?? null, action: b.action ?? 'block' });
  }
  return { ok: true, budgets };
}

/** The JSON form of a config, as `GET /budgets` shows it and `PUT /budgets` takes it. */
export function budgetsJson(budgets: BudgetConfig): Record<string, TeamBudget> {
  return Object.fromEntries(budgets);
}
