import fs from 'node:fs';
import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import { Bench } from 'tinybench';
import { ResponseFacts } from '../src/worker/formats/facts';
import { onOpenAIEvent } from '../src/worker/formats/openai';
import { checkSample, sampleSchema } from '../src/core/sla/sample';
import { QuantileSketch } from '../src/core/sla/sketch';
import { observeBody } from '../src/worker/stream/observe';
import { parseSseEvent, SseSplitter } from '../src/worker/stream/sse';
import { estimateUsage } from '../src/worker/usage/estimate';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { SpanImpl } from '@microlabs/otel-cf-workers';
import type { CallRecord } from '../src/core/record';
import { serializeSpans } from '../src/worker/telemetry/otlp-json';
import { spanAttributes } from '../src/worker/telemetry/span';

/**
 * `npm run bench:micro`: the pure hot paths in Node with tinybench — sketch record / merge / serialise, the stream
 * observer per chunk, SSE usage parsing, the Durable Objects' sample check (by hand and through the zod schema),
 * token estimation (`TOKEN_ESTIMATE=on`): the encoder's one-off build, then the cost per call once built, for a
 * short chat, ~1k and ~4k tokens; and one span export of 512 gateway spans serialised by OpenTelemetry's
 * `JsonTraceSerializer` and by the gateway's `serializeSpans` (the same request, doubles typed as doubles). Node 24
 * on the machine that runs it; the numbers rank costs against each other,
 * they are not workerd's.
 */
