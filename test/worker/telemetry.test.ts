import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { configFor } from '../../src/config/in-force';
import { isolateFor } from '../../src/worker/isolate';
import type { CallRecord } from '../../src/core/record';
import { headKeeps, parseTraceparent, traceIdKeeps } from '../../src/worker/telemetry/sampling';
import { resolveTelemetry } from '../../src/config/telemetry';
import { registry } from '../../src/core/objects';
import { SpanRecorder } from '../../src/worker/telemetry/recorder';
import { IsolateCounts } from '../../src/worker/counts';
import type { ReceivedSpan } from '../support/otlp-receiver';
import { gateway, GW, jsonPost, only } from './helpers';

/** Secrets used by this file: the final test scans everything the collector received for them. */
const SECRETS = {
  openaiKey: 'sk-telemetry-openai-0123456789',
  anthropicKey: 'sk-ant-telemetry-0123456789',
  gatewayKey: 'gw-telemetry-key-0123456789abcdef',
  managedKey: 'sk-managed-telemetry-0123456789',
  collectorToken: 'collector-token-0123456789',
};

let scopes = 0;
/** A fresh collector scope (its own spans, stats and misbehaviour) and the vars that export to it. */
function collector(vars: Record<string, string> = {}) {
  const scope = `s${Date.now()}x${++scopes}`;
  const base = `${env.OTLP_BASE}/__otlp/${scope}`;
  return {
    vars: { OTEL_EXPORTER_OTLP_ENDPOINT: `${env.OTLP_BASE}/${scope}`, OTEL_BSP_SCHEDULE_DELAY: '10', ...vars },
    spans: async (): Promise<ReceivedSpan[]> => (await fetch(`${base}/spans`)).json(),
    stats: async (): Promise<{ requests: number; answered: number; empty: number }> => (await fetch(`${base}/stats`)).json(),
    mode: async (q: string) => void (await fetch(`${base}/mode?${q}`, { method: 'POST' })),
  };
}

const openaiHeaders = { authorization: `Bearer ${SECRETS.openaiKey}` };
const anthropicHeaders = { 'x-api-key': SECRETS.anthropicKey, 'anthropic-version': '2023-06-01' };
const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Say hello' }],
  temperature: 0.2,
  top_p: 0.9,
  max_tokens: 50,
  ...extra,
});
const message = (extra: Record<string, unknown> = {}) => ({
  model: 'claude-sonnet-4-5',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'Say hello' }],
  ...extra,
});

const SPAN_KIND_CLIENT = 3;
const durationMs = (s: ReceivedSpan) => Number((BigInt(s.endNs) - BigInt(s.startNs)) / 1000n) / 1000;
const startMs = (s: ReceivedSpan) => Number(BigInt(s.startNs) / 1_000_000n);

function spanRecorderOf(testEnv: Env) {
  const result = configFor(testEnv).result;
  if (!result.ok) throw new Error(result.problems.join('; '));
  const r = isolateFor(testEnv).spanRecorder(result.config);
  if (!r) throw new Error('no span recorder');
  return r;
}

