import type { WindowData } from './window';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** `m` for a minute window, `h` for an hourly rollup. */
export type WindowKind = 'm' | 'h';

/** One storage row per window. */
export interface WindowRow {
  key: string;
  data: WindowData;
}

/**
 * `m:000001767225600000`: kind, then the start zero-padded to 18 digits, so a storage `list({ prefix: 'm:' })`
 * returns windows in time order.
 */
export function windowKey(kind: WindowKind, start: number): string {
  return `${kind}:${String(start).padStart(18, '0')}`;
}

export function parseWindowKey(key: string): { kind: WindowKind; start: number } {
  const m = /^([mh]):(\d{18})$/.exec(key);
  if (!m) throw new Error(`Invalid window key: ${JSON.stringify(key)}`);
  return { kind: m[1] as WindowKind, start: Number(m[2]) };
}

/** Cumulative counts of samples the store could not file normally. */
export interface StoreCounters {
  /** Older than every retained window: lost. */
  droppedLate: number;
  /** More than 60 s ahead of `now` (a wrong clock): filed in now's window. */
  clampedFuture: number;
  /** Malformed (negative times, unknown outcome...): skipped, so one bad sample cannot sink a batch. */
  rejected: number;
}
