import type { ServiceConfig, SlaConfigResult } from './service';
import { registry } from '../core/objects';
import { parseSlaConfig, type SlaConfig } from '../core/sla/config';

export type { SlaConfigResult } from './service';

let lastOverride: { text: string; result: SlaConfigResult } | null = null;

/** The SLA config in force: one set at runtime (`PUT /sla/config`) wins over the `SLA_CONFIG` var. */
export function slaConfigInForce(config: Pick<ServiceConfig, 'sla'>, override: string | null): SlaConfigResult {
  if (override === null) return config.sla;
  if (lastOverride?.text !== override) {
    const parsed = parseSlaConfig(override);
    lastOverride = { text: override, result: parsed.ok ? { ok: true, config: parsed.config, source: 'runtime' } : parsed };
  }
  return lastOverride.result;
}

/** The window `/sla` uses when none is asked for: the default block's, else 5m. */
export function defaultWindow(config: SlaConfig): string {
  return config.default?.window ?? '5m';
}

/**
 * This isolate's copy of the runtime override, for what runs on every call without asking the registry (the span
 * recorder's slow-call threshold). Kept per registry namespace (per deployment; per test file under vitest). Set
 * whenever the worker reads or writes the override, and read again from the registry when older than
 * `OVERRIDE_MAX_AGE_MS` (in the call's waitUntil: `refreshOverride`).
 */
const overrides = new WeakMap<object, { text: string | null; at: number }>();
export const OVERRIDE_MAX_AGE_MS = 30_000;

export function rememberOverride(env: Pick<Env, 'SLA_REGISTRY'>, text: string | null, now = Date.now()): void {
  overrides.set(env.SLA_REGISTRY, { text, at: now });
}

/** The override as last seen here (null: none, or never seen yet). */
export function knownOverride(env: Pick<Env, 'SLA_REGISTRY'>): string | null {
  return overrides.get(env.SLA_REGISTRY)?.text ?? null;
}

export function overrideStale(env: Pick<Env, 'SLA_REGISTRY'>, now: number): boolean {
  const seen = overrides.get(env.SLA_REGISTRY);
  return seen === undefined || now - seen.at > OVERRIDE_MAX_AGE_MS;
}

/**
 * Reads the override from the registry into this isolate's copy (run in a call's waitUntil when the copy is stale).
 * Marked fresh first, so concurrent calls do not each ask; a failed read keeps the old copy until the next interval.
 */
export async function refreshOverride(env: Pick<Env, 'SLA_REGISTRY'>, now = Date.now()): Promise<void> {
  rememberOverride(env, knownOverride(env), now);
  try {
    rememberOverride(env, await registry(env).configOverride());
  } catch (err) {
    console.error('llm-sla-gateway: could not read the runtime SLA config', err instanceof Error ? err.message : String(err));
  }
}
