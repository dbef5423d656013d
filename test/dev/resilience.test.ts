import OpenAI, { APIConnectionError, APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream';
import { startWranglerDev, type WranglerDev } from '../support/wrangler-dev';

/**
 * Route policies (POLICIES) under `wrangler dev`, driven by the official openai SDK with `maxRetries: 0`: whatever
 * recovers a failing call here is the gateway. Two targets on the mock (`/p1`, `/p2`); one request's `x-mock-*`
 * headers fail only the first (`/p1=...`).
 */
const KEY = 'gk_dev_resilience_0001';
let mock: MockUpstream;
let dev: WranglerDev;

beforeAll(async () => {
  mock = await startMockUpstream();
  dev = await startWranglerDev({
    PROVIDERS: JSON.stringify({ primary: { baseUrl: `${mock.url}/p1`, format: 'openai' }, backup: { baseUrl: `${mock.url}/p2`, format: 'openai' } }),
    GATEWAY_KEYS: JSON.stringify({ [KEY]: 'team-dev' }),
    BACKUP_API_KEY: 'sk-backup-managed',
    UPSTREAM_TIMEOUT_MS: '2000',
    RECORDER: 'none',
    POLICIES: JSON.stringify({
      routes: {
        'dev.kept': { targets: [{ provider: 'primary' }, { provider: 'backup', model: 'gpt-4o-mini' }], retries: 1, backoff_ms: 50, first_token_timeout_ms: 800 },
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

describe('policies through wrangler dev, the openai SDK not retrying', () => {
  it('without a policy a 503 reaches the SDK as an error', async () => {
    const error = await client('dev.plain')
      .chat.completions.create(ask, { headers: { 'x-mock-status': '/p1=503' } })
      .then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(503);
  });

  it('a 503 from the primary is answered by the backup', async () => {
    const { data, response } = await client('dev.kept').chat.completions.create(ask, { headers: { 'x-mock-status': '/p1=503' } }).withResponse();
    expect(data.choices[0]?.message.content).toBe('Hello from the mock upstream!');
    expect(data.model).toBe('gpt-4o-mini');
    expect(response.headers.get('x-sla-served-by')).toBe('backup:gpt-4o-mini');
    // The primary, its one retry, then the backup.
    expect(response.headers.get('x-sla-attempts')).toBe('3');
  });

  it('a 429 with retry-after is retried on the primary after the wait', async () => {
    const t0 = Date.now();
    const { data, response } = await client('dev.kept')
      .chat.completions.create(ask, { headers: { 'x-mock-id': `dev-429-${t0}`, 'x-mock-status': '429', 'x-mock-retry-after': '1', 'x-mock-times': '1' } })
      .withResponse();
    expect(data.model).toBe('gpt-4o');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(response.headers.get('x-sla-served-by')).toBe('primary');
    expect(response.headers.get('x-sla-attempts')).toBe('2');
  });

  it('a connection reset before the headers is recovered', async () => {
    const { response } = await client('dev.kept').chat.completions.create(ask, { headers: { 'x-mock-fail': '/p1=reset-before-headers' } }).withResponse();
    expect(response.status).toBe(200);
    expect(Number(response.headers.get('x-sla-attempts'))).toBeGreaterThanOrEqual(2);
  });

  it('a stream that hangs before its first token is replaced at the deadline; the SDK reads one clean stream', async () => {
    const t0 = Date.now();
    const stream = await client('dev.kept').chat.completions.create({ ...ask, stream: true }, { headers: { 'x-mock-fail': '/p1=hang-before-first-token' } });
    let text = '';
    let first = 0;
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content ?? '';
      if (piece && first === 0) first = Date.now() - t0;
      text += piece;
    }
    expect(text).toBe('Hello from the mock upstream!');
    expect(first).toBeGreaterThanOrEqual(800);
    expect(first).toBeLessThan(3000);
  });

  it('a stream that stalls after its first token is the client\'s: the SDK sees it fail, nothing is retried', async () => {
    const { data: stream, response } = await client('dev.kept')
      .chat.completions.create({ ...ask, stream: true }, { headers: { 'x-mock-fail': '/p1=stall-mid-stream' } })
      .withResponse();
    expect(response.headers.get('x-sla-served-by')).toBe('primary');
    expect(response.headers.get('x-sla-attempts')).toBe('1');
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().then(() => null, (e: unknown) => e);
    expect(text.length).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(Error);
    expect(error instanceof APIConnectionError || /terminated|closed|network|aborted/i.test(String(error))).toBe(true);
  });
});