describe('span per call, GenAI attributes', () => {
  it('OpenAI JSON chat: one CLIENT span with every attribute, joined to the caller trace', async () => {
    const c = collector();
    const gw = gateway(c.vars);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = '00f067aa0ba902b7';
    const usage = JSON.stringify({ input: 120, output: 30, cached: 100, reasoning: 12 });
    const res = await gw.fetch(
      `${GW}/openai/v1/chat/completions`,
      jsonPost(chat(), { ...openaiHeaders, traceparent: `00-${traceId}-${parent}-01`, tracestate: 'vendor=x', 'x-mock-usage': usage, 'x-sla-team': 'search' }),
    );
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const r = only(await gw.settle());
    const spans = await c.spans();
    expect(spans).toHaveLength(1);
    const s = spans[0] as ReceivedSpan;
    expect(s.name).toBe('chat gpt-4o-mini');
    expect(s.kind).toBe(SPAN_KIND_CLIENT);
    expect(s.traceId).toBe(traceId);
    expect(s.parentSpanId).toBe(parent);
    expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(s.resource['service.name']).toBe('llm-sla-gateway');
    expect(s.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.max_tokens': 50,
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.top_p': 0.9,
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.response.id': r.responseId,
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 120,
      'gen_ai.usage.output_tokens': 30,
      'gen_ai.usage.cache_read.input_tokens': 100,
      'gen_ai.usage.cache_creation.input_tokens': 0,
      'gen_ai.usage.reasoning.output_tokens': 12,
      'openai.response.service_tier': 'default',
      'openai.response.system_fingerprint': 'fp_mock',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(env.UPSTREAM_OPENAI).port),
      'http.response.status_code': 200,
      'llm_sla.route': 'openai/chat',
      'llm_sla.outcome': 'success',
      'llm_sla.usage.source': 'provider',
      'llm_sla.cost_usd': r.costUsd,
      'llm_sla.team': 'search',
      'llm_sla.priority': 'normal',
      'llm_sla.time_to_first_byte': (r.ttfbMs ?? NaN) / 1000,
      'llm_sla.gateway_overhead': (r.gatewayMs ?? NaN) / 1000,
      'llm_sla.sampled_by': 'head',
    });
    expect(s.status.code ?? 0).toBe(0);
    expect(startMs(s)).toBe(r.ts);
    expect(durationMs(s)).toBeCloseTo(r.totalMs, 3);
  });

  it('doubles are exported as doubleValue even when whole (temperature 1, top_p 1, probability 1), ints as intValue', async () => {
    const c = collector();
    const gw = gateway(c.vars);
    for (let i = 0; i < 3; i++) {
      await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat({ temperature: 1, top_p: 1 }), openaiHeaders))).arrayBuffer();
    }
    await gw.settle();
    const spans = await c.spans();
    expect(spans).toHaveLength(3);
    for (const s of spans) {
      expect(s.attributes['gen_ai.request.temperature']).toBe(1);
      expect(s.attributes['llm_sla.sampling.probability']).toBe(1);
      expect(s.attributeTypes).toMatchObject({
        'gen_ai.request.temperature': 'doubleValue',
        'gen_ai.request.top_p': 'doubleValue',
        'llm_sla.sampling.probability': 'doubleValue',
        'llm_sla.time_to_first_byte': 'doubleValue',
        'llm_sla.cost_usd': 'doubleValue',
        'gen_ai.request.max_tokens': 'intValue',
        'gen_ai.usage.input_tokens': 'intValue',
        'server.port': 'intValue',
        'http.response.status_code': 'intValue',
      });
    }
  });

  it('OpenAI stream through the SDK: the span lasts until the last byte, with time to first chunk', async () => {
    const c = collector();
    const gw = gateway(c.vars);
    const client = new OpenAI({ baseURL: `${GW}/openai/v1`, apiKey: SECRETS.openaiKey, fetch: gw.fetch, maxRetries: 0 });
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true },
      { headers: { 'x-mock-chunks': '6', 'x-mock-chunk-delay-ms': '100' } },
    );
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello from the mock upstream!');
    const r = only(await gw.settle());
    const [s] = await c.spans();
    if (!s) throw new Error('no span');
    expect(s.name).toBe('chat gpt-4o-mini');
    expect(s.attributes['gen_ai.request.stream']).toBe(true);
    // The conventions' first chunk is the first event received (here a role-only delta); the first content token,
    // what the SLAs judge, comes a chunk (100 ms) later and is exported under our own name. (Half the wait is the bound:
    // on a loaded machine the first chunk can be delivered late, shortening the gap seen.)
    expect(r.ttfcMs).not.toBeNull();
    expect((r.ttftMs ?? 0) - (r.ttfcMs ?? Infinity)).toBeGreaterThanOrEqual(50);
    expect(s.attributes['gen_ai.response.time_to_first_chunk']).toBe((r.ttfcMs ?? NaN) / 1000);
    expect(s.attributes['llm_sla.time_to_first_token']).toBe((r.ttftMs ?? NaN) / 1000);
    expect(s.attributes['gen_ai.usage.output_tokens']).toBe(r.usage?.output);
    expect(s.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
    // Five waits of 100 ms between six chunks: a span that ended at the headers would be far shorter.
    expect(durationMs(s)).toBeGreaterThanOrEqual(500);
    expect(durationMs(s)).toBeCloseTo(r.totalMs, 3);
    expect(durationMs(s)).toBeGreaterThan((r.ttftMs ?? Infinity) + 350);
  });

  it('Anthropic JSON and stream: provider, cache tokens, finish reasons, duration', async () => {
    const c = collector();
    const gw = gateway(c.vars);
    const usage = JSON.stringify({ input: 20, output: 7, cache_read: 300, cache_creation: 50 });
    const a = await gw.fetch(`${GW}/anthropic/v1/messages`, jsonPost(message({ temperature: 0.5 }), { ...anthropicHeaders, 'x-mock-usage': usage }));
    await a.arrayBuffer();
    const client = new Anthropic({ baseURL: `${GW}/anthropic`, apiKey: SECRETS.anthropicKey, fetch: gw.fetch, maxRetries: 0 });
    const stream = await client.messages.create(
      { ...message(), stream: true } as Anthropic.MessageCreateParamsStreaming,
      { headers: { 'x-mock-chunks': '5', 'x-mock-chunk-delay-ms': '40' } },
    );
    for await (const _event of stream) void _event;
    const records = await gw.settle();
    const spans = (await c.spans()).sort((x, y) => startMs(x) - startMs(y));
    expect(spans).toHaveLength(2);
    const [json, streamed] = spans as [ReceivedSpan, ReceivedSpan];
    expect(json.name).toBe('chat claude-sonnet-4-5');
    expect(json.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.temperature': 0.5,
      'gen_ai.request.max_tokens': 64,
      'gen_ai.usage.input_tokens': 370,
      'gen_ai.usage.output_tokens': 7,
      'gen_ai.usage.cache_read.input_tokens': 300,
      'gen_ai.usage.cache_creation.input_tokens': 50,
      'gen_ai.response.finish_reasons': ['end_turn'],
      'llm_sla.route': 'anthropic/messages',
    });
    expect(json.attributes['gen_ai.response.id']).toMatch(/^msg_/);
    // Set if and only if the request streams; the openai.* attributes are OpenAI's alone.
    expect(json.attributes).not.toHaveProperty('gen_ai.request.stream');
    expect(Object.keys(json.attributes).filter((k) => k.startsWith('openai.'))).toEqual([]);
    expect(streamed.attributes['gen_ai.request.stream']).toBe(true);
    const rs = records.find((r) => r.stream) as CallRecord;
    // First chunk: message_start; first token: the first content_block_delta, later.
    expect(streamed.attributes['gen_ai.response.time_to_first_chunk']).toBe((rs.ttfcMs ?? NaN) / 1000);
    expect(streamed.attributes['llm_sla.time_to_first_token']).toBe((rs.ttftMs ?? NaN) / 1000);
    expect(rs.ttfcMs ?? Infinity).toBeLessThan(rs.ttftMs ?? 0);
    expect(durationMs(streamed)).toBeCloseTo(rs.totalMs, 3);
    expect(durationMs(streamed)).toBeGreaterThanOrEqual(160);
  });

  it('errors: status ERROR with error.type, kept whatever the ratio', async () => {
    const c = collector({ OTEL_TRACES_SAMPLER_ARG: '0', UPSTREAM_TIMEOUT_MS: '150', UPSTREAM_MISTRAL: env.OTLP_DEAD });
    const gw = gateway(c.vars);
    for (const status of ['500', '429']) {
      const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), { ...openaiHeaders, 'x-mock-status': status }));
      expect(res.status).toBe(Number(status));
      await res.arrayBuffer();
    }
    const timeout = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), { ...openaiHeaders, 'x-mock-latency-ms': '1000' }));
    expect(timeout.status).toBe(504);
    const down = await gw.fetch(`${GW}/mistral/v1/chat/completions`, jsonPost(chat({ model: 'mistral-small' }), openaiHeaders));
    expect(down.status).toBe(502);
    const ok = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), openaiHeaders));
    await ok.arrayBuffer();
    await gw.settle();
    const spans = await c.spans();
    const byType = Object.fromEntries(spans.map((s) => [s.attributes['error.type'], s]));
    expect(Object.keys(byType).sort()).toEqual(['429', '500', 'network_error', 'timeout'].sort());
    for (const s of spans) {
      expect(s.status.code).toBe(2);
      expect(s.attributes['llm_sla.sampled_by']).toBe('error');
    }
    expect(byType['500']?.attributes['http.response.status_code']).toBe(500);
    expect(byType['network_error']?.attributes['gen_ai.provider.name']).toBe('mistral_ai');
  });
});

