/**
 * The route the calls of routes past the cap (`MAX_ROUTES`) are recorded under. It does not match `ROUTE_KEY`
 * (a route key starts with a letter or digit), so no client can name it.
 */
export const OVERFLOW_ROUTE = '_overflow';

/** How long an isolate, told by the registry that the cap is reached, files unknown routes as overflow unasked. */
export const FULL_RECHECK_MS = 60_000;

/** What the registry answers a registration: the routes it knows (old or just added) and whether the cap is reached. */
export interface Admission {
  admitted: string[];
  full: boolean;
}
