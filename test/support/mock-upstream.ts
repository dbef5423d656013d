/**
 * A mock of the OpenAI and Anthropic HTTP APIs (node:http only) for the tests: the gateway under test forwards to
 * it. It speaks the providers' documented wire formats and is deterministic: the same request always gets the same
 * response bytes. Behaviour is steered by `x-mock-*` request headers; what it received and how far each stream got
 * can be read back from `/__mock/*`. Wire formats live in ./mock/openai.ts and ./mock/anthropic.ts.
 *
 * Request headers (all optional):
 *   x-mock-id             id the request and its stream progress are filed under (default `default`)
 *   x-mock-content        reply text; x-mock-chunks: stream pieces (default 5)
 *   x-mock-usage          JSON {input, output, cached, reasoning, cache_creation, cache_read}; x-mock-no-usage: 1
 *   x-mock-tool-call: 1   answer with a `get_weather` tool call
 *   x-mock-response-model model to report instead of the request's
 *   x-mock-embedding-dims floats per embedding (default 8)
 *   x-mock-latency-ms     wait before the response headers; x-mock-chunk-delay-ms: wait between SSE events
 *   x-mock-split: N       write streams in N-byte pieces, cutting events anywhere
 *   x-mock-status: code   answer with that error status and the provider's error body
 *   x-mock-retry-after    `retry-after` on an error answer (429s carry `2` by default); x-mock-retry-after-ms: `retry-after-ms`
 *   x-mock-fail           reset-mid-stream | reset-mid-body (JSON with its length) | malformed | hang | close-before-headers
 *                         | reset-before-headers (a TCP reset, no response) | hang-before-first-token (a stream's headers
 *                         and first, role-only event, then silence) | stall-mid-stream (the first content event, then
 *                         silence) | error-event (a stream whose first event after the role is an overload error)
 *   x-mock-times: N       the faults above (status, fail, latency, retry-after) apply to the first N requests of the
 *                         id at this path only; later ones are answered normally
 *   x-mock-extra-header   echoed back as response header `x-mock-extra`
 *   x-mock-server-timing  answered as the upstream's own `server-timing` header
 *
 * Scoped values: any `x-mock-*` header may be `/<prefix>=<value>[, /<prefix2>=<value2>]`; a request whose path starts
 * with a prefix gets that value, others none. Fallback tests send one request's headers to several targets (base URLs
 * `<mock>/p1`, `<mock>/p2`) and fail only some of them.
 *
 * Introspection: GET /__mock/requests?id=X, GET /__mock/state?id=X, POST /__mock/reset.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicError, anthropicModelList, countTokens, message, messageStream } from './mock/anthropic.js';
import {
  intHeader,
  malformEvents,
  replyOptions,
  serializeEvent,
  type HeaderGetter,
  type JsonObject,
  type ReplyOptions,
  type SseEvent,
} from './mock/common.js';
import {
  chatCompletion,
  chatCompletionStream,
  completion,
  completionStream,
  embeddings,
  modelList,
  openaiError,
  response,
  responseStream,
} from './mock/openai.js';

export interface MockUpstream {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A request as the mock received it (`GET /__mock/requests?id=X`). */
export interface RecordedRequest {
  method: string;
  path: string;
  /** The raw query string with its leading `?`, or "". */
  query: string;
  /** Lowercased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  bodyBase64: string;
}

/** Progress of the latest streamed response of an id (`GET /__mock/state?id=X`). */
export interface StreamState {
  eventsSent: number;
  finished: boolean;
  aborted: boolean;
}

type Provider = 'openai' | 'anthropic';
type Operation = 'chat' | 'completions' | 'embeddings' | 'responses' | 'models' | 'messages' | 'count_tokens';

/**
 * The base paths the mock answers under, as the real APIs do: none (api.openai.com, api.anthropic.com,
 * api.mistral.ai: `/v1/...`), `/openai` (api.groq.com/openai: `/openai/v1/...`), and `/prefix` (the custom provider
 * of config.test.ts), and `/p1`..`/p3`, `/a1`, `/a2` (the several providers of one wire format that policy tests fall
 * back between, each failed on its own with scoped `x-mock-*` values). A path is a base plus exactly one of ROUTES;
 * anything else (`/openai/openai/v1/...`) is a 404, as the real hosts answer it.
 */
const BASES: readonly string[] = ['/openai', '/prefix', '/p1', '/p2', '/p3', '/a1', '/a2', ''];

/** The API path after the base (`/openai/v1/models` -> `/v1/models`). */
function apiPath(path: string): string {
  for (const base of BASES) if (base !== '' && path.startsWith(`${base}/`)) return path.slice(base.length);
  return path;
}

/** Matched exactly on the path after its base. */
const ROUTES: readonly { suffix: string; method: string; op: Operation }[] = [
  { suffix: '/v1/chat/completions', method: 'POST', op: 'chat' },
  { suffix: '/v1/completions', method: 'POST', op: 'completions' },
  { suffix: '/v1/embeddings', method: 'POST', op: 'embeddings' },
  { suffix: '/v1/responses', method: 'POST', op: 'responses' },
  { suffix: '/v1/models', method: 'GET', op: 'models' },
  { suffix: '/v1/messages/count_tokens', method: 'POST', op: 'count_tokens' },
  { suffix: '/v1/messages', method: 'POST', op: 'messages' },
];

const STREAMING: ReadonlySet<Operation> = new Set(['chat', 'completions', 'responses', 'messages']);
const MAX_RECORDS_PER_ID = 1000;

const BAD_JSON: Record<Provider, string> = {
  openai:
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
  anthropic: 'There was an error parsing the body of your request: it is not valid JSON.',
};

type Headers = Record<string, string>;

/** Resolves after `ms`, or at once when `signal` aborts (the client went away or the server closed). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function headerObject(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    const value = req.rawHeaders[i + 1] ?? '';
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  }
  return out;
}

/** A stream's bytes as written: one piece per event, or `split`-byte pieces cutting events anywhere. */
function streamPieces(events: readonly SseEvent[], split: number): { bytes: Buffer; eventsAfter: number }[] {
  const buffers = events.map((ev) => Buffer.from(serializeEvent(ev)));
  if (split <= 0) return buffers.map((bytes, i) => ({ bytes, eventsAfter: i + 1 }));
  const ends: number[] = [];
  let offset = 0;
  for (const b of buffers) ends.push((offset += b.length));
  const all = Buffer.concat(buffers);
  const pieces: { bytes: Buffer; eventsAfter: number }[] = [];
  for (let start = 0; start < all.length; start += split) {
    const end = Math.min(all.length, start + split);
    pieces.push({ bytes: all.subarray(start, end), eventsAfter: ends.filter((e) => e <= end).length });
  }
  return pieces;
}

function sendJson(res: ServerResponse, status: number, headers: Headers, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': String(bytes.length) });
  res.end(bytes);
}

/** A header's value for a request path: as sent, or the value of the first `/<prefix>=` scope the path starts with. */
function scoped(value: string | undefined, path: string): string | undefined {
  if (value === undefined || !value.trimStart().startsWith('/')) return value;
  for (const part of value.split(',')) {
    const m = /^\s*(\/[^=\s]*)=(.*)$/.exec(part);
    if (m && path.startsWith(m[1] as string)) return (m[2] as string).trim();
  }
  return undefined;
}

const FAULT_HEADERS = new Set(['x-mock-status', 'x-mock-fail', 'x-mock-latency-ms', 'x-mock-retry-after', 'x-mock-retry-after-ms']);

class Mock {
  private readonly records = new Map<string, RecordedRequest[]>();
  private readonly states = new Map<string, StreamState>();
  /** Requests seen per id and path (`x-mock-times`). */
  private readonly seen = new Map<string, number>();

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.sendDate = false;
    req.socket.setNoDelay(true);
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = q < 0 ? '' : rawUrl.slice(q);
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    if (path.startsWith('/__mock/')) return this.introspect(res, path, query);

