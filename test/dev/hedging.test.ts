import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream';
import { startWranglerDev, type WranglerDev } from '../support/wrangler-dev';

/**
 * Decisions from the measured tails under `wrangler dev`, driven by the official openai SDK with `maxRetries: 0`:
 * hedged requests (a second attempt when the first is slow, the loser cancelled upstream) and a first-token deadline
 * derived from the target's measured TTFT. Two targets on the mock (`/p1`, `/p2`), each filing its requests under
 * its own mock id (`x-mock-id: /p1=<id>-a, /p2=<id>-b`).
 */
const KEY = 'gk_dev_hedging_000001';
let mock: MockUpstream;
let dev: WranglerDev;
const TARGETS = [{ provider: 'primary' }, { provider: 'backup' }];

beforeAll(async () => {
  mock = await startMockUpstream();
  dev = await startWranglerDev({
    PROVIDERS: JSON.stringify({ primary: { baseUrl: `${mock.url}/p1`, format: 'openai' }, backup: { baseUrl: `${mock.url}/p2`, format: 'openai' } }),
    GATEWAY_KEYS: JSON.stringify({ [KEY]: 'team-dev' }),
    BACKUP_API_KEY: 'sk-backup-managed',
    UPSTREAM_TIMEOUT_MS: '10000',
    RECORDER: 'durable',
    FLUSH_INTERVAL_MS: '100',
    POLICIES: JSON.stringify({
      routes: {
        'dev.hedged': { targets: TARGETS, hedge: { after: { ms: 150 }, max_ratio: 1 } },
        'dev.derived': { targets: TARGETS, first_token_timeout: { percentile: 95, factor: 2, min_ms: 50, max_ms: 5000, min_samples: 5 } },
      },
    }),
  });
});

afterAll(async () => {
  await dev?.stop();
  await mock?.close();
});

const client = (route: string) =>
  new OpenAI({ baseURL: `${dev.base}/primary/v1`, apiKey: 'sk-client-own-key', maxRetries: 0, defaultHeaders: { 'x-gateway-key': KEY, 'x-sla-route': route } });
const ask = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'hi' }] };
const ids = (id: string) => ({ 'x-mock-id': `/p1=${id}-a, /p2=${id}-b` });

/** The mock's stream state of one id, once it ended or was cancelled (or after two seconds). */
async function streamEnd(id: string): Promise<{ eventsSent: number; finished: boolean; aborted: boolean }> {
  for (let i = 0; ; i++) {
    const state = (await (await fetch(`${mock.url}/__mock/state?id=${encodeURIComponent(id)}`)).json()) as { eventsSent: number; finished: boolean; aborted: boolean };
    if (state.aborted || state.finished || i >= 100) return state;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A stream read to its end: its text and when its first content arrived (ms after the call). */
async function read(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>, t0: number): Promise<{ text: string; firstMs: number }> {
  let text = '';
  let firstMs = 0;
  for await (const chunk of stream) {
    const piece = chunk.choices[0]?.delta.content ?? '';
    if (piece && firstMs === 0) firstMs = Date.now() - t0;
    text += piece;
  }
  return { text, firstMs };
}

describe('hedged requests through wrangler dev, the openai SDK not retrying', () => {
  it('a stream with no first token by `after` is hedged: the SDK reads one clean stream, the stalled one is cancelled upstream', async () => {
    const id = `dev-hw-${Date.now()}`;
    const t0 = Date.now();
    const { data, response } = await client('dev.hedged')
      .chat.completions.create({ ...ask, stream: true }, { headers: { ...ids(id), 'x-mock-fail': '/p1=hang-before-first-token' } })
      .withResponse();
    expect(response.headers.get('x-sla-served-by')).toBe('backup');
    expect(response.headers.get('x-sla-attempts')).toBe('2');
    const { text, firstMs } = await read(data, t0);
    expect(text).toBe('Hello from the mock upstream!');
    expect(firstMs).toBeGreaterThanOrEqual(150);
    expect(firstMs).toBeLessThan(3000);
    expect(await streamEnd(`${id}-a`)).toMatchObject({ aborted: true, finished: false, eventsSent: 1 });
  });

  it('the hedge loses when the first attempt answers first: the client gets the primary, the hedge is cancelled upstream', async () => {
    const id = `dev-hl-${Date.now()}`;
    const t0 = Date.now();
    const { data, response } = await client('dev.hedged')
      .chat.completions.create({ ...ask, stream: true }, { headers: { ...ids(id), 'x-mock-chunk-delay-ms': '/p1=400', 'x-mock-fail': '/p2=hang-before-first-token' } })
      .withResponse();
    expect(response.headers.get('x-sla-served-by')).toBe('primary');
    expect(response.headers.get('x-sla-attempts')).toBe('2');
    expect((await read(data, t0)).text).toBe('Hello from the mock upstream!');
    expect(await streamEnd(`${id}-b`)).toMatchObject({ aborted: true, finished: false });
  });

  it('a non-streamed call with no response by `after` is hedged', async () => {
    const id = `dev-hj-${Date.now()}`;
    const t0 = Date.now();
    const { data, response } = await client('dev.hedged').chat.completions.create(ask, { headers: { ...ids(id), 'x-mock-latency-ms': '/p1=5000' } }).withResponse();
    expect(data.choices[0]?.message.content).toBe('Hello from the mock upstream!');
    expect(response.headers.get('x-sla-served-by')).toBe('backup');
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});

describe('a first-token deadline derived from the measured TTFT, through wrangler dev', () => {
  it('once the primary is measured, a stream that hangs is given up at about p95 x factor and the backup streams', async () => {
    // The primary's first tokens take ~100 ms: measured by the route objects, read by the isolate every 5 s.
    for (let i = 0; i < 8; i++) {
      const t0 = Date.now();
      await read(await client('dev.derived').chat.completions.create({ ...ask, stream: true }, { headers: { ...ids(`dev-dw-${t0}-${i}`), 'x-mock-chunk-delay-ms': '/p1=100' } }), t0);
    }
    await new Promise((r) => setTimeout(r, 5_500));
    // This call starts the tails read (the one before it was decided on nothing measured: no deadline at all).
    const t1 = Date.now();
    await read(await client('dev.derived').chat.completions.create({ ...ask, stream: true }, { headers: ids(`dev-dr-${t1}`) }), t1);
    await new Promise((r) => setTimeout(r, 500));
    const id = `dev-dh-${Date.now()}`;
    const t0 = Date.now();
    const { data, response } = await client('dev.derived')
      .chat.completions.create({ ...ask, stream: true }, { headers: { ...ids(id), 'x-mock-fail': '/p1=hang-before-first-token' } })
      .withResponse();
    expect(response.headers.get('x-sla-served-by')).toBe('backup');
    const { text, firstMs } = await read(data, t0);
    expect(text).toBe('Hello from the mock upstream!');
    // p95 of ~100 ms, twice: given up after ~200 ms, far from the 10 s upstream timeout.
    expect(firstMs).toBeGreaterThanOrEqual(150);
    expect(firstMs).toBeLessThan(2000);
    expect(await streamEnd(`${id}-a`)).toMatchObject({ aborted: true, finished: false });
  }, 30_000);
});
