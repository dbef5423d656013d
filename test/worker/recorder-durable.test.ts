import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { DurableObjectRecorder, type FlushStats } from '../../src/worker/recorder/durable';
import { gateway, GW, jsonPost, metricValue } from './helpers';

const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };

/** An env whose Durable Objects fail the first `failures` calls to each method (or always, with Infinity); `registerFailures` for the registry's. */
function flakyEnv(failures: number, registerFailures = failures): { env: Env; calls: { ingest: number; register: number } } {
  const calls = { ingest: 0, register: 0 };
  const failing = <T>(name: 'ingest' | 'register', value: T) => async () => {
    calls[name]++;
    if (calls[name] <= (name === 'register' ? registerFailures : failures)) throw new Error(`Durable Object ${name} unavailable`);
    return value;
  };
  const namespace = (stub: object) => ({ idFromName: (n: string) => n, get: () => stub });
  const fake = {
    ...env,
    ROUTE_STATS: namespace({ ingest: failing('ingest', { added: 1 }) }),
    SLA_REGISTRY: namespace({ register: failing('register', undefined) }),
  };
  return { env: fake as unknown as Env, calls };
}

/** Retries of samples held for registration, shortened (production: 1, 4 and 10 s). */
const HELD_RETRY = [10, 20, 40];

async function callThrough(recorderEnv: Env, n: number): Promise<{ statuses: number[]; stats: FlushStats }> {
  const recorder = new DurableObjectRecorder(recorderEnv, { routeShards: 1, flushIntervalMs: 60_000, flushMaxRecords: n }, HELD_RETRY);
  const gw = gateway({}, { recorder });
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': 'faults.do' }));
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  await gw.settle();
  return { statuses, stats: recorder.stats };
}

describe('Durable Object faults never reach the client', () => {
  it('a Durable Object that always throws: every call succeeds, records are retried then counted as dropped', async () => {
    const { env: broken, calls } = flakyEnv(Infinity);
    const { statuses, stats } = await callThrough(broken, 5);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(stats.droppedRecords).toBe(5);
    // The route cannot be registered: its samples are held (never sent to an object /sla does not list) and tried at
    // three more flushes, three attempts each, then counted as dropped.
    expect(calls.register).toBe(4 * 3);
    expect(calls.ingest).toBe(0);
    expect(stats.droppedUnreported).toBe(5);
  });

  it('a route object that always throws: its records are retried then counted as dropped', async () => {
    const { env: broken, calls } = flakyEnv(Infinity, 0);
    const { statuses, stats } = await callThrough(broken, 5);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(stats.droppedRecords).toBe(5);
    expect(calls.ingest).toBe(3); // one flush (at the 5th record), three attempts
    expect(stats.droppedUnreported).toBe(5);
  });

  it('a Durable Object that fails once: the retry delivers, nothing is dropped', async () => {
    const { env: flaky, calls } = flakyEnv(1);
    const { statuses, stats } = await callThrough(flaky, 4);
    expect(statuses).toEqual([200, 200, 200, 200]);
    expect(stats.droppedRecords).toBe(0);
    expect(stats.sent).toBe(4);
    expect(calls.ingest).toBe(2);
  });
});

/** The real registry, its `register()` failing while `failing()` says so (everything else answered by the real one). */
function registryFailingRegister(failing: () => boolean): { env: Env; registers: () => number } {
  let registers = 0;
  const real = env.SLA_REGISTRY;
  const namespace = {
    idFromName: (n: string) => real.idFromName(n),
    get: (id: DurableObjectId) => {
      const stub = real.get(id);
      return new Proxy(stub, {
        get(target, prop) {
          if (prop !== 'register') return Reflect.get(target, prop);
          return async (...args: Parameters<typeof stub.register>) => {
            registers++;
            if (failing()) throw new Error('registry unavailable');
            return target.register(...args);
          };
        },
      });
    },
  };
  return { env: { ...env, SLA_REGISTRY: namespace } as unknown as Env, registers: () => registers };
}

describe('routes the registry fails to register', () => {
  const call = async (gw: ReturnType<typeof gateway>, route: string) => {
    const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { 'x-sla-route': route }));
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  };
  const sla = async (gw: ReturnType<typeof gateway>) => (await (await gw.fetch(`${GW}/sla`)).json()) as { routes: Record<string, { count: number }> };

  it('are registered by a later flush: every answered call reaches /sla', async () => {
    let failures = 3; // one whole flush: three attempts
    const flaky = registryFailingRegister(() => failures-- > 0);
    const recorder = new DurableObjectRecorder(flaky.env, { routeShards: 1, flushIntervalMs: 60_000, flushMaxRecords: 60, maxRoutes: 500 }, HELD_RETRY);
    const gw = gateway({}, { recorder });
    for (let i = 0; i < 60; i++) await call(gw, 'faults.register');
    await gw.settle();
    expect(flaky.registers()).toBe(4);
    expect(recorder.stats).toMatchObject({ sent: 60, droppedRecords: 0 });
    expect((await sla(gw)).routes['faults.register']?.count).toBe(60);
  });

  it('that never register: their records are dropped after bounded retries and counted in /metrics', async () => {
    let down = true;
    const flaky = registryFailingRegister(() => down);
    const recorder = new DurableObjectRecorder(flaky.env, { routeShards: 1, flushIntervalMs: 100, flushMaxRecords: 60, maxRoutes: 500 }, HELD_RETRY);
    const gw = gateway({}, { recorder });
    const dropped = async () => metricValue(await (await gw.fetch(`${GW}/metrics`)).text(), 'llm_sla_dropped_records_total') ?? NaN;
    const before = await dropped();
    for (let i = 0; i < 60; i++) await call(gw, 'faults.never');
    await gw.settle();
    expect(recorder.stats.droppedRecords).toBe(60);
    expect((await sla(gw)).routes['faults.never']).toBeUndefined();
    // Once the registry answers, this isolate's next batch tells its route object of the loss: /metrics counts it.
    down = false;
    await call(gw, 'faults.after');
    await gw.settle();
    expect(recorder.stats.droppedUnreported).toBe(0);
    expect(await dropped()).toBe(before + 60);
  });
});
