import { configFor, type ConfigInForce } from '../config/in-force';
import type { ResolvedConfig } from '../config/resolve';
import { registry } from '../core/objects';
import { targetsFor } from '../core/sla/config';
import { BudgetCache } from './budget-gate';
import { isolateCounts } from './counts';
import { GatewayKeys } from './proxy/access';
import { RouteHealth } from './proxy/health';
import { RouteTails } from './proxy/tails';
import { DurableObjectRecorder } from './recorder/durable';
import { LogRecorder, MemoryRecorder, NoopRecorder, safeRecord, TeeRecorder, type Recorder } from './recorder/recorder';
import { analyticsDataset, AnalyticsRecorder } from './telemetry/analytics';
import { spanRecorderOf, type SpanRecorder } from './telemetry/recorder';

/** Where a gateway's call records go, chosen per env (`createGateway`'s `recorder` option; `defaultRecorder`). */
export type RecorderPick = (config: ResolvedConfig, env: Env) => Recorder;

const shared = { log: new LogRecorder(), memory: new MemoryRecorder(), none: new NoopRecorder() };
/** How old the route list an isolate limits new ingest routes by may be. */
const ROUTE_LIST_MAX_AGE_MS = 60_000;

/**
 * What the worker keeps per env, that is per isolate in production (one env per isolate; under vitest one per test
 * gateway): the config in force, the recorders, the gateway key digests, the team budget view, the span and
 * Analytics Engine recorders. Everything is made on first use and then reused; nothing else in the worker keeps
 * state per env. This isolate's counts live beside it (`counts.ts`), one set per JS isolate, under one id.
 */
export class Isolate {
  readonly config: ConfigInForce;
  private durable: DurableObjectRecorder | null = null;
  private readonly recorders = new Map<RecorderPick, Recorder>();
  private keys: Promise<GatewayKeys | null> | null = null;
  private budget: BudgetCache | null = null;
  private spans: SpanRecorder | null | undefined;
  /** What a policy's calls need of the isolate: its circuit breakers, its view of the targets' tails and hedge budgets, the jitter (made on the first such call). */
  private policyDeps: { health: RouteHealth; tails: RouteTails; random: () => number } | null = null;
  /** The registry's route keys as last read (for the per-request limit on new ones in ingest), and when. */
  private routes: { names: Set<string>; at: number; loading: Promise<void> | null } = { names: new Set(), at: -Infinity, loading: null };

  constructor(readonly env: Env) {
    this.config = configFor(env);
  }

  /** The batching recorder to the routes' Durable Objects (one per env, so records of many calls share a flush). */
  durableRecorder(config: ResolvedConfig): DurableObjectRecorder {
    return (this.durable ??= new DurableObjectRecorder(this.env, config));
  }

  /**
   * Where the calls' records go: the recorder `pick` chooses, plus span and GenAI metrics export (an OTLP endpoint
   * configured) and Analytics Engine (bound); after each record, this isolate's counts when they changed.
   */
  recorder(config: ResolvedConfig, pick: RecorderPick): Recorder {
    let r = this.recorders.get(pick);
    if (!r) {
      const spans = this.spanRecorder(config);
      const dataset = analyticsDataset(this.env);
      const parts = [pick(config, this.env), ...(spans ? [spans] : []), ...(dataset ? [new AnalyticsRecorder(dataset)] : [])];
      r = new ReportingRecorder(parts.length === 1 && parts[0] ? parts[0] : new TeeRecorder(parts), () => this.reportCounts(config));
      this.recorders.set(pick, r);
    }
    return r;
  }

  /** The span recorder, or null when no OTLP endpoint is configured. */
  spanRecorder(config: ResolvedConfig): SpanRecorder | null {
    if (this.spans === undefined) {
      // Tail sampling keeps slow calls by the SLA config in force (a runtime one included: this isolate's copy).
      const slowMsFor = (route: string): number | null => {
        const sla = this.config.sla();
        return sla.ok ? (targetsFor(sla.config, route).max_p95_ms ?? null) : null;
      };
      this.spans = spanRecorderOf(config, config.secrets, slowMsFor);
    }
    return this.spans;
  }

