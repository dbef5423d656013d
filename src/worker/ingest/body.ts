import { GatewayError } from '../errors';

/**
 * The request body, decompressed when `content-encoding: gzip`, refused with 413 past `maxBytes` — a declared
 * length is checked before reading, and the bytes read (after decompression) are counted as they arrive, so neither
 * a long body nor a small gzip bomb is ever held whole.
 */
export async function readIngestBody(req: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  const encoding = (req.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== '') {
    throw new GatewayError(415, 'invalid_request', `Unsupported content-encoding ${JSON.stringify(encoding.slice(0, 32))}: send identity or gzip.`);
  }
  if (req.body === null) return new Uint8Array(0);
  const gzip = encoding === 'gzip';
  const stream = gzip ? req.body.pipeThrough(new DecompressionStream('gzip')) : req.body;
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        void reader.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError(400, 'invalid_request', gzip ? 'The body is not valid gzip.' : 'The request body could not be read.');
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function tooLarge(maxBytes: number): GatewayError {
  return new GatewayError(413, 'request_too_large', `The body is larger than INGEST_MAX_BYTES (${maxBytes} bytes, after decompression).`);
}
