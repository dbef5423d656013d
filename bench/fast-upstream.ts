import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A lean mock provider for benchmarks: answers OpenAI chat completions (JSON, or SSE when the body asks to stream)
 * and Anthropic messages from precomputed bytes, so the upstream costs the same for every target. Streams send
 * `chunks` content events `spacingMs` apart; every response waits `latencyMs` first. Header `x-fault` injects
 * faults for the soak: `500`, `429` (with retry-after), `malformed` (cut JSON), `reset` (stream cut after three
 * events), `slow` (+300 ms), `hang` (never answers), `no-usage` (a reply without usage: the gateway estimates tokens).
 * Header `x-echo-model: 1` makes a JSON reply name the request's model (`bench:routes`: many models per route).
 */
export interface FastUpstreamOptions {
  latencyMs: number;
  chunks: number;
  spacingMs: number;
  /**
   * Faults drawn per request from a seeded generator (the same run of faults for the same seed), for the resilience
   * scenarios (bench/resilience.ts): `rate503` of the calls answer 503; `stallRate` of the streams send their
   * headers and role event at once, then nothing for `stallMs` before the first content event.
   */
  faults?: { rate503?: number; stallRate?: number; stallMs?: number; seed?: number };
}

/** mulberry32: a small seeded generator, so a scenario's faults are the same run after run. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const usage = { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 };
const jsonBody = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1700000000,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Benchmark reply text.' }, finish_reason: 'stop' }],
  usage,
});
const noUsageBody = jsonBody.replace(/,"usage":\{[^}]*\}/, '');
const anthropicBody = JSON.stringify({
  id: 'msg_bench',
  type: 'message',
  role: 'assistant',
  model: 'claude-3-5-haiku-20241022',
  content: [{ type: 'text', text: 'Benchmark reply text.' }],
  stop_reason: 'end_turn',
  usage: { input_tokens: 12, output_tokens: 20 },
});

export function chatEvents(chunks: number, includeUsage: boolean): string[] {
  const base = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o-mini' };
  const extra = includeUsage ? { usage: null } : {};
  const events = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], ...extra }];
  for (let i = 0; i < chunks; i++) events.push({ ...base, choices: [{ index: 0, delta: { content: `tok${i} ` }, finish_reason: null }], ...extra } as never);
  events.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], ...extra } as never);
  const lines = events.map((e) => `data: ${JSON.stringify(e)}\n\n`);
  if (includeUsage) lines.push(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
  lines.push('data: [DONE]\n\n');
  return lines;
}

export async function startFastUpstream(opts: FastUpstreamOptions): Promise<{ url: string; state: { served: number }; close(): Promise<void> }> {
  /** Requests answered (begun), to check that a gateway counted every call it made. */
  const state = { served: 0 };
  const withUsage = chatEvents(opts.chunks, true);
  const withoutUsage = chatEvents(opts.chunks, false);
  const random = seeded(opts.faults?.seed ?? 1);
  const server = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      state.served++;
      const text = Buffer.concat(body).toString('utf8');
      const stream = text.includes('"stream":true');
      const drawn = opts.faults?.rate503 && random() < opts.faults.rate503 ? '503' : undefined;
      const fault = req.headers['x-fault'] ?? drawn;
      const stall = stream && opts.faults?.stallRate && random() < opts.faults.stallRate ? (opts.faults.stallMs ?? 10_000) : 0;
      const respond = () => {
        if (fault === '500' || fault === '429' || fault === '503') {
          const status = Number(fault);
          const err = JSON.stringify({ error: { message: `injected ${status}`, type: status === 429 ? 'rate_limit_error' : 'server_error', code: null } });
          res.writeHead(status, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '1' } : {}) });
          return res.end(err);
        }
        if (fault === 'no-usage') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(noUsageBody) });
          return res.end(noUsageBody);
        }
        if (fault === 'malformed') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end('{"id":"chatcmpl-bench","choices":[{"mess');
        }
        if (req.url?.endsWith('/messages')) {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(anthropicBody) });
          return res.end(anthropicBody);
        }
        if (!stream) {
          const model = req.headers['x-echo-model'] === '1' ? /"model":"([^"]*)"/.exec(text)?.[1] : undefined;
          const reply = model === undefined ? jsonBody : jsonBody.replace('"model":"gpt-4o-mini"', `"model":${JSON.stringify(model)}`);
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
          return res.end(reply);
        }
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
        res.socket?.setNoDelay(true);
        const events = text.includes('"include_usage":true') ? withUsage : withoutUsage;
        let i = 0;
        const next = () => {
          if (res.destroyed) return;
          const ev = events[i++];
          if (ev === undefined) return res.end();
          if (fault === 'reset' && i > 3) return res.socket?.destroy();
          res.write(ev);
          // A stalled stream: its role event at once, its first content event `stall` ms later.
          if (i === 1 && stall > 0) setTimeout(next, stall);
          else if (opts.spacingMs > 0 && i > 1 && i <= opts.chunks + 1) setTimeout(next, opts.spacingMs);
          else setImmediate(next);
        };
        next();
      };
      if (fault === 'hang') return; // never answers: the gateway's UPSTREAM_TIMEOUT_MS must end it
      const latency = fault === 'slow' ? opts.latencyMs + 300 : opts.latencyMs;
      if (latency > 0) setTimeout(respond, latency);
      else respond();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
