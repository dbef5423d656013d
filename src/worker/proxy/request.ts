import { GatewayError } from '../errors';
import { obj, parseJson, type JsonObject } from '../../core/json';
import type { Operation, ProviderFormat } from '../../core/providers/types';

const decoder = new TextDecoder();

/** The client's request body: its exact bytes, and its JSON parsed at most once, only when something asks. */
export class RequestBody {
  private parsed: JsonObject | null | undefined;
  private text: string | undefined;
  constructor(readonly bytes: Uint8Array | null) {}

  get raw(): string {
    this.text ??= this.bytes ? decoder.decode(this.bytes) : '';
    return this.text;
  }

  json(): JsonObject | null {
    if (this.parsed === undefined) this.parsed = this.bytes && this.bytes.byteLength > 0 ? obj(parseJson(this.raw)) : null;
    return this.parsed;
  }
}

/** Reads the body, refusing more than `limit` bytes whether or not a content-length announced them. */
export async function readBody(req: Request, limit: number, format: ProviderFormat): Promise<RequestBody> {
  if (req.method === 'GET' || req.method === 'HEAD' || req.body === null) return new RequestBody(null);
  const tooLarge = () =>
    new GatewayError(413, 'request_too_large', `Request body exceeds the gateway's limit of ${limit} bytes.`, format);
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (declared > limit) throw tooLarge();
  if (Number.isInteger(declared)) {
    // A declared length is enforced by the runtime: read natively in one go.
    return new RequestBody(new Uint8Array(await req.arrayBuffer()));
  }
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1 && chunks[0]) return new RequestBody(chunks[0]);
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return new RequestBody(bytes);
}

/** Operations whose streams can carry `stream_options.include_usage`. */
export function acceptsStreamOptions(op: Operation): boolean {
  return op === 'chat' || op === 'text_completion';
}
