import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { gateway, GW, jsonPost, mockId } from './helpers';

describe('a bad percent-escape in any path is a 400', () => {
  it('on the gateway\'s own paths', async () => {
    const gw = gateway();
    for (const path of ['/sla/%ff', '/sla/%zz', '/sla/a%', '/dashboard/assets/%c3%28', '/nope/%ff']) {
      const res = await gw.fetch(`${GW}${path}`);
      expect(res.status, path).toBe(400);
      const body = (await res.json()) as { error: { type: string; message: string } };
      expect(body.error.message).toContain('percent-escape');
    }
    // A good escape still works.
    expect((await gw.fetch(`${GW}/sla/no%20such`)).status).toBe(404);
  });

  it('on proxy paths, in the provider\'s error shape, without contacting the upstream', async () => {
    const gw = gateway();
    const id = mockId('escape');
    const openai = await gw.fetch(`${GW}/openai/v1/chat/%ff`, jsonPost({ model: 'gpt-4o' }, { 'x-mock-id': id }));
    expect(openai.status).toBe(400);
    expect(((await openai.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    const anthropic = await gw.fetch(`${GW}/anthropic/v1/messages%e0%80`, jsonPost({ model: 'claude' }, { 'x-mock-id': id }));
    expect(anthropic.status).toBe(400);
    const body = (await anthropic.json()) as { type: string; error: { type: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
    const seen = await (await fetch(`${env.UPSTREAM_OPENAI}/__mock/requests?id=${id}`)).json();
    expect(seen).toEqual([]);
    expect(await gw.settle()).toHaveLength(0);
  });
});
