import { summarize } from './evaluate';
import { MINUTE_MS } from './store-rows';
import { mergeInto, emptyWindow, type WindowStats } from './window';

/** One minute of a route, for charts. Latencies in ms, null when the minute had no (non-aborted) call. */
export interface MinutePoint {
  /** ISO start of the minute. */
  start: string;
  count: number;
  success_rate: number | null;
  throughput_rps: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  ttft_p95: number | null;
}

/** The longest series asked for at once: the minute windows a route object keeps (an hour) and a margin. */
export const MAX_SERIES_MINUTES = 24 * 60;

/**
 * A dense per-minute series over [from, to): one point per minute, oldest first, empty minutes included (count 0,
 * nulls) so a chart shows gaps as gaps. Minute windows with the same start (shards of one route) are merged;
 * hourly rollups and windows outside the range are ignored. `from` and `to` must be whole minutes.
 */
export function minuteSeries(windows: Iterable<WindowStats>, from: number, to: number, countClientErrors: boolean): MinutePoint[] {
  for (const [name, t] of [['from', from], ['to', to]] as const) {
    if (!Number.isSafeInteger(t) || t < 0 || t % MINUTE_MS !== 0) throw new Error(`minuteSeries: ${name} must be a whole minute in epoch ms, got ${t}`);
  }
  const minutes = (to - from) / MINUTE_MS;
  if (minutes < 1 || minutes > MAX_SERIES_MINUTES) {
    throw new Error(`minuteSeries: the range must span 1 to ${MAX_SERIES_MINUTES} minutes, got ${minutes}`);
  }
  const byStart = new Map<number, WindowStats>();
  for (const w of windows) {
    if (w.durationMs !== MINUTE_MS || w.start < from || w.start >= to) continue;
    let into = byStart.get(w.start);
    if (!into) byStart.set(w.start, (into = emptyWindow(w.start, MINUTE_MS, w.latency.alpha)));
    mergeInto(into, w);
  }
  const points: MinutePoint[] = [];
  for (let start = from; start < to; start += MINUTE_MS) {
    const w = byStart.get(start);
    const s = w ? summarize(w, MINUTE_MS, countClientErrors) : null;
    points.push({
      start: new Date(start).toISOString(),
      count: s?.count ?? 0,
      success_rate: s?.success_rate ?? null,
      throughput_rps: s?.throughput_rps ?? 0,
      p50: s?.latency?.p50 ?? null,
      p95: s?.latency?.p95 ?? null,
      p99: s?.latency?.p99 ?? null,
      ttft_p95: s?.ttft?.p95 ?? null,
    });
  }
  return points;
}
