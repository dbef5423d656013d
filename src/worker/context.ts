import type { MiddlewareHandler } from 'hono';
import { resolveConfig, type ConfigResult } from '../config/resolve';
import type { ServiceConfig } from '../config/service';
import { GatewayError } from './errors';
import type { ResolvedConfig } from '../config/resolve';

/**
 * Hono's typed context for every gateway route: the env, and the config resolved once per env (`resolveConfig`),
 * set by `withConfig` before any route runs. `service` (tokens, SLA config, webhook) is there even when the rest of
 * the config is invalid.
 */
export interface AppEnv {
  Bindings: Env;
  Variables: { configResult: ConfigResult; service: ServiceConfig };
}

export const withConfig: MiddlewareHandler<AppEnv> = async function withConfig(c, next) {
  const result = resolveConfig(c.env);
  c.set('configResult', result);
  c.set('service', result.ok ? result.config : result.service);
  await next();
};

/** The whole resolved config, or a 500 listing the problems. */
export function configOf(result: ConfigResult): ResolvedConfig {
  if (!result.ok) throw new GatewayError(500, 'invalid_config', `Gateway configuration is invalid: ${result.problems.join('; ')}`);
  return result.config;
}
