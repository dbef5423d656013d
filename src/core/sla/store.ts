import { DEFAULT_RELATIVE_ACCURACY, QuantileSketch } from './sketch';
import { HOUR_MS, MINUTE_MS, parseWindowKey, windowKey } from './store-rows';
import type { StoreCounters, WindowKind, WindowRow } from './store-rows';
import { addSample, checkSample, deserializeWindow, emptyWindow, mergeInto, serializeWindow } from './window';
import type { Sample, WindowStats } from './window';

export * from './store-rows';

export interface StoreOptions {
  /** Minute windows kept (default 60). */
  minuteRetention?: number;
  /** Hourly rollups kept (default 48: a 24 h query still works across the day boundary). */
  hourRetention?: number;
  alpha?: number;
}

export interface AddResult extends StoreCounters {
  added: number;
  /** Of `added`, how many went straight to an hourly rollup. */
  late: number;
  /** The first few rejection reasons. */
  problems: string[];
}

const FUTURE_TOLERANCE_MS = 60_000;
const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;

/**
 * One route's minute windows and hourly rollups: a pure state machine driven by `now` (epoch ms), never holding
 * more than `minuteRetention` minute windows and `hourRetention` rollups. Rollups only ever hold data older than the
 * retained minutes, so a window and a rollup never count the same sample.
 */
export class WindowStore {
  readonly minuteRetention: number;
  readonly hourRetention: number;
  readonly alpha: number;
  readonly counters: StoreCounters = { droppedLate: 0, clampedFuture: 0, rejected: 0 };
  private readonly minutes = new Map<number, WindowStats>();
  private readonly hours = new Map<number, WindowStats>();
  private readonly dirty = new Set<string>();
  private readonly removed = new Set<string>();
  /** Latest `now` seen: time never runs backwards here, or a window could be filed after its rollover. */
  private clock = 0;

