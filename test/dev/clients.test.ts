import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatAnthropic } from '@langchain/anthropic';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, jsonSchema, streamText, tool } from 'ai';
import { Mistral } from '@mistralai/mistralai';
import Groq from 'groq-sdk';
import { execFile } from 'node:child_process';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream';
import { startWranglerDev, type WranglerDev } from '../support/wrangler-dev';

/**
 * Clients nobody here wrote, pointed at `wrangler dev` with the base URLs the README gives: the Vercel AI SDK (its
 * OpenAI provider defaults to the Responses API), LangChain, the openai SDK's Responses API and streamed tool
 * calls, and the providers' own SDKs (groq-sdk, @mistralai/mistralai) with only their base URL changed. The mock
 * answers each provider under its real paths (Groq's `/openai/v1/...`, Mistral's `/v1/...`), nothing else. Every
 * call lands in /sla under its own route, counted exactly.
 */
const HELLO = 'Hello from the mock upstream!';
const weather = tool({
  description: 'Weather for a city',
  inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
});
const route = (r: string) => ({ 'x-sla-route': r });
/** Calls made per route, checked against /sla at the end. */
const made: Record<string, number> = {};
const count = (r: string) => (made[r] = (made[r] ?? 0) + 1);

let mock: MockUpstream;
let dev: WranglerDev;

beforeAll(async () => {
  mock = await startMockUpstream();
  // Each provider's base URL as the gateway has it built in, on the mock's host: Groq's API lives under /openai.
  dev = await startWranglerDev({
    UPSTREAM_OPENAI: mock.url,
    UPSTREAM_ANTHROPIC: mock.url,
    UPSTREAM_GROQ: `${mock.url}/openai`,
    UPSTREAM_MISTRAL: mock.url,
    FLUSH_INTERVAL_MS: '100',
  });
});

afterAll(async () => {
  await dev?.stop();
  await mock?.close();
});

describe('Vercel AI SDK through wrangler dev', () => {
  it('@ai-sdk/openai: the default model (Responses API), plain and streamed, and chat with a streamed tool call', async () => {
    const openai = createOpenAI({ baseURL: `${dev.base}/openai/v1`, apiKey: 'sk-ai-sdk-key' });
    const plain = await generateText({ model: openai('gpt-4o-mini'), prompt: 'hi', headers: route('ai.responses') });
    count('ai.responses');
    expect(plain.text).toBe(HELLO);
    expect(plain.usage.outputTokens).toBe(7);
    const streamed = streamText({ model: openai('gpt-4o-mini'), prompt: 'hi', headers: route('ai.responses') });
    expect(await streamed.text).toBe(HELLO);
    count('ai.responses');
    const tools = streamText({
      model: openai.chat('gpt-4o-mini'),
      prompt: 'weather in Paris?',
      tools: { get_weather: weather },
      headers: { ...route('ai.chat.tools'), 'x-mock-tool-call': '1' },
    });
    const calls = await tools.toolCalls;
    count('ai.chat.tools');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ toolName: 'get_weather', input: { city: 'Paris' } });
  });

  it('@ai-sdk/anthropic with base URL /anthropic/v1: plain and streamed', async () => {
    const anthropic = createAnthropic({ baseURL: `${dev.base}/anthropic/v1`, apiKey: 'sk-ant-ai-sdk' });
    const plain = await generateText({ model: anthropic('claude-3-5-haiku-latest'), prompt: 'hi', maxOutputTokens: 64, headers: route('ai.anthropic') });
    count('ai.anthropic');
    expect(plain.text).toBe(HELLO);
    const streamed = streamText({ model: anthropic('claude-3-5-haiku-latest'), prompt: 'hi', maxOutputTokens: 64, headers: route('ai.anthropic') });
    expect(await streamed.text).toBe(HELLO);
    count('ai.anthropic');
  });

  it('@ai-sdk/anthropic given the Anthropic SDK base URL gets an error naming the base URL to use', async () => {
    const anthropic = createAnthropic({ baseURL: `${dev.base}/anthropic`, apiKey: 'sk-ant-ai-sdk' });
    await expect(generateText({ model: anthropic('claude-3-5-haiku-latest'), prompt: 'hi', maxRetries: 0 })).rejects.toThrow(
      `${dev.base}/anthropic/v1 for the Vercel AI SDK`,
    );
  });
});

describe('LangChain through wrangler dev', () => {
  it('@langchain/openai: invoke and stream', async () => {
    const llm = new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'sk-lc-key', maxRetries: 0, configuration: { baseURL: `${dev.base}/openai/v1`, defaultHeaders: route('lc.openai') } });
    expect((await llm.invoke('hi')).content).toBe(HELLO);
    count('lc.openai');
    let text = '';
    for await (const chunk of await llm.stream('hi')) text += typeof chunk.content === 'string' ? chunk.content : '';
    count('lc.openai');
    expect(text).toBe(HELLO);
  });

  it('@langchain/anthropic: invoke and stream', async () => {
    const llm = new ChatAnthropic({ model: 'claude-3-5-haiku-latest', apiKey: 'sk-ant-lc', maxRetries: 0, anthropicApiUrl: `${dev.base}/anthropic`, clientOptions: { defaultHeaders: route('lc.anthropic') } });
    expect((await llm.invoke('hi')).content).toBe(HELLO);
    count('lc.anthropic');
    let text = '';
    for await (const chunk of await llm.stream('hi')) text += typeof chunk.content === 'string' ? chunk.content : '';
    count('lc.anthropic');
    expect(text).toBe(HELLO);
  });
});

