import { Hono, type Context } from 'hono';
import type { AppEnv } from '../context';
import { requireToken } from '../auth';
import { parseBudgets, type BudgetConfig } from '../../core/budget/config';
import { teamBudgets } from '../../core/objects';
import { GatewayError } from '../errors';
import { budgetReport } from '../../core/budget/report';

/** `GET /budgets` (read token), `PUT` and `DELETE /budgets` (admin token): team cost budgets, on the gateway's clock. */
export function budgetRoutes(options: { now: () => number }) {
  const routes = new Hono<AppEnv>();

  const store = teamBudgets;

  /** Budgets are on only when the `BUDGETS` var is set (`{}` will do): otherwise the proxy does no budget work. */
  function envBudgets(c: Context<AppEnv>): BudgetConfig {
    const cfg = c.get('configResult');
    if (!cfg.ok) throw new GatewayError(500, 'invalid_config', `Gateway configuration is invalid: ${cfg.problems.join('; ')}`);
    if (cfg.config.budgets === null) throw new GatewayError(404, 'not_found', 'Team budgets are off: set the BUDGETS var (even to {}) to enable them.');
    return cfg.config.budgets;
  }

  routes.get('/budgets', requireToken('read'), async (c) => {
    const budgets = envBudgets(c);
    const now = options.now();
    return c.json(budgetReport(await store(c.env).view(now), budgets, now));
  });

  routes.put('/budgets', requireToken('admin'), async (c) => {
    const budgets = envBudgets(c);
    const text = await c.req.text();
    const parsed = parseBudgets(text);
    if (!parsed.ok) throw new GatewayError(400, 'invalid_request', `Budgets are invalid: ${parsed.problems.join('; ')}`);
    await store(c.env).setConfig(text);
    const now = options.now();
    return c.json(budgetReport(await store(c.env).view(now), budgets, now));
  });

  routes.delete('/budgets', requireToken('admin'), async (c) => {
    const budgets = envBudgets(c);
    await store(c.env).setConfig(null);
    const now = options.now();
    return c.json(budgetReport(await store(c.env).view(now), budgets, now));
  });
  return routes;
}
