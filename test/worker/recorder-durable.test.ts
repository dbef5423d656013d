import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { DurableObjectRecorder, type FlushStats } from '../../src/worker/recorder/durable';
import { gateway, GW, jsonPost } from './helpers';

const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };

/** An env whose Durable Objects fail the first `failures` calls to each method (or always, with Infinity). */
function flakyEnv(failures: number): { env: Env; calls: { ingest: number; register: number } } {
  const calls = { ingest: 0, register: 0 };
  const failing = <T>(name: 'ingest' | 'register', value: T) => async () => {
    calls[name]++;
    if (calls[name] <= failures) throw new Error(`Durable Object ${name} unavailable`);
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

async function callThrough(recorderEnv: Env, n: number): Promise<{ statuses: number[]; stats: FlushStats }> {
  const recorder = new DurableObjectRecorder(recorderEnv, { routeShards: 1, flushIntervalMs: 60_000, flushMaxRecords: n });
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