describe('sampling', () => {
  it('traceidratio keeps the ratio of random trace ids within statistical bounds', () => {
    const n = 20_000;
    for (const ratio of [0.01, 0.1, 0.5]) {
      let kept = 0;
      for (let i = 0; i < n; i++) {
        const id = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
        if (traceIdKeeps(id, ratio)) kept++;
      }
      const sd = Math.sqrt(n * ratio * (1 - ratio));
      expect(Math.abs(kept - n * ratio)).toBeLessThan(5 * sd);
    }
  });

  it('end to end: a 0.5 ratio exports about half of 200 calls; the rest make no request', async () => {
    const c = collector({ OTEL_TRACES_SAMPLER_ARG: '0.5', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1' });
    const gw = gateway(c.vars);
    const n = 200;
    for (let i = 0; i < n; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), openaiHeaders));
          await res.arrayBuffer();
        }),
      );
    }
    await gw.settle();
    const spans = await c.spans();
    const sd = Math.sqrt(n * 0.25);
    expect(Math.abs(spans.length - n / 2)).toBeLessThan(5 * sd);
    // One span per export here: exactly one request per kept call, none for the others, none empty.
    const stats = await c.stats();
    expect(stats.requests).toBe(spans.length);
    expect(stats.empty).toBe(0);
  });

  it('unsampled calls make no export request at all; critical priority and slow calls are always kept', async () => {
    const c = collector({ OTEL_TRACES_SAMPLER_ARG: '0', TELEMETRY_SLOW_MS: '150' });
    const gw = gateway(c.vars);
    for (let i = 0; i < 5; i++) await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), openaiHeaders))).arrayBuffer();
    await gw.settle();
    expect(await c.stats()).toMatchObject({ requests: 0 });
    expect(spanRecorderOf(gw.env).queue.counts.spans_unsampled).toBe(5);

    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), { ...openaiHeaders, 'x-sla-priority': 'critical' }))).arrayBuffer();
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), { ...openaiHeaders, 'x-mock-latency-ms': '250' }))).arrayBuffer();
    await gw.settle();
    const spans = await c.spans();
    expect(spans.map((s) => s.attributes['llm_sla.sampled_by']).sort()).toEqual(['head', 'slow']);
    expect(spans.find((s) => s.attributes['llm_sla.sampled_by'] === 'head')?.attributes['llm_sla.priority']).toBe('critical');
  });

  it('slow means over the route SLA p95 target when no threshold is set', async () => {
    const c = collector({ OTEL_TRACES_SAMPLER_ARG: '0', SLA_CONFIG: JSON.stringify({ routes: { 'openai/*': { max_p95_ms: 150 } } }) });
    const gw = gateway(c.vars);
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), openaiHeaders))).arrayBuffer();
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), { ...openaiHeaders, 'x-mock-latency-ms': '250' }))).arrayBuffer();
    await gw.settle();
    const spans = await c.spans();
    expect(spans).toHaveLength(1);
    expect(spans[0]?.attributes['llm_sla.sampled_by']).toBe('slow');
  });

  it('priority ratios and the parent-based samplers', () => {
    const config = { sampler: 'parentbased_traceidratio' as const, ratios: { critical: 1, high: 1, normal: 0.5, low: 0 } };
    const id = 'ffffffffffffffffffffffffffffffff';
    expect(headKeeps(config, { priority: 'high' }, id, null)).toBe(true);
    expect(headKeeps(config, { priority: 'low' }, '00000000000000000000000000000001', null)).toBe(false);
    expect(headKeeps({ ...config, ratios: { critical: 1, high: 0, normal: 0, low: 0 } }, { priority: 'critical' }, id, null)).toBe(true);
    const sampledParent = parseTraceparent(`00-${id}-00f067aa0ba902b7-01`);
    const unsampledParent = parseTraceparent(`00-${id}-00f067aa0ba902b7-00`);
    expect(headKeeps(config, { priority: 'low' }, id, sampledParent)).toBe(true);
    expect(headKeeps(config, { priority: 'high' }, id, unsampledParent)).toBe(false);
    expect(headKeeps({ ...config, sampler: 'traceidratio' }, { priority: 'low' }, id, sampledParent)).toBe(false);
    expect(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeNull();
    expect(parseTraceparent('garbage')).toBeNull();
  });
});

