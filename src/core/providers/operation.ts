import type { Operation } from './types';

const BY_SUFFIX: ReadonlyArray<readonly [string, Operation]> = [
  ['/chat/completions', 'chat'],
  ['/completions', 'text_completion'],
  ['/embeddings', 'embeddings'],
  ['/responses', 'responses'],
  ['/messages/count_tokens', 'count_tokens'],
  ['/messages', 'messages'],
];

/** The operation a request path names (`/v1/chat/completions` -> chat); anything unrecognised is `other`. */
export function operationFromPath(method: string, path: string): Operation {
  if (method !== 'POST') return 'other';
  const p = path.endsWith('/') ? path.slice(0, -1) : path;
  for (const [suffix, op] of BY_SUFFIX) if (p.endsWith(suffix)) return op;
  return 'other';
}
