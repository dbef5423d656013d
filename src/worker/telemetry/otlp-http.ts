import type { Compression } from '../../config/telemetry';

/** What one OTLP/HTTP export did: answered 2xx or not, and the body bytes put on the wire. */
export interface Posted {
  readonly ok: boolean;
  readonly bytes: number;
}

const USER_AGENT = 'llm-sla-gateway (OTLP/HTTP JSON)';

/** Gzips bytes with the runtime's CompressionStream (workerd and Node both have it). */
export async function gzip(body: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([body]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Posts one OTLP/HTTP JSON export (`OTEL_EXPORTER_OTLP_*_COMPRESSION=gzip`: gzipped, `content-encoding: gzip`).
 * Never rejects: a network error is `ok: false`. The collector's headers (credentials) are only sent, never kept
 * elsewhere. The answer's body is read and discarded so the connection can be reused.
 */
export async function postOtlp(url: string, headers: Readonly<Record<string, string>>, json: Uint8Array, compression: Compression): Promise<Posted> {
  let body = json;
  try {
    if (compression === 'gzip') body = await gzip(json);
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        accept: 'application/json',
        'user-agent': USER_AGENT,
        ...(compression === 'gzip' ? { 'content-encoding': 'gzip' } : {}),
      },
      body,
    });
    await res.arrayBuffer().catch(() => undefined);
    return { ok: res.ok, bytes: body.byteLength };
  } catch {
    return { ok: false, bytes: body.byteLength };
  }
}