  /**
   * Whether the registry knows a route key, as this isolate last read its list (at most a minute old; routes this
   * isolate added since count as known). Until a first read lands each request waits for its own (workerd lets a
   * request wait only on its own I/O); after that a stale list is refreshed in `waitUntil`, one refresh at a time.
   * Unread (the registry down), only the routes added here are known: new ones stay limited per request.
   */
  async knownRoutes(ctx: { waitUntil(p: Promise<unknown>): void }, now: number): Promise<{ has(route: string): boolean; add(route: string): void }> {
    const view = this.routes;
    const load = () =>
      registry(this.env)
        .state()
        .then((s) => {
          view.names = new Set([...s.routes.map((r) => r.route), ...(view.at === -Infinity ? view.names : [])]);
          view.at = Math.max(view.at, now);
        })
        .catch((err: unknown) => console.error('llm-sla-gateway: could not read the route list', err instanceof Error ? err.message : String(err)));
    if (view.at === -Infinity) await load();
    else if (now - view.at > ROUTE_LIST_MAX_AGE_MS && view.loading === null) {
      view.loading = load().finally(() => (view.loading = null));
      ctx.waitUntil(view.loading);
    }
    return { has: (route) => view.names.has(route), add: (route) => void view.names.add(route) };
  }

  /** Records this env's durable recorder dropped and no route object has been told of yet (for /metrics). */
  droppedUnreported(): number {
    return this.durable?.stats.droppedUnreported ?? 0;
  }

  /** `GATEWAY_KEYS` as digests (computed once), or null when no gateway keys are configured. */
  gatewayKeys(config: ResolvedConfig): Promise<GatewayKeys | null> {
    return (this.keys ??= config.gatewayKeys === null ? Promise.resolve(null) : GatewayKeys.from(config.gatewayKeys));
  }

  /** The team budget view, or null when `BUDGETS` is unset (then the proxy does no budget work at all). */
  budgets(config: ResolvedConfig): BudgetCache | null {
    if (config.budgets === null) return null;
    return (this.budget ??= new BudgetCache(this.env, config.budgets));
  }

  /**
   * Keeps this isolate's copies of the runtime SLA config and policies fresh: one registry RPC, from a call's
   * waitUntil, when either is older than the refresh interval.
   */
  refreshOverrides(now: number): Promise<void> | null {
    return this.config.overridesStale(now) ? this.config.refreshOverrides(() => registry(this.env).overrides(), now) : null;
  }

  /** What the calls of a route with a policy need: this isolate's circuit breakers, its view of the targets' tails and hedge budgets, the jitter. */
  readonly resilience = (): { health: RouteHealth; tails: RouteTails; random: () => number } =>
    (this.policyDeps ??= { health: new RouteHealth(this.env), tails: new RouteTails(this.env.ROUTE_STATS), random: Math.random });

  /** Sends this isolate's counts to the registry when they changed, at most once per `TELEMETRY_COUNTS_INTERVAL_MS`. */
  reportCounts(config: Pick<ResolvedConfig, 'countsIntervalMs'>): Promise<void> | void {
    return isolateCounts.report((id, totals) => registry(this.env).reportTotals(id, totals), config.countsIntervalMs);
  }

  /** Sends them now (`/metrics`: the answer is current for this isolate whatever the interval). */
  reportCountsNow(): Promise<void> {
    return isolateCounts.reportNow((id, totals) => registry(this.env).reportTotals(id, totals));
  }
}

/** A recorder followed by the isolate's count report, in the same waitUntil. */
class ReportingRecorder implements Recorder {
  constructor(
    private readonly inner: Recorder,
    private readonly report: () => Promise<void> | void,
  ) {}

  record(record: Parameters<Recorder['record']>[0]): Promise<void> | void {
    const p = safeRecord(this.inner, record);
    if (!p) return this.report();
    return p.then(this.report);
  }
}

const isolates = new WeakMap<object, Isolate>();

/** The worker's state for an env: made on first use. */
export function isolateFor(env: Env): Isolate {
  let i = isolates.get(env);
  if (!i) isolates.set(env, (i = new Isolate(env)));
  return i;
}

/** The `RECORDER` var's choice: the durable recorder of this env's isolate, the shared log/memory/no-op recorders. */
export function defaultRecorder(config: ResolvedConfig, env: Env): Recorder {
  const recorders = config.recorders.map((kind) => (kind === 'durable' ? isolateFor(env).durableRecorder(config) : shared[kind]));
  if (recorders.length === 1 && recorders[0]) return recorders[0];
  return new TeeRecorder(recorders);
}
