/**
 * This isolate's counts of what never reaches a client — records lost, recorders and the token estimator failing,
 * warnings answered, labels cut, calls sent to the overflow route, budget store faults, Analytics Engine points
 * refused, span export results — in one object under one isolate id, sent to the registry by one reporter so that
 * `/metrics` shows them whichever isolate answers.
 *
 * Names are the registry's (`[a-z_]+`, see `SlaRegistry.reportTotals`): `gateway_*`, `labels_cut_*`,
 * `routes_overflow_calls`, `budget_*`, `analytics_points_failed`, and the span export counts of
 * `telemetry/exporter.ts` (`spans_*`, `exports_*`, ...). Totals, not deltas: a report that is lost or fails loses
 * nothing, the next one carries it; the registry keeps the largest it has seen per isolate and sums isolates.
 *
 * One instance per module instance, that is per JS isolate: every env object an isolate serves (one in production,
 * one per test gateway under vitest) counts into the same totals.
 */
export class IsolateCounts {
  private readonly values: Map<string, number>;
  /** Grows with every count: tells the reporter whether the totals changed since it last sent them. */
  private version = 0;
  private reportedVersion = 0;
  private lastReportAt = Number.NEGATIVE_INFINITY;
  /** When the next scheduled report reads the totals (it runs in the waitUntil of the call that scheduled it). */
  private nextReportAt = Number.NEGATIVE_INFINITY;
  private isolate: string | null = null;

  /** `names`: counts listed (as 0) before anything is counted. */
  constructor(names: readonly string[] = []) {
    this.values = new Map(names.map((n) => [n, 0]));
  }

  add(name: string, n = 1): void {
    if (n === 0) return;
    this.values.set(name, (this.values.get(name) ?? 0) + n);
    this.version++;
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  totals(): Record<string, number> {
    return Object.fromEntries(this.values);
  }

  /** Names this isolate's totals in the registry (made on first use: workerd forbids randomness at global scope). */
  id(): string {
    return (this.isolate ??= crypto.randomUUID());
  }

  /**
   * Sends the totals when they changed, at most once per `intervalMs` (not one registry RPC per call): at once when
   * the last report is older, else from this call's own timer when the interval is over. A call that counted before
   * a scheduled report is due leaves it to that report; a call after the due time schedules the next. No call waits
   * on a promise of another (workerd cancels a finished request's work): if the call that scheduled a report is
   * cancelled first, the next call after the due time schedules a new one.
   */
  report(send: SendTotals, intervalMs: number): Promise<void> | void {
    if (this.version === this.reportedVersion) return;
    const now = Date.now();
    if (this.nextReportAt > now) return;
    const at = Math.max(now, this.lastReportAt + intervalMs);
    this.nextReportAt = at;
    return this.send(send, at - now);
  }

  /** Sends the totals now, whatever the interval (`/metrics`, so that the answer is current here). Never rejects. */
  reportNow(send: SendTotals): Promise<void> {
    return this.send(send, 0);
  }

  private async send(send: SendTotals, delayMs: number): Promise<void> {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    this.lastReportAt = Date.now();
    const version = this.version;
    if (version === this.reportedVersion) return;
    try {
      await send(this.id(), this.totals());
      this.reportedVersion = Math.max(this.reportedVersion, version);
    } catch {
      // the next report carries these totals
    }
  }
}

export type SendTotals = (isolate: string, totals: Record<string, number>) => Promise<void>;

/** The counts of what the request path loses or works around, listed from the start (0 until counted). */
const GATEWAY_COUNTS = [
  'gateway_records_lost',
  'gateway_recorder_failures',
  'gateway_estimator_loads',
  'gateway_estimator_failures',
  'gateway_price_catalog_failures',
  'gateway_warning_invalid_route_header',
  'labels_cut_model',
  'labels_cut_team',
  'labels_cut_route',
  'routes_overflow_calls',
];

export const isolateCounts = new IsolateCounts(GATEWAY_COUNTS);

/** Counts a label `capLabel` had to change (`labels_cut_model`, `_team`, `_route`). */
export function countCut(kind: string): void {
  isolateCounts.add(`labels_cut_${kind}`);
}
