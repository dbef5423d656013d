/**
 * Keeps a copy of a JSON body for parsing after the call: the whole body up to `maxWhole` bytes, past that only
 * its first and last `edge` bytes (usage sits at the end of OpenAI and Anthropic bodies, model and id at the start).
 */
export class BodyCapture {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private head: Uint8Array | null = null;
  private tail: Uint8Array[] = [];
  private tailSize = 0;
  total = 0;

  constructor(
    readonly maxWhole = 2 * 1024 * 1024,
    private readonly edge = 64 * 1024,
  ) {}

  /** A whole body the caller hands over and never touches again: kept without a copy. */
  static of(body: Uint8Array): BodyCapture {
    const capture = new BodyCapture();
    if (body.byteLength > capture.maxWhole) capture.add(body);
    else {
      capture.chunks.push(body);
      capture.size = capture.total = body.byteLength;
    }
    return capture;
  }

  add(chunk: Uint8Array): void {
    this.total += chunk.byteLength;
    if (this.head === null && this.size + chunk.byteLength <= this.maxWhole) {
      this.chunks.push(chunk.slice());
      this.size += chunk.byteLength;
      return;
    }
    if (this.head === null) {
      const all = join(this.chunks, this.size);
      this.head = all.slice(0, this.edge);
      this.chunks = [];
      this.size = 0;
      this.pushTail(all.subarray(this.edge));
    }
    this.pushTail(chunk);
  }

  private pushTail(bytes: Uint8Array): void {
    this.tail.push(bytes.slice(Math.max(0, bytes.byteLength - this.edge)));
    this.tailSize += Math.min(bytes.byteLength, this.edge);
    while (this.tail.length > 1 && this.tailSize - (this.tail[0]?.byteLength ?? 0) >= this.edge) {
      this.tailSize -= this.tail.shift()?.byteLength ?? 0;
    }
  }

  /** The whole body, or null when it was too large to keep. */
  whole(): Uint8Array | null {
    return this.head === null ? join(this.chunks, this.size) : null;
  }

  /** First and last bytes of a body too large to keep whole. */
  edges(): { head: Uint8Array; tail: Uint8Array } | null {
    if (this.head === null) return null;
    const tail = join(this.tail, this.tailSize);
    return { head: this.head, tail: tail.subarray(Math.max(0, tail.byteLength - this.edge)) };
  }
}

function join(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
