import { DEFAULT_SLA_CONFIG, parseSlaConfig, type SlaConfig } from '../sla/config';

export type SlaConfigResult = { ok: true; config: SlaConfig; source: 'runtime' | 'env' | 'default' } | { ok: false; problems: string[] };

const envCache = new WeakMap<object, SlaConfigResult>();

/** The SLA config in force: one set at runtime (`PUT /sla/config`) wins over the `SLA_CONFIG` var. */
export function slaConfigInForce(env: Env, override: string | null): SlaConfigResult {
  if (override !== null) {
    const parsed = parseSlaConfig(override);
    return parsed.ok ? { ok: true, config: parsed.config, source: 'runtime' } : parsed;
  }
  let cached = envCache.get(env);
  if (!cached) {
    const raw = (env as unknown as Record<string, unknown>)['SLA_CONFIG'];
    if (typeof raw !== 'string' || raw.trim() === '') cached = { ok: true, config: DEFAULT_SLA_CONFIG, source: 'default' };
    else {
      const parsed = parseSlaConfig(raw);
      cached = parsed.ok ? { ok: true, config: parsed.config, source: 'env' } : parsed;
      if (!parsed.ok) console.error(`llm-sla-gateway: invalid SLA_CONFIG:\n  ${parsed.problems.join('\n  ')}`);
    }
    envCache.set(env, cached);
  }
  return cached;
}

/** The window `/sla` uses when none is asked for: the default block's, else 5m. */
export function defaultWindow(config: SlaConfig): string {
  return config.default?.window ?? '5m';
}
