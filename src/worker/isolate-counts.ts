import { boundTotals } from './counts';
import { lostRecords } from './proxy/handler';
import { recorderStats } from './recorder/recorder';
import { estimatorStats } from './usage/estimate';
import { ROUTE_KEY } from '../core/record';

/**
 * This isolate's counts of things that went wrong without reaching the client (records lost, recorders failed, the
 * token estimator) and of warnings the gateway answered with, as totals the registry sums over isolates so that
 * `/metrics` shows them whichever isolate answers. Names are `gateway_*` (the registry's counter namespace is shared
 * with span export's `spans_*`).
 */
export const warnings = { invalid_route_header: 0 };

export function isolateTotals(): Record<string, number> {
  return {
    gateway_records_lost: lostRecords.count,
    gateway_recorder_failures: recorderStats.failures,
    gateway_estimator_loads: estimatorStats.loads,
    gateway_estimator_failures: estimatorStats.failures,
    gateway_warning_invalid_route_header: warnings.invalid_route_header,
    ...boundTotals(),
  };
}

let isolate: string | null = null;
/** Names this isolate's totals in the registry (made on first use: workerd forbids randomness at global scope). */
export function isolateId(): string {
  return (isolate ??= crypto.randomUUID());
}

let reported = '';
/** The totals when they changed since the last call (the caller sends them), else null. */
export function changedTotals(): Record<string, number> | null {
  const totals = isolateTotals();
  const key = JSON.stringify(totals);
  if (key === reported || Object.values(totals).every((n) => n === 0)) return null;
  reported = key;
  return totals;
}

/** Lets a failed report be sent again with the next change (or the next /metrics). */
export function forgetReported(): void {
  reported = '';
}

export const ROUTE_HEADER_WARNING =
  'x-sla-route ignored: a route key is 1-128 chars of letters, digits, . _ : / -, starting with a letter or digit; the call is recorded under its default route key';

/**
 * The `x-sla-warning` a call gets for an invalid `x-sla-route` (counted), or null. A measurement label never breaks
 * a call: the call goes through and is recorded under its default route key (see `proxy`).
 */
export function routeHeaderWarning(headers: Headers): string | null {
  const route = headers.get('x-sla-route');
  if (route === null || ROUTE_KEY.test(route)) return null;
  warnings.invalid_route_header++;
  return ROUTE_HEADER_WARNING;
}
