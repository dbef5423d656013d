import { DEFAULT_SLA_CONFIG, parseSlaConfig, type SlaConfig } from '../core/sla/config';
import type { ResolvedPolicy } from '../core/resilience/policy';
import { checkPolicies, hasPolicies, resolvePolicy, type Policies, type PoliciesResult } from './policies';
import { parseConfig, type ConfigResult, type ResolvedConfig } from './resolve';
import { OVERRIDE_MAX_AGE_MS, RuntimeCopy } from './runtime-copy';
import type { ServiceConfig, SlaConfigResult } from './service';

export type { SlaConfigResult } from './service';

/** The one refresh rule of every runtime copy (src/config/runtime-copy.ts). */
export const SLA_OVERRIDE_MAX_AGE_MS = OVERRIDE_MAX_AGE_MS;

/** The configs the registry holds at runtime, as one RPC answers them (`SlaRegistry.overrides`). */
export interface RuntimeOverrides {
  sla: string | null;
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
 * vars): the vars resolved once (`parseConfig`), and this process's copies of the configs set at runtime, under one
 * refresh rule (`RuntimeCopy`). Every part of the gateway asks `configFor(env)`: `sla()` — the runtime SLA config,
 * else `SLA_CONFIG`, else the built-in default — and `policies()` — the runtime policies, else `POLICIES`.
 */
export class ConfigInForce {
  /** The vars as resolved: the whole config, or its problems plus the part that is valid anyway (`service`). */
  readonly result: ConfigResult;
  private readonly runtimeSla: RuntimeCopy<SlaConfigResult | null>;
  private readonly runtimePolicies: RuntimeCopy<PoliciesInForce>;

  constructor(env: object) {
    this.result = parseConfig(env as Record<string, unknown>);
    if (!this.result.ok) console.error(`llm-sla-gateway: invalid configuration:\n  ${this.result.problems.join('\n  ')}`);
    this.runtimeSla = new RuntimeCopy((text) => {
      if (text === null) return null;
      const parsed = parseSlaConfig(text);
      return parsed.ok ? { ok: true, config: parsed.config, source: 'runtime' } : parsed;
    }, 'SLA config');
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

  /** The SLA config in force, as this process last saw the runtime config. */
  sla(): SlaConfigResult {
    return this.runtimeSla.value() ?? this.service.sla;
  }

  /** The policies in force, as this process last saw the runtime ones. */
  policies(): PoliciesInForce {
    return this.runtimePolicies.value();
  }

  /** The runtime SLA config text as last seen here (null: none, or never read yet). */
  get overrideText(): string | null {
    return this.runtimeSla.current;
  }

  /** The runtime policies text as last seen here. */
  get policiesText(): string | null {
    return this.runtimePolicies.current;
  }

  /** Records the runtime SLA config as just read from (or written to) the registry. */
  setOverride(text: string | null, now: number): void {
    this.runtimeSla.set(text, now);
  }

  /** Records the runtime policies as just read from (or written to) the registry. */
  setPolicies(text: string | null, now: number): void {
    this.runtimePolicies.set(text, now);
  }

  /** Whether the SLA config copy is older than the refresh interval (or was never read). */
  overrideStale(now: number): boolean {
    return this.runtimeSla.stale(now);
  }

  /** Reads the runtime SLA config again (`read`: the registry's `configOverride`) when the copy is stale. */
  refresh(read: () => Promise<string | null>, now: number): Promise<void> {
    return this.runtimeSla.refresh(read, now);
  }

  /** Whether either runtime copy is stale. */
  overridesStale(now: number): boolean {
    return this.runtimeSla.stale(now) || this.runtimePolicies.stale(now);
  }

  /** Reads both runtime configs in one RPC (`read`: the registry's `overrides`) when either copy is stale. */
  async refreshOverrides(read: () => Promise<RuntimeOverrides>, now: number): Promise<void> {
    if (!this.overridesStale(now)) return;
    const reading = read();
    reading.catch(() => undefined); // each copy's refresh reports the failure
    await Promise.all([
      this.runtimeSla.refresh(() => reading.then((a) => a.sla), now),
      this.runtimePolicies.refresh(() => reading.then((a) => a.policies), now),
    ]);
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
