import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream';
import { startWranglerDev, type WranglerDev } from '../support/wrangler-dev';

/**
 * `npm run dev` as a user runs it: wrangler dev on workerd, with the official SDKs in Node pointed at it and the
 * providers' base URLs pointed at the mock upstream.
 */
let mock: MockUpstream;
let dev: WranglerDev;
let base: string;

beforeAll(async () => {
  mock = await startMockUpstream();
  dev = await startWranglerDev({
    UPSTREAM_OPENAI: mock.url,
    UPSTREAM_ANTHROPIC: mock.url,
    RECORDER: 'durable,log',
    FLUSH_INTERVAL_MS: '100',
    // /metrics refreshes at every read (production: at most once a minute): the test reads it twice.
    SUMMARY_MAX_AGE_MS: '0',
  });
  base = dev.base;
});

/** Waits until wrangler's output (the log recorder's lines included) matches. */
async function waitForLog(pattern: RegExp, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!pattern.test(dev.log())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${pattern} in wrangler output:\n${dev.log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

afterAll(async () => {
  await dev?.stop();
  await mock?.close();
});

describe('npm run dev serves real SDK traffic', () => {
  it('openai SDK: chat, streamed chat, and an error', async () => {
    const client = new OpenAI({ baseURL: `${base}/openai/v1`, apiKey: 'sk-node-secret-key', maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]?.message.content).toBe('Hello from the mock upstream!');

    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true },
      { headers: { 'x-mock-chunk-delay-ms': '50', 'x-sla-route': 'node.stream' } },
    );
    const received: number[] = [];
    let text = '';
    for await (const chunk of stream) {
      received.push(Date.now());
      text += chunk.choices[0]?.delta.content ?? '';
      expect(chunk.usage).toBeUndefined();
    }
    expect(text).toBe('Hello from the mock upstream!');
    // Chunks arrive spread over time as the upstream sends them (50 ms apart), not all at once at the end: at least
    // two thirds of the upstream's spread (gaps of 50 ms rather than 20 ms, so a loaded machine's scheduling jitter
    // of a few tens of ms cannot pass for buffering).
    expect(received.length).toBeGreaterThanOrEqual(5);
    expect((received.at(-1) ?? 0) - (received[0] ?? 0)).toBeGreaterThanOrEqual(((received.length - 1) * 50 * 2) / 3);

    await expect(
      client.chat.completions.create({ model: 'gpt-4o', messages: [] }, { headers: { 'x-mock-status': '500' } }),
    ).rejects.toBeInstanceOf(OpenAI.InternalServerError);
  });

  it('anthropic SDK: message and streamed message', async () => {
    const client = new Anthropic({ baseURL: `${base}/anthropic`, apiKey: 'sk-ant-node-secret', maxRetries: 0 });
    const msg = await client.messages.create({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'Hello from the mock upstream!' });
    const final = await client.messages
      .stream({ model: 'claude-3-5-haiku-latest', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage();
    expect(final.usage.output_tokens).toBe(7);
  });

  it('logs one record per call, and never the API keys', async () => {
    await waitForLog(/"route":"node\.stream"/, 10_000);
    await waitForLog(/"route":"anthropic\/messages".*"stream":true/, 10_000);
    const records = dev.log()
      .split('\n')
      .filter((l) => l.includes('"msg":"llm_call"'))
      .map((l) => JSON.parse(l.slice(l.indexOf('{'))) as { route: string; outcome: string; usageSource: string });
    expect(records.map((r) => `${r.route}:${r.outcome}`).sort()).toEqual(
      [
        'anthropic/messages:success',
        'anthropic/messages:success',
        'node.stream:success',
        'openai/chat:success',
        'openai/chat:upstream_error',
      ].sort(),
    );
    expect(dev.log()).not.toContain('sk-node-secret-key');
    expect(dev.log()).not.toContain('sk-ant-node-secret');
  });

  it('answers /sla from the Durable Objects with every call counted', async () => {
    type Report = { routes: Record<string, { count: number; failures: number }>; overall: { count: number } };
    // Records reach the Durable Objects in batches (FLUSH_INTERVAL_MS after a batch's first record): the log line
    // of the last call can be there before its batch is flushed, so read /sla until every call is in or 5 s pass.
    let report: Report;
    const deadline = Date.now() + 5_000;
    do {
      report = (await (await fetch(`${base}/sla?window=5m`)).json()) as Report;
      if (report.overall.count >= 5) break;
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < deadline);
    expect(report.routes['openai/chat']).toMatchObject({ count: 2, failures: 1 });
    expect(report.routes['node.stream']).toMatchObject({ count: 1, failures: 0 });
    expect(report.routes['anthropic/messages']?.count).toBe(2);
    expect(report.overall.count).toBe(5);
    // A route's counters are first exported at 0 (the zero start), then counted at the summary's next refresh.
    const first = await (await fetch(`${base}/metrics`)).text();
    expect(first).toContain('llm_sla_requests_total{route="node.stream",outcome="success"} 0');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('llm_sla_requests_total{route="node.stream",outcome="success"} 1');
  });
});
