import { OtlpDecodeError, type AttrValue, type OtlpSpan } from './otlp';

/**
 * A protobuf wire decoder for the few fields of an OTLP `ExportTraceServiceRequest` the gateway reads, and the
 * encoders of its two small responses. Hand-written because workerd forbids the code generation protobufjs relies
 * on ("Code generation from strings disallowed for this context"). Unknown fields are skipped, as protobuf asks;
 * anything malformed (truncated, a length past the end, a group, bad UTF-8) throws `OtlpDecodeError`.
 *
 *   ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
 *   ResourceSpans { repeated ScopeSpans scope_spans = 2; }
 *   ScopeSpans    { repeated Span spans = 2; }
 *   Span { bytes trace_id = 1; bytes span_id = 2; string name = 5; fixed64 start_time_unix_nano = 7;
 *          fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9; Status status = 15; }
 *   Status { string message = 2; StatusCode code = 3; }
 *   KeyValue { string key = 1; AnyValue value = 2; }
 *   AnyValue { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ... }
 */

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

interface Reader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  pos: number;
  readonly end: number;
}

function fail(message: string): never {
  throw new OtlpDecodeError(`invalid protobuf: ${message}`);
}

/** A varint as a number: exact up to 2^53, which covers tags, lengths and enum values. */
function varint(r: Reader): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (r.pos >= r.end) fail('truncated varint');
    const b = r.buf[r.pos++] as number;
    result += (b & 0x7f) * scale;
    if (b < 0x80) return result;
    scale *= 128;
  }
  return fail('varint longer than 10 bytes');
}

/** A varint as a signed 64-bit integer (int64). */
function varint64(r: Reader): bigint {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (r.pos >= r.end) fail('truncated varint');
    const b = r.buf[r.pos++] as number;
    result |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return BigInt.asIntN(64, result);
    shift += 7n;
  }
  return fail('varint longer than 10 bytes');
}

function fixed64(r: Reader): bigint {
  if (r.pos + 8 > r.end) fail('truncated fixed64');
  const v = r.view.getBigUint64(r.pos, true);
  r.pos += 8;
  return v;
}

/** The extent of a length-delimited field, as a reader of its own. */
function sub(r: Reader): Reader {
  const len = varint(r);
  if (len > r.end - r.pos) fail('length past the end of its message');
  const inner: Reader = { buf: r.buf, view: r.view, pos: r.pos, end: r.pos + len };
  r.pos += len;
  return inner;
}

function string(r: Reader): string {
  const s = sub(r);
  try {
    return utf8.decode(r.buf.subarray(s.pos, s.end));
  } catch {
    return fail('string is not valid UTF-8');
  }
}

function hex(r: Reader): string {
  const s = sub(r);
  let out = '';
  for (let i = s.pos; i < s.end; i++) out += (r.buf[i] as number).toString(16).padStart(2, '0');
  return out;
}

function skip(r: Reader, wireType: number): void {
  switch (wireType) {
    case 0:
      varint(r);
      return;
    case 1:
      if (r.pos + 8 > r.end) fail('truncated fixed64');
      r.pos += 8;
      return;
    case 2:
      sub(r);
      return;
    case 5:
      if (r.pos + 4 > r.end) fail('truncated fixed32');
      r.pos += 4;
      return;
    default:
      fail(`unsupported wire type ${wireType}`);
  }
}

/** Calls `field(number, wireType)` for each field of the message; `field` reads it or returns false to skip it. */
function fields(r: Reader, field: (num: number, wireType: number) => boolean): void {
  while (r.pos < r.end) {
    const tag = varint(r);
    const num = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (num === 0) fail('field number 0');
    if (!field(num, wireType)) skip(r, wireType);
  }
}

