/**
 * Shared pieces of the mock upstream: the options read from `x-mock-*` request headers, the usage numbers, and
 * how replies are cut into stream pieces. Everything here is deterministic: same input, same output.
 */

/** A JSON value. Object members set to `undefined` are left out by JSON.stringify (used to omit usage). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };
export type JsonObject = { [key: string]: Json | undefined };

/** The fixed `created` timestamp of every mock response. */
export const CREATED = 1700000000;
export const DEFAULT_CONTENT = 'Hello from the mock upstream!';

/** The single tool call the mock makes when `x-mock-tool-call: 1`. */
export const TOOL = { name: 'get_weather', arguments: '{"city":"Paris"}', input: { city: 'Paris' } } as const;

/** Token counts; which fields each provider reports is decided by its format module. */
export interface UsageNumbers {
  input: number;
  output: number;
  cached: number;
  reasoning: number;
  cache_creation: number;
  cache_read: number;
}

const DEFAULT_USAGE: UsageNumbers = { input: 11, output: 7, cached: 3, reasoning: 2, cache_creation: 4, cache_read: 5 };

/** What to answer, decided from the request headers and body. */
export interface ReplyOptions {
  /** The `model` to report: `x-mock-response-model`, else the request's model. */
  model: string;
  /** The reply text. */
  content: string;
  /** Number of stream pieces the reply (or the tool call's arguments) is cut into. */
  chunks: number;
  /** Token counts, or null when `x-mock-no-usage: 1` (no usage anywhere). */
  usage: UsageNumbers | null;
  /** `x-mock-tool-call: 1`: answer with the `get_weather` tool call instead of text. */
  toolCall: boolean;
  /** OpenAI `stream_options.include_usage === true`. */
  includeUsage: boolean;
}

/** One server-sent event: an optional `event:` name and the `data:` text (JSON, or `[DONE]`). */
export interface SseEvent {
  event: string | null;
  data: string;
}

export function sse(event: string | null, data: Json): SseEvent {
  return { event, data: JSON.stringify(data) };
}

export function serializeEvent(ev: SseEvent): string {
  return `${ev.event === null ? '' : `event: ${ev.event}\n`}data: ${ev.data}\n\n`;
}

/** For `x-mock-fail: malformed`: every JSON data line cut in half, so none of them parses. */
export function malformEvents(events: readonly SseEvent[]): SseEvent[] {
  return events.map((ev) => (ev.data === '[DONE]' ? ev : { ...ev, data: ev.data.slice(0, Math.floor(ev.data.length / 2)) }));
}

/** Reads a request header (first value if repeated). */
export type HeaderGetter = (name: string) => string | undefined;

/** A non-negative integer header, or `fallback` when absent or not a number. */
export function intHeader(get: HeaderGetter, name: string, fallback: number): number {
  const raw = get(name);
  if (raw === undefined || !/^\s*\d+\s*$/.test(raw)) return fallback;
  return Number.parseInt(raw, 10);
}

function parseUsage(raw: string | undefined): UsageNumbers {
  const usage = { ...DEFAULT_USAGE };
  if (raw === undefined) return usage;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return usage;
  }
  if (typeof parsed !== 'object' || parsed === null) return usage;
  for (const key of Object.keys(usage) as (keyof UsageNumbers)[]) {
    const value: unknown = (parsed as Record<string, unknown>)[key];
    if (typeof value === 'number' && Number.isFinite(value)) usage[key] = value;
  }
  return usage;
}

export function replyOptions(get: HeaderGetter, body: Record<string, unknown>): ReplyOptions {
  const requested = body['model'];
  const streamOptions = body['stream_options'];
  return {
    model: get('x-mock-response-model') ?? (typeof requested === 'string' ? requested : 'mock-model'),
    content: get('x-mock-content') ?? DEFAULT_CONTENT,
    chunks: Math.max(1, intHeader(get, 'x-mock-chunks', 5)),
    usage: get('x-mock-no-usage') === '1' ? null : parseUsage(get('x-mock-usage')),
    toolCall: get('x-mock-tool-call') === '1',
    includeUsage:
      typeof streamOptions === 'object' &&
      streamOptions !== null &&
      (streamOptions as Record<string, unknown>)['include_usage'] === true,
  };
}

/**
 * Cuts text into `n` roughly equal slices by code point (never inside a surrogate pair). Fewer slices when the
 * text is shorter than `n`; one empty slice for empty text.
 */
export function splitPieces(text: string, n: number): string[] {
  const chars = Array.from(text);
  const count = Math.max(1, Math.min(n, chars.length));
  const pieces: string[] = [];
  for (let i = 0; i < count; i++) {
    pieces.push(chars.slice(Math.floor((i * chars.length) / count), Math.floor(((i + 1) * chars.length) / count)).join(''));
  }
  return pieces;
}
