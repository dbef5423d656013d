/**
 * OpenAI wire formats: Chat Completions, legacy Completions, Embeddings, the Responses API, the model list and
 * error bodies, as JSON objects and SSE event lists. Pure functions of their options.
 */
import { CREATED, sse, splitPieces, TOOL, type Json, type JsonObject, type ReplyOptions, type SseEvent, type UsageNumbers } from './common.js';

const CALL_ID = 'call_mock';
const DONE: SseEvent = { event: null, data: '[DONE]' };

// ---------------------------------------------------------------- Chat Completions and legacy Completions

function chatUsage(u: UsageNumbers): JsonObject {
  return {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cached },
    completion_tokens_details: { reasoning_tokens: u.reasoning },
  };
}

function completionUsage(u: UsageNumbers): JsonObject {
  return { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output };
}

export function chatCompletion(o: ReplyOptions): JsonObject {
  const message: JsonObject = o.toolCall
    ? {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: CALL_ID, type: 'function', function: { name: TOOL.name, arguments: TOOL.arguments } }],
        refusal: null,
      }
    : { role: 'assistant', content: o.content, refusal: null };
  return {
    id: 'chatcmpl-mock',
    object: 'chat.completion',
    created: CREATED,
    model: o.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: o.toolCall ? 'tool_calls' : 'stop' }],
    usage: o.usage ? chatUsage(o.usage) : undefined,
    service_tier: 'default',
    system_fingerprint: 'fp_mock',
  };
}

/**
 * The chunks of a stream, then (with `include_usage` and usage known) the usage-only chunk with `choices: []`,
 * then `[DONE]`. With `include_usage` every other chunk carries `"usage": null`, as OpenAI sends it.
 */
function withUsageChunk(
  o: ReplyOptions,
  choices: Json[][],
  chunk: (choices: Json[], usage: Json | undefined) => JsonObject,
  usage: (u: UsageNumbers) => JsonObject,
): SseEvent[] {
  const withUsage = o.includeUsage && o.usage !== null;
  const events = choices.map((c) => sse(null, chunk(c, withUsage ? null : undefined)));
  if (withUsage && o.usage) events.push(sse(null, chunk([], usage(o.usage))));
  events.push(DONE);
  return events;
}

export function chatCompletionStream(o: ReplyOptions): SseEvent[] {
  const choice = (delta: JsonObject, finish: string | null = null): Json[] => [
    { index: 0, delta, logprobs: null, finish_reason: finish },
  ];
  const choices: Json[][] = [];
  if (o.toolCall) {
    choices.push(choice({ role: 'assistant', content: null }));
    choices.push(
      choice({ tool_calls: [{ index: 0, id: CALL_ID, type: 'function', function: { name: TOOL.name, arguments: '' } }] }),
    );
    for (const piece of splitPieces(TOOL.arguments, o.chunks)) {
      choices.push(choice({ tool_calls: [{ index: 0, function: { arguments: piece } }] }));
    }
    choices.push(choice({}, 'tool_calls'));
  } else {
    choices.push(choice({ role: 'assistant', content: '' }));
    for (const piece of splitPieces(o.content, o.chunks)) choices.push(choice({ content: piece }));
    choices.push(choice({}, 'stop'));
  }
  const chunk = (c: Json[], usage: Json | undefined): JsonObject => ({
    id: 'chatcmpl-mock',
    object: 'chat.completion.chunk',
    created: CREATED,
    model: o.model,
    service_tier: 'default',
    system_fingerprint: 'fp_mock',
    choices: c,
    usage,
  });
  return withUsageChunk(o, choices, chunk, chatUsage);
}

export function completion(o: ReplyOptions): JsonObject {
  return {
    id: 'cmpl-mock',
    object: 'text_completion',
    created: CREATED,
    model: o.model,
    choices: [{ text: o.content, index: 0, logprobs: null, finish_reason: 'stop' }],
    usage: o.usage ? completionUsage(o.usage) : undefined,
  };
}

export function completionStream(o: ReplyOptions): SseEvent[] {
  const choice = (text: string, finish: string | null): Json[] => [{ text, index: 0, logprobs: null, finish_reason: finish }];
  const choices = splitPieces(o.content, o.chunks).map((piece) => choice(piece, null));
  choices.push(choice('', 'stop'));
  const chunk = (c: Json[], usage: Json | undefined): JsonObject => ({
    id: 'cmpl-mock',
    object: 'text_completion',
    created: CREATED,
    model: o.model,
    choices: c,
    usage,
  });
  return withUsageChunk(o, choices, chunk, completionUsage);
}

// ---------------------------------------------------------------- Embeddings

/** FNV-1a, to seed each input's vector from its text. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** A unit-length vector of `dims` floats, the same for the same text (mulberry32 sequence, then normalised). */
function vector(text: string, dims: number): number[] {
  let state = hash(text);
  const values: number[] = [];
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const v = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
    values.push(v);
    norm += v * v;
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return values.map((v) => v * scale);
}

/** The inputs of an embeddings request: a string, an array of strings, a token array or an array of token arrays. */
function embeddingInputs(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return [''];
  if (input.every((x) => typeof x === 'number')) return [JSON.stringify(input)];
  return input.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
}

