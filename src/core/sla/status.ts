import type { SlaStatus } from './evaluate';

/** What the registry keeps per route between its evaluations, to debounce status alerts. */
export interface AlertState {
  /** The status last alerted on (the first evaluation's status sets it without an alert). */
  status: SlaStatus;
  /** A different status seen in a row, and how many evaluations running. */
  pending: SlaStatus | null;
  streak: number;
}

export interface StatusChange {
  from: SlaStatus;
  to: SlaStatus;
}

/**
 * Feeds one evaluation in. A status change alerts only after `alertAfter` consecutive evaluations agree, so a single
 * slow minute on the edge of a target does not page anyone twice (once failing, once recovering).
 */
export function trackStatus(
  previous: AlertState | null,
  status: SlaStatus,
  alertAfter: number,
): { state: AlertState; change: StatusChange | null } {
  if (previous === null) return { state: { status, pending: null, streak: 0 }, change: null };
  if (status === previous.status) return { state: { status, pending: null, streak: 0 }, change: null };
  const streak = status === previous.pending ? previous.streak + 1 : 1;
  if (streak >= alertAfter) {
    return { state: { status, pending: null, streak: 0 }, change: { from: previous.status, to: status } };
  }
  return { state: { status: previous.status, pending: status, streak }, change: null };
}
