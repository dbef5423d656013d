import { describe, expect, it } from 'vitest';
import { createProfiler, type ProfilerOptions } from '../../src/client/profiler';
import type { SlaReport } from '../../src/core/report-types';
import { gateway, GW } from './helpers';

type Gateway = ReturnType<typeof gateway>;

/**
 * The profiler's `fetch` wired to the real gateway app, with faults: `lose` lets the gateway take the request and
 * then throws as if the connection died before the answer came back; `refuse` throws before the gateway sees it;
 * `status` answers with that status without the gateway.
 */
function wired(gw: Gateway, faults: ('lose' | 'refuse' | number)[] = []) {
  const seen: { key: string | null; count: number }[] = [];
  const fetch: ProfilerOptions['fetch'] = async (input, init) => {
    const fault = faults.shift();
    const body = JSON.parse(String(init.body)) as unknown[];
    seen.push({ key: new Headers(init.headers).get('idempotency-key'), count: body.length });
    if (fault === 'refuse') throw new TypeError('fetch failed: connection refused');
    if (typeof fault === 'number') return new Response('{"error":"injected"}', { status: fault });
    const res = await gw.fetch(input.replace('http://gw.example', GW), init);
    if (fault === 'lose') {
      await res.arrayBuffer();
      throw new TypeError('fetch failed: socket hang up');
    }
    return res;
  };
  return { fetch, seen };
}

async function count(gw: Gateway, route: string): Promise<number | undefined> {
  await gw.settle();
  const report = (await (await gw.fetch(`${GW}/sla?window=5m`)).json()) as SlaReport;
  return report.routes[route]?.count;
}

const fast = { url: 'http://gw.example', flushIntervalMs: 5, retryBaseMs: 1, retryMaxMs: 4 } as const;

describe('createProfiler: timings land in /sla exactly once', () => {
  it('times stages, marks failures (explicit and thrown), batches and sends them', async () => {
    const gw = gateway({}, { durable: true });
    const { fetch, seen } = wired(gw);
    const profiler = createProfiler({ ...fast, fetch, maxBatch: 4 });
    for (let i = 0; i < 6; i++) {
      const out = await profiler.timer('prof.retrieval', async (t) => {
        t.setAttribute('gen_ai.usage.input_tokens', 5);
        if (i === 2) t.markFailure('empty_result');
        return i * 2;
      });
      expect(out).toBe(i * 2);
    }
    await expect(profiler.timer('prof.retrieval', () => Promise.reject(new RangeError('boom')))).rejects.toThrow('boom');
    const manual = profiler.start('prof.rerank');
    manual.end();
    manual.end(); // once only
    profiler.record({ route: 'prof.rerank', duration_ms: 42, ok: true });
    await profiler.flush();
    expect(profiler.stats).toEqual({ recorded: 9, sent: 9, rejected: 0, dropped: 0, retries: 0, duplicates: 0 });
    expect(profiler.pending).toBe(0);
    expect(seen.reduce((n, s) => n + s.count, 0)).toBe(9);
    expect(seen.every((s) => s.count <= 4)).toBe(true);
    const records = await gw.settle();
    const failures = records.filter((r) => r.outcome !== 'success');
    expect(failures.map((r) => r.errorType).sort()).toEqual(['RangeError', 'empty_result']);
    expect(records.find((r) => r.route === 'prof.retrieval')?.usage?.input).toBe(5);
    expect(await count(gw, 'prof.retrieval')).toBe(7);
    expect(await count(gw, 'prof.rerank')).toBe(2);
    await profiler.close();
  });

  it('a batch whose response was lost is retried under the same key and counted once', async () => {
    const gw = gateway({}, { durable: true });
    const { fetch, seen } = wired(gw, ['lose', 'lose']);
    const profiler = createProfiler({ ...fast, fetch });
    for (let i = 0; i < 25; i++) profiler.record({ route: 'prof.lost', duration_ms: i + 1, ok: true });
    await profiler.flush();
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.key)).size).toBe(1);
    expect(profiler.stats).toMatchObject({ recorded: 25, sent: 25, dropped: 0, retries: 2, duplicates: 1 });
    expect(await count(gw, 'prof.lost')).toBe(25);
  });

  it('a flush that failed before reaching the gateway (refused, 503, 429) is retried and lands once', async () => {
    const gw = gateway({}, { durable: true });
    const { fetch, seen } = wired(gw, ['refuse', 503, 429]);
    const errors: string[] = [];
    const profiler = createProfiler({ ...fast, fetch, onError: (e) => errors.push(e.message) });
    for (let i = 0; i < 10; i++) profiler.record({ route: 'prof.retried', duration_ms: 3, ok: i !== 0 });
    await profiler.flush();
    expect(seen).toHaveLength(4);
    expect(profiler.stats).toMatchObject({ sent: 10, dropped: 0, retries: 3, duplicates: 0 });
    expect(errors).toHaveLength(3);
    expect(await count(gw, 'prof.retried')).toBe(10);
  });

  it('counts what it cannot deliver: attempts exhausted, a final 4xx, a full buffer, after close', async () => {
    const gw = gateway({}, { durable: true });
    const { fetch } = wired(gw, [500, 500, 500, 400]);
    const profiler = createProfiler({ ...fast, fetch, maxAttempts: 3, maxBuffered: 5, maxBatch: 100 });
    for (let i = 0; i < 7; i++) profiler.record({ route: 'prof.lossy', duration_ms: 1, ok: true });
    await profiler.flush(); // 5 buffered, 2 over the bound; the 5 fail 3 times
    expect(profiler.stats).toMatchObject({ recorded: 7, sent: 0, dropped: 7, retries: 2 });
    profiler.record({ route: 'prof.lossy', duration_ms: 1, ok: true });
    await profiler.flush(); // 400: final
    expect(profiler.stats).toMatchObject({ recorded: 8, dropped: 8 });
    profiler.record({ route: 'prof.lossy', duration_ms: 1, ok: true });
    profiler.record({ route: 'bad route!', duration_ms: 1, ok: true });
    await profiler.close();
    expect(profiler.stats).toMatchObject({ recorded: 10, sent: 1, rejected: 1, dropped: 8 });
    profiler.record({ route: 'prof.lossy', duration_ms: 1, ok: true });
    expect(profiler.stats).toMatchObject({ recorded: 11, dropped: 9 });
    expect(await count(gw, 'prof.lossy')).toBe(1);
  });

  it('flushes in the background on its interval, without flush()', async () => {
    const gw = gateway({}, { durable: true });
    const { fetch } = wired(gw);
    const profiler = createProfiler({ ...fast, fetch, flushIntervalMs: 20 });
    profiler.record({ route: 'prof.background', duration_ms: 2, ok: true });
    expect(profiler.pending).toBe(1);
    const until = Date.now() + 2_000;
    while (profiler.pending > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(profiler.stats.sent).toBe(1);
    expect(await count(gw, 'prof.background')).toBe(1);
  });
});