/**
 * `dims` floats per input (8 unless `x-mock-embedding-dims` or the request's `dimensions` says otherwise). With
 * `encoding_format: "base64"` (what the official SDKs ask for by default) each vector is little-endian float32 bytes
 * in base64, as OpenAI sends it.
 */
export function embeddings(o: ReplyOptions, body: Record<string, unknown>, dims: number): JsonObject {
  const base64 = body['encoding_format'] === 'base64';
  const data = embeddingInputs(body['input']).map((text, index): Json => {
    const floats = vector(text, dims);
    const embedding = base64 ? Buffer.from(new Float32Array(floats).buffer).toString('base64') : floats;
    return { object: 'embedding', index, embedding };
  });
  return {
    object: 'list',
    data,
    model: o.model,
    usage: o.usage ? { prompt_tokens: o.usage.input, total_tokens: o.usage.input } : undefined,
  };
}

// ---------------------------------------------------------------- Responses API

function responsesUsage(u: UsageNumbers): JsonObject {
  return {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cached },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning },
    total_tokens: u.input + u.output,
  };
}

function outputItem(o: ReplyOptions, done: boolean): JsonObject {
  const status = done ? 'completed' : 'in_progress';
  if (o.toolCall) {
    return { type: 'function_call', id: 'fc_mock', call_id: CALL_ID, name: TOOL.name, arguments: done ? TOOL.arguments : '', status };
  }
  const content: Json[] = done ? [{ type: 'output_text', text: o.content, annotations: [] }] : [];
  return { type: 'message', id: 'msg_mock', status, role: 'assistant', content };
}

/** The response object; in progress it has no output yet and `usage: null`. */
function responseObject(o: ReplyOptions, done: boolean): JsonObject {
  return {
    id: 'resp_mock',
    object: 'response',
    created_at: CREATED,
    status: done ? 'completed' : 'in_progress',
    model: o.model,
    output: done ? [outputItem(o, true)] : [],
    service_tier: done ? 'default' : 'auto',
    usage: o.usage === null ? undefined : done ? responsesUsage(o.usage) : null,
  };
}

export function response(o: ReplyOptions): JsonObject {
  return responseObject(o, true);
}

/** Typed events, each with `type` first and `sequence_number` last; no `[DONE]`. */
export function responseStream(o: ReplyOptions): SseEvent[] {
  const events: SseEvent[] = [];
  const push = (type: string, fields: JsonObject) => {
    events.push(sse(type, { type, ...fields, sequence_number: events.length }));
  };
  push('response.created', { response: responseObject(o, false) });
  push('response.in_progress', { response: responseObject(o, false) });
  push('response.output_item.added', { output_index: 0, item: outputItem(o, false) });
  if (o.toolCall) {
    const at = { item_id: 'fc_mock', output_index: 0 };
    for (const delta of splitPieces(TOOL.arguments, o.chunks)) push('response.function_call_arguments.delta', { ...at, delta });
    push('response.function_call_arguments.done', { ...at, arguments: TOOL.arguments });
  } else {
    const at = { item_id: 'msg_mock', output_index: 0, content_index: 0 };
    push('response.content_part.added', { ...at, part: { type: 'output_text', text: '', annotations: [] } });
    for (const delta of splitPieces(o.content, o.chunks)) push('response.output_text.delta', { ...at, delta });
    push('response.output_text.done', { ...at, text: o.content });
    push('response.content_part.done', { ...at, part: { type: 'output_text', text: o.content, annotations: [] } });
  }
  push('response.output_item.done', { output_index: 0, item: outputItem(o, true) });
  push('response.completed', { response: responseObject(o, true) });
  return events;
}

// ---------------------------------------------------------------- Models and errors

export function modelList(): JsonObject {
  const ids = ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'text-embedding-3-small'];
  return { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'system' })) };
}

/** Error bodies as OpenAI sends them for each status (type and code), with fixed messages. */
const ERRORS: Record<number, { message: string; type: string; code: string | null }> = {
  400: { message: 'Invalid request (mock upstream).', type: 'invalid_request_error', code: null },
  401: {
    message: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
    type: 'invalid_request_error',
    code: 'invalid_api_key',
  },
  403: { message: 'Country, region, or territory not supported', type: 'invalid_request_error', code: 'unsupported_country_region_territory' },
  404: { message: 'The model does not exist or you do not have access to it.', type: 'invalid_request_error', code: 'model_not_found' },
  429: { message: 'Rate limit reached for requests (mock upstream).', type: 'requests', code: 'rate_limit_exceeded' },
  500: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', code: null },
  503: { message: 'The engine is currently overloaded, please try again later.', type: 'server_error', code: null },
};

export function openaiError(status: number, override?: { message: string; code: string | null }): JsonObject {
  const known = ERRORS[status] ?? {
    message: `Mock upstream error ${status}.`,
    type: status >= 500 ? 'server_error' : 'invalid_request_error',
    code: null,
  };
  const e = { ...known, ...override };
  return { error: { message: e.message, type: e.type, param: null, code: e.code } };
}
