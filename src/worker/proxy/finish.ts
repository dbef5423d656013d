import { capturedContent, recordLabel, traceContext } from '../mask';
import type { ResolvedConfig } from '../../config/resolve';
import { readAnthropicBody } from '../formats/anthropic';
import type { ResponseFacts } from '../formats/facts';
import { openaiUsage, readOpenAIBody } from '../formats/openai';
import { anthropicUsage } from '../formats/anthropic';
import { obj, parseJson, str } from '../../core/json';
import { pricer } from '../pricing';
import type { Operation, Provider } from '../../core/providers/types';
import type { CallRecord, RequestParams } from '../../core/record';
import type { BodyCapture } from '../stream/capture';
import { estimateUsage } from '../usage/estimate';
import { requestText } from '../usage/request-text';
import type { Usage, UsageSource } from '../../core/usage';
import { classify, errorType } from './classify';
import type { RequestBody } from './request';
import { gatewayMs, type UpstreamWait } from './server-timing';

/** What the request path knows about a call when it ends. */
export interface CallState {
  readonly start: number;
  readonly provider: Provider;
  readonly operation: Operation;
  readonly route: string;
  readonly team: string | null;
  readonly body: RequestBody;
  readonly upstream: URL;
  readonly trace: CallRecord['trace'];
  readonly priority: CallRecord['priority'];
  status: number;
  headersAt: number | null;
  stream: boolean;
  clientAborted: boolean;
  timedOut: boolean;
  /** The upstream wait and when the response went back (`server-timing.ts`). */
  readonly timing: UpstreamWait;
}

export interface CallEnd {
  readonly at: number;
  readonly kind: 'complete' | 'error' | 'cancelled' | null;
  readonly firstByteAt: number | null;
  readonly capture: BodyCapture | null;
}

const ESTIMABLE: ReadonlySet<Operation> = new Set(['chat', 'text_completion', 'responses', 'messages', 'embeddings']);
const decoder = new TextDecoder();

/** Builds the record of a finished call. Runs in `ctx.waitUntil`: body parsing and token estimates happen here. */
export async function buildRecord(
  call: CallState,
  end: CallEnd,
  facts: ResponseFacts,
  config: ResolvedConfig,
  options: { content?: boolean } = {},
): Promise<CallRecord> {
  if (end.capture) readCapturedBody(end.capture, call.provider.format, facts);
  const json = call.body.json();
  const stream = call.stream || json?.['stream'] === true;
  // Labels are capped (and masked when they hold a key) here, where they enter the record (`src/worker/mask.ts`,
  // `src/core/labels.ts`); the price lookup sees them whole.
  const rawRequestModel = str(json?.['model']);
  const outcome = classify({
    status: call.status,
    clientAborted: call.clientAborted,
    timedOut: call.timedOut,
    bodyEnd: end.kind,
    streamErrorType: facts.streamErrorType,
  });

  let usage: Usage | null = facts.usage;
  let usageSource: UsageSource = usage ? 'provider' : 'none';
  const worthEstimating = call.status >= 200 && call.status < 300 && ESTIMABLE.has(call.operation);
  if (!usage && worthEstimating && facts.malformed === 0 && config.tokenEstimate && json) {
    usage = await estimateUsage(requestText(json), facts.outputText.toString());
    if (usage) usageSource = 'estimated';
  }
  const model = facts.responseModel ?? rawRequestModel;
  const firstByte = end.firstByteAt ?? call.headersAt;
  const port = call.upstream.port === '' ? (call.upstream.protocol === 'https:' ? 443 : 80) : Number(call.upstream.port);
  return {
    ts: call.start,
    route: recordLabel('route', call.route, config.secrets),
    provider: call.provider.name,
    format: call.provider.format,
    operation: call.operation,
    team: recordLabel('team', call.team, config.secrets),
    requestModel: recordLabel('model', rawRequestModel, config.secrets),
    responseModel: recordLabel('model', facts.responseModel, config.secrets),
    stream,
    status: call.status,
    outcome,
    errorType: errorType(outcome, call.status, facts.streamErrorType),
    totalMs: Math.max(0, end.at - call.start),
    ttfbMs: firstByte === null ? null : firstByte - call.start,
    ttftMs: stream && facts.firstTokenAt !== null ? facts.firstTokenAt - call.start : null,
    ttfcMs: stream && facts.firstChunkAt !== null ? facts.firstChunkAt - call.start : null,
    chunkGaps: stream ? (facts.gaps?.result() ?? null) : null,
    gatewayMs: gatewayMs(call.start, call.timing),
    usage,
    usageSource,
    costUsd: usage === null ? null : (await pricer(config.prices))(call.provider.name, model, usage, call.start),
    responseId: facts.responseId,
    serviceTier: facts.serviceTier,
    systemFingerprint: facts.systemFingerprint,
    finishReasons: facts.finishReasons,
    request: paramsOf(json),
    server: { address: call.upstream.hostname, port },
    trace: traceContext(call.trace.traceparent, call.trace.tracestate, config.secrets),
    priority: call.priority,
    content: config.captureContent && options.content !== false ? maskedContent(json, facts.outputText.toString(), config) : null,
  };
}

