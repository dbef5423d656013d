import { Hono, type Context } from 'hono';
import { checkPolicies } from '../../config/policies';
import { registry } from '../../core/objects';
import { requireToken } from '../auth';
import { configOf, type AppEnv } from '../context';
import { GatewayError } from '../errors';

/**
 * `GET /policies` (read token): the routes' policies in force and where they come from; `PUT /policies` (admin):
 * replace them at runtime, checked against the providers and keys of this deployment (400 with every problem
 * otherwise); `DELETE /policies` (admin): back to the `POLICIES` var. Every isolate uses a change within 30 s (at
 * once on the one that took it).
 */
export const policyRoutes = new Hono<AppEnv>();

function answer(c: Context<AppEnv>) {
  const inForce = c.get('isolate').config.policies();
  if (inForce.problems.length > 0) {
    throw new GatewayError(500, 'invalid_config', `Policies (${inForce.source === 'runtime' ? 'set at runtime' : 'the POLICIES var'}) are invalid, none in force: ${inForce.problems.join('; ')}`);
  }
  return c.json({ source: inForce.source, policies: inForce.policies ?? {} });
}

policyRoutes.get('/policies', requireToken('read'), async (c) => {
  c.get('isolate').config.setPolicies((await registry(c.env).overrides()).policies, Date.now());
  return answer(c);
});

policyRoutes.put('/policies', requireToken('admin'), async (c) => {
  const config = configOf(c.get('configResult'));
  const text = await c.req.text();
  if (text.trim() === '') throw new GatewayError(400, 'invalid_request', 'Policies are invalid: empty body (DELETE /policies goes back to the POLICIES var)');
  const checked = checkPolicies(text, config.providers, config.managedKeys);
  if (!checked.ok) throw new GatewayError(400, 'invalid_request', `Policies are invalid: ${checked.problems.join('; ')}`);
  await registry(c.env).setPolicies(text);
  c.get('isolate').config.setPolicies(text, Date.now());
  return answer(c);
});

policyRoutes.delete('/policies', requireToken('admin'), async (c) => {
  await registry(c.env).setPolicies(null);
  c.get('isolate').config.setPolicies(null, Date.now());
  return answer(c);
});
