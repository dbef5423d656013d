import { DEFAULT_SLA_CONFIG, parseSlaConfig, type SlaConfig } from '../core/sla/config';
import { parseOpenSlo, withOpenSlo } from '../core/sla/openslo';
import type { ResolvedPolicy } from '../core/resilience/policy';
import { checkPolicies, hasPolicies, resolvePolicy, type Policies, type PoliciesResult } from './policies';
import { parseConfig, type ConfigResult, type ResolvedConfig } from './resolve';
import { OVERRIDE_MAX_AGE_MS, RuntimeCopy } from './runtime-copy';
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

/** The one refresh rule of every runtime copy (src/config/runtime-copy.ts). */
export const SLA_OVERRIDE_MAX_AGE_MS = OVERRIDE_MAX_AGE_MS;

/** Everything the registry holds at runtime, as one RPC answers it (`SlaRegistry.overrides`). */
export interface RuntimeOverrides {
  sla: RuntimeSla;
  /** `PUT /policies` (JSON), null: none set (the `POLICIES` var, if any, is in force). */
  policies: string | null;
}

/** The policies in force: the runtime ones (`PUT /policies`), else the `POLICIES` var, else none. */
export interface PoliciesInForce {
  readonly source: 'runtime' | 'env' | 'none';
  /** Null when no policy is in force (none set, or the ones set are invalid): no call looks a route up. */
  readonly table: PolicyTable | null;
  readonly policies: Policies | null;
  /** Why the policies set are not in force (an invalid var, or a runtime text the current providers refuse). */
  readonly problems: readonly string[];
}

const NO_POLICIES: PoliciesInForce = { source: 'none', table: null, policies: null, problems: [] };

/**
 * Each route's resolved policy, resolved on first use and kept (bounded: route keys are the client's strings, so
 * the memo starts over when full). A route whose policy changes nothing maps to null.
 */
export class PolicyTable {
  private readonly memo = new Map<string, ResolvedPolicy | null>();
  constructor(readonly policies: Policies) {}

  for(route: string): ResolvedPolicy | null {
    let p = this.memo.get(route);
    if (p === undefined) {
      if (this.memo.size >= 1000) this.memo.clear();
      this.memo.set(route, (p = resolvePolicy(this.policies, route)));
    }
    return p;
  }
}

/**
 * The config in force for one env (one per isolate in production; the Durable Objects of a deployment read the same
 * vars): the vars resolved once (`parseConfig`), and this isolate's copies of the configs set at runtime under one
 * refresh rule (`SLA_OVERRIDE_MAX_AGE_MS`). Every part of the gateway — the worker, the registry, the route objects —
 * asks `configFor(env)` and judges by `sla()`: the runtime config when one is set, else the `SLA_CONFIG` var, else
 * the built-in default; with the OpenSLO documents in force (runtime, else the `OPENSLO` var) written into it as
 * route `slo` blocks. The proxy asks `policies()`: the runtime policies, else `POLICIES`.
 */
export class ConfigInForce {
  /** The vars as resolved: the whole config, or its problems plus the part that is valid anyway (`service`). */
  readonly result: ConfigResult;
  private override: RuntimeSla = NO_RUNTIME_SLA;
  /** When the copy of the override was last read or written here (-Infinity: never). */
  private overrideAt = Number.NEGATIVE_INFINITY;
  private parsed: { config: string | null; openslo: string | null; result: SlaConfigResult } | null = null;
  private readonly runtimePolicies: RuntimeCopy<PoliciesInForce>;

  constructor(env: object) {
    this.result = parseConfig(env as Record<string, unknown>);
    if (!this.result.ok) console.error(`llm-sla-gateway: invalid configuration:\n  ${this.result.problems.join('\n  ')}`);
    this.runtimePolicies = new RuntimeCopy((text) => this.policiesOf(text), 'policies');
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

  /** The policies in force, as this isolate last saw the runtime ones. */
  policies(): PoliciesInForce {
    return this.runtimePolicies.value();
  }

  /** The runtime policies text as last seen here (null: none, or never read yet). */
  get policiesText(): string | null {
    return this.runtimePolicies.current;
  }

  /** Records the runtime policies as just read from (or written to) the registry. */
  setPolicies(text: string | null, now: number): void {
    this.runtimePolicies.set(text, now);
  }

  /** Whether either runtime copy (SLA config, policies) is stale. */
  overridesStale(now: number): boolean {
    return this.overrideStale(now) || this.runtimePolicies.stale(now);
  }

  /** Reads every runtime config in one RPC (`read`: the registry's `overrides`) when either copy is stale. */
  async refreshOverrides(read: () => Promise<RuntimeOverrides>, now: number): Promise<void> {
    if (!this.overridesStale(now)) return;
    const reading = read();
    reading.catch(() => undefined); // each copy's refresh reports the failure
    await Promise.all([this.refresh(() => reading.then((a) => a.sla), now), this.runtimePolicies.refresh(() => reading.then((a) => a.policies), now)]);
  }

  /** The policies a runtime text (null: none, so the var's) puts in force, checked against this env's providers. */
  private policiesOf(text: string | null): PoliciesInForce {
    const config = this.config;
    if (config === null) return NO_POLICIES;
    const result: PoliciesResult = text === null ? config.policies : checkPolicies(text, config.providers, config.managedKeys);
    const source = text !== null ? 'runtime' : config.policiesText !== null ? 'env' : 'none';
    if (!result.ok) {
      if (text !== null) console.error(`llm-sla-gateway: the runtime policies are not valid here, none in force:\n  ${result.problems.join('\n  ')}`);
      return { source, table: null, policies: null, problems: result.problems };
    }
    return { source, table: hasPolicies(result.policies) ? new PolicyTable(result.policies) : null, policies: result.policies, problems: [] };
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
