import { env } from 'cloudflare:workers';
import { configFor } from '../../src/config/in-force';
import { isolateFor } from '../../src/worker/isolate';
import { resolveTelemetry, type TelemetryConfig } from '../../src/config/telemetry';
import type { CallRecord } from '../../src/core/record';
import type { SpanRecorder } from '../../src/worker/telemetry/recorder';
import type { ReceivedSpan } from '../support/otlp-receiver';
import { gateway, GW, jsonPost } from './helpers';

/** Shared by the telemetry-at-volume tests (telemetry-volume, genai-metrics). */
export type KeyValue = { key: string; value: { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean } };
export interface DataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: string;
  timeUnixNano: string;
  count: string;
  sum: number;
  min: number;
  max: number;
  bucketCounts: string[];
  explicitBounds: number[];
}
export interface MetricsExport {
  resourceMetrics: {
    resource: { attributes: KeyValue[] };
    scopeMetrics: { scope: { name: string }; metrics: { name: string; unit: string; histogram: { aggregationTemporality: number; dataPoints: DataPoint[] } }[] }[];
  }[];
}

let scopes = 0;
/** A fresh collector scope and the vars that export to it (as in telemetry.test.ts). */
export function collector(vars: Record<string, string> = {}) {
  const scope = `v${Date.now()}x${++scopes}`;
  const base = `${env.OTLP_BASE}/__otlp/${scope}`;
  return {
    endpoint: `${env.OTLP_BASE}/${scope}`,
    vars: { OTEL_EXPORTER_OTLP_ENDPOINT: `${env.OTLP_BASE}/${scope}`, OTEL_BSP_SCHEDULE_DELAY: '10', ...vars },
    spans: async (): Promise<ReceivedSpan[]> => (await fetch(`${base}/spans`)).json(),
    metrics: async (): Promise<MetricsExport[]> => (await fetch(`${base}/metrics`)).json(),
    stats: async (): Promise<{ requests: number; metricRequests: number; gzipped: number; bytes: number }> => (await fetch(`${base}/stats`)).json(),
    mode: async (q: string) => void (await fetch(`${base}/mode?${q}`, { method: 'POST' })),
  };
}

export function telemetryOf(vars: Record<string, string>): TelemetryConfig {
  const { config, problems } = resolveTelemetry(vars);
  if (!config) throw new Error(problems.join('; '));
  return config;
}

export function recorderOf(testEnv: Env): SpanRecorder {
  const result = configFor(testEnv).result;
  if (!result.ok) throw new Error(result.problems.join('; '));
  const r = isolateFor(testEnv).spanRecorder(result.config);
  if (!r) throw new Error('no telemetry recorder');
  return r;
}

export const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }] };
export const auth = { authorization: 'Bearer sk-volume-test-0123456789' };

/** One real record from the gateway, to vary. */
export async function realRecord(): Promise<CallRecord> {
  const gw = gateway();
  await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, auth))).arrayBuffer();
  const [r] = await gw.settle();
  if (!r) throw new Error('no record');
  return r;
}
