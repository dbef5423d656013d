import { arr, num, obj, parseJson, str, type JsonObject } from '../../core/json';
import type { Usage } from '../../core/usage';
import { KEEP, type EventVerdict, type ResponseFacts } from './facts';
import type { SseEvent } from '../stream/sse';

/**
 * Anthropic usage. Anthropic's `input_tokens` excludes cache reads and writes; the GenAI conventions count them
 * as input, so they are added in. `prev` carries what `message_start` reported when reading `message_delta`.
 */
export function anthropicUsage(u: unknown, prev: Usage | null = null): Usage | null {
  const o = obj(u);
  if (!o) return prev;
  const cacheRead = num(o['cache_read_input_tokens']) ?? prev?.cacheRead ?? 0;
  const cacheCreation = num(o['cache_creation_input_tokens']) ?? prev?.cacheCreation ?? 0;
  const uncached = num(o['input_tokens']);
  const input = uncached !== null ? uncached + cacheRead + cacheCreation : (prev?.input ?? null);
  const output = num(o['output_tokens']) ?? prev?.output ?? null;
  if (input === null && output === null) return prev;
  return { input: input ?? 0, output: output ?? 0, cacheRead, cacheCreation, reasoning: 0 };
}

export function readAnthropicBody(body: JsonObject, facts: ResponseFacts): void {
  facts.responseModel = str(body['model']);
  facts.responseId = str(body['id']);
  facts.usage = body['type'] === 'message' ? anthropicUsage(body['usage']) : null;
  facts.addFinishReason(body['stop_reason']);
  for (const block of arr(body['content'])) {
    const b = obj(block);
    facts.outputText.append(str(b?.['text']) ?? str(b?.['thinking']) ?? '');
    if (b?.['type'] === 'tool_use' && b['input'] !== undefined) facts.outputText.append(JSON.stringify(b['input']));
  }
}

/** One event of a Messages stream: usage from message_start + message_delta, first token at content_block_delta. */
export function onAnthropicEvent(ev: SseEvent, at: number, facts: ResponseFacts): EventVerdict {
  if (ev.data === null) return KEEP;
  const data = obj(parseJson(ev.data));
  if (!data) {
    facts.malformed++;
    return KEEP;
  }
  switch (data['type']) {
    case 'message_start': {
      const message = obj(data['message']);
      facts.responseModel = str(message?.['model']);
      facts.responseId = str(message?.['id']);
      facts.usage = anthropicUsage(message?.['usage']);
      break;
    }
    case 'content_block_delta': {
      facts.markToken(at);
      const delta = obj(data['delta']);
      facts.outputText.append(str(delta?.['text']) ?? str(delta?.['partial_json']) ?? str(delta?.['thinking']) ?? '');
      break;
    }
    case 'message_delta':
      facts.usage = anthropicUsage(data['usage'], facts.usage);
      facts.addFinishReason(obj(data['delta'])?.['stop_reason']);
      break;
    case 'error':
      facts.streamErrorType = str(obj(data['error'])?.['type']) ?? 'error';
      break;
  }
  return KEEP;
}
