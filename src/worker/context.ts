import type { MiddlewareHandler } from 'hono';
import type { ConfigResult, ResolvedConfig } from '../config/resolve';
import type { ServiceConfig } from '../config/service';
import { GatewayError } from './errors';
import { isolateFor, type Isolate } from './isolate';

/**
 * Hono's typed context for every gateway route: the env, this env's isolate state (`isolate`: the config in force,
 * recorders, budgets), and for convenience the resolved vars (`configResult`) and their service part (`service`:
 * tokens, SLA config, webhook), there even when the rest of the config is invalid. Set by `withConfig` before any
 * route runs.
 */
export interface AppEnv {
  Bindings: Env;
  Variables: { isolate: Isolate; configResult: ConfigResult; service: ServiceConfig };
}

export const withConfig: MiddlewareHandler<AppEnv> = async function withConfig(c, next) {
  const isolate = isolateFor(c.env);
  c.set('isolate', isolate);
  c.set('configResult', isolate.config.result);
  c.set('service', isolate.config.service);
  await next();
};

/** The whole resolved config, or a 500 listing the problems. */
export function configOf(result: ConfigResult): ResolvedConfig {
  if (!result.ok) throw new GatewayError(500, 'invalid_config', `Gateway configuration is invalid: ${result.problems.join('; ')}`);
  return result.config;
}
