import fs from 'node:fs';
import { CHAT, CHAT_STREAM, load, sequential } from './client';
import { startFastUpstream } from './fast-upstream';
import { startGateway } from './runtime';

/**
 * `npm run bench:profile`: a V8 CPU profile of the gateway isolate under load (workerd's inspector, Chrome DevTools
 * protocol), summarised as self time per function — where the gateway's own time goes. Writes the raw
 * `.cpuprofile` (open it in Chrome DevTools) and prints the top functions. `--stream` profiles streaming calls.
 */
const streamMode = process.argv.includes('--stream');
const bundle = process.env.GATEWAY_BUNDLE ?? 'bench/.build/gateway/index.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

async function main(): Promise<void> {
  const upstream = await startFastUpstream({ latencyMs: 0, chunks: 20, spacingMs: streamMode ? 1 : 0 });
  const inspectorPort = 9300 + Math.floor(Math.random() * 500);
  const vars = { UPSTREAM_OPENAI: upstream.url, RECORDER: 'durable', FLUSH_INTERVAL_MS: '1000', ...(process.env.OTLP ? { OTEL_EXPORTER_OTLP_ENDPOINT: process.env.OTLP } : {}) };
  const gateway = await startGateway(bundle, vars, 'profile', ['--inspector-addr', `127.0.0.1:${inspectorPort}`]);
  try {
    await sequential(gateway.url, '/openai/v1/chat/completions', streamMode ? CHAT_STREAM : CHAT, 300);
    const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as { webSocketDebuggerUrl: string; title: string }[];
    const target = targets.find((t) => t.title.includes('main')) ?? targets[0];
    if (!target) throw new Error('no inspector target');
    const ws = new WebSocket(target.webSocketDebuggerUrl.replace('localhost', '127.0.0.1'));
    await new Promise((r, j) => ((ws.onopen = r), (ws.onerror = j)));
    let id = 0;
    const pending = new Map<number, (v: unknown) => void>();
    ws.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown };
      if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
    };
    const send = (method: string, params: Record<string, unknown> = {}) =>
      new Promise<unknown>((resolve) => {
        const n = ++id;
        pending.set(n, resolve);
        ws.send(JSON.stringify({ id: n, method, params }));
      });
    await send('Profiler.enable');
    await send('Profiler.setSamplingInterval', { interval: 100 });
    await send('Profiler.start');
    const r = await load(gateway.url, '/openai/v1/chat/completions', 50, 5, '/tmp/llm-sla-profile.lua', fs);
    const { profile } = (await send('Profiler.stop')) as { profile: { nodes: ProfileNode[]; startTime: number; endTime: number } };
    ws.close();
    fs.mkdirSync('bench/.build', { recursive: true });
    fs.writeFileSync('bench/.build/gateway.cpuprofile', JSON.stringify(profile));
    const self = new Map<string, number>();
    let total = 0;
    for (const n of profile.nodes) {
      const hits = n.hitCount ?? 0;
      total += hits;
      const f = n.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop() ?? ''}:${f.lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + hits);
    }
    console.log(`${r.rps.toFixed(0)} req/s under the profiler (${r.tool}); ${total} samples; self time by function:`);
    for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
    console.log('raw profile: bench/.build/gateway.cpuprofile');
  } finally {
    await gateway.dispose();
    await upstream.close();
  }
}

await main();