const encoder = new TextEncoder();
const base = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o-mini' };
const events = [
  ...Array.from({ length: 20 }, (_, i) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: `tok${i} ` }, finish_reason: null }] })}\n\n`),
  `data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 } })}\n\n`,
  'data: [DONE]\n\n',
].map((e) => encoder.encode(e));
const usageEvent = events[20] as Uint8Array;

const sketchOf = (n: number, seed: number) => {
  const s = new QuantileSketch();
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 48271) % 2147483647;
    s.add(50 + (x % 5000) / 3);
  }
  return s;
};
const windows = Array.from({ length: 60 }, (_, i) => JSON.stringify(sketchOf(2000, i + 1).toJSON()));
const samples = Array.from({ length: 100 }, (_, i) => ({ ts: 1700000000000 + i, outcome: 'success', totalMs: 10 + i, ttftMs: i % 2 ? null : 5, inputTokens: 12, outputTokens: 20, costUsd: 0.0001 }));
const oneThousandTokens = 'The quick brown fox jumps over the lazy dog. '.repeat(100); // ~1,000 cl100k tokens
const shortPrompt = 'You are a helpful assistant. Summarise the following paragraph in two sentences. '.repeat(3); // ~50 tokens
const shortReply = 'The paragraph says that the gateway measures every call and judges each route against its targets. '.repeat(2);

/** The cl100k encoder built from its ranks (what the first estimate of an isolate pays): median of `runs`, ms of CPU. */
function encoderBuildMs(runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    new Tiktoken(cl100k).encode('warm');
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? NaN;
}

/**
 * 512 spans as the export sees them (the fields OpenTelemetry's transformer reads), attributes built by the
 * gateway's `spanAttributes` from one record with a whole temperature. Plain objects: otel-cf-workers' span class
 * needs the Workers runtime, and the transformer reads nothing else of it.
 */
const record = {
  ts: 1700000000000, route: 'openai/chat', provider: 'openai', format: 'openai', operation: 'chat', team: 'search',
  requestModel: 'gpt-4o-mini', responseModel: 'gpt-4o-mini-2024-07-18', stream: true, status: 200, outcome: 'success',
  errorType: null, totalMs: 812.4, ttfbMs: 201.3, ttftMs: 240.2, ttfcMs: 201.3, chunkGaps: null,
  usage: { input: 1200, output: 300, cacheRead: 1024, cacheCreation: 0, reasoning: 0 }, usageSource: 'provider',
  costUsd: 0.000297, responseId: 'chatcmpl-bench', serviceTier: 'default', systemFingerprint: 'fp_bench', finishReasons: ['stop'],
  request: { maxTokens: 512, temperature: 1, topP: 1 }, server: { address: 'api.openai.com', port: 443 },
  trace: { traceparent: null, tracestate: null }, priority: 'normal', content: null,
} satisfies CallRecord;
const resource = { attributes: { 'service.name': 'llm-sla-gateway' }, merge: () => resource } as unknown;
const spans = Array.from({ length: 512 }, (_, i) => {
  const { attributes } = spanAttributes(record, { valueLengthLimit: 4096, attributeCountLimit: 128, maxMessages: 20 });
  attributes['llm_sla.sampled_by'] = 'head';
  attributes['llm_sla.sampling.probability'] = 1;
  const ctx = { traceId: (i + 1).toString(16).padStart(32, '0'), spanId: (i + 1).toString(16).padStart(16, '0'), traceFlags: 1 };
  return {
    name: 'chat gpt-4o-mini', kind: 2, spanContext: () => ctx, parentSpanContext: undefined,
    startTime: [1700000000, 0], endTime: [1700000000, 812400000], status: { code: 0 }, attributes,
    links: [], events: [], duration: [0, 812400000], ended: true, resource,
    instrumentationScope: { name: 'llm-sla-gateway', version: '0.1.0' },
    droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0,
  };
}) as unknown as SpanImpl[];

/**
 * One export of 512 spans serialised by OpenTelemetry's `JsonTraceSerializer` and by `serializeSpans`, batch by
 * batch in turns with the order rotating (this machine's speed drifts more between back-to-back tinybench tasks than
 * the difference measured); the two are checked to write the same request but for the doubles' type first.
 */
function compareSpanExport(rounds = 60): { rounds: number; transformerUs: number; gatewayUs: number } {
  const decoder = new TextDecoder();
  const plain = decoder.decode(JsonTraceSerializer.serializeRequest(spans) ?? new Uint8Array());
  const typed = decoder.decode(serializeSpans(spans));
  if (typed.replace(/"doubleValue"/g, '"intValue"') !== plain.replace(/"doubleValue"/g, '"intValue"')) throw new Error('the two serialisers disagree');
  const ways = [() => JsonTraceSerializer.serializeRequest(spans), () => serializeSpans(spans)];
  const times: number[][] = [[], []];
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < ways.length; k++) {
      const w = (r + k) % ways.length;
      const t0 = process.hrtime.bigint();
      (ways[w] as () => unknown)();
      (times[w] as number[]).push(Number(process.hrtime.bigint() - t0) / 1000 / spans.length);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  return { rounds, transformerUs: median(times[0] as number[]), gatewayUs: median(times[1] as number[]) };
}

async function observeStream(): Promise<void> {
  const upstream = new ReadableStream<Uint8Array>({
    start(c) {
      for (const e of events) c.enqueue(e);
      c.close();
    },
  });
  const facts = new ResponseFacts();
  const { body, ended } = observeBody(upstream, facts, {
    kind: 'sse',
    format: 'openai',
    stripInjectedUsage: true,
    idleTimeoutMs: 60_000,
    onIdle: () => undefined,
    now: Date.now,
    contentLength: null,
  });
  const reader = body.getReader();
  while (!(await reader.read()).done);
  await ended;
}

async function main(): Promise<void> {
  const buildMs = encoderBuildMs(5);
  await estimateUsage('warm up', 'the encoder'); // load the ranks outside the measurement
  const bench = new Bench({ time: 500, warmupTime: 100 });
  const fresh = new QuantileSketch();
  let v = 1;
  bench
    .add('sketch: record one value', () => {
      v = (v * 1.0001) % 10_000;
      fresh.add(v + 1);
    })
    .add('sketch: merge 60 stored windows (deserialise + merge)', () => {
      const total = new QuantileSketch();
      for (const w of windows) total.merge(QuantileSketch.fromJSON(JSON.parse(w)));
      total.quantile(0.99);
    })
    .add('sketch: serialise one window', () => {
      JSON.stringify(sketchOf(0, 1).toJSON());
    })
    .add('observer: 22-event OpenAI stream, usage chunk stripped (per stream)', observeStream)
    .add('sse: split + parse + read usage of one event', () => {
      const splitter = new SseSplitter();
      const facts = new ResponseFacts();
      for (const part of splitter.push(usageEvent)) if (part.whole) onOpenAIEvent(parseSseEvent(part.bytes), 0, facts, true);
    })
    .add('tokens: estimate a short chat (~50 + ~40 tokens), encoder built', async () => {
      await estimateUsage(shortPrompt, shortReply);
    })
    .add('tokens: estimate ~1k tokens (js-tiktoken cl100k), encoder built', async () => {
      await estimateUsage(oneThousandTokens, '');
    })
    .add('tokens: estimate ~4k tokens, encoder built', async () => {
      await estimateUsage(oneThousandTokens.repeat(4), '');
    })
    // What a Durable Object does to every sample it is sent: checked by hand, or through the zod schema.
    .add('samples: check 100 (checkSample)', () => {
      for (const x of samples) checkSample(x);
    })
    .add('samples: check 100 (sampleSchema.safeParse)', () => {
      for (const x of samples) sampleSchema.safeParse(x);
    });
  await bench.run();
  const rows = bench.tasks.map((t) => {
    const r = t.result as { latency?: { mean: number; p99?: number }; throughput?: { mean: number } } | undefined;
    return { task: t.name, meanUs: (r?.latency?.mean ?? NaN) * 1000, p99Us: (r?.latency?.p99 ?? NaN) * 1000, opsPerSec: r?.throughput?.mean ?? NaN };
  });
  console.log('micro-benchmarks (Node', process.version, ')');
  for (const r of rows) console.log(`${r.task.padEnd(70)} ${r.meanUs.toFixed(2).padStart(10)} µs mean ${r.p99Us.toFixed(2).padStart(10)} µs p99`);
  const perChunk = (rows[3]?.meanUs ?? NaN) / events.length;
  console.log(`observer per chunk: ${perChunk.toFixed(2)} µs`);
  console.log(`tokens: cl100k encoder build (once per isolate, median of 5): ${buildMs.toFixed(1)} ms`);
  const spanExport = compareSpanExport();
  console.log(
    `span export, µs a span (median of ${spanExport.rounds} rounds of 512, taken in turns): JsonTraceSerializer ${spanExport.transformerUs.toFixed(2)}, serializeSpans ${spanExport.gatewayUs.toFixed(2)}`,
  );
  fs.mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/micro-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  fs.writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, rows, observerPerChunkUs: perChunk, encoderBuildMs: buildMs, spanExport }, null, 2)}
`);
  console.log(`written ${file}`);
}

await main();
