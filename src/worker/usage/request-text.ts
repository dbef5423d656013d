import { arr, obj, str, type JsonObject } from '../../core/json';

/**
 * The text a request sends to the model, for token estimates: chat and Anthropic `messages` (string content or
 * text parts), Anthropic `system`, Completions `prompt`, Embeddings and Responses `input`, Responses `instructions`.
 */
export function requestText(body: JsonObject): string {
  const out: string[] = [];
  const content = (c: unknown): void => {
    const s = str(c);
    if (s !== null) out.push(s);
    else for (const part of arr(c)) collectPart(part, out);
  };
  content(body['system']);
  content(body['instructions']);
  for (const m of arr(body['messages'])) content(obj(m)?.['content']);
  content(body['prompt']);
  const input = body['input'];
  if (typeof input === 'string') out.push(input);
  else for (const item of arr(input)) {
    const o = obj(item);
    if (o && o['content'] !== undefined) content(o['content']);
    else collectPart(item, out);
  }
  return out.join('\n');
}

function collectPart(part: unknown, out: string[]): void {
  const s = str(part);
  if (s !== null) {
    out.push(s);
    return;
  }
  const o = obj(part);
  const text = str(o?.['text']) ?? str(o?.['input_text']);
  if (text !== null) out.push(text);
}
