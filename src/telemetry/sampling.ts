import type { TelemetryConfig } from '../config/telemetry';
import type { CallRecord, Outcome } from '../record';

/** A parsed W3C `traceparent` (version 00). */
export interface TraceParent {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function parseTraceparent(header: string | null): TraceParent | null {
  const m = header === null ? null : TRACEPARENT.exec(header.trim());
  if (!m?.[1] || !m[2] || !m[3]) return null;
  if (/^0+$/.test(m[1]) || /^0+$/.test(m[2])) return null;
  return { traceId: m[1], spanId: m[2], sampled: (parseInt(m[3], 16) & 1) === 1 };
}

/** The TraceIdRatioBased rule: the low 52 bits of the trace id, as a fraction, below the ratio. */
export function traceIdBelow(traceId: string, ratio: number): boolean {
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  return parseInt(traceId.slice(-13), 16) / 2 ** 52 < ratio;
}

/**
 * Head decision. `critical` calls are always kept. The parent-based samplers follow the caller's sampled flag when
 * a traceparent came in; otherwise the priority's ratio decides, by trace id, so every gateway call of one trace
 * decides alike.
 */
export function headKeeps(config: Pick<TelemetryConfig, 'sampler' | 'ratios'>, record: Pick<CallRecord, 'priority'>, traceId: string, parent: TraceParent | null): boolean {
  if (record.priority === 'critical') return true;
  const s = config.sampler;
  if (s.startsWith('parentbased_') && parent) return parent.sampled;
  if (s === 'always_on' || s === 'parentbased_always_on') return true;
  if (s === 'always_off' || s === 'parentbased_always_off') return false;
  return traceIdBelow(traceId, config.ratios[record.priority]);
}

const ERRORS: ReadonlySet<Outcome> = new Set(['upstream_error', 'rate_limited', 'network_error', 'timeout']);

/** Tail rules: errors (5xx, 429, network errors, timeouts) and calls slower than `slowMs` are always kept. */
export function tailReason(record: Pick<CallRecord, 'outcome' | 'totalMs'>, slowMs: number | null): 'error' | 'slow' | null {
  if (ERRORS.has(record.outcome)) return 'error';
  if (slowMs !== null && record.totalMs > slowMs) return 'slow';
  return null;
}
