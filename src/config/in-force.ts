import { DEFAULT_SLA_CONFIG, parseSlaConfig, type SlaConfig } from '../core/sla/config';
import { parseConfig, type ConfigResult, type ResolvedConfig } from './resolve';
import type { ServiceConfig, SlaConfigResult } from './service';

export type { SlaConfigResult } from './service';

/**
 * How long a copy of the runtime SLA config (`PUT /sla/config`, kept by the registry) is used before it is read
 * again: the one refresh rule for every copy, a worker isolate's (span tail sampling, the `/sla*` routes' own check)
 * and a route object's (SLO judging) alike. The registry pushes a change to its route objects at once and every
 * `/sla*` answer carries the registry's current text, so this only bounds how late a copy can be when neither
 * reached it (docs/configuration.md: "within 30 s").
 */
export const SLA_OVERRIDE_MAX_AGE_MS = 30_000;

/**
 * The config in force for one env (one per isolate in production; the Durable Objects of a deployment read the same
 * vars): the vars resolved once (`parseConfig`), and this isolate's copy of the runtime SLA config under one refresh
 * rule. Every part of the gateway — the worker, the registry, the route objects — asks `configFor(env)` and judges
 * by `sla()`: the runtime config when one is set, else the `SLA_CONFIG` var, else the built-in default.
 */
export class ConfigInForce {
  /** The vars as resolved: the whole config, or its problems plus the part that is valid anyway (`service`). */
  readonly result: ConfigResult;
  private override: string | null = null;
  /** When the copy of the override was last read or written here (-Infinity: never). */
  private overrideAt = Number.NEGATIVE_INFINITY;
  private parsed: { text: string; result: SlaConfigResult } | null = null;

  constructor(env: object) {
    this.result = parseConfig(env as Record<string, unknown>);
    if (!this.result.ok) console.error(`llm-sla-gateway: invalid configuration:\n  ${this.result.problems.join('\n  ')}`);
  }

  /** The whole config, or null when the vars are invalid. */
  get config(): ResolvedConfig | null {
    return this.result.ok ? this.result.config : null;
  }

  /** Tokens, the `SLA_CONFIG` var and the webhook: there even when the rest of the config is invalid. */
  get service(): ServiceConfig {
    return this.result.ok ? this.result.config : this.result.service;
  }

  /** The SLA config in force, as this isolate last saw the runtime config. */
  sla(): SlaConfigResult {
    const text = this.override;
    if (text === null) return this.service.sla;
    if (this.parsed?.text !== text) {
      const parsed = parseSlaConfig(text);
      this.parsed = { text, result: parsed.ok ? { ok: true, config: parsed.config, source: 'runtime' } : parsed };
    }
    return this.parsed.result;
  }

  /** The runtime SLA config text as last seen here (null: none, or never read yet). */
  get overrideText(): string | null {
    return this.override;
  }

  /** Records the runtime config as just read from (or written to) the registry. */
  setOverride(text: string | null, now: number): void {
    this.override = text;
    this.overrideAt = now;
  }

  /** Whether the copy is older than `SLA_OVERRIDE_MAX_AGE_MS` (or was never read). */
  overrideStale(now: number): boolean {
    return now - this.overrideAt > SLA_OVERRIDE_MAX_AGE_MS;
  }

  /**
   * Reads the runtime config again with `read` (the registry's `configOverride`) when the copy is stale. Marked
   * fresh first, so concurrent callers do not each ask; a failed read keeps the old copy until the next interval.
   */
  async refresh(read: () => Promise<string | null>, now: number): Promise<void> {
    if (!this.overrideStale(now)) return;
    this.overrideAt = now;
    try {
      this.setOverride(await read(), now);
    } catch (err) {
      console.error('llm-sla-gateway: could not read the runtime SLA config, keeping the last one', err instanceof Error ? err.message : String(err));
    }
  }
}

const inForce = new WeakMap<object, ConfigInForce>();

/** The config in force for an env: resolved on first use, then the same object for the env's lifetime. */
export function configFor(env: object): ConfigInForce {
  let c = inForce.get(env);
  if (!c) inForce.set(env, (c = new ConfigInForce(env)));
  return c;
}

/** The window `/sla` uses when none is asked for: the default block's, else 5m. */
export function defaultWindow(config: SlaConfig): string {
  return config.default?.window ?? DEFAULT_SLA_CONFIG.default?.window ?? '5m';
}
