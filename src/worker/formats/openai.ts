import { arr, num, obj, parseJson, str, type JsonObject } from '../../core/json';
import type { Usage } from '../../core/usage';
import { KEEP, type EventVerdict, type ResponseFacts } from './facts';
import type { SseEvent } from '../stream/sse';

/** Usage of Chat Completions, Completions and Embeddings (`prompt_tokens`) or of the Responses API (`input_tokens`). */
export function openaiUsage(u: unknown): Usage | null {
  const o = obj(u);
  if (!o) return null;
  const prompt = num(o['prompt_tokens']);
  if (prompt !== null) {
    return {
      input: prompt,
      output: num(o['completion_tokens']) ?? 0,
      cacheRead: num(obj(o['prompt_tokens_details'])?.['cached_tokens']) ?? 0,
      cacheCreation: 0,
      reasoning: num(obj(o['completion_tokens_details'])?.['reasoning_tokens']) ?? 0,
    };
  }
  const input = num(o['input_tokens']);
  if (input === null) return null;
  return {
    input,
    output: num(o['output_tokens']) ?? 0,
    cacheRead: num(obj(o['input_tokens_details'])?.['cached_tokens']) ?? 0,
    cacheCreation: 0,
    reasoning: num(obj(o['output_tokens_details'])?.['reasoning_tokens']) ?? 0,
  };
}

/** `service_tier` and `system_fingerprint` of a response or chunk, when it carries them (cut to 128 characters). */
function readServiceFields(o: JsonObject, facts: ResponseFacts): void {
  const tier = str(o['service_tier']);
  if (tier !== null) facts.serviceTier = tier.slice(0, 128);
  const fingerprint = str(o['system_fingerprint']);
  if (fingerprint !== null) facts.systemFingerprint = fingerprint.slice(0, 128);
}

/** Facts from a whole JSON body of any OpenAI-format endpoint. */
export function readOpenAIBody(body: JsonObject, facts: ResponseFacts): void {
  facts.responseModel = str(body['model']);
  facts.responseId = str(body['id']);
  readServiceFields(body, facts);
  facts.usage = openaiUsage(body['usage']);
  for (const c of arr(body['choices'])) {
    const choice = obj(c);
    if (!choice) continue;
    facts.addFinishReason(choice['finish_reason']);
    const message = obj(choice['message']);
    facts.outputText.append(str(message?.['content']) ?? str(choice['text']) ?? '');
    for (const t of arr(message?.['tool_calls'])) facts.outputText.append(str(obj(obj(t)?.['function'])?.['arguments']) ?? '');
  }
  if (body['object'] === 'response') readResponsesObject(body, facts);
}

function readResponsesObject(resp: JsonObject, facts: ResponseFacts): void {
  readServiceFields(resp, facts);
  facts.responseModel = str(resp['model']) ?? facts.responseModel;
  facts.responseId = str(resp['id']) ?? facts.responseId;
  facts.usage = openaiUsage(resp['usage']) ?? facts.usage;
  facts.addFinishReason(resp['status']);
  if (facts.outputText.length > 0) return;
  for (const item of arr(resp['output'])) {
    const o = obj(item);
    for (const part of arr(o?.['content'])) facts.outputText.append(str(obj(part)?.['text']) ?? '');
    facts.outputText.append(str(o?.['arguments']) ?? '');
  }
}

/** Matches the `"usage":null` OpenAI adds to every chunk once `include_usage` is on. */
const NULL_USAGE = /,\s*"usage"\s*:\s*null(?=\s*[,}])|"usage"\s*:\s*null\s*,/;

/**
 * One event of an OpenAI-format stream (Chat Completions, Completions, Responses API). With `stripUsage` (the
 * gateway asked for usage the client did not), the usage-only chunk is dropped and `"usage":null` removed so the
 * client gets the bytes it would have got without the gateway.
 */
export function onOpenAIEvent(ev: SseEvent, at: number, facts: ResponseFacts, stripUsage: boolean): EventVerdict {
  if (ev.data === null || ev.data === '[DONE]') return KEEP;
  const data = obj(parseJson(ev.data));
  if (!data) {
    facts.malformed++;
    return KEEP;
  }
  const type = str(data['type']);
  if (type !== null && type.startsWith('response.')) return onResponsesEvent(type, data, at, facts);
  if (type === 'error' || data['error'] !== undefined) {
    facts.streamErrorType = str(obj(data['error'])?.['type']) ?? str(obj(data['error'])?.['code']) ?? 'error';
    return KEEP;
  }
  facts.responseModel ??= str(data['model']);
  facts.responseId ??= str(data['id']);
  if (facts.serviceTier === null || facts.systemFingerprint === null) readServiceFields(data, facts);
  const choices = arr(data['choices']);
  for (const c of choices) {
    const choice = obj(c);
    if (!choice) continue;
    facts.addFinishReason(choice['finish_reason']);
    const delta = obj(choice['delta']);
    const text = str(delta?.['content']) ?? str(choice['text']) ?? '';
    const toolCalls = arr(delta?.['tool_calls']);
    if (text !== '' || toolCalls.length > 0 || str(delta?.['refusal'])) facts.markToken(at);
    facts.outputText.append(text);
    for (const t of toolCalls) facts.outputText.append(str(obj(obj(t)?.['function'])?.['arguments']) ?? '');
  }
  const usage = openaiUsage(data['usage']);
  if (usage) facts.usage = usage;
  if (!stripUsage) return KEEP;
  if (usage && choices.length === 0) return { action: 'drop' };
  if (data['usage'] === null) return { action: 'replace', text: ev.raw.replace(NULL_USAGE, '') };
  return KEEP;
}

function onResponsesEvent(type: string, data: JsonObject, at: number, facts: ResponseFacts): EventVerdict {
  if (type.endsWith('.delta')) {
    facts.markToken(at);
    if (type === 'response.output_text.delta' || type === 'response.function_call_arguments.delta') {
      facts.outputText.append(str(data['delta']) ?? '');
    }
    return KEEP;
  }
  const resp = obj(data['response']);
  if (!resp) return KEEP;
  facts.responseModel = str(resp['model']) ?? facts.responseModel;
  facts.responseId = str(resp['id']) ?? facts.responseId;
  if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
    readServiceFields(resp, facts);
    facts.usage = openaiUsage(resp['usage']) ?? facts.usage;
    facts.addFinishReason(resp['status']);
    if (type === 'response.failed') facts.streamErrorType = str(obj(resp['error'])?.['code']) ?? 'response.failed';
  }
  return KEEP;
}

/**
 * Adds `"stream_options":{"include_usage":true}` to a chat or completions request body. When the body has no
 * `stream_options`, the field is inserted after the opening brace so every other byte stays as the client sent it.
 */
export function injectIncludeUsage(raw: string, body: JsonObject): string {
  if (body['stream_options'] === undefined) {
    const brace = raw.indexOf('{');
    return `${raw.slice(0, brace + 1)}"stream_options":{"include_usage":true},${raw.slice(brace + 1)}`;
  }
  const options = obj(body['stream_options']) ?? {};
  return JSON.stringify({ ...body, stream_options: { ...options, include_usage: true } });
}
