import OpenAI from 'openai';
import type { SlaReport } from '../../src/core/report-types';

/** The official openai SDK pointed at the gateway (which forwards to the mock upstream). */
export function openai(gateway: string): OpenAI {
  return new OpenAI({ baseURL: `${gateway}/openai/v1`, apiKey: 'sk-e2e-test-key', maxRetries: 0 });
}

/** One chat completion on `route`; `mock` headers steer the mock upstream. Resolves to whether it succeeded. */
export async function chat(client: OpenAI, route: string, mock: Record<string, string> = {}, stream = false): Promise<boolean> {
  const headers = { 'x-sla-route': route, ...mock };
  const messages = [{ role: 'user' as const, content: 'hi' }];
  try {
    if (stream) {
      const s = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, { headers });
      for await (const _chunk of s) {
        // drain
      }
    } else {
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages }, { headers });
    }
    return true;
  } catch (e) {
    if (e instanceof OpenAI.APIError) return false;
    throw e;
  }
}

/** Runs `tasks` with at most `n` at a time. */
export async function limited<T>(n: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array<T>(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await (tasks[i] as () => Promise<T>)();
      }
    }),
  );
  return out;
}

export async function slaReport(gateway: string, token: string, window = '5m'): Promise<SlaReport> {
  const res = await fetch(`${gateway}/sla?window=${window}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`/sla answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as SlaReport;
}

/** Reads /sla until each route has its expected count (records reach the objects in batches), or throws. */
export async function waitForCounts(gateway: string, token: string, expected: Record<string, number>, ms = 15_000): Promise<SlaReport> {
  const until = Date.now() + ms;
  for (;;) {
    const report = await slaReport(gateway, token);
    if (Object.entries(expected).every(([route, n]) => (report.routes[route]?.count ?? 0) >= n)) return report;
    if (Date.now() > until) throw new Error(`counts not reached: want ${JSON.stringify(expected)}, have ${JSON.stringify(Object.fromEntries(Object.entries(report.routes).map(([k, v]) => [k, v.count])))}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
