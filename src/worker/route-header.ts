import { ROUTE_KEY } from '../core/labels';
import { isolateCounts } from './counts';

export const ROUTE_HEADER_WARNING =
  'x-sla-route ignored: a route key is 1-128 chars of letters, digits, . _ : / -, starting with a letter or digit; the call is recorded under its default route key';

/**
 * The `x-sla-warning` a call gets for an invalid `x-sla-route` (counted: `gateway_warning_invalid_route_header`), or
 * null. A measurement label never breaks a call: the call goes through and is recorded under its default route key.
 */
export function routeHeaderWarning(headers: Headers): string | null {
  const route = headers.get('x-sla-route');
  if (route === null || ROUTE_KEY.test(route)) return null;
  isolateCounts.add('gateway_warning_invalid_route_header');
  return ROUTE_HEADER_WARNING;
}
