import fs from 'node:fs';
import { CHAT, CHAT_STREAM, load, sequential } from './client';
import { startFastUpstream } from './fast-upstream';
import { connectInspector } from './inspector';
import { startOtlpSink } from './otlp-sink';
import { startGateway } from './runtime';

/**
 * `npm run bench:profile`: a V8 CPU profile of the gateway isolate under load (workerd's inspector, Chrome DevTools
 * protocol), summarised as self time per function — where the gateway's own time goes. Writes the raw
 * `.cpuprofile` (open it in Chrome DevTools) and prints the top functions. `--stream` profiles streaming calls, `--otlp` with span export to a local collector.
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
  const sink = process.argv.includes('--otlp') ? await startOtlpSink() : null;
  const vars = { UPSTREAM_OPENAI: upstream.url, RECORDER: 'durable', FLUSH_INTERVAL_MS: '1000', ...(sink ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } : {}) };
  const gateway = await startGateway(bundle, vars, 'profile', ['--inspector-addr', `127.0.0.1:${inspectorPort}`]);
  try {
    await sequential(gateway.url, '/openai/v1/chat/completions', streamMode ? CHAT_STREAM : CHAT, 300);
    const inspector = await connectInspector(inspectorPort);
    const send = inspector.send;
    await send('Profiler.enable');
    await send('Profiler.setSamplingInterval', { interval: 100 });
    await send('Profiler.start');
    const r = await load(gateway.url, '/openai/v1/chat/completions', 50, 5, '/tmp/llm-sla-profile.lua', fs);
    const { profile } = (await send('Profiler.stop')) as { profile: { nodes: ProfileNode[]; startTime: number; endTime: number } };
    inspector.close();
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
    await sink?.close();
  }
}

await main();
