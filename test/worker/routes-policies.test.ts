import { env } from 'cloudflare:workers';
import { describe, expect, it, onTestFinished } from 'vitest';
import { registry } from '../../src/core/objects';
import { gateway, GW, jsonPost, MOCK, mockId } from './helpers';

/** `GET`/`PUT`/`DELETE /policies` (src/worker/routes/policies.ts) and an invalid `POLICIES` var. */
const ADMIN = 'policies-admin-token';
const READ = 'policies-read-token';
const GATEWAY_KEY = 'gk_policies_test_0001';
const BASE = {
  PROVIDERS: JSON.stringify({ primary: { baseUrl: `${MOCK}/p1`, format: 'openai' }, backup: { baseUrl: `${MOCK}/p2`, format: 'openai' }, spare: { baseUrl: `${MOCK}/p3`, format: 'openai' } }),
  GATEWAY_KEYS: JSON.stringify({ [GATEWAY_KEY]: '' }),
  BACKUP_API_KEY: 'sk-backup-managed',
  ADMIN_TOKEN: ADMIN,
  SLA_READ_TOKEN: READ,
};
const VAR = { routes: { 'pol.*': { retries: 1 } } };
const RUNTIME = { routes: { 'pol.*': { targets: [{ provider: 'primary' }, { provider: 'backup' }] } } };
const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const call = (gw: ReturnType<typeof gateway>, id: string) =>
  gw.fetch(`${GW}/primary/v1/chat/completions`, jsonPost(chat, { 'x-mock-id': id, 'x-sla-route': 'pol.route', 'x-gateway-key': GATEWAY_KEY, 'x-mock-status': '/p1=503' }));

describe('/policies', () => {
  it('reads with the read token, refuses writes without the admin token', async () => {
    const gw = gateway({ ...BASE, POLICIES: JSON.stringify(VAR) });
    expect((await gw.fetch(`${GW}/policies`)).status).toBe(401);
    const got = await gw.fetch(`${GW}/policies`, { headers: bearer(READ) });
    expect(await got.json()).toEqual({ source: 'env', policies: VAR });
    expect((await gw.fetch(`${GW}/policies`, { method: 'PUT', headers: bearer(READ), body: JSON.stringify(RUNTIME) })).status).toBe(401);
  });

  it('refuses a config that falls back to a provider without a managed key, with every problem said', async () => {
    const gw = gateway({ ...BASE, POLICIES: JSON.stringify(VAR) });
    const res = await gw.fetch(`${GW}/policies`, { method: 'PUT', headers: bearer(ADMIN), body: JSON.stringify({ routes: { x: { targets: [{ provider: 'primary' }, { provider: 'spare' }], retries: 99 } } }) });
    expect(res.status).toBe(400);
    const error = ((await res.json()) as { error: { message: string; code: string } }).error;
    expect(error.code).toBe('invalid_request');
    expect(error.message).toContain('routes.x.retries');
    const keyless = await gw.fetch(`${GW}/policies`, { method: 'PUT', headers: bearer(ADMIN), body: JSON.stringify({ routes: { x: { targets: [{ provider: 'primary' }, { provider: 'spare' }] } } }) });
    expect(keyless.status).toBe(400);
    expect(((await keyless.json()) as { error: { message: string } }).error.message).toContain('falls back to "spare", which has no managed key (set the SPARE_API_KEY secret)');
    expect((await gw.fetch(`${GW}/policies`, { method: 'PUT', headers: bearer(ADMIN), body: ' ' })).status).toBe(400);
  });

  it('PUT puts policies in force at once here and within a refresh elsewhere; DELETE goes back to the var', async () => {
    onTestFinished(() => registry(env).setPolicies(null));
    const a = gateway({ ...BASE, POLICIES: JSON.stringify(VAR) });
    const id = mockId('put');
    // The var's policy: a retry of the failing primary, no fallback.
    expect((await call(a, id)).status).toBe(503);
    const put = await a.fetch(`${GW}/policies`, { method: 'PUT', headers: bearer(ADMIN), body: JSON.stringify(RUNTIME) });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ source: 'runtime', policies: RUNTIME });
    const now = await call(a, id);
    expect(now.status).toBe(200);
    expect(now.headers.get('x-sla-served-by')).toBe('backup');

    // Another isolate reads the runtime policies on its first call (in waitUntil), and uses them from then on.
    const b = gateway({ ...BASE, POLICIES: JSON.stringify(VAR) });
    await call(b, id);
    await b.settle();
    expect((await call(b, id)).headers.get('x-sla-served-by')).toBe('backup');
    expect(await (await b.fetch(`${GW}/policies`, { headers: bearer(READ) })).json()).toEqual({ source: 'runtime', policies: RUNTIME });

    const del = await a.fetch(`${GW}/policies`, { method: 'DELETE', headers: bearer(ADMIN) });
    expect(await del.json()).toEqual({ source: 'env', policies: VAR });
    expect((await call(a, id)).status).toBe(503);
  });

  it('an invalid POLICIES var leaves the proxy working without policies and says why in /healthz and GET /policies', async () => {
    const gw = gateway({ ...BASE, POLICIES: JSON.stringify({ routes: { 'pol.*': { targets: [{ provider: 'primary' }, { provider: 'spare' }] } } }) });
    const health = await gw.fetch(`${GW}/healthz`);
    expect(health.status).toBe(500);
    expect(JSON.stringify(await health.json())).toContain('SPARE_API_KEY');
    const res = await call(gw, mockId('inv'));
    expect(res.status).toBe(503);
    expect(res.headers.get('x-sla-attempts')).toBeNull();
    const got = await gw.fetch(`${GW}/policies`, { headers: bearer(READ) });
    expect(got.status).toBe(500);
    expect(((await got.json()) as { error: { message: string } }).error.message).toContain('the POLICIES var');
  });
});
