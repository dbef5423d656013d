import { GatewayError } from '../errors';
import type { CallRecord } from '../../core/record';
import { decodeTraceJson, OtlpDecodeError, type OtlpSpan } from './otlp';
import { decodeTraceRequest } from './otlp-proto';
import { spanStage, stageRecord, timingStage, type Stage, type StageContext } from './stage';

/** What became of one ingest request: the records to send, and the items refused (with the first few reasons). */
export interface IngestResult {
  records: CallRecord[];
  rejected: number;
  problems: string[];
}

const MAX_PROBLEMS = 10;

function collect<T>(items: readonly T[], toStage: (item: T) => Stage | string, label: (item: T, i: number) => string, ctx: StageContext): IngestResult {
  const result: IngestResult = { records: [], rejected: 0, problems: [] };
  items.forEach((item, i) => {
    const stage = toStage(item);
    const record = typeof stage === 'string' ? stage : stageRecord(stage, ctx);
    if (typeof record !== 'string') {
      result.records.push(record);
      return;
    }
    result.rejected++;
    if (result.problems.length < MAX_PROBLEMS) result.problems.push(`${label(item, i)}: ${record}`);
  });
  return result;
}

export type OtlpEncoding = 'json' | 'protobuf';

function tooMany(n: number, max: number, what: string): GatewayError {
  return new GatewayError(413, 'request_too_large', `${n} ${what} in one request; INGEST_MAX_ITEMS allows ${max}.`);
}

/**
 * An OTLP/HTTP trace export body (already decompressed) as records: pure, so the benchmark can time the CPU side of
 * ingestion apart from the transport. Throws GatewayError 400 for a payload that is not OTLP, 413 past `maxItems`.
 */
export function ingestOtlp(bytes: Uint8Array, encoding: OtlpEncoding, ctx: StageContext, maxItems: number): IngestResult {
  let spans: OtlpSpan[];
  try {
    spans = encoding === 'protobuf' ? decodeTraceRequest(bytes) : decodeTraceJson(parseJsonBytes(bytes));
  } catch (err) {
    if (err instanceof OtlpDecodeError) throw new GatewayError(400, 'invalid_request', `Malformed OTLP ${encoding} payload: ${err.message}`);
    throw err;
  }
  if (spans.length > maxItems) throw tooMany(spans.length, maxItems, 'spans');
  return collect(spans, spanStage, (s, i) => `span ${i} (${JSON.stringify(s.name.slice(0, 64))})`, ctx);
}

/** A `/v1/timings` body: a JSON array of `{route, duration_ms, ok, ts?, attributes?, error_type?}`. */
export function ingestTimings(bytes: Uint8Array, ctx: StageContext, maxItems: number): IngestResult {
  let body: unknown;
  try {
    body = parseJsonBytes(bytes);
  } catch (err) {
    if (err instanceof OtlpDecodeError) throw new GatewayError(400, 'invalid_request', err.message);
    throw err;
  }
  if (!Array.isArray(body)) throw new GatewayError(400, 'invalid_request', 'The body must be a JSON array of {route, duration_ms, ok, ts?, attributes?}.');
  if (body.length > maxItems) throw tooMany(body.length, maxItems, 'timings');
  return collect(body, (item) => timingStage(item, ctx.now), (_item, i) => `timing ${i}`, ctx);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function parseJsonBytes(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new OtlpDecodeError('the body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new OtlpDecodeError(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}
