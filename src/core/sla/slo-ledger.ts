import { BURN_WINDOWS, emptyWindowCounts, MAX_PERIOD_HOURS, type SloCounts, type SloWindowCounts } from './slo';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** Minute counters kept: the 5m, 30m, 1h and 2h burn windows are read from them. */
export const SLO_MINUTES = 120;
/** Hour counters kept at least this long: the 3d burn window. */
export const MIN_HOURS = 72;
const WINDOW_MINUTES: Record<string, number> = { '5m': 5, '30m': 30, '1h': 60, '2h': 120 };
const WINDOW_HOURS: Record<string, number> = { '6h': 6, '1d': 24, '3d': 72 };

const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;

/** One storage row: `m:<start>` or `h:<start>` and its counts. */
export interface SloRow {
  key: string;
  good: number;
  bad: number;
}

/**
 * Good/bad counters of one route object: per minute for the last two hours and per hour for the SLO period (at least 3
 * days, at most 90). Every judged call is added to its minute and to its hour, so no rollover merge is needed, and
 * counts are integers: sums over windows, shards and hours are exact. At most 120 + 2,160 counters.
 */
export class SloLedger {
  private readonly minutes = new Map<number, SloCounts>();
  private readonly hours = new Map<number, SloCounts>();
  private readonly dirty = new Set<string>();
  private readonly removed = new Set<string>();
  private clock = 0;
  /** Judged calls older than every kept counter. */
  droppedLate = 0;

  constructor(private keepHours = MIN_HOURS) {
    this.setPeriod(keepHours);
  }

  /** Keeps hour counters for `periodHours` (at least 3 days, at most 90). */
  setPeriod(periodHours: number): void {
    this.keepHours = Math.min(Math.max(periodHours, MIN_HOURS), MAX_PERIOD_HOURS);
  }

  get size(): { minutes: number; hours: number } {
    return { minutes: this.minutes.size, hours: this.hours.size };
  }

  add(ts: number, verdict: 'good' | 'bad', now: number): void {
    now = this.expire(now);
    const minute = Math.min(floorTo(ts, MINUTE_MS), floorTo(now, MINUTE_MS));
    const hour = Math.min(floorTo(ts, HOUR_MS), floorTo(now, HOUR_MS));
    if (hour < this.oldestHour(now)) {
      this.droppedLate++;
      return;
    }
    this.bump('h', this.hours, hour, verdict);
    if (minute >= this.oldestMinute(now)) this.bump('m', this.minutes, minute, verdict);
  }

  /** Drops counters past retention; returns the clock (time never runs backwards here). */
  expire(now: number): number {
    now = this.clock = Math.max(this.clock, now);
    const om = this.oldestMinute(now);
    const oh = this.oldestHour(now);
    for (const start of this.minutes.keys()) if (start < om) this.forget('m', this.minutes, start);
    for (const start of this.hours.keys()) if (start < oh) this.forget('h', this.hours, start);
    return now;
  }

  /** Counts over each burn window and over the last `periodHours`, ending with now's minute (hour). */
  windows(now: number, periodHours: number): SloWindowCounts {
    now = Math.max(this.clock, now);
    const out = emptyWindowCounts();
    const minuteNow = floorTo(now, MINUTE_MS);
    const hourNow = floorTo(now, HOUR_MS);
    for (const w of BURN_WINDOWS) {
      const m = WINDOW_MINUTES[w];
      const h = WINDOW_HOURS[w];
      if (m !== undefined) out[w] = sum(this.minutes, minuteNow - (m - 1) * MINUTE_MS, minuteNow);
      else if (h !== undefined) out[w] = sum(this.hours, hourNow - (h - 1) * HOUR_MS, hourNow);
    }
    out.period = sum(this.hours, hourNow - (Math.min(periodHours, this.keepHours) - 1) * HOUR_MS, hourNow);
    return out;
  }

  /** When the next counter expires (for the object's alarm); null when none is held. */
  nextExpiryAt(now: number): number | null {
    let next = Infinity;
    for (const s of this.minutes.keys()) next = Math.min(next, s + SLO_MINUTES * MINUTE_MS);
    for (const s of this.hours.keys()) next = Math.min(next, s + this.keepHours * HOUR_MS);
    return next === Infinity ? null : Math.max(next, now);
  }

  dirtyRows(): SloRow[] {
    return [...this.dirty].map((key) => {
      const [kind, start] = parseKey(key);
      const c = (kind === 'm' ? this.minutes : this.hours).get(start) ?? { good: 0, bad: 0 };
      return { key, good: c.good, bad: c.bad };
    });
  }

  removedKeys(): string[] {
    return [...this.removed];
  }

  markClean(): void {
    this.dirty.clear();
    this.removed.clear();
  }

  /** Rebuilds from storage rows; malformed rows are skipped (and counted by the caller through the return value). */
  static fromRows(rows: Iterable<SloRow>, keepHours: number, now: number): { ledger: SloLedger; skipped: number } {
    const ledger = new SloLedger(keepHours);
    let skipped = 0;
    for (const r of rows) {
      const parsed = /^([mh]):(\d{1,18})$/.exec(r.key);
      const ok = parsed && Number.isSafeInteger(r.good) && Number.isSafeInteger(r.bad) && r.good >= 0 && r.bad >= 0;
      if (!ok) {
        skipped++;
        continue;
      }
      (parsed[1] === 'm' ? ledger.minutes : ledger.hours).set(Number(parsed[2]), { good: r.good, bad: r.bad });
    }
    ledger.expire(now);
    return { ledger, skipped };
  }

  private oldestMinute(now: number): number {
    return floorTo(now, MINUTE_MS) - (SLO_MINUTES - 1) * MINUTE_MS;
  }

  private oldestHour(now: number): number {
    return floorTo(now, HOUR_MS) - (this.keepHours - 1) * HOUR_MS;
  }

  private bump(kind: 'm' | 'h', map: Map<number, SloCounts>, start: number, verdict: 'good' | 'bad'): void {
    let c = map.get(start);
    if (!c) map.set(start, (c = { good: 0, bad: 0 }));
    c[verdict]++;
    const key = `${kind}:${start}`;
    this.dirty.add(key);
    this.removed.delete(key);
  }

  private forget(kind: 'm' | 'h', map: Map<number, SloCounts>, start: number): void {
    map.delete(start);
    const key = `${kind}:${start}`;
    this.dirty.delete(key);
    this.removed.add(key);
  }
}

function parseKey(key: string): ['m' | 'h', number] {
  return [key[0] === 'm' ? 'm' : 'h', Number(key.slice(2))];
}

function sum(map: Map<number, SloCounts>, from: number, to: number): SloCounts {
  const out = { good: 0, bad: 0 };
  for (const [start, c] of map) {
    if (start < from || start > to) continue;
    out.good += c.good;
    out.bad += c.bad;
  }
  return out;
}
