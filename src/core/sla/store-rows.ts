import { z } from 'zod';
import { describeIssues } from './issues';
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

/** A whole store as one JSON value (`WindowStore.toJSON`). Windows are validated apart, by `deserializeWindow`. */
export interface StoreData {
  v: 1;
  minuteRetention: number;
  hourRetention: number;
  alpha: number;
  clock: number;
  counters: StoreCounters;
  minutes: WindowData[];
  hours: WindowData[];
}

const whole = z.number().int().nonnegative();

const storeSchema = z
  .strictObject({
    v: z.literal(1),
    minuteRetention: whole.min(1),
    hourRetention: whole.min(1),
    alpha: z.number(),
    clock: whole,
    counters: z.strictObject({ droppedLate: whole, clampedFuture: whole, rejected: whole }),
    minutes: z.array(z.unknown()),
    hours: z.array(z.unknown()),
  })
  .refine((d) => d.minutes.length <= d.minuteRetention, 'more minute windows than the minute retention')
  .refine((d) => d.hours.length <= d.hourRetention, 'more hourly rollups than the hour retention');

export function parseStoreData(data: unknown): Omit<StoreData, 'minutes' | 'hours'> & { minutes: unknown[]; hours: unknown[] } {
  const parsed = storeSchema.safeParse(data);
  if (!parsed.success) throw new Error(`Invalid store data: ${describeIssues(parsed.error).join('; ')}`);
  return parsed.data;
}