function anyValue(r: Reader): AttrValue {
  let value: AttrValue = null;
  fields(r, (num, wt) => {
    if (num === 1 && wt === 2) value = string(r);
    else if (num === 2 && wt === 0) value = varint(r) !== 0;
    else if (num === 3 && wt === 0) {
      const v = varint64(r);
      value = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : null;
    } else if (num === 4 && wt === 1) {
      if (r.pos + 8 > r.end) fail('truncated double');
      value = r.view.getFloat64(r.pos, true);
      r.pos += 8;
    } else return false; // arrays, key-value lists and bytes: not read
    return true;
  });
  return value;
}

function keyValue(r: Reader, into: Map<string, AttrValue>): void {
  let key: string | null = null;
  let value: AttrValue = null;
  fields(r, (num, wt) => {
    if (num === 1 && wt === 2) key = string(r);
    else if (num === 2 && wt === 2) value = anyValue(sub(r));
    else return false;
    return true;
  });
  if (key !== null) into.set(key, value);
}

function span(r: Reader): OtlpSpan {
  const s: OtlpSpan = { traceId: '', spanId: '', name: '', startNs: null, endNs: null, attributes: new Map(), statusCode: 0, statusMessage: '' };
  fields(r, (num, wt) => {
    if (num === 1 && wt === 2) s.traceId = hex(r);
    else if (num === 2 && wt === 2) s.spanId = hex(r);
    else if (num === 5 && wt === 2) s.name = string(r);
    else if (num === 7 && wt === 1) s.startNs = fixed64(r);
    else if (num === 8 && wt === 1) s.endNs = fixed64(r);
    else if (num === 9 && wt === 2) keyValue(sub(r), s.attributes);
    else if (num === 15 && wt === 2) {
      const st = sub(r);
      fields(st, (n, w) => {
        if (n === 2 && w === 2) s.statusMessage = string(st);
        else if (n === 3 && w === 0) s.statusCode = varint(st);
        else return false;
        return true;
      });
    } else return false;
    return true;
  });
  return s;
}

/** Every span of a protobuf-encoded `ExportTraceServiceRequest`, in order. Throws `OtlpDecodeError` when malformed. */
export function decodeTraceRequest(bytes: Uint8Array): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  const root: Reader = { buf: bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), pos: 0, end: bytes.length };
  fields(root, (num, wt) => {
    if (num !== 1 || wt !== 2) return false;
    const rs = sub(root);
    fields(rs, (n, w) => {
      if (n !== 2 || w !== 2) return false;
      const ss = sub(rs);
      fields(ss, (n2, w2) => {
        if (n2 !== 2 || w2 !== 2) return false;
        spans.push(span(sub(ss)));
        return true;
      });
      return true;
    });
    return true;
  });
  return spans;
}

// --- encoders -------------------------------------------------------------------------------------------------

const utf8Encoder = new TextEncoder();

function putVarint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function putString(out: number[], field: number, s: string): void {
  const bytes = utf8Encoder.encode(s);
  putVarint(out, (field << 3) | 2);
  putVarint(out, bytes.length);
  for (const b of bytes) out.push(b);
}

/**
 * `ExportTraceServiceResponse`: empty on full success, else `partial_success { rejected_spans = 1;
 * error_message = 2; }`.
 */
export function encodeTraceResponse(rejectedSpans: number, errorMessage: string): Uint8Array {
  if (rejectedSpans === 0 && errorMessage === '') return new Uint8Array(0);
  const partial: number[] = [];
  if (rejectedSpans > 0) {
    putVarint(partial, (1 << 3) | 0);
    putVarint(partial, rejectedSpans);
  }
  if (errorMessage !== '') putString(partial, 2, errorMessage);
  const out: number[] = [];
  putVarint(out, (1 << 3) | 2);
  putVarint(out, partial.length);
  return Uint8Array.from([...out, ...partial]);
}

/** `google.rpc.Status { int32 code = 1; string message = 2; }`: the body of an OTLP/HTTP error response. */
export function encodeStatus(code: number, message: string): Uint8Array {
  const out: number[] = [];
  putVarint(out, (1 << 3) | 0);
  putVarint(out, code);
  putString(out, 2, message);
  return Uint8Array.from(out);
}
