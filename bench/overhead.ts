import type { SequentialSummary } from './compare';
import type { Goal } from './goals';

/**
 * What the gateway says it added (`Server-Timing: gateway;dur=`, p50 over the sequential calls of (a)) against what
 * the client measures from outside: the gateway's overhead over calling the upstream directly, less the bare
 * pass-through worker's (the runtime's own cost of putting a worker in the path: receiving the request, the second
 * connection, sending the response — time no code inside the worker can see). `upstream;dur=` is held against the
 * direct call the same way.
 */
export interface OverheadAgreement {
  reportedGatewayP50: number;
  reportedUpstreamP50: number;
  /** Gateway p50 - direct p50, measured by the client. */
  outsideOverheadP50: number;
  /** Floor p50 - direct p50: the runtime's share. */
  floorOverheadP50: number;
  /** outside - floor: what the gateway's code added, seen from outside. */
  codeOverheadP50: number;
  directP50: number;
}

/**
 * Agreement within one tick of the clock a worker has: workerd's `Date.now()` moves in whole milliseconds and only
 * across I/O, so a sub-millisecond overhead reads 0 or 1 ms, never in between.
 */
export const AGREEMENT_MS = 1;

export function overheadAgreement(a: Record<string, SequentialSummary>): { figures: OverheadAgreement; goal: Goal } {
  const p50 = (name: string) => a[name]?.p50 ?? Number.NaN;
  const reported = a['gateway']?.reported;
  const outside = p50('gateway') - p50('direct');
  const floor = p50('floor') - p50('direct');
  const figures: OverheadAgreement = {
    reportedGatewayP50: reported?.gatewayP50 ?? Number.NaN,
    reportedUpstreamP50: reported?.upstreamP50 ?? Number.NaN,
    outsideOverheadP50: outside,
    floorOverheadP50: floor,
    codeOverheadP50: outside - floor,
    directP50: p50('direct'),
  };
  const diff = Math.abs(figures.reportedGatewayP50 - figures.codeOverheadP50);
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  // And never more than the whole overhead seen from outside.
  const within = figures.reportedGatewayP50 <= outside;
  return {
    figures,
    goal: {
      key: 'server_timing_agrees',
      what: `Server-Timing gateway p50 ${r3(figures.reportedGatewayP50)} ms against the overhead measured outside less the bare worker's (${r3(outside)} - ${r3(floor)} = ${r3(figures.codeOverheadP50)} ms); |difference|, ms`,
      value: r3(diff),
      goal: `<= ${AGREEMENT_MS} (one tick of the Workers clock), and at most the outside overhead`,
      met: diff <= AGREEMENT_MS && within,
    },
  };
}
