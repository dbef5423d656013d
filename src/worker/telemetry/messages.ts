import type { Operation, ProviderFormat } from '../../core/providers/types';

/**
 * Message content in the GenAI conventions' JSON shape (`gen_ai.input.messages`, `gen_ai.output.messages`,
 * `gen_ai.system_instructions`): `{role, parts: [{type: "text", content}]}`. Non-text parts keep only their type
 * (images, audio and files are never copied into a span).
 */
export interface Part {
  type: string;
  content?: string;
}
export interface Message {
  role: string;
  parts: Part[];
  finish_reason?: string;
}

type Mask = (s: string) => string;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function partsOf(content: unknown, mask: Mask): Part[] {
  if (typeof content === 'string') return [{ type: 'text', content: mask(content) }];
  if (!Array.isArray(content)) return [];
  return content.map((p): Part => {
    if (!isObject(p)) return { type: 'unknown' };
    const type = typeof p['type'] === 'string' ? p['type'] : 'unknown';
    const text = p['text'];
    if (typeof text === 'string') return { type: 'text', content: mask(text) };
    if (type === 'tool_result' || type === 'function_call_output') return { type: 'tool_call_response' };
    if (type === 'tool_use' || type === 'function_call') return { type: 'tool_call' };
    return { type };
  });
}

function messageList(list: unknown, mask: Mask): Message[] {
  if (!Array.isArray(list)) return [];
  return list.filter(isObject).map((m) => ({
    role: typeof m['role'] === 'string' ? m['role'] : 'user',
    parts: partsOf(m['content'], mask),
  }));
}

export function inputMessages(operation: Operation, request: unknown, mask: Mask): Message[] {
  if (!isObject(request)) return [];
  switch (operation) {
    case 'chat':
    case 'messages':
      return messageList(request['messages'], mask);
    case 'responses': {
      const input = request['input'];
      return typeof input === 'string' ? [{ role: 'user', parts: partsOf(input, mask) }] : messageList(input, mask);
    }
    case 'text_completion':
      return typeof request['prompt'] === 'string' ? [{ role: 'user', parts: partsOf(request['prompt'], mask) }] : [];
    default:
      return [];
  }
}

export function systemInstructions(format: ProviderFormat, request: unknown, mask: Mask): Part[] | null {
  if (!isObject(request)) return null;
  const system = format === 'anthropic' ? request['system'] : request['instructions'];
  const parts = partsOf(system, mask);
  return parts.length > 0 ? parts : null;
}

export function outputMessages(text: string, finishReasons: readonly string[], mask: Mask): Message[] {
  if (text === '') return [];
  const message: Message = { role: 'assistant', parts: [{ type: 'text', content: mask(text) }] };
  if (finishReasons[0] !== undefined) message.finish_reason = finishReasons[0];
  return [message];
}
