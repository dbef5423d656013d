import type { CallRecord } from '../../core/record';
import type { Recorder } from '../recorder/recorder';
import { isolateCounts } from '../counts';

/**
 * Workers Analytics Engine: one data point per call, for per-call history beyond what the Durable Objects keep
 * (an hour of minutes, days of hours). Optional: on only when the `SLA_ANALYTICS` dataset binding exists.
 * `writeDataPoint` returns at once (the runtime sends points in the background); it runs in the call's
 * `ctx.waitUntil` with every recorder. Layout (docs/telemetry.md has the SQL):
 *
 * - index1: route key (the sampling key: Analytics Engine samples per index, so each route keeps its own weights)
 * - blob1..blob8: route, team, provider, model (response, else request), outcome, error type, operation, priority
 * - double1..double8: total ms, TTFB ms, TTFT ms (-1: not a stream / none), input tokens, output tokens (-1: no
 *   usage), cost USD (-1: unknown price), HTTP status, stream (1/0)
 */
export const ANALYTICS_LAYOUT = {
  blobs: ['route', 'team', 'provider', 'model', 'outcome', 'error_type', 'operation', 'priority'],
  doubles: ['total_ms', 'ttfb_ms', 'ttft_ms', 'input_tokens', 'output_tokens', 'cost_usd', 'status', 'stream'],
} as const;

/** Analytics Engine limits: an index is at most 96 bytes; blobs together at most 16 KB (we keep each to 1 KB). */
const INDEX_BYTES = 96;
const BLOB_CHARS = 1024;

const encoder = new TextEncoder();

function fitBytes(s: string, max: number): string {
  if (s.length * 3 <= max) return s;
  let out = s.slice(0, max);
  while (encoder.encode(out).byteLength > max) out = out.slice(0, -1);
  return out;
}

/**
 * The `SLA_ANALYTICS` dataset, when the deployment binds one. `wrangler.toml` leaves it out (a deploy declaring it
 * fails on accounts without Analytics Engine), so it is read as optional whether or not `wrangler types` knows it.
 */
export function analyticsDataset(env: Env): AnalyticsEngineDataset | undefined {
  return (env as Env & { readonly SLA_ANALYTICS?: AnalyticsEngineDataset }).SLA_ANALYTICS;
}

/** The data point of one call. */
export function dataPoint(r: CallRecord): AnalyticsEngineDataPoint {
  const blob = (s: string | null) => (s === null ? '' : s.length > BLOB_CHARS ? s.slice(0, BLOB_CHARS) : s);
  return {
    indexes: [fitBytes(r.route, INDEX_BYTES)],
    blobs: [r.route, r.team, r.provider, r.responseModel ?? r.requestModel, r.outcome, r.errorType, r.operation, r.priority].map(blob),
    doubles: [
      r.totalMs,
      r.ttfbMs ?? -1,
      r.ttftMs ?? -1,
      r.usage?.input ?? -1,
      r.usage?.output ?? -1,
      r.costUsd ?? -1,
      r.status,
      r.stream ? 1 : 0,
    ],
  };
}

/**
 * Writes each call's data point to the `SLA_ANALYTICS` dataset (on only when the binding exists). Never throws: a
 * refused point is counted (`analytics_points_failed`, `/metrics`: `llm_sla_analytics_points_failed_total`).
 */
export class AnalyticsRecorder implements Recorder {
  constructor(private readonly dataset: AnalyticsEngineDataset) {}

  record(record: CallRecord): void {
    try {
      this.dataset.writeDataPoint(dataPoint(record));
    } catch {
      isolateCounts.add('analytics_points_failed');
    }
  }
}