    const raw_: HeaderGetter = (name) => {
      const v = req.headers[name];
      return scoped(Array.isArray(v) ? v[0] : v, path);
    };
    const id = raw_('x-mock-id') ?? 'default';
    // x-mock-times: the faults apply to the first N requests of this id at this path only.
    const times = intHeader(raw_, 'x-mock-times', -1);
    const n = this.seen.get(`${id}\u0000${path}`) ?? 0;
    this.seen.set(`${id}\u0000${path}`, n + 1);
    const faulty = times < 0 || n < times;
    const get: HeaderGetter = (name) => (!faulty && FAULT_HEADERS.has(name) ? undefined : raw_(name));
    const list = this.records.get(id) ?? [];
    list.push({ method, path, query, headers: headerObject(req), bodyBase64: raw.toString('base64') });
    if (list.length > MAX_RECORDS_PER_ID) list.shift();
    this.records.set(id, list);

    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const api = apiPath(path);
    const route = ROUTES.find((r) => api === r.suffix || api === `${r.suffix}/`);
    const anthropic =
      route?.op === 'messages' ||
      route?.op === 'count_tokens' ||
      (route?.op === 'models' && get('anthropic-version') !== undefined) ||
      (route === undefined && path.includes('/messages'));
    const provider: Provider = anthropic ? 'anthropic' : 'openai';
    const headers: Headers = provider === 'anthropic' ? { 'request-id': 'req_mock' } : { 'x-request-id': 'req_mock' };
    const extra = get('x-mock-extra-header');
    if (extra !== undefined) headers['x-mock-extra'] = extra;
    const serverTiming = get('x-mock-server-timing');
    if (serverTiming !== undefined) headers['server-timing'] = serverTiming;
    const error = (status: number, override?: { message: string; code: string | null }) => {
      const body = provider === 'anthropic' ? anthropicError(status, override?.message) : openaiError(status, override);
      const wait: Headers = status === 429 ? { 'retry-after': '2' } : {};
      const after = get('x-mock-retry-after');
      const afterMs = get('x-mock-retry-after-ms');
      if (after !== undefined) wait['retry-after'] = after;
      if (afterMs !== undefined) wait['retry-after-ms'] = afterMs;
      sendJson(res, status, { ...headers, ...wait }, body);
    };

