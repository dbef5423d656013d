import { afterEach, describe, expect, it, vi } from 'vitest';
import { gateway, GW, jsonPost, metricValue } from './helpers';

describe('captured content is masked wherever it goes', () => {
  afterEach(() => vi.restoreAllMocks());

  it('RECORDER=log writes no key-shaped string from a prompt', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
    const gw = gateway({ RECORDER: 'log', OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' }, { recorder: 'env' });
    const secret = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';
    const prompt = `my key is ${secret} and the header was Bearer sk-live-ZYXWVUTSRQ987654321`;
    const res = await gw.fetch(
      `${GW}/openai/v1/chat/completions`,
      jsonPost({ model: 'gpt-4o', messages: [{ role: 'system', content: [{ type: 'text', text: prompt }] }, { role: 'user', content: prompt }] }),
    );
    await res.arrayBuffer();
    await gw.settle();
    const logged = lines.filter((l) => l.includes('"llm_call"'));
    expect(logged).toHaveLength(1);
    const line = logged[0] ?? '';
    expect(line).toContain('[REDACTED]');
    expect(line).not.toContain('sk-proj-');
    expect(line).not.toContain('sk-live-');
    expect(line).not.toContain('ZYXWVUTSRQ');
    const record = JSON.parse(line) as { content: { request: { messages: { content: unknown }[] } } };
    expect(record.content.request.messages[1]?.content).toBe('my key is [REDACTED] and the header was [REDACTED]');
  });
});

describe('masking gaps: every way a secret could enter a record', () => {
  afterEach(() => vi.restoreAllMocks());

  /** The gateway with RECORDER=log and capture on, its log lines kept. */
  function logged(vars: Record<string, string> = {}) {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
    const gw = gateway({ RECORDER: 'log', OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true', ...vars }, { recorder: 'env' });
    return { gw, lines: () => lines.filter((l) => l.includes('"llm_call"')) };
  }

  it('a lowercase "bearer <token>" in a prompt is masked; prose with the word is not', async () => {
    const { gw, lines } = logged();
    const prompt = 'curl -H "authorization: bearer eyJhbGciOiJIUzI1NiJ9.abc123" and BEARER tok_9f8e7d6c5b; the bearer of news';
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ model: 'gpt-4o', messages: [{ role: 'user', content: prompt }] }))).arrayBuffer();
    const records = await gw.settle();
    const line = lines()[0] ?? '';
    expect(line).not.toContain('eyJhbGciOiJIUzI1NiJ9');
    expect(line).not.toContain('tok_9f8e7d6c5b');
    const request = records[0]?.content?.request as { messages: { content: string }[] };
    expect(request.messages[0]?.content).toBe('curl -H "authorization: [REDACTED]" and [REDACTED]; the bearer of news');
  });

  it("the collector's own header token is masked in captured content, alone or after its scheme, even with export off", async () => {
    const token = 'glc_eyJvIjoiMTIzNDU2Nzg5MCIsIm4iOiJncmFmYW5hIn0';
    const { gw, lines } = logged({ OTEL_EXPORTER_OTLP_HEADERS: `authorization=Basic%20${token}` });
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ model: 'gpt-4o', messages: [{ role: 'user', content: `the token is ${token}` }] }))).arrayBuffer();
    await gw.settle();
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).not.toContain(token);
    expect(lines()[0]).toContain('the token is [REDACTED]');
  });

  it('tracestate and traceparent are kept only in their W3C syntax, without members that hold a key', async () => {
    const { gw, lines } = logged();
    const secret = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';
    const headers = {
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: `vendor=${secret},rojo=00f067aa0ba902b7,auth=Bearer abcdef123456,bad key=x,ot=th:8`,
    };
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ model: 'gpt-4o', messages: [] }, headers))).arrayBuffer();
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ model: 'gpt-4o', messages: [] }, { traceparent: `00-${secret}`, tracestate: 'x'.repeat(5000) }))).arrayBuffer();
    const records = await gw.settle();
    expect(records.map((r) => r.trace)).toEqual([
      { traceparent: headers.traceparent, tracestate: 'rojo=00f067aa0ba902b7,ot=th:8' },
      { traceparent: null, tracestate: null },
    ]);
    expect(lines().join('\n')).not.toContain('sk-proj-');
    expect(lines().join('\n')).not.toContain('abcdef123456');
  });

  it('a key-shaped x-sla-route or model is recorded as _redacted: never in /sla, /metrics or the route objects; counted', async () => {
    const gw = gateway({}, { durable: true });
    const key = 'sk-proj-LabelLeak0123456789abcdef';
    await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ model: key, messages: [] }, { 'x-sla-route': key, 'x-mock-response-model': key }))).arrayBuffer();
    const timing = await gw.fetch(`${GW}/v1/timings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ route: key, duration_ms: 5, ok: true, attributes: { 'gen_ai.request.model': key } }]),
    });
    expect(timing.status).toBe(200);
    const records = await gw.settle();
    expect(records.map((r) => [r.route, r.requestModel])).toEqual([
      ['_redacted', '_redacted'],
      ['_redacted', '_redacted'],
    ]);
    expect(records.find((r) => r.provider === 'openai')?.responseModel).toBe('_redacted');
    const sla = await (await gw.fetch(`${GW}/sla`)).text();
    const metrics = await (await gw.fetch(`${GW}/metrics`)).text();
    for (const text of [sla, metrics, JSON.stringify(records)]) expect(text).not.toContain('LabelLeak');
    expect(JSON.parse(sla).routes['_redacted']?.count).toBeGreaterThanOrEqual(2);
    expect(metricValue(metrics, 'llm_sla_labels_masked_total{label="route"}')).toBeGreaterThanOrEqual(2);
    expect(metricValue(metrics, 'llm_sla_labels_masked_total{label="model"}')).toBeGreaterThanOrEqual(3);
  });

  it('with capture on, a 1 MB prompt gives a bounded log line, as spans are bounded', async () => {
    const { gw, lines } = logged();
    const big = 'lorem ipsum '.repeat(90_000);
    const messages = Array.from({ length: 40 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: i === 39 ? `last ${big}` : `message ${i}` }));
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ model: 'gpt-4o', messages }));
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const records = await gw.settle();
    const line = lines()[0] ?? '';
    expect(line.length).toBeLessThan(24 * 1024);
    const request = records[0]?.content?.request as { messages: { content: string }[] };
    // The newest messages are kept (at most TELEMETRY_MAX_MESSAGES), each within OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT.
    expect(request.messages.length).toBeLessThanOrEqual(32);
    expect(request.messages.at(-1)?.content.startsWith('last lorem ipsum')).toBe(true);
    expect(request.messages.at(-1)?.content.length).toBe(4096);
  });
});