  constructor(options: StoreOptions = {}) {
    this.minuteRetention = options.minuteRetention ?? 60;
    this.hourRetention = options.hourRetention ?? 48;
    this.alpha = new QuantileSketch(options.alpha ?? DEFAULT_RELATIVE_ACCURACY).alpha; // validates alpha
    for (const [name, n] of [['minuteRetention', this.minuteRetention], ['hourRetention', this.hourRetention]] as const) {
      if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${n}`);
    }
  }

  get size(): { minutes: number; hours: number } {
    return { minutes: this.minutes.size, hours: this.hours.size };
  }

  add(samples: readonly unknown[], now: number): AddResult {
    now = this.rollover(now).now;
    const result: AddResult = { added: 0, late: 0, droppedLate: 0, clampedFuture: 0, rejected: 0, problems: [] };
    const oldestMinute = this.oldest('m', now);
    for (const raw of samples) {
      const s = this.check(raw, result);
      if (!s) continue;
      if (s.ts > now + FUTURE_TOLERANCE_MS) result.clampedFuture++;
      // Up to a minute of skew between isolates is normal; a sample from "next minute" lands in now's window so
      // no window ever starts after now's and the retention bound holds.
      const minute = Math.min(floorTo(s.ts, MINUTE_MS), floorTo(now, MINUTE_MS));
      let target: WindowStats;
      if (minute >= oldestMinute) {
        target = this.window('m', minute);
      } else if (floorTo(s.ts, HOUR_MS) >= this.oldest('h', now)) {
        target = this.window('h', floorTo(s.ts, HOUR_MS));
        result.late++;
      } else {
        result.droppedLate++;
        continue;
      }
      addSample(target, s);
      result.added++;
    }
    this.counters.droppedLate += result.droppedLate;
    this.counters.clampedFuture += result.clampedFuture;
    this.counters.rejected += result.rejected;
    return result;
  }

  /** Folds minute windows past retention into their hour's rollup and drops rollups past theirs. */
  rollover(now: number): { now: number; rolled: number; expired: number } {
    now = this.clock = Math.max(this.clock, now);
    const oldestMinute = this.oldest('m', now);
    const oldestHour = this.oldest('h', now);
    let rolled = 0;
    let expired = 0;
    for (const [start, w] of this.minutes) {
      if (start >= oldestMinute) continue;
      const hour = floorTo(start, HOUR_MS);
      if (hour >= oldestHour) {
        mergeInto(this.window('h', hour), w);
        rolled++;
      } else expired++;
      this.forget('m', start);
    }
    for (const start of this.hours.keys()) {
      if (start < oldestHour) {
        this.forget('h', start);
        expired++;
      }
    }
    return { now, rolled, expired };
  }

  /**
   * Windows overlapping [from, to), oldest first: minute windows, plus the rollups for the part older than the
   * retained minutes (a rollup's data ends where the minute windows begin). Merge them with `mergeWindows`.
   * Whole windows are returned: an unaligned `from` includes its whole minute (or hour, past the minute retention).
   */
  windowsFor(from: number, to: number): WindowStats[] {
    const boundary = this.oldest('m', this.clock);
    const out: WindowStats[] = [];
    for (const w of this.hours.values()) {
      if (w.start < to && Math.min(w.start + HOUR_MS, boundary) > from) out.push(w);
    }
    for (const w of this.minutes.values()) if (w.start < to && w.start + MINUTE_MS > from) out.push(w);
    return out.sort((a, b) => a.start - b.start);
  }

  /** When the alarm should next call `rollover`: the oldest window's expiry; null when nothing is held. */
  nextRolloverAt(now: number): number | null {
    let next = Infinity;
    for (const start of this.minutes.keys()) next = Math.min(next, start + this.minuteRetention * MINUTE_MS);
    for (const start of this.hours.keys()) next = Math.min(next, start + this.hourRetention * HOUR_MS);
    return next === Infinity ? null : Math.max(next, now);
  }

  /** Windows changed since `markClean()`, keyed for one storage row each. */
  dirtyWindows(): WindowRow[] {
    const rows: WindowRow[] = [];
    for (const key of this.dirty) {
      const { kind, start } = parseWindowKey(key);
      const w = (kind === 'm' ? this.minutes : this.hours).get(start);
      if (w) rows.push({ key, data: serializeWindow(w) });
    }
    return rows;
  }

  /** Keys of rows to delete: windows rolled over or expired since `markClean()`. */
  removedKeys(): string[] {
    return [...this.removed];
  }

  markClean(): void {
    this.dirty.clear();
    this.removed.clear();
  }

  /**
   * Rebuilds a store from `[key, data]` storage rows (as `dirtyWindows` gave them), then rolls over to `now`.
   * The caller must have written each batch of `dirtyWindows()` and `removedKeys()` atomically (one Durable Object
   * event), or a minute window could be found both as a row and inside its hour's rollup.
   */
  static fromRows(rows: Iterable<readonly [string, unknown]>, now: number, options: StoreOptions = {}): WindowStore {
    const store = new WindowStore(options);
    for (const [key, data] of rows) store.restore(parseWindowKey(key).kind, data, key);
    // Rows past retention stay marked for deletion: the caller writes `dirtyWindows()` and deletes `removedKeys()`.
    store.rollover(now);
    return store;
  }

  private restore(kind: WindowKind, data: unknown, key: string): void {
    const w = deserializeWindow(data);
    const unit = kind === 'm' ? MINUTE_MS : HOUR_MS;
    const fail = (problem: string) => new Error(`Invalid store data: ${problem}`);
    if (w.durationMs !== unit || w.start % unit !== 0) throw fail(`${kind === 'm' ? 'minute' : 'hour'} window at ${w.start} is not aligned`);
    if (key !== windowKey(kind, w.start)) throw fail(`row ${key} holds the window starting at ${w.start}`);
    // Caught here rather than at the next rollover, when the merge would throw far from the cause.
    if (w.latency.alpha !== this.alpha) throw fail(`window at ${w.start} has relative accuracy ${w.latency.alpha}, not ${this.alpha}`);
    (kind === 'm' ? this.minutes : this.hours).set(w.start, w);
  }

  private check(raw: unknown, result: AddResult): Sample | null {
    try {
      return checkSample(raw);
    } catch (e) {
      result.rejected++;
      if (result.problems.length < 5) result.problems.push(e instanceof Error ? e.message : String(e));
      return null;
    }
  }

  private oldest(kind: WindowKind, now: number): number {
    return kind === 'm'
      ? floorTo(now, MINUTE_MS) - (this.minuteRetention - 1) * MINUTE_MS
      : floorTo(now, HOUR_MS) - (this.hourRetention - 1) * HOUR_MS;
  }

  private window(kind: WindowKind, start: number): WindowStats {
    const map = kind === 'm' ? this.minutes : this.hours;
    let w = map.get(start);
    if (!w) map.set(start, (w = emptyWindow(start, kind === 'm' ? MINUTE_MS : HOUR_MS, this.alpha)));
    const key = windowKey(kind, start);
    this.dirty.add(key);
    this.removed.delete(key);
    return w;
  }

  private forget(kind: WindowKind, start: number): void {
    (kind === 'm' ? this.minutes : this.hours).delete(start);
    const key = windowKey(kind, start);
    this.dirty.delete(key);
    this.removed.add(key);
  }
}