    await sleep(intHeader(get, 'x-mock-latency-ms', 0), gone.signal);
    if (gone.signal.aborted) return;
    const fail = get('x-mock-fail');
    if (fail === 'close-before-headers') {
      req.socket.destroy();
      return;
    }
    if (fail === 'reset-before-headers') {
      req.socket.resetAndDestroy();
      return;
    }
    if (fail === 'hang') return; // the socket stays open until the client gives up or the mock closes

    if (route === undefined || route.method !== method) {
      return error(404, { message: `Invalid URL (${method} ${path})`, code: 'unknown_url' });
    }
    const status = intHeader(get, 'x-mock-status', 0);
    if (status >= 400 && status <= 599) return error(status);

    let body: Record<string, unknown> = {};
    if (route.method === 'POST') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.toString('utf8'));
      } catch {
        parsed = undefined;
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        return error(400, { message: BAD_JSON[provider], code: null });
      }
      body = parsed as Record<string, unknown>;
    }
    const opts = replyOptions(get, body);
    // A malformed reply carries no usage, so nothing about it can be read even by a lenient parser.
    if (fail === 'malformed') opts.usage = null;

    if (body['stream'] === true && STREAMING.has(route.op)) {
      let events = streamEvents(route.op, opts);
      if (fail === 'malformed') events = malformEvents(events);
      if (fail === 'error-event') events = [...events.slice(0, 1), overloadEvent(provider)];
      return this.stream(req, res, id, headers, events, get, gone.signal);
    }
    const dims = intHeader(get, 'x-mock-embedding-dims', typeof body['dimensions'] === 'number' ? body['dimensions'] : 8);
    const reply = jsonReply(route.op, opts, body, dims, provider);
    let text = JSON.stringify(reply);
    if (fail === 'malformed') text = text.slice(0, Math.floor(text.length / 2));
    if (fail === 'reset-mid-stream') {
      // Headers and half the body (chunked, no length), then a TCP reset.
      const bytes = Buffer.from(text);
      res.writeHead(200, { ...headers, 'content-type': 'application/json' });
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => req.socket.resetAndDestroy());
      return;
    }
    const bytes = Buffer.from(text);
    res.writeHead(200, { ...headers, 'content-type': 'application/json', 'content-length': String(bytes.length) });
    if (fail === 'reset-mid-body') {
      // The full length declared, half the body sent, then a TCP reset.
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => req.socket.resetAndDestroy());
      return;
    }
    res.end(bytes);
  }

  /** Writes an SSE stream event by event (or in `x-mock-split` pieces), tracking progress for `/__mock/state`. */
  private async stream(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    headers: Headers,
    events: readonly SseEvent[],
    get: HeaderGetter,
    gone: AbortSignal,
  ): Promise<void> {
    const state: StreamState = { eventsSent: 0, finished: false, aborted: false };
    this.states.set(id, state);
    let resetting = false;
    res.on('close', () => {
      if (!state.finished && !resetting) state.aborted = true;
    });
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.flushHeaders();

    const delay = intHeader(get, 'x-mock-chunk-delay-ms', 0);
    const split = intHeader(get, 'x-mock-split', 0);
    const fail = get('x-mock-fail');
    const resetAfter = fail === 'reset-mid-stream' ? 2 : Infinity;
    // The first event of every mock stream carries no content (a role, or message_start), the second the first token.
    const silentAfter = fail === 'hang-before-first-token' ? 1 : fail === 'stall-mid-stream' ? 2 : Infinity;
    let first = true;
    let completedEvent = false;
    for (const piece of streamPieces(events, split)) {
      if (!first) {
        if (delay > 0 && completedEvent) await sleep(delay, gone);
        else if (split > 0) await nextTurn();
      }
      first = false;
      if (gone.aborted || res.destroyed) return;
      if (piece.eventsAfter >= resetAfter) {
        resetting = true;
        res.write(piece.bytes, () => req.socket.resetAndDestroy());
        state.eventsSent = piece.eventsAfter;
        return;
      }
      res.write(piece.bytes);
      completedEvent = piece.eventsAfter > state.eventsSent;
      state.eventsSent = piece.eventsAfter;
      if (piece.eventsAfter >= silentAfter) {
        // Silence, until the client gives up (the state says whether it cancelled) or the mock closes.
        await new Promise<void>((resolve) => (gone.aborted ? resolve() : gone.addEventListener('abort', () => resolve(), { once: true })));
        return;
      }
    }
    state.finished = true;
    res.end();
  }

  private introspect(res: ServerResponse, path: string, query: string): void {
    const id = new URLSearchParams(query.slice(1)).get('id') ?? 'default';
    const headers = { 'cache-control': 'no-store' };
    if (path === '/__mock/requests') return sendJson(res, 200, headers, this.records.get(id) ?? []);
    if (path === '/__mock/state') {
      return sendJson(res, 200, headers, this.states.get(id) ?? { eventsSent: 0, finished: false, aborted: false });
    }
    if (path === '/__mock/reset') {
      this.records.clear();
      this.states.clear();
      this.seen.clear();
      return sendJson(res, 200, headers, { ok: true });
    }
    sendJson(res, 404, headers, openaiError(404, { message: `Unknown mock endpoint ${path}`, code: 'unknown_url' }));
  }
}

