import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSseEvent, SseSplitter } from '../../../../src/worker/stream/sse';

const enc = new TextEncoder();
const dec = new TextDecoder();

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.slice(prev, p));
    prev = p;
  }
  return out;
}

function collect(splitter: SseSplitter, chunks: Uint8Array[]): { events: string[]; passthrough: string } {
  const events: string[] = [];
  let passthrough = '';
  for (const chunk of chunks) {
    for (const part of splitter.push(chunk)) {
      if (part.whole) events.push(dec.decode(part.bytes));
      else passthrough += dec.decode(part.bytes);
    }
  }
  const rest = splitter.finish();
  if (rest) events.push(dec.decode(rest));
  return { events, passthrough };
}

const eventText = fc
  .record({
    type: fc.option(fc.constantFrom('message_start', 'content_block_delta', 'ping'), { nil: undefined }),
    data: fc.array(fc.string({ unit: 'grapheme' }).map((s) => s.replace(/[\r\n]/g, ' ')), { minLength: 1, maxLength: 3 }),
    eol: fc.constantFrom('\n', '\r\n', '\r'),
  })
  .map(({ type, data, eol }) => (type ? `event: ${type}${eol}` : '') + data.map((d) => `data: ${d}${eol}`).join('') + eol);

describe('SseSplitter', () => {
  it('returns every event with its exact bytes however the stream is cut into chunks', () => {
    fc.assert(
      fc.property(fc.array(eventText, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (events, cuts) => {
        const bytes = enc.encode(events.join(''));
        const { events: got, passthrough } = collect(new SseSplitter(), splitAt(bytes, cuts));
        expect(passthrough).toBe('');
        expect(got.join('')).toBe(events.join(''));
        // CR-only line ends can merge with a following event's LF only through a blank line; each event parses alike.
        expect(got.map((e) => parseSseEvent(enc.encode(e)).data)).toEqual(events.map((e) => parseSseEvent(enc.encode(e)).data));
      }),
    );
  });

  it('never throws on random bytes and hands back every byte it was given', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        const splitter = new SseSplitter(64);
        let total = 0;
        for (const chunk of splitAt(bytes, cuts)) for (const part of splitter.push(chunk)) total += part.bytes.length;
        total += splitter.finish()?.length ?? 0;
        expect(total).toBe(bytes.length);
      }),
    );
  });

  it('hands on an event larger than its limit at once, unparsed, and resumes at the next event', () => {
    const splitter = new SseSplitter(16);
    const big = `data: ${'x'.repeat(100)}\n\n`;
    const parts = [...splitter.push(enc.encode(big.slice(0, 50))), ...splitter.push(enc.encode(big.slice(50) + 'data: ok\n\n'))];
    expect(parts.filter((p) => !p.whole).map((p) => dec.decode(p.bytes)).join('')).toBe(big);
    expect(parts.filter((p) => p.whole).map((p) => dec.decode(p.bytes))).toEqual(['data: ok\n\n']);
  });
});

describe('parseSseEvent', () => {
  it('joins data lines, reads the event type and ignores comments', () => {
    const ev = parseSseEvent(enc.encode(': keep-alive\nevent: message_delta\ndata: {"a":\ndata:1}\n\n'));
    expect(ev).toMatchObject({ type: 'message_delta', data: '{"a":\n1}' });
    expect(parseSseEvent(enc.encode(':\n\n')).data).toBeNull();
  });
});
