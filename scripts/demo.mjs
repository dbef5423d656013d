#!/usr/bin/env node
/**
 * `npm run demo`: the gateway with something to look at, no provider key and no network. It starts
 *
 *  - a mock provider on a random port of 127.0.0.1 speaking the OpenAI wire format (Chat Completions, JSON and SSE
 *    streams with usage), whose behaviour the model name picks: `demo-fast` answers in ~0.1 s, `demo-slow` in
 *    0.5-1.1 s, `demo-flaky` fails one call in four with a 500;
 *  - `wrangler dev` on 127.0.0.1:$PORT (8787 by default), `UPSTREAM_OPENAI` pointed at the mock, an `SLA_CONFIG`
 *    with three routes and SLOs, alerts evaluated every 10 s (`ALERT_INTERVAL_MS`), prices for the demo
 *    models (`PRICES`), and fresh local state in a temporary folder;
 *  - traffic on three routes: `demo.chat` (meets its targets), `demo.search` (breaches its 400 ms p95 latency
 *    target) and `demo.summarize` (fails its success rate and burns its error budget).
 *
 * Within a minute `/sla` shows the two failing routes, `/sla/alerts` their alerts, `/metrics` the counters and burn
 * rates, and `/dashboard` draws it all. Ctrl-C (SIGINT) or SIGTERM stops the traffic, `wrangler dev` (and its
 * workerd) and the mock, and removes the temporary state.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WRANGLER = path.join(ROOT, 'node_modules/wrangler/bin/wrangler.js');
const PORT = Number(process.env.PORT ?? 8787);
const log = (line) => console.log(`demo: ${line}`);

if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) {
  console.error(`demo: PORT must be a port number, not ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}

// ---------------------------------------------------------------- the mock provider

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const CREATED = Math.floor(Date.now() / 1000);
const REPLY = ['The gateway ', 'measured this ', 'call on its ', 'way through: ', 'latency, TTFT, ', 'tokens and cost.'];

/** Latency before the headers and whether the call fails, by model. */
function behaviour(model) {
  if (model === 'demo-slow') return { delayMs: 500 + Math.random() * 600, chunkMs: 40, fail: false };
  if (model === 'demo-flaky') return { delayMs: 60 + Math.random() * 80, chunkMs: 15, fail: Math.random() < 0.25 };
  return { delayMs: 40 + Math.random() * 80, chunkMs: 15, fail: false };
}

async function answer(req, res) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: `Invalid URL (${req.method} ${req.url})`, type: 'invalid_request_error', param: null, code: 'unknown_url' } }));
    return;
  }
  let body;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'We could not parse the JSON body of your request.', type: 'invalid_request_error', param: null, code: null } }));
    return;
  }
  const model = typeof body.model === 'string' ? body.model : 'demo-fast';
  const how = behaviour(model);
  await sleep(how.delayMs);
  if (how.fail) {
    res.writeHead(500, { 'content-type': 'application/json', 'x-request-id': 'req_demo' });
    res.end(JSON.stringify({ error: { message: 'The server had an error while processing your request (demo).', type: 'server_error', param: null, code: null } }));
    return;
  }
  const usage = { prompt_tokens: 24, completion_tokens: 18, total_tokens: 42 };
  const base = { id: `chatcmpl-demo${Date.now()}`, created: CREATED, model, service_tier: 'default', system_fingerprint: 'fp_demo' };
  if (body.stream !== true) {
    const text = JSON.stringify({
      ...base,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: REPLY.join(''), refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-request-id': 'req_demo' });
    res.end(text);
    return;
  }
  const withUsage = body.stream_options?.include_usage === true;
  const chunk = (choices, extra = {}) => `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices, ...(withUsage ? { usage: null } : {}), ...extra })}\n\n`;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': 'req_demo' });
  res.write(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));
  for (const piece of REPLY) {
    await sleep(how.chunkMs);
    if (res.destroyed) return;
    res.write(chunk([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]));
  }
  res.write(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]));
  if (withUsage) res.write(chunk([], { usage }));
  res.end('data: [DONE]\n\n');
}

