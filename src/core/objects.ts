/**
 * The Durable Objects by name, as the worker and the other objects reach them: their stubs and the shapes they
 * exchange. No I/O here: making a stub is not calling it. The stub types come from the generated `Env` (`wrangler
 * types`), so only the entry (src/index.ts) imports durable-objects/; the objects import what they share from src/.
 */

/** The namespace of the per-route objects, as bound in `Env`. */
export type RouteStatsNamespace = Env['ROUTE_STATS'];
export type RouteStatsStub = ReturnType<RouteStatsNamespace['get']>;
export type RegistryStub = ReturnType<Env['SLA_REGISTRY']['get']>;
export type TeamBudgetsStub = ReturnType<Env['TEAM_BUDGETS']['get']>;

/** A route the registry knows, and how many objects (shards) hold it. */
export interface RouteEntry {
  route: string;
  shards: number;
  /** A provider's default route key (`<provider>/<operation>`): admitted beyond `MAX_ROUTES`. */
  reserved?: boolean;
}

/** What `/sla` needs from the registry in one call. */
export interface RegistryState {
  routes: RouteEntry[];
  /** SLA config set with `PUT /sla/config` (JSON text) and OpenSLO set with `PUT /sla/openslo`; null: the vars'. */
  configOverride: { config: string | null; openslo: string | null };
}

/** The one registry object. */
export function registry(env: Pick<Env, 'SLA_REGISTRY'>): RegistryStub {
  return env.SLA_REGISTRY.get(env.SLA_REGISTRY.idFromName('registry'));
}

/** The Durable Object of one shard of a route. */
export function routeStub(ns: RouteStatsNamespace, route: string, shard: number): RouteStatsStub {
  return ns.get(ns.idFromName(`${route}#${shard}`));
}

/** The one team budgets object. */
export function teamBudgets(env: Pick<Env, 'TEAM_BUDGETS'>): TeamBudgetsStub {
  return env.TEAM_BUDGETS.get(env.TEAM_BUDGETS.idFromName('budgets'));
}

