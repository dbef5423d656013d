/** Anthropic wire formats: Messages (JSON and SSE), count_tokens, the model list and error bodies. */
import { CREATED, sse, splitPieces, TOOL, type Json, type JsonObject, type ReplyOptions, type SseEvent, type UsageNumbers } from './common.js';

function usage(u: UsageNumbers, output: number): JsonObject {
  return {
    input_tokens: u.input,
    cache_creation_input_tokens: u.cache_creation,
    cache_read_input_tokens: u.cache_read,
    output_tokens: output,
  };
}

function messageObject(o: ReplyOptions, content: Json[], stopReason: string | null, outputTokens: number): JsonObject {
  return {
    id: 'msg_mock',
    type: 'message',
    role: 'assistant',
    model: o.model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: o.usage ? usage(o.usage, outputTokens) : undefined,
  };
}

const stopReason = (o: ReplyOptions) => (o.toolCall ? 'tool_use' : 'end_turn');

export function message(o: ReplyOptions): JsonObject {
  const block: Json = o.toolCall
    ? { type: 'tool_use', id: 'toolu_mock', name: TOOL.name, input: TOOL.input }
    : { type: 'text', text: o.content };
  return messageObject(o, [block], stopReason(o), o.usage?.output ?? 0);
}

/**
 * message_start (empty content, output_tokens 1), content_block_start, ping, one content_block_delta per piece,
 * content_block_stop, message_delta (stop reason and the final output_tokens), message_stop.
 */
export function messageStream(o: ReplyOptions): SseEvent[] {
  const events: SseEvent[] = [];
  const push = (type: string, fields: JsonObject = {}) => events.push(sse(type, { type, ...fields }));
  push('message_start', { message: messageObject(o, [], null, 1) });
  if (o.toolCall) {
    push('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_mock', name: TOOL.name, input: {} } });
    push('ping');
    for (const partial_json of splitPieces(TOOL.arguments, o.chunks)) {
      push('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json } });
    }
  } else {
    push('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    push('ping');
    for (const text of splitPieces(o.content, o.chunks)) push('content_block_delta', { index: 0, delta: { type: 'text_delta', text } });
  }
  push('content_block_stop', { index: 0 });
  push('message_delta', {
    delta: { stop_reason: stopReason(o), stop_sequence: null },
    usage: o.usage ? { output_tokens: o.usage.output } : undefined,
  });
  push('message_stop');
  return events;
}

export function countTokens(o: ReplyOptions): JsonObject {
  return { input_tokens: o.usage?.input ?? 11 };
}

export function anthropicModelList(): JsonObject {
  const ids = ['claude-sonnet-4-20250514', 'claude-3-5-haiku-20241022'];
  const data = ids.map((id) => ({ type: 'model', id, display_name: id, created_at: new Date(CREATED * 1000).toISOString() }));
  return { data, has_more: false, first_id: ids[0] ?? null, last_id: ids.at(-1) ?? null };
}

/** Error type and a fixed message for each status, as Anthropic documents them. */
const ERRORS: Record<number, [type: string, message: string]> = {
  400: ['invalid_request_error', 'Invalid request (mock upstream).'],
  401: ['authentication_error', 'invalid x-api-key'],
  402: ['billing_error', 'There is an issue with your billing or payment information.'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'The requested resource could not be found.'],
  413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
  429: ['rate_limit_error', 'Your account has hit a rate limit (mock upstream).'],
  500: ['api_error', 'Internal server error'],
  504: ['timeout_error', 'Request timed out.'],
  529: ['overloaded_error', 'Overloaded'],
};

export function anthropicError(status: number, message?: string): JsonObject {
  const [type, text] = ERRORS[status] ?? [status >= 500 ? 'api_error' : 'invalid_request_error', `Mock upstream error ${status}.`];
  return { type: 'error', error: { type, message: message ?? text }, request_id: 'req_mock' };
}
