import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { gateway, GW, jsonPost } from './helpers';

/** The Anthropic SDK's `ErrorResponse`: `{type: "error", error: {type, message}, request_id}`. */
type ErrorBody = { type: string; error: { type: string; message: string }; request_id: string | null };

const message = { model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user' as const, content: 'hi' }] };
const long = { ...message, messages: [{ role: 'user' as const, content: 'x'.repeat(2000) }] };

/** The Anthropic SDK's error for one call through `gw`. */
async function anthropicError(gw: ReturnType<typeof gateway>, headers: Record<string, string> = {}, body: object = message): Promise<InstanceType<typeof Anthropic.APIError>> {
  const client = new Anthropic({ baseURL: `${GW}/anthropic`, apiKey: 'sk-ant-errors-0123456789', fetch: gw.fetch, maxRetries: 0 });
  try {
    await client.messages.create(body as typeof message, { headers });
  } catch (err) {
    if (err instanceof Anthropic.APIError) return err;
    throw err;
  }
  throw new Error('the call did not fail');
}

describe("the gateway's own errors on /anthropic/*, as the Anthropic SDK reads them", () => {
  it.each([
    ['401 without a gateway key', { GATEWAY_KEYS: JSON.stringify({ 'gw-errors-key-0123456789': 'search' }) }, {}, message, 401, 'authentication_error', Anthropic.AuthenticationError],
    ['413 over MAX_REQUEST_BYTES', { MAX_REQUEST_BYTES: '1000' }, {}, long, 413, 'request_too_large', Anthropic.APIError],
    ['502 when the upstream cannot be reached', { UPSTREAM_ANTHROPIC: 'http://127.0.0.1:9' }, {}, message, 502, 'api_error', Anthropic.InternalServerError],
    ['504 when the upstream does not answer in time', { UPSTREAM_TIMEOUT_MS: '100' }, { 'x-mock-latency-ms': '2000' }, message, 504, 'timeout_error', Anthropic.InternalServerError],
  ] as const)('%s: the documented error type and a request_id, in the body and as requestID', async (_name, vars, headers, request, status, type, errorClass) => {
    const err = await anthropicError(gateway(vars), headers, request);
    expect(err).toBeInstanceOf(errorClass);
    expect(err.status).toBe(status);
    const body = err.error as ErrorBody;
    expect(body.type).toBe('error');
    expect(body.error.type).toBe(type);
    expect(body.request_id).toMatch(/^req_[0-9a-f]{24}$/);
    expect(err.requestID).toBe(body.request_id);
  });

  it('a wrong path (no /v1) is a not_found_error with a request_id; every error has its own id', async () => {
    const gw = gateway();
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const res = await gw.fetch(`${GW}/anthropic/messages`, jsonPost(message));
      expect(res.status).toBe(404);
      const body = (await res.json()) as ErrorBody;
      expect(body.error.type).toBe('not_found_error');
      expect(body.request_id).toBe(res.headers.get('request-id'));
      ids.add(body.request_id ?? '');
    }
    expect(ids.size).toBe(3);
  });

  it('the OpenAI shape carries the id where the openai SDK reads it (x-request-id)', async () => {
    const gw = gateway({ UPSTREAM_OPENAI: 'http://127.0.0.1:9' });
    const client = new OpenAI({ baseURL: `${GW}/openai/v1`, apiKey: 'sk-errors-0123456789', fetch: gw.fetch, maxRetries: 0 });
    const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).requestID).toMatch(/^req_[0-9a-f]{24}$/);
  });
});