describe('openai SDK: Responses API and streamed tool calls', () => {
  it('responses.create plain and streamed; chat with a streamed tool call', async () => {
    const client = new OpenAI({ baseURL: `${dev.base}/openai/v1`, apiKey: 'sk-openai-key', maxRetries: 0, defaultHeaders: route('sdk.responses') });
    const res = await client.responses.create({ model: 'gpt-4o-mini', input: 'hi' });
    count('sdk.responses');
    expect(res.output_text).toBe(HELLO);
    let text = '';
    for await (const e of await client.responses.create({ model: 'gpt-4o-mini', input: 'hi', stream: true })) if (e.type === 'response.output_text.delta') text += e.delta;
    count('sdk.responses');
    expect(text).toBe(HELLO);
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'weather?' }], stream: true, tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }] },
      { headers: { ...route('sdk.tools'), 'x-mock-tool-call': '1' } },
    );
    let args = '';
    for await (const chunk of stream) args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
    count('sdk.tools');
    expect(JSON.parse(args)).toEqual({ city: 'Paris' });
  });
});

describe("providers' own SDKs, only the base URL changed", () => {
  it('groq-sdk with baseURL <gateway>/groq: plain and streamed chat, to Groq\'s /openai/v1 paths', async () => {
    const groq = new Groq({ baseURL: `${dev.base}/groq`, apiKey: 'gsk-groq-sdk-key', maxRetries: 0, defaultHeaders: route('groq.sdk') });
    const plain = await groq.chat.completions.create({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'hi' }] });
    count('groq.sdk');
    expect(plain.choices[0]?.message.content).toBe(HELLO);
    let text = '';
    const stream = await groq.chat.completions.create({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'hi' }], stream: true });
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    count('groq.sdk');
    expect(text).toBe(HELLO);
  });

  it('openai SDK with the README\'s Groq base URL <gateway>/groq/v1 still reaches the same Groq paths', async () => {
    const client = new OpenAI({ baseURL: `${dev.base}/groq/v1`, apiKey: 'gsk-openai-sdk-key', maxRetries: 0, defaultHeaders: route('groq.openai') });
    const res = await client.chat.completions.create({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'hi' }] });
    count('groq.openai');
    expect(res.choices[0]?.message.content).toBe(HELLO);
  });

  it('@mistralai/mistralai with serverURL <gateway>/mistral: complete and stream', async () => {
    const mistral = new Mistral({ serverURL: `${dev.base}/mistral`, apiKey: 'mistral-sdk-key' });
    const headers = route('mistral.sdk');
    const res = await mistral.chat.complete({ model: 'mistral-small-latest', messages: [{ role: 'user', content: 'hi' }] }, { headers });
    count('mistral.sdk');
    expect(res.choices?.[0]?.message?.content).toBe(HELLO);
    let text = '';
    for await (const event of await mistral.chat.stream({ model: 'mistral-small-latest', messages: [{ role: 'user', content: 'hi' }] }, { headers })) {
      const piece = event.data.choices[0]?.delta.content;
      text += typeof piece === 'string' ? piece : '';
    }
    count('mistral.sdk');
    expect(text).toBe(HELLO);
  });
});

describe('/sla after all the clients', () => {
  it('counts exactly the calls each client made, all successes', async () => {
    type Report = { routes: Record<string, { count: number; successes: number }>; overall: { count: number } };
    const total = Object.values(made).reduce((a, b) => a + b, 0);
    expect(total).toBe(17);
    let report: Report;
    const deadline = Date.now() + 5_000;
    do {
      report = (await (await fetch(`${dev.base}/sla?window=5m`)).json()) as Report;
      if (report.overall.count >= total) break;
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < deadline);
    const counts = Object.fromEntries(Object.entries(report.routes).map(([r, s]) => [r, s.count]));
    expect(counts).toEqual(made);
    for (const r of Object.keys(made)) expect(report.routes[r]?.successes, r).toBe(made[r]);
    expect(report.overall.count).toBe(total);
  });
});

describe('no SLA_CONFIG: a route failing every call', () => {
  it('reads failed in /sla and makes `llm-sla check` exit 1', async () => {
    const client = new OpenAI({ baseURL: `${dev.base}/openai/v1`, apiKey: 'sk-openai-key', maxRetries: 0 });
    for (let i = 0; i < 12; i++) {
      await expect(
        client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { headers: { ...route('new.failing'), 'x-mock-status': '500' } }),
      ).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    }
    const deadline = Date.now() + 5_000;
    let status = '';
    do {
      const report = (await (await fetch(`${dev.base}/sla`)).json()) as { routes: Record<string, { count: number; sla: { status: string } }> };
      status = report.routes['new.failing']?.count === 12 ? (report.routes['new.failing']?.sla.status ?? '') : '';
      if (status) break;
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < deadline);
    expect(status).toBe('failed');
    const cli = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = execFile(process.execPath, ['bin/llm-sla.mjs', 'check', '--url', dev.base, '--no-color'], (_err, stdout) => resolve({ code: child.exitCode, out: stdout }));
    });
    expect(cli.code).toBe(1);
    expect(cli.out).toMatch(/new\.failing\s.*FAIL/);
    expect(cli.out).toContain("Route 'new.failing' success rate (0.0%) below target (95.0%)");
  });
});
