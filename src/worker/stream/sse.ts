const LF = 0x0a;
const CR = 0x0d;
const EMPTY = new Uint8Array(0);

/** A piece of the stream: a whole event, or bytes of an event too large to hold (never parsed). */
export interface SsePart {
  readonly bytes: Uint8Array;
  readonly whole: boolean;
}

/**
 * Splits a byte stream into whole Server-Sent Events, each returned as the exact bytes it occupied (its trailing
 * blank line included), so a caller can forward, drop or parse events without changing a byte. Line ends may be
 * LF, CRLF or CR, and an event may be split anywhere across chunks. Only the unfinished event is held, and at most
 * `maxPending` bytes of it: past that its bytes are handed back at once as a part that is not `whole`, and so is
 * the rest of that event as it arrives.
 */
export class SseSplitter {
  private pending: Uint8Array = EMPTY;
  /** Where scanning resumes in `pending`, and where its current line starts (-1: not at a line start). */
  private scanFrom = 0;
  private lineStart = 0;
  private oversized = false;

  constructor(private readonly maxPending = 1 << 20) {}

  push(chunk: Uint8Array): SsePart[] {
    const buf = this.pending.length === 0 ? chunk : concat(this.pending, chunk);
    const parts: SsePart[] = [];
    let eventStart = 0;
    let i = this.scanFrom;
    let lineStart = this.lineStart;
    while (i < buf.length) {
      const b = buf[i];
      if (b !== LF && b !== CR) {
        i++;
        continue;
      }
      let end = i + 1;
      if (b === CR) {
        if (end >= buf.length) break; // a CR last: wait to see whether an LF follows
        if (buf[end] === LF) end++;
      }
      const blank = i === lineStart;
      i = end;
      lineStart = end;
      if (blank) {
        parts.push({ bytes: buf.subarray(eventStart, end), whole: !this.oversized });
        this.oversized = false;
        eventStart = end;
      }
    }
    const rest = buf.subarray(eventStart);
    if (this.oversized || rest.length > this.maxPending) {
      // Too large to hold: hand the bytes on now and skip parsing this event.
      if (rest.length > 0) parts.push({ bytes: rest.slice(), whole: false });
      this.oversized = true;
      this.pending = EMPTY;
      this.scanFrom = 0;
      this.lineStart = lineStart === buf.length ? 0 : -1;
      return parts;
    }
    // Keep the unfinished event, copied: the chunk it came from is handed on to the client.
    this.pending = rest.length === 0 ? EMPTY : rest.slice();
    this.scanFrom = i - eventStart;
    this.lineStart = lineStart - eventStart;
    return parts;
  }

  /** At the end of the stream: the bytes of an event that never got its blank line, if any. */
  finish(): Uint8Array | null {
    const rest = this.pending;
    this.pending = EMPTY;
    this.scanFrom = 0;
    this.lineStart = 0;
    this.oversized = false;
    return rest.length > 0 ? rest : null;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export interface SseEvent {
  /** The `event:` field, or `message` when absent. */
  readonly type: string;
  /** The `data:` lines joined with LF; null when the event had none (comments, keep-alives). */
  readonly data: string | null;
  /** The event's text exactly as received. */
  readonly raw: string;
}

const decoder = new TextDecoder();

/** Parses one event's bytes (as returned by SseSplitter) per the WHATWG event-stream rules for `event` and `data`. */
export function parseSseEvent(bytes: Uint8Array): SseEvent {
  const text = decoder.decode(bytes);
  let type = 'message';
  let data: string[] | null = null;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') (data ??= []).push(value);
  }
  return { type, data: data === null ? null : data.join('\n'), raw: text };
}
