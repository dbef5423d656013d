import { arr, obj, str } from '../../core/json';

/** An attribute value the gateway reads: scalars only (arrays, maps and bytes are kept as null). */
export type AttrValue = string | number | boolean | null;

/** One span as read from either OTLP encoding: only the fields that make a record. */
export interface OtlpSpan {
  /** Lower-case hex. */
  traceId: string;
  spanId: string;
  name: string;
  /** Nanoseconds since the epoch; null when missing or not a number. */
  startNs: bigint | null;
  endNs: bigint | null;
  attributes: Map<string, AttrValue>;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
}

/** A payload that is not an OTLP request at all: the whole request gets 400 with this message. */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
}

const STATUS_NAMES: Readonly<Record<string, number>> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };

/** OTLP/JSON times are nanoseconds as a decimal string (int64 in proto3 JSON) or a number. */
function nanos(v: unknown): bigint | null {
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return BigInt(Math.round(v));
  return null;
}

function anyValue(v: unknown): AttrValue {
  const o = obj(v);
  if (!o) return null;
  if (typeof o['stringValue'] === 'string') return o['stringValue'];
  if (typeof o['boolValue'] === 'boolean') return o['boolValue'];
  const i = o['intValue'];
  if (typeof i === 'number' && Number.isSafeInteger(i)) return i;
  if (typeof i === 'string' && /^-?\d{1,16}$/.test(i) && Number.isSafeInteger(Number(i))) return Number(i);
  const d = o['doubleValue'];
  if (typeof d === 'number' && Number.isFinite(d)) return d;
  // proto3 JSON writes non-finite doubles as strings; they carry nothing a record can use.
  return null;
}

function listOf(v: unknown, what: string): readonly unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpDecodeError(`${what} must be an array`);
  return v;
}

/**
 * Every span of an OTLP/JSON `ExportTraceServiceRequest` (lowerCamelCase keys, hex ids). The structure above the
 * spans must be right (400 otherwise); a span's own bad fields come back as nulls for the record check to refuse.
 */
export function decodeTraceJson(body: unknown): OtlpSpan[] {
  const root = obj(body);
  if (!root) throw new OtlpDecodeError('body must be a JSON object with resourceSpans');
  const spans: OtlpSpan[] = [];
  for (const rs of listOf(root['resourceSpans'], 'resourceSpans')) {
    for (const ss of listOf(obj(rs)?.['scopeSpans'], 'scopeSpans')) {
      for (const raw of listOf(obj(ss)?.['spans'], 'spans')) {
        const s = obj(raw);
        if (!s) throw new OtlpDecodeError('each span must be an object');
        const attributes = new Map<string, AttrValue>();
        for (const kv of arr(s['attributes'])) {
          const key = str(obj(kv)?.['key']);
          if (key !== null) attributes.set(key, anyValue(obj(kv)?.['value']));
        }
        const status = obj(s['status']);
        const code = status?.['code'];
        spans.push({
          traceId: (str(s['traceId']) ?? '').toLowerCase(),
          spanId: (str(s['spanId']) ?? '').toLowerCase(),
          name: str(s['name']) ?? '',
          startNs: nanos(s['startTimeUnixNano']),
          endNs: nanos(s['endTimeUnixNano']),
          attributes,
          statusCode: typeof code === 'number' ? code : typeof code === 'string' ? (STATUS_NAMES[code] ?? 0) : 0,
          statusMessage: str(status?.['message']) ?? '',
        });
      }
    }
  }
  return spans;
}
