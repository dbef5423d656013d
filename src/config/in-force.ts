import { DEFAULT_SLA_CONFIG, parseSlaConfig, type SlaConfig } from '../core/sla/config';
import { parseOpenSlo, withOpenSlo } from '../core/sla/openslo';
import { parseConfig, type ConfigResult, type ResolvedConfig } from './resolve';
import type { ServiceConfig, SlaConfigResult } from './service';

export type { SlaConfigResult } from './service';

/**
 * What the registry holds at runtime: an SLA config (`PUT /sla/config`, JSON) and OpenSLO documents
 * (`PUT /sla/openslo`, YAML); null where none is set (the var, if any, is in force).
 */
export interface RuntimeSla {
  config: string | null;
  openslo: string | null;
}

export const NO_RUNTIME_SLA: RuntimeSla = Object.freeze({ config: null, openslo: null });

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
 * by `sla()`: the runtime config when one is set, else the `SLA_CONFIG` var, else the built-in default; with the
 * OpenSLO documents in force (runtime, else the `OPENSLO` var) written into it as route `slo` blocks.
 */
export class ConfigInForce {
  /** The vars as resolved: the whole config, or its problems plus the part that is valid anyway (`service`). */
  readonly result: ConfigResult;
  private override: RuntimeSla = NO_RUNTIME_SLA;
  /** When the copy of the override was last read or written here (-Infinity: never). */
  private overrideAt = Number.NEGATIVE_INFINITY;
  private parsed: { config: string | null; openslo: string | null; result: SlaConfigResult } | null = null;

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
    const { config, openslo } = this.override;
    const documents = openslo ?? this.service.opensloText;
    if (config === null && documents === null) return this.service.sla;
    if (this.parsed?.config !== config || this.parsed.openslo !== documents) {
      this.parsed = { config, openslo: documents, result: this.resolve(config, documents, openslo !== null ? 'runtime' : 'env') };
    }
    return this.parsed.result;
  }

  /** The SLA config in force before any OpenSLO document is written into it (the runtime JSON, else the var). */
  jsonSla(): SlaConfigResult {
    return this.resolve(this.override.config, null, 'env');
  }

  /** The OpenSLO documents in force (runtime, else the `OPENSLO` var) and where they come from; null: none. */
  openSlo(): { text: string; source: 'runtime' | 'env' } | null {
    if (this.override.openslo !== null) return { text: this.override.openslo, source: 'runtime' };
    return this.service.opensloText === null ? null : { text: this.service.opensloText, source: 'env' };
  }

  /** An SLA config (JSON text, null: the var's) with OpenSLO documents (null: none) merged in. */
  private resolve(config: string | null, documents: string | null, from: 'runtime' | 'env'): SlaConfigResult {
    let base: SlaConfigResult = this.service.sla;
    if (config !== null) {
      const parsed = parseSlaConfig(config);
      base = parsed.ok ? { ok: true, config: parsed.config, source: 'runtime' } : parsed;
    }
    return documents === null ? base : mergeOpenSlo(base, documents, from);
  }

  /** The runtime SLA config and OpenSLO documents as last seen here (none, or never read yet: both null). */
  get overrideText(): RuntimeSla {
    return this.override;
  }

  /** Records the runtime config as just read from (or written to) the registry. */
  setOverride(runtime: RuntimeSla, now: number): void {
    this.override = runtime;
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
  async refresh(read: () => Promise<RuntimeSla>, now: number): Promise<void> {
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

/**
 * OpenSLO documents (`OPENSLO` or `PUT /sla/openslo`, `from`) written into an SLA config in force: its problems, or
 * theirs, or the merge's (an SLO set in both places), are the config's problems.
 */
export function mergeOpenSlo(base: SlaConfigResult, documents: string, from: 'runtime' | 'env'): SlaConfigResult {
  if (!base.ok) return base;
  const parsed = parseOpenSlo(documents, from === 'env' ? 'OPENSLO' : 'OpenSLO (PUT /sla/openslo)');
  if (!parsed.ok) return { ok: false, problems: parsed.problems };
  const merged = withOpenSlo(base.config, parsed.slos);
  return merged.ok ? { ok: true, config: merged.config, source: base.source, openslo: from } : merged;
}
