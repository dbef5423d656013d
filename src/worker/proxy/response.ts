import { isolateCounts } from '../counts';
import type { BodyKind } from '../stream/observe';

/** What the request path shares about upstream responses: their kind, their declared length, when records are built. */

/** JSON bodies up to this declared size are read whole before they are handed on (see `smallJson` in handler.ts). */
export const SMALL_JSON_BYTES = 64 * 1024;

export function bodyKind(contentType: string | null): BodyKind {
  const ct = contentType?.toLowerCase() ?? '';
  if (ct.startsWith('text/event-stream')) return 'sse';
  if (ct.includes('json')) return 'json';
  return 'opaque';
}

export function contentLengthOf(headers: Headers): number | null {
  const n = Number(headers.get('content-length') ?? NaN);
  return Number.isInteger(n) && n >= 0 && !headers.has('content-encoding') ? n : null;
}

/**
 * Resolves on a later turn of the event loop. The record's work (body parsing, the span, the batches) is all
 * synchronous JavaScript: started at once, it would run in the same microtask checkpoint as the handler's return,
 * before the runtime sends the response. After a timer turn, the response has gone.
 */
export function afterResponse(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export function countLost(err: unknown): void {
  isolateCounts.add('gateway_records_lost');
  console.error('llm-sla-gateway: call record lost', err instanceof Error ? err.message : String(err));
}
