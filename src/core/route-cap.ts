import { MIN_HOURS } from './sla/slo-ledger';

/**
 * The route the calls of routes past the cap (`MAX_ROUTES`) are recorded under. It does not match `ROUTE_KEY`
 * (a route key starts with a letter or digit), so no client can name it.
 */
export const OVERFLOW_ROUTE = '_overflow';

/** How long an isolate, told by the registry that the cap is reached, files unknown routes as overflow unasked. */
export const FULL_RECHECK_MS = 60_000;

/**
 * An isolate registers each route it files again after this long, so the registry's `last_seen` of a route in use
 * is never older than this (plus the isolate's flush).
 */
export const REREGISTER_MS = 3_600_000;

/** Hourly rollups a route object keeps (`WindowStore`'s default): past them, an idle route's windows are empty. */
const WINDOW_HOURS = 48;

/**
 * How long a route may go unseen before it leaves the registry: its objects' data is gone by then — the windows'
 * 48 h, or for a route with an SLO its good/bad counters' period (at least 72 h, `slo-ledger.ts`) — plus the
 * re-registration interval by which `last_seen` may lag.
 */
export function routeIdleLimitMs(sloPeriodHours: number | null): number {
  const hours = sloPeriodHours === null ? WINDOW_HOURS : Math.max(WINDOW_HOURS, MIN_HOURS, sloPeriodHours);
  return hours * 3_600_000 + REREGISTER_MS;
}

/**
 * The most new route keys one `/v1/traces` or `/v1/timings` request may add (`INGEST_MAX_NEW_ROUTES` overrides):
 * a request naming more files the rest's items under the overflow route, so one request cannot take the cap.
 */
export const INGEST_MAX_NEW_ROUTES = 20;

/**
 * The records of one ingest request with the items of route keys past the first `maxNew` new ones (not `known`)
 * moved to the overflow route; `limited` counts them. The first new keys in the request's order are kept.
 */
export function limitNewRoutes<R extends { route: string }>(records: readonly R[], known: (route: string) => boolean, maxNew: number): { records: R[]; limited: number; added: string[] } {
  const added: string[] = [];
  const taken = new Set<string>();
  let limited = 0;
  const out = records.map((r) => {
    if (taken.has(r.route) || known(r.route)) return r;
    if (added.length < maxNew) {
      added.push(r.route);
      taken.add(r.route);
      return r;
    }
    limited++;
    return { ...r, route: OVERFLOW_ROUTE };
  });
  return { records: out, limited, added };
}

/** What the registry answers a registration: the routes it knows (old or just added) and whether the cap is reached. */
export interface Admission {
  admitted: string[];
  full: boolean;
}
