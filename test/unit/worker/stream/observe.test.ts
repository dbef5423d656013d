import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ResponseFacts } from '../../../../src/worker/formats/facts';
import type { ProviderFormat } from '../../../../src/core/providers/types';
import { observeBody } from '../../../../src/worker/stream/observe';

const enc = new TextEncoder();
const dec = new TextDecoder();
const sse = (events: { event?: string; data: unknown }[]) =>
  events.map((e) => `${e.event ? `event: ${e.event}\n` : ''}data: ${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)}\n\n`).join('');

const chunk = (delta: object, extra: object = {}) => ({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta, finish_reason: null }], ...extra });
const OPENAI = sse([
  { data: chunk({ role: 'assistant', content: '' }, { usage: null }) },
  { data: chunk({ content: 'Hél' }, { usage: null }) },
  { data: chunk({ content: 'lo 😀' }, { usage: null }) },
  { data: { ...chunk({}, { usage: null }), choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] } },
  { data: { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [], usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 } } },
  { data: '[DONE]' },
]);
const OPENAI_PLAIN = OPENAI.replace(/,"usage":null/g, '').replace(/data: \{[^\n]*"choices":\[\],[^\n]*\n\n/, '');
const ANTHROPIC = sse([
  { event: 'message_start', data: { type: 'message_start', message: { id: 'm', model: 'claude', usage: { input_tokens: 5, cache_read_input_tokens: 2, output_tokens: 1 } } } },
  { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
  { event: 'ping', data: { type: 'ping' } },
  { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Héllo' } } },
  { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 6 } } },
  { event: 'message_stop', data: { type: 'message_stop' } },
]);

/** Streams `bytes` cut at `cuts` through the observer; the clock reads how many bytes the upstream has sent. */
async function observe(bytes: Uint8Array, cuts: number[], format: ProviderFormat, strip: boolean) {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    if (p > prev) pieces.push(bytes.slice(prev, p));
    prev = p;
  }
  let sent = 0;
  const upstream = new ReadableStream<Uint8Array>({
    pull(c) {
      const next = pieces.shift();
      if (!next) return c.close();
      sent += next.length;
      c.enqueue(next);
    },
  }, { highWaterMark: 0 });
  const facts = new ResponseFacts();
  const observed = observeBody(upstream, facts, { kind: 'sse', format, stripInjectedUsage: strip, idleTimeoutMs: 10_000, onIdle: () => undefined, now: () => sent, contentLength: null });
  const out = new Uint8Array(await new Response(observed.body).arrayBuffer());
  return { out, facts, end: await observed.ended };
}

describe('stream observer, property-based', () => {
  it.each([
    ['openai', OPENAI, 'openai', 2],
    ['anthropic', ANTHROPIC, 'anthropic', 4],
  ] as const)('%s: usage, output and first-token time do not depend on where the bytes are cut', async (_n, text, format, tokenEvent) => {
    const bytes = enc.encode(text);
    // The first content token is in event `tokenEvent` (1-based): it has arrived once its last byte has.
    const tokenEnd = enc.encode(text.split('\n\n').slice(0, tokenEvent).join('\n\n')).length + 2;
    const whole = await observe(bytes, [], format, false);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 12 }), async (cuts) => {
        const { out, facts, end } = await observe(bytes, cuts, format, false);
        expect(out).toEqual(bytes);
        expect(end.kind).toBe('complete');
        expect(facts.usage).toEqual(whole.facts.usage);
        expect(facts.outputText.toString()).toBe(whole.facts.outputText.toString());
        const boundaries = [...new Set(cuts.map((c) => c % (bytes.length + 1))), bytes.length].filter((p) => p >= tokenEnd);
        expect(facts.firstTokenAt).toBe(Math.min(...boundaries));
      }),
      { numRuns: 60 },
    );
  });

  it('removes exactly the injected usage chunk and the null usage fields, however the bytes are cut', async () => {
    const bytes = enc.encode(OPENAI);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 12 }), async (cuts) => {
        const { out, facts } = await observe(bytes, cuts, 'openai', true);
        expect(dec.decode(out)).toBe(OPENAI_PLAIN);
        expect(facts.usage).toMatchObject({ input: 9, output: 4 });
      }),
      { numRuns: 60 },
    );
  });

  it('never throws on random bytes, and hands every byte on when not stripping', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 8 }), fc.constantFrom<ProviderFormat>('openai', 'anthropic'), fc.boolean(), async (bytes, cuts, format, strip) => {
        const { out, end } = await observe(bytes, cuts, format, strip);
        expect(end.kind).toBe('complete');
        if (!strip) expect(out).toEqual(bytes);
      }),
      { numRuns: 80 },
    );
  });
});
