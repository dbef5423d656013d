import type { TelemetryConfig } from '../../config/telemetry';
import type { CallRecord, Outcome } from '../../core/record';

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

/**
 * The OpenTelemetry consistent-probability rule (tracestate `ot=th:<threshold>`): a trace is kept when its
 * randomness (the low 56 bits of the trace id) is at or above the rejection threshold `(1 - p) * 2^56`. The threshold
 * is kept to 52 bits (13 hex digits, then a zero) so it is exact in a double; the probability a span says it was kept
 * with is the one this rounded threshold gives.
 */
export interface Threshold {
  /** The threshold's top 52 bits: keep when the trace id's randomness >> 4 is at least this. */
  readonly t52: number;
  /** The probability this threshold keeps a trace with. */
  readonly probability: number;
  /** The `th` value for tracestate: hex, trailing zeros removed (`0` keeps everything). */
  readonly th: string;
}

const TWO_52 = 2 ** 52;
const thresholds = new Map<number, Threshold>();

/** The threshold for probability `p` (0 < p <= 1); memoised, a handful of values are in use at a time. */
export function thresholdFor(p: number): Threshold {
  let t = thresholds.get(p);
  if (t) return t;
  const t52 = Math.min(TWO_52 - 1, Math.max(0, Math.round((1 - p) * TWO_52)));
  const th = t52 === 0 ? '0' : `${t52.toString(16).padStart(13, '0')}0`.replace(/0+$/, '');
  t = { t52, probability: 1 - t52 / TWO_52, th };
  if (thresholds.size > 4096) thresholds.clear();
  thresholds.set(p, t);
  return t;
}

/** Whether a trace id's randomness passes the threshold of probability `p`. */
export function traceIdKeeps(traceId: string, p: number): boolean {
  if (p >= 1) return true;
  if (p <= 0) return false;
  return parseInt(traceId.slice(-14, -1), 16) >= thresholdFor(p).t52;
}

/** A head decision: kept or not, and the probability it was made with (null when a caller's flag decided). */
export interface HeadDecision {
  readonly keep: boolean;
  readonly probability: number | null;
}

const ALWAYS: HeadDecision = { keep: true, probability: 1 };
const NEVER: HeadDecision = { keep: false, probability: 0 };
const PARENT_KEPT: HeadDecision = { keep: true, probability: null };
const PARENT_DROPPED: HeadDecision = { keep: false, probability: null };

/**
 * Head decision. `critical` calls are always kept. The parent-based samplers follow the caller's sampled flag when
 * a traceparent came in; otherwise the priority's ratio (times the adaptive scale, within its bounds) decides, by
 * trace id, so every gateway call of one trace decides alike.
 */
export function headDecision(
  config: Pick<TelemetryConfig, 'sampler' | 'ratios'>,
  record: Pick<CallRecord, 'priority'>,
  traceId: string,
  parent: TraceParent | null,
  adaptive: { readonly scale: number; readonly min: number; readonly max: number } | null = null,
): HeadDecision {
  if (record.priority === 'critical') return ALWAYS;
  const s = config.sampler;
  if (s.startsWith('parentbased_') && parent) return parent.sampled ? PARENT_KEPT : PARENT_DROPPED;
  if (s === 'always_on' || s === 'parentbased_always_on') return ALWAYS;
  if (s === 'always_off' || s === 'parentbased_always_off') return NEVER;
  const ratio = config.ratios[record.priority];
  // Adaptive: the configured ratio scaled to the load, within the bounds; a ratio of 0 stays off.
  const p = adaptive === null || ratio === 0 ? ratio : Math.min(adaptive.max, Math.max(adaptive.min, ratio * adaptive.scale));
  if (p >= 1) return ALWAYS;
  if (p <= 0) return NEVER;
  const t = thresholdFor(p);
  return { keep: parseInt(traceId.slice(-14, -1), 16) >= t.t52, probability: t.probability };
}

export function headKeeps(config: Pick<TelemetryConfig, 'sampler' | 'ratios'>, record: Pick<CallRecord, 'priority'>, traceId: string, parent: TraceParent | null): boolean {
  return headDecision(config, record, traceId, parent).keep;
}

const ERRORS: ReadonlySet<Outcome> = new Set(['upstream_error', 'rate_limited', 'network_error', 'timeout']);

/** Tail rules: errors (5xx, 429, network errors, timeouts) and calls slower than `slowMs` are always kept. */
export function tailReason(record: Pick<CallRecord, 'outcome' | 'totalMs'>, slowMs: number | null): 'error' | 'slow' | null {
  if (ERRORS.has(record.outcome)) return 'error';
  if (slowMs !== null && record.totalMs > slowMs) return 'slow';
  return null;
}
