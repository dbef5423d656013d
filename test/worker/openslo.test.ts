import { afterEach, describe, expect, it } from 'vitest';
import type { SlaReport } from '../../src/core/report-types';
import { gateway, GW, jsonPost } from './helpers';

const ADMIN = 'admin-secret-token';
const auth = { authorization: `Bearer ${ADMIN}` };
const textOf = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());
const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

const doc = (route: string, target = 0.99) => `apiVersion: openslo/v1
kind: SLO
metadata:
  name: ${route.replace(/[^\w]/g, '-')}
spec:
  service: rag
  budgetingMethod: Occurrences
  timeWindow: [{ duration: 7d, isRolling: true }]
  objectives: [{ target: ${target} }]
  indicator:
    spec:
      ratioMetric:
        counter: true
        good: { metricSource: { type: llm-sla-gateway, spec: { route: "${route}", latency_ms: 1000 } } }
        total: { metricSource: { type: llm-sla-gateway, spec: { route: "${route}" } } }
  alertPolicies:
    - kind: AlertPolicy
      metadata: { name: page }
      spec:
        conditions:
          - kind: AlertCondition
            metadata: { name: fast }
            spec: { severity: page, condition: { kind: burnrate, op: gte, threshold: 14.4, lookbackWindow: 1h, alertAfter: 5m } }
`;

describe('OpenSLO documents: PUT /sla/openslo and the OPENSLO var', () => {
  // Runtime documents live in the registry object, which outlives a test: a failed test must not leave its own.
  afterEach(async () => {
    const gw = gateway({ ADMIN_TOKEN: ADMIN });
    await gw.fetch(`${GW}/sla/openslo`, { method: 'DELETE', headers: auth });
    await gw.fetch(`${GW}/sla/config`, { method: 'DELETE', headers: auth });
  });

  it('takes documents at runtime into the one config in force: judged calls, /sla, /sla/config and /sla/rules', async () => {
    const gw = gateway({ ADMIN_TOKEN: ADMIN }, { durable: true });
    const put = (body: string, headers: Record<string, string> = auth) => gw.fetch(`${GW}/sla/openslo`, { method: 'PUT', headers: { ...headers, 'content-type': 'application/yaml' }, body });
    expect((await put(doc('os.rag'), {})).status).toBe(401);

    const bad = await put(doc('os.rag').replace('Occurrences', 'Timeslices'));
    expect(bad.status).toBe(400);
    const badBody = (await bad.json()) as { error: { message: string } };
    expect(badBody.error.message).toContain('body document 1 (os-rag): spec.budgetingMethod: only Occurrences');

    const ok = await put(doc('os.rag'));
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { slos: { route: string }[] }).slos.map((s) => s.route)).toEqual(['os.rag']);
    const cfg = (await (await gw.fetch(`${GW}/sla/config`)).json()) as { source: string; openslo: string; config: { routes: Record<string, { slo?: unknown }> } };
    expect(cfg).toMatchObject({ source: 'default', openslo: 'runtime' });
    expect(cfg.config.routes['os.rag']?.slo).toMatchObject({ objective: 0.99, period: '7d', latency_ms: 1000, alerts: ['fast'], name: 'os-rag', labels: { service: 'rag' } });

    // Calls on the route are judged by it: the route objects were told at once. (A threshold well above a loaded
    // machine's cold first call, so only the call made slow on purpose is slow.)
    for (const latency of ['0', '0', '0', '1200']) {
      await (await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': 'os.rag', 'x-mock-latency-ms': latency }))).arrayBuffer();
    }
    await gw.settle();
    const report = (await (await gw.fetch(`${GW}/sla`)).json()) as SlaReport;
    expect(report.routes['os.rag']?.error_budget).toMatchObject({ objective: 0.99, period: '7d', good: 3, bad: 1 });
    const rules = await textOf(await gw.fetch(`${GW}/sla/rules`));
    expect(rules).toContain('name: llm-sla:os.rag');
    expect(rules).toContain('burn: fast');
    expect(rules).not.toContain('burn: slow');
    const listed = (await (await gw.fetch(`${GW}/sla/openslo`)).json()) as { source: string; documents: string };
    expect(listed).toMatchObject({ source: 'runtime', documents: doc('os.rag') });

    // A JSON config setting the same route's SLO conflicts: refused, the config in force unchanged.
    const clash = await gw.fetch(`${GW}/sla/config`, { method: 'PUT', headers: auth, body: JSON.stringify({ routes: { 'os.rag': { slo: { objective: 0.9 } } } }) });
    expect(clash.status).toBe(400);
    expect(((await clash.json()) as { error: { message: string } }).error.message).toContain('route "os.rag" already has an slo in the SLA config');
    // Other targets merge: the OpenSLO block keeps them.
    expect((await gw.fetch(`${GW}/sla/config`, { method: 'PUT', headers: auth, body: JSON.stringify({ routes: { 'os.*': { max_p95_ms: 900 } } }) })).status).toBe(200);
    const both = (await (await gw.fetch(`${GW}/sla/config`)).json()) as { source: string; config: { routes: Record<string, unknown> } };
    expect(both.source).toBe('runtime');
    expect(both.config.routes['os.rag']).toMatchObject({ max_p95_ms: 900, slo: { objective: 0.99 } });

    expect((await gw.fetch(`${GW}/sla/openslo`, { method: 'DELETE', headers: auth })).status).toBe(200);
    const after = (await (await gw.fetch(`${GW}/sla/config`)).json()) as { openslo?: string; config: { routes: Record<string, unknown> } };
    expect(after.openslo).toBeUndefined();
    expect(after.config.routes['os.rag']).toBeUndefined();
    await gw.fetch(`${GW}/sla/config`, { method: 'DELETE', headers: auth });
  });

  it('reads the OPENSLO var; an invalid one makes /sla answer 500 with the problems while the proxy keeps working', async () => {
    const gw = gateway({ OPENSLO: doc('os.var', 0.95) });
    const cfg = (await (await gw.fetch(`${GW}/sla/config`)).json()) as { openslo: string; config: { routes: Record<string, { slo?: { objective: number } }> } };
    expect(cfg.openslo).toBe('env');
    expect(cfg.config.routes['os.var']?.slo?.objective).toBe(0.95);
    expect(await textOf(await gw.fetch(`${GW}/sla/rules`))).toContain('llm-sla:os.var');

    const broken = gateway({ OPENSLO: doc('os.var').replace('lookbackWindow: 1h', 'lookbackWindow: 2h') });
    const res = await broken.fetch(`${GW}/sla`);
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
      'OPENSLO document 1 (os-var): spec.alertPolicies[0].spec.conditions[0].spec.condition: threshold 14.4 over lookbackWindow "2h"',
    );
    const call = await broken.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat));
    expect(call.status).toBe(200);
    await call.arrayBuffer();
    await broken.settle();
  });
});