function startMock() {
  const server = http.createServer((req, res) => {
    answer(req, res).catch(() => res.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// ---------------------------------------------------------------- the gateway

const SLA_CONFIG = {
  default: { window: '1m', min_samples: 5, max_p95_ms: 1500, min_success_rate: 0.95 },
  routes: {
    'demo.chat': { max_p95_ms: 600, max_ttft_p95_ms: 400, slo: { objective: 0.99, period: '30d', latency_ms: 1000 } },
    'demo.search': { max_p95_ms: 400 },
    'demo.summarize': { max_p95_ms: 800, slo: { objective: 0.99, period: '30d' } },
  },
  alert_after: 1,
};
const PRICES = { 'demo-fast': { input: 0.15, output: 0.6 }, 'demo-slow': { input: 2.5, output: 10 }, 'demo-flaky': { input: 0.4, output: 1.6 } };

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function portTaken(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

// ---------------------------------------------------------------- traffic

const ROUTES = [
  { route: 'demo.chat', model: 'demo-fast', every: 250 },
  { route: 'demo.search', model: 'demo-slow', every: 400 },
  { route: 'demo.summarize', model: 'demo-flaky', every: 300 },
];

function startTraffic(gateway, stopped) {
  const loops = ROUTES.map(async ({ route, model, every }) => {
    let n = 0;
    while (!stopped()) {
      const stream = n++ % 2 === 1;
      const started = Date.now();
      try {
        const res = await fetch(`${gateway}/openai/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer sk-demo-no-real-key', 'x-sla-route': route, 'x-sla-team': 'demo' },
          body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: `Demo call ${n} on ${route}` }] }),
        });
        await res.arrayBuffer();
      } catch {
        // The gateway is stopping: the loop ends with the next check.
      }
      await sleep(Math.max(0, every - (Date.now() - started)));
    }
  });
  return Promise.all(loops);
}

// ---------------------------------------------------------------- main

async function main() {
  if (await portTaken(PORT)) {
    console.error(`demo: port ${PORT} is in use; run with another, e.g. PORT=8788 npm run demo`);
    process.exit(1);
  }
  const mock = await startMock();
  const mockUrl = `http://127.0.0.1:${mock.address().port}`;
  const state = mkdtempSync(path.join(os.tmpdir(), 'llm-sla-demo-'));
  const vars = {
    UPSTREAM_OPENAI: mockUrl,
    SLA_CONFIG: JSON.stringify(SLA_CONFIG),
    PRICES: JSON.stringify(PRICES),
    ALERT_INTERVAL_MS: '10000',
    SUMMARY_MAX_AGE_MS: '5000',
  };
  const args = [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(PORT), '--inspector-port', String(await freePort()), '--persist-to', state];
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  const wrangler = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d) => (output = (output + d.toString()).slice(-20_000));
  wrangler.stdout.on('data', keep);
  wrangler.stderr.on('data', keep);
  const exited = new Promise((resolve) => wrangler.once('exit', resolve));

  let stopping = false;
  let traffic = Promise.resolve();
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    if (wrangler.exitCode === null && wrangler.signalCode === null) {
      wrangler.kill('SIGTERM');
      const killer = setTimeout(() => wrangler.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    await traffic;
    await new Promise((resolve) => {
      mock.closeAllConnections();
      mock.close(() => resolve());
    });
    rmSync(state, { recursive: true, force: true });
    log('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  const gateway = `http://127.0.0.1:${PORT}`;
  const until = Date.now() + 90_000;
  while (!/Ready on/.test(output)) {
    if (wrangler.exitCode !== null || Date.now() > until) {
      console.error(`demo: wrangler dev did not start:\n${output}`);
      await stop(1);
      return;
    }
    await sleep(100);
  }
  log(`mock provider (OpenAI wire format) on ${mockUrl}, no key, no network`);
  log(`gateway on ${gateway}, traffic on demo.chat (meets its targets), demo.search (too slow), demo.summarize (fails 1 in 4)`);
  log(`open ${gateway}/dashboard · ${gateway}/sla · ${gateway}/sla/alerts · ${gateway}/metrics — alerts within a minute; Ctrl-C stops everything`);
  traffic = startTraffic(gateway, () => stopping);
  exited.then((code) => {
    if (!stopping) {
      console.error(`demo: wrangler dev exited (${code}):\n${output.slice(-4000)}`);
      void stop(1);
    }
  });
}

await main();