/** Captured content, masked and bounded once here for every place it goes (logs, memory, spans): `src/worker/mask.ts`. */
function maskedContent(json: unknown, outputText: string, config: ResolvedConfig): CallRecord['content'] {
  const limits = { valueLengthLimit: config.telemetry?.valueLengthLimit ?? DEFAULT_VALUE_LENGTH, maxMessages: config.telemetry?.maxMessages ?? DEFAULT_MAX_MESSAGES };
  return capturedContent(json, outputText, limits, config.secrets);
}

/** Content limits when no span export is configured: the span limits' defaults (`OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`, `TELEMETRY_MAX_MESSAGES`). */
const DEFAULT_VALUE_LENGTH = 4096;
const DEFAULT_MAX_MESSAGES = 32;

function paramsOf(json: ReturnType<RequestBody['json']>): RequestParams {
  const n = (k: string) => (typeof json?.[k] === 'number' ? (json[k] as number) : null);
  return { maxTokens: n('max_tokens') ?? n('max_completion_tokens') ?? n('max_output_tokens'), temperature: n('temperature'), topP: n('top_p') };
}

/** Facts from a JSON body kept whole, or from the edges of one too large to keep. */
function readCapturedBody(capture: BodyCapture, format: Provider['format'], facts: ResponseFacts): void {
  const whole = capture.whole();
  if (whole) {
    const body = obj(parseJson(decoder.decode(whole)));
    if (!body) {
      if (whole.byteLength > 0) facts.malformed++;
      return;
    }
    if (format === 'anthropic') readAnthropicBody(body, facts);
    else readOpenAIBody(body, facts);
    return;
  }
  const edges = capture.edges();
  if (!edges) return;
  // Model and id open Chat and Anthropic bodies but close Embeddings ones (after the vectors): look at both ends.
  const head = decoder.decode(edges.head);
  const tail = decoder.decode(edges.tail);
  facts.responseModel = stringField(head, 'model', 'first') ?? stringField(tail, 'model', 'last');
  facts.responseId = stringField(head, 'id', 'first') ?? stringField(tail, 'id', 'last');
  if (format === 'openai') {
    facts.serviceTier = stringField(head, 'service_tier', 'first') ?? stringField(tail, 'service_tier', 'last');
    facts.systemFingerprint = stringField(head, 'system_fingerprint', 'first') ?? stringField(tail, 'system_fingerprint', 'last');
  }
  const usageJson = lastObjectAfterKey(tail, '"usage"');
  if (usageJson !== null) {
    const u = parseJson(usageJson);
    facts.usage = format === 'anthropic' ? anthropicUsage(u) : openaiUsage(u);
  }
}

function stringField(text: string, key: string, which: 'first' | 'last'): string | null {
  const matches = [...text.matchAll(new RegExp(`"${key}"\\s*:\\s*"([^"\\\\]{1,200})"`, 'g'))];
  return (which === 'first' ? matches[0] : matches.at(-1))?.[1] ?? null;
}

/** The JSON object that follows the last `key:` in `text`, by brace matching that respects strings. */
export function lastObjectAfterKey(text: string, key: string): string | null {
  const at = text.lastIndexOf(key);
  if (at === -1) return null;
  const open = text.indexOf('{', at + key.length);
  if (open === -1 || text.slice(at + key.length, open).trim() !== ':') return null;
  let depth = 0;
  let inString = false;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return text.slice(open, i + 1);
  }
  return null;
}