describe('content capture and secrets', () => {
  it('no message content unless capture is on; then bounded, with keys masked', async () => {
    const off = collector();
    const gwOff = gateway(off.vars);
    await (await gwOff.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), openaiHeaders))).arrayBuffer();
    await gwOff.settle();
    const [plain] = await off.spans();
    expect(Object.keys(plain?.attributes ?? {}).filter((k) => k.includes('messages'))).toEqual([]);

    const on = collector({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true', TELEMETRY_MAX_MESSAGES: '2' });
    const gw = gateway(on.vars);
    const messages = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'first answer' },
      { role: 'user', content: `my key is ${SECRETS.managedKey}, and ${'x'.repeat(1000)}` },
    ];
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat({ messages }), openaiHeaders))).arrayBuffer();
    await gw.settle();
    const [s] = await on.spans();
    type Msg = { role: string; parts: { type: string; content: string }[]; finish_reason?: string };
    const input = JSON.parse(String(s?.attributes['gen_ai.input.messages'])) as Msg[];
    expect(input.map((m) => m.role)).toEqual(['assistant', 'user']);
    expect(input[1]?.parts[0]?.content).toBe(`my key is [REDACTED], and ${'x'.repeat(1000)}`);
    const output = JSON.parse(String(s?.attributes['gen_ai.output.messages'])) as Msg[];
    expect(output).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'Hello from the mock upstream!' }], finish_reason: 'stop' }]);

    // A value-length limit keeps the JSON whole: older messages go first, then the newest is shortened.
    const small = collector({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true', OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '300' });
    const gwSmall = gateway(small.vars);
    await (await gwSmall.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat({ messages }), openaiHeaders))).arrayBuffer();
    await gwSmall.settle();
    const [t] = await small.spans();
    const text = String(t?.attributes['gen_ai.input.messages']);
    expect(text.length).toBeLessThanOrEqual(300);
    const cut = JSON.parse(text) as Msg[];
    expect(cut.map((m) => m.role)).toEqual(['user']);
    expect(cut[0]?.parts[0]?.content).toMatch(/^my key is \[REDACTED\], and x+$/);
  });

  it('gateway keys, managed provider keys and collector headers never reach a span', async () => {
    const c = collector({
      GATEWAY_KEYS: JSON.stringify({ [SECRETS.gatewayKey]: 'team-a' }),
      OPENAI_API_KEY: SECRETS.managedKey,
      OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${SECRETS.collectorToken}`,
      OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
    });
    const gw = gateway(c.vars);
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, { ...jsonPost(chat({ messages: [{ role: 'user', content: `echo ${SECRETS.gatewayKey}` }] })), headers: { 'content-type': 'application/json', 'x-gateway-key': SECRETS.gatewayKey } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    await gw.settle();
    const [s] = await c.spans();
    expect(s?.attributes['llm_sla.team']).toBe('team-a');
    const raw = JSON.stringify(await c.spans());
    for (const secret of Object.values(SECRETS)) expect(raw).not.toContain(secret);
  });
});

describe('a collector that misbehaves', () => {
  it('a collector taking 2 s to answer does not delay the response', async () => {
    const c = collector();
    await c.mode('delayMs=2000');
    const gw = gateway(c.vars);
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), openaiHeaders));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ object: 'chat.completion' });
    // The whole response is in the client's hands while the export is still waiting for the collector.
    await new Promise((r) => setTimeout(r, 100));
    expect(await c.stats()).toMatchObject({ requests: 1, answered: 0 });
    await gw.settle();
    expect(await c.stats()).toMatchObject({ requests: 1, answered: 1 });
    expect(await c.spans()).toHaveLength(1);
  });

  for (const kind of ['answers 500', 'is down'] as const) {
    it(`a collector that ${kind}: no client error, the breaker opens, drops are counted, a probe closes it`, async () => {
      // Metrics export off: its wait on the dead collector would let the 300 ms cool-down pass between calls.
      const c = collector({ TELEMETRY_BREAKER_FAILURES: '3', TELEMETRY_BREAKER_COOLDOWN_MS: '300', OTEL_EXPORTER_OTLP_TIMEOUT: '1000', OTEL_METRICS_EXPORTER: 'none' });
      if (kind === 'answers 500') await c.mode('status=500');
      const vars = kind === 'is down' ? { ...c.vars, OTEL_EXPORTER_OTLP_ENDPOINT: env.OTLP_DEAD } : c.vars;
      const gw = gateway(vars);
      const call = async () => {
        const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), openaiHeaders));
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ object: 'chat.completion' });
        await gw.settle();
      };
      for (let i = 0; i < 8; i++) await call();
      const rec = spanRecorderOf(gw.env);
      expect(rec.queue.breaker.state).toBe('open');
      expect(rec.queue.counts).toMatchObject({ exports_failed: 3, spans_dropped_export_failed: 3, spans_dropped_breaker_open: 5, breaker_opens: 1, spans_exported: 0 });
      if (kind === 'answers 500') expect((await c.stats()).requests).toBe(3);

      // After the cool-down one probe goes out; with the collector healthy again it closes the breaker.
      if (kind === 'is down') return;
      await c.mode('status=200');
      await new Promise((r) => setTimeout(r, 350));
      await call();
      expect(rec.queue.breaker.state).toBe('closed');
      await call();
      expect(rec.queue.counts.spans_exported).toBe(2);
      expect(await c.spans()).toHaveLength(2);
    });
  }

  it('a collector that hangs: the queue stays bounded and the overflow is counted', async () => {
    const c = collector({ OTEL_BSP_MAX_QUEUE_SIZE: '40', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10', OTEL_EXPORTER_OTLP_TIMEOUT: '300' });
    await c.mode('delayMs=3000');
    const gw = gateway(c.vars);
    const rec = spanRecorderOf(gw.env);
    let maxSize = 0;
    await Promise.all(
      Array.from({ length: 150 }, async () => {
        const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), openaiHeaders));
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        maxSize = Math.max(maxSize, rec.queue.size);
      }),
    );
    await gw.settle();
    expect(maxSize).toBeLessThanOrEqual(40);
    const counts = rec.queue.counts;
    expect(counts.spans_dropped_queue_full + counts.spans_dropped_breaker_open).toBeGreaterThan(0);
    expect(counts.spans_exported + counts.spans_dropped_export_failed + counts.spans_dropped_queue_full + counts.spans_dropped_breaker_open).toBe(150);
  });

  it('a sender that throws instead of answering: a failed export, counted, its queue slots freed', async () => {
    const gw = gateway();
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), openaiHeaders))).arrayBuffer();
    const [record] = await gw.settle();
    const { config } = resolveTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1', OTEL_BSP_MAX_QUEUE_SIZE: '2', TELEMETRY_BREAKER_FAILURES: '100' });
    const recorder = new SpanRecorder(config!, () => null, [], () => {
      throw new RangeError('serializer failed');
    });
    // More calls than the queue holds: were a throwing export to keep its slots, the later spans would be refused.
    for (let i = 0; i < 5; i++) await recorder.record(record as CallRecord);
    expect(recorder.queue.size).toBe(0);
    expect(recorder.queue.counts).toMatchObject({ exports_failed: 5, spans_dropped_export_failed: 5, spans_dropped_queue_full: 0, spans_exported: 0 });
  });

  it('/metrics shows the span counts reported by the isolates', async () => {
    const c = collector({ TELEMETRY_BREAKER_FAILURES: '1', TELEMETRY_BREAKER_COOLDOWN_MS: '60000' });
    await c.mode('status=500');
    const gw = gateway(c.vars);
    for (let i = 0; i < 3; i++) {
      await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), openaiHeaders))).arrayBuffer();
      await gw.settle();
    }
    const text = await (await gw.fetch(`${GW}/metrics`)).text();
    const value = (result: string) => Number(new RegExp(`llm_sla_telemetry_spans_total\\{result="${result}"\\} (\\d+)`).exec(text)?.[1]);
    expect(value('dropped_breaker_open')).toBeGreaterThanOrEqual(2);
    expect(value('dropped_export_failed')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/llm_sla_telemetry_breaker_opens_total \d+/);
  });
});

describe('span counts for /metrics', () => {
  it('go to the registry at most once per interval per isolate, as totals, a failed report carried by the next', async () => {
    const gw = gateway();
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), openaiHeaders))).arrayBuffer();
    const [record] = await gw.settle();
    const { config } = resolveTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_BSP_SCHEDULE_DELAY: '5', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1' });
    const reports: { isolate: string; totals: Record<string, number> }[] = [];
    let failNext = true;
    const report = async (isolate: string, totals: Record<string, number>) => {
      if (failNext) {
        failNext = false;
        throw new Error('registry unavailable');
      }
      reports.push({ isolate, totals });
    };
    // This isolate's counts (a fresh set, so other tests' spans do not mix in), reported after each record as the
    // gateway does (src/worker/isolate.ts), with TELEMETRY_COUNTS_INTERVAL_MS=200.
    const counts = new IsolateCounts();
    // One span per export, each answered after a moment: counts accrue call by call.
    const recorder = new SpanRecorder(config!, () => null, [], () => new Promise((r) => setTimeout(() => r(true), 1)), { counts });
    const recordAndReport = async (r: CallRecord) => {
      await recorder.record(r);
      await counts.report(report, 200);
    };
    const started = Date.now();
    for (const n of [50, 30, 20]) await Promise.all(Array.from({ length: n }, () => recordAndReport(record as CallRecord)));
    const elapsed = Date.now() - started;
    expect(reports.at(-1)?.totals['spans_exported']).toBe(100);
    expect(new Set(reports.map((r) => r.isolate)).size).toBe(1);
    // Totals only grow from one report to the next.
    for (let i = 1; i < reports.length; i++) expect(reports[i]!.totals['spans_exported']).toBeGreaterThanOrEqual(reports[i - 1]!.totals['spans_exported']!);
    // One report per 200 ms interval at most (plus the first, sent at once), not one per call.
    expect(reports.length).toBeLessThanOrEqual(Math.floor(elapsed / 200) + 1);
    expect(reports.length).toBeLessThan(10);
  });

  it('the registry keeps the largest total per isolate and sums isolates', async () => {
    const reg = registry(env);
    const before = (await reg.counters())['spans_exported'] ?? 0;
    await reg.reportTotals('isolate-a', { spans_exported: 10 });
    await reg.reportTotals('isolate-a', { spans_exported: 25 });
    await reg.reportTotals('isolate-a', { spans_exported: 20 }); // late or repeated: counts once
    await reg.reportTotals('isolate-b', { spans_exported: 5 });
    expect(((await reg.counters())['spans_exported'] ?? 0) - before).toBe(30);
  });
});

describe('configuration', () => {
  it('no endpoint: no span recorder, nothing exported', () => {
    const result = configFor({ ...env }).result;
    expect(result.ok && result.config.telemetry).toBe(null);
  });

  it('invalid telemetry settings keep the proxy running and show on /healthz without secrets', async () => {
    const gw = gateway({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://nope', OTEL_EXPORTER_OTLP_HEADERS: `broken-${SECRETS.collectorToken}`, OTEL_TRACES_SAMPLER_ARG: '2' });
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat(), openaiHeaders));
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const health = await gw.fetch(`${GW}/healthz`);
    expect(health.status).toBe(500);
    const text = await health.text();
    expect(text).toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
    expect(text).toContain('OTEL_TRACES_SAMPLER_ARG');
    expect(text).not.toContain(SECRETS.collectorToken);
    await gw.settle();
  });

  it('the collector received no API key, gateway key or token anywhere (headers or bodies)', async () => {
    const raw = JSON.stringify(await (await fetch(`${env.OTLP_BASE}/__otlp/raw`)).json());
    expect(raw.length).toBeGreaterThan(1000);
    for (const [name, secret] of Object.entries(SECRETS)) {
      if (name === 'collectorToken') continue; // the collector's own credential, sent to it by design
      expect(raw).not.toContain(secret);
    }
    expect(raw).not.toContain('sk-test-key');
  });
});


