import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { listenLocal, type Listening } from './listen';

/** One span as the receiver decoded it from OTLP/HTTP JSON. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  /** W3C tracestate the span carries ('' when none). */
  traceState: string;
  name: string;
  kind: number;
  startNs: string;
  endNs: string;
  attributes: Record<string, unknown>;
  /** The OTLP field each attribute's value came in: `stringValue`, `intValue`, `doubleValue`, `boolValue`, `arrayValue`. */
  attributeTypes: Record<string, string>;
  status: { code?: number; message?: string };
  resource: Record<string, unknown>;
  scope: string;
}

export type OtlpReceiver = Listening;

interface Scope {
  spans: ReceivedSpan[];
  /** Every metrics export body, parsed (OTLP/HTTP JSON `ExportMetricsServiceRequest`). */
  metrics: unknown[];
  requests: number;
  answered: number;
  empty: number;
  metricRequests: number;
  /** Requests that came gzipped, and the body bytes received (as sent, before gunzip). */
  gzipped: number;
  bytes: number;
  mode: { status: number; delayMs: number; hangUp: boolean; requireGzip: boolean };
}

type OtlpValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
};
type OtlpKeyValue = { key: string; value: OtlpValue };

function decodeValue(v: OtlpValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(decodeValue);
  return null;
}

function decodeAttributes(list: OtlpKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, decodeValue(kv.value)]));
}

function attributeTypes(list: OtlpKeyValue[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, Object.keys(kv.value)[0] ?? '']));
}

interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: {
      scope?: { name?: string };
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        traceState?: string;
        name: string;
        kind: number;
        startTimeUnixNano: string | number;
        endTimeUnixNano: string | number;
        attributes?: OtlpKeyValue[];
        status?: { code?: number; message?: string };
      }[];
    }[];
  }[];
}

/** Flattens an OTLP/HTTP JSON export request into spans. */
export function decodeExport(body: ExportRequest): ReceivedSpan[] {
  return (body.resourceSpans ?? []).flatMap((rs) => {
    const resource = decodeAttributes(rs.resource?.attributes);
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? '',
        traceState: s.traceState ?? '',
        name: s.name,
        kind: s.kind,
        startNs: String(s.startTimeUnixNano),
        endNs: String(s.endTimeUnixNano),
        attributes: decodeAttributes(s.attributes),
        attributeTypes: attributeTypes(s.attributes),
        status: s.status ?? {},
        resource,
        scope: ss.scope?.name ?? '',
      })),
    );
  });
}

/**
 * An OTLP/HTTP collector on 127.0.0.1 speaking the JSON encoding. Each test uses its own scope: the endpoint
 * `<url>/<scope>` receives at `/<scope>/v1/traces`.
 * `/<scope>/v1/metrics` takes metrics exports. `content-encoding: gzip` bodies are gunzipped.
 * - `GET /__otlp/<scope>/spans`: the decoded spans; `GET /__otlp/<scope>/metrics`: the metrics export bodies;
 *   `GET /__otlp/<scope>/stats`: requests, answered, empty (traces), metricRequests, gzipped, bytes (both).
 * - `POST /__otlp/<scope>/mode?status=500&delayMs=2000&hangUp=1&requireGzip=1`: how the collector misbehaves for
 *   that scope (`requireGzip`: 415 to any body not gzipped, as collectors configured to require it answer).
 * - `GET /__otlp/raw`: every request received (headers and body text) for the secret scan.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const scopes = new Map<string, Scope>();
  const raw: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  const scopeOf = (name: string): Scope => {
    let s = scopes.get(name);
    if (!s) scopes.set(
        name,
        (s = { spans: [], metrics: [], requests: 0, answered: 0, empty: 0, metricRequests: 0, gzipped: 0, bytes: 0, mode: { status: 200, delayMs: 0, hangUp: false, requireGzip: false } }),
      );
    return s;
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const parts = url.pathname.split('/').filter(Boolean);
      res.setHeader('content-type', 'application/json');
      if (parts[0] === '__otlp') {
        if (parts[1] === 'raw') return res.end(JSON.stringify(raw));
        const scope = scopeOf(parts[2] ? parts[1] ?? '' : '');
        const what = parts[2];
        if (what === 'spans') return res.end(JSON.stringify(scope.spans));
        if (what === 'metrics') return res.end(JSON.stringify(scope.metrics));
        if (what === 'stats') {
          const { requests, answered, empty, metricRequests, gzipped, bytes } = scope;
          return res.end(JSON.stringify({ requests, answered, empty, metricRequests, gzipped, bytes }));
        }
        if (what === 'mode' && req.method === 'POST') {
          scope.mode = {
            status: Number(url.searchParams.get('status') ?? 200),
            delayMs: Number(url.searchParams.get('delayMs') ?? 0),
            hangUp: url.searchParams.get('hangUp') === '1',
            requireGzip: url.searchParams.get('requireGzip') === '1',
          };
          return res.end('{}');
        }
        res.statusCode = 404;
        return res.end('{}');
      }
      const signal = parts[2];
      if (req.method !== 'POST' || parts.length !== 3 || parts[1] !== 'v1' || (signal !== 'traces' && signal !== 'metrics')) {
        res.statusCode = 404;
        return res.end('{}');
      }
      const scope = scopeOf(parts[0] ?? '');
      const body = Buffer.concat(chunks);
      const gzipped = req.headers['content-encoding'] === 'gzip';
      scope.bytes += body.length;
      if (gzipped) scope.gzipped++;
      if (scope.mode.requireGzip && !gzipped) {
        res.statusCode = 415;
        return res.end('{"code":3,"message":"this collector requires content-encoding: gzip"}');
      }
      let text: string;
      try {
        text = (gzipped ? gunzipSync(body) : body).toString('utf8');
      } catch {
        res.statusCode = 400;
        return res.end('{"code":3,"message":"bad gzip body"}');
      }
      raw.push({ headers: req.headers, body: text });
      if (signal === 'metrics') {
        scope.metricRequests++;
        if (scope.mode.status >= 400) {
          res.statusCode = scope.mode.status;
          return res.end('{"code":13,"message":"collector failure (test)"}');
        }
        try {
          scope.metrics.push(JSON.parse(text));
          return res.end('{}');
        } catch {
          res.statusCode = 400;
          return res.end('{"code":3,"message":"unparsable export"}');
        }
      }
      scope.requests++;
      if (scope.mode.hangUp) {
        req.socket.destroy();
        return;
      }
      const answer = () => {
        scope.answered++;
        res.statusCode = scope.mode.status;
        if (scope.mode.status >= 400) return res.end('{"code":13,"message":"collector failure (test)"}');
        try {
          const spans = decodeExport(JSON.parse(text) as ExportRequest);
          if (spans.length === 0) scope.empty++;
          scope.spans.push(...spans);
          res.end('{}');
        } catch {
          res.statusCode = 400;
          res.end('{"code":3,"message":"unparsable export"}');
        }
      };
      if (scope.mode.delayMs > 0) setTimeout(answer, scope.mode.delayMs);
      else answer();
    });
  });
  return listenLocal(server);
}