/** A provider's overload announced inside a 200 stream (`x-mock-fail: error-event`). */
function overloadEvent(provider: Provider): SseEvent {
  if (provider === 'anthropic') return { event: 'error', data: JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }) };
  return { event: null, data: JSON.stringify({ error: { message: 'The server is overloaded.', type: 'server_error', param: null, code: null } }) };
}

function streamEvents(op: Operation, o: ReplyOptions): SseEvent[] {
  switch (op) {
    case 'completions':
      return completionStream(o);
    case 'responses':
      return responseStream(o);
    case 'messages':
      return messageStream(o);
    default:
      return chatCompletionStream(o);
  }
}

function jsonReply(op: Operation, o: ReplyOptions, body: Record<string, unknown>, dims: number, provider: Provider): JsonObject {
  switch (op) {
    case 'chat':
      return chatCompletion(o);
    case 'completions':
      return completion(o);
    case 'embeddings':
      return embeddings(o, body, dims);
    case 'responses':
      return response(o);
    case 'models':
      return provider === 'anthropic' ? anthropicModelList() : modelList();
    case 'messages':
      return message(o);
    case 'count_tokens':
      return countTokens(o);
  }
}

/** Starts the mock on 127.0.0.1 (`port` 0 picks a free port). */
export async function startMockUpstream(port = 0): Promise<MockUpstream> {
  const mock = new Mock();
  const server = createServer((req, res) => {
    mock.handle(req, res).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, {}, openaiError(500, { message: `mock upstream failed: ${String(err)}`, code: null }));
    });
  });
  // Keep idle connections longer than clients do, so a pooled connection is never closed just as it is reused.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Hanging and streaming responses and idle keep-alive connections would otherwise hold the server open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
