import { describe, expect, it } from 'vitest';
import { clientResponse } from '../../src/worker/proxy/upstream';
import { gateway, GW, jsonPost, MOCK, mockId, mockRequests, only } from './helpers';

const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };

describe('upstream errors', () => {
  it.each([
    [400, 'client_error'],
    [401, 'client_error'],
    [429, 'rate_limited'],
    [500, 'upstream_error'],
  ])('passes an OpenAI %i through unchanged and records %s', async (status, outcome) => {
    const gw = gateway();
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-mock-status': String(status) }));
    const direct = await fetch(`${MOCK}/v1/chat/completions`, jsonPost(chat, { 'x-mock-status': String(status) }));
    expect(res.status).toBe(status);
    expect(res.headers.get('x-request-id')).toBe('req_mock');
    expect(res.headers.get('x-gateway-error')).toBeNull();
    expect(await res.text()).toBe(await direct.text());
    expect(only(await gw.settle())).toMatchObject({ status, outcome, usage: null, usageSource: 'none', costUsd: null });
  });

  it('answers 504 in the provider shape when the upstream does not answer in time', async () => {
    const gw = gateway({ UPSTREAM_TIMEOUT_MS: '200' });
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-mock-latency-ms': '1500' }));
    expect(res.status).toBe(504);
    const body = (await res.json()) as { error: { code: string; type: string } };
    expect(body.error).toMatchObject({ code: 'upstream_timeout' });
    const r = only(await gw.settle());
    expect(r).toMatchObject({ outcome: 'timeout', status: 0, errorType: 'timeout' });
    expect(r.totalMs).toBeGreaterThanOrEqual(190);
  });

  it('answers 502 when the upstream closes the connection without answering', async () => {
    const gw = gateway();
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-mock-fail': 'close-before-headers' }));
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_unreachable');
    expect(only(await gw.settle()).outcome).toBe('network_error');
  });

  it('passes a malformed JSON body through unchanged with no usage and no crash', async () => {
    const gw = gateway();
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-mock-fail': 'malformed' }));
    const direct = await fetch(`${MOCK}/v1/chat/completions`, jsonPost(chat, { 'x-mock-fail': 'malformed' }));
    expect(await res.text()).toBe(await direct.text());
    expect(only(await gw.settle())).toMatchObject({ outcome: 'success', usage: null, usageSource: 'none' });
  });
});

describe('routing and headers', () => {
  it('answers 404 in the OpenAI shape for an unknown provider, contacting nothing', async () => {
    const gw = gateway();
    const res = await gw.fetch(`${GW}/nope/v1/chat/completions`, jsonPost(chat));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { message: expect.stringMatching(/^Unknown provider "nope" \(configured: openai, anthropic, /), type: 'invalid_request_error', param: null, code: 'unknown_provider' },
    });
    expect(await gw.settle()).toHaveLength(0);
  });

  it('forwards the client headers less hop-by-hop and gateway headers, and takes route and team from headers', async () => {
    const gw = gateway();
    const id = mockId();
    const res = await gw.fetch(
      `${GW}/openai/v1/chat/completions`,
      jsonPost(chat, {
        'x-mock-id': id,
        'x-sla-route': 'rag.generation',
        'x-sla-team': 'search',
        'x-gateway-key': 'gw-secret',
        'openai-organization': 'org-1',
        'keep-alive': 'timeout=5',
        'x-mock-extra-header': 'kept',
      }),
    );
    expect(res.headers.get('x-mock-extra')).toBe('kept');
    await res.arrayBuffer();
    const [seen] = await mockRequests(id);
    expect(seen?.headers).toMatchObject({ authorization: 'Bearer sk-test-key', 'openai-organization': 'org-1' });
    expect(seen?.headers['host']).toBe(new URL(MOCK).host);
    for (const h of ['x-sla-route', 'x-sla-team', 'x-gateway-key', 'keep-alive']) expect(seen?.headers).not.toHaveProperty(h);
    expect(only(await gw.settle())).toMatchObject({ route: 'rag.generation', team: 'search', operation: 'chat' });
  });

  it('hands the client the upstream response less hop-by-hop headers, and without a length the body may not match', async () => {
    const upstream = new Response('{}', {
      status: 201,
      statusText: 'Made',
      headers: {
        connection: 'keep-alive, x-private',
        'keep-alive': 'timeout=5',
        'x-private': 'hop',
        trailer: 'x-checksum',
        upgrade: 'h2c',
        'content-type': 'application/json',
        'content-length': '2',
        'x-request-id': 'req_1',
      },
    });
    const res = clientResponse('{}', upstream, false);
    expect([res.status, res.statusText]).toEqual([201, 'Made']);
    expect(Object.fromEntries(res.headers)).toEqual({ 'content-type': 'application/json', 'content-length': '2', 'x-request-id': 'req_1' });
    expect(clientResponse('{}', upstream, true).headers.has('content-length')).toBe(false);
    const encoded = new Response('x', { headers: { 'content-encoding': 'gzip', 'content-length': '40' } });
    expect(clientResponse('x', encoded, false).headers.has('content-length')).toBe(false);
  });

  it('forwards other operations as `other`, with the method and no body', async () => {
    const gw = gateway();
    const id = mockId();
    const res = await gw.fetch(`${GW}/openai/v1/models`, { headers: { 'x-mock-id': id } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect((await mockRequests(id))[0]).toMatchObject({ method: 'GET', path: '/v1/models' });
    expect(only(await gw.settle())).toMatchObject({ operation: 'other', route: 'openai/other' });
  });

  it('passes a call with an invalid x-sla-route through, with a warning, under the default route key', async () => {
    const gw = gateway();
    const res = await gw.fetch(`${GW}/anthropic/v1/messages`, jsonPost(chat, { 'x-sla-route': 'bad route!' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sla-warning')).toContain('x-sla-route ignored');
    await res.arrayBuffer();
    expect(only(await gw.settle()).route).toBe('anthropic/messages');
  });

  it('refuses paths that would leave the provider base URL', async () => {
    const gw = gateway();
    for (const path of ['/groq/..%2f..%2fv1/chat/completions', '/groq/%2e%2e/%2e%2e/x', '/groq/v1\\..\\x']) {
      const res = await gw.fetch(`${GW}${path}`, jsonPost(chat));
      expect([400, 404]).toContain(res.status);
    }
  });

  it('refuses bodies over MAX_REQUEST_BYTES with 413 before contacting the upstream', async () => {
    const gw = gateway({ MAX_REQUEST_BYTES: '1000' });
    const id = mockId();
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost({ ...chat, pad: 'x'.repeat(2000) }, { 'x-mock-id': id }));
    expect(res.status).toBe(413);
    expect(await mockRequests(id)).toHaveLength(0);
  });
});
