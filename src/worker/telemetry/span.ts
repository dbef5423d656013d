import { redact } from '../mask';
import type { AttemptRecord, CallRecord } from '../../core/record';
import { ATTR, OPERATION_NAMES, PROVIDER_NAMES } from './keys';
import { inputMessages, outputMessages, systemInstructions, type Message } from './messages';

export type AttributeValue = string | number | boolean | string[];
export type Attributes = Record<string, AttributeValue>;

export interface SpanLimits {
  /** Cut string values (and each string of an array) to this many characters. */
  readonly valueLengthLimit: number;
  readonly attributeCountLimit: number;
  /** Captured messages per direction; the most recent are kept. */
  readonly maxMessages: number;
}

/** The span's name: `{gen_ai.operation.name} {gen_ai.request.model}` (just the operation when there is no model). */
export function spanName(record: CallRecord): string {
  const op = OPERATION_NAMES[record.operation] ?? record.operation;
  const model = record.requestModel ?? record.responseModel;
  return model ? `${op} ${model}` : op;
}

/**
 * The attributes of a call's span. Nothing from the request's headers is ever read here: keys and gateway keys
 * cannot reach a span by this path. Message content only when the record carries it (capture switched on), and
 * then with `secrets` and key-shaped strings masked.
 */
export function spanAttributes(record: CallRecord, limits: SpanLimits, secrets: readonly string[] = []): { attributes: Attributes; dropped: number } {
  // Limits applied as attributes are put, in order: no second pass, no copy.
  const a: Attributes = {};
  let kept = 0;
  let dropped = 0;
  const max = limits.valueLengthLimit;
  const put = (key: string, value: AttributeValue | null | undefined) => {
    if (value === null || value === undefined) return;
    if (kept >= limits.attributeCountLimit) {
      dropped++;
      return;
    }
    kept++;
    a[key] = typeof value === 'string' ? cut(value, max) : Array.isArray(value) ? value.map((v) => cut(v, max)) : value;
  };
  put(ATTR.GEN_AI_OPERATION_NAME, OPERATION_NAMES[record.operation] ?? record.operation);
  put(ATTR.GEN_AI_PROVIDER_NAME, PROVIDER_NAMES[record.provider] ?? record.provider);
  put(ATTR.GEN_AI_REQUEST_MODEL, record.requestModel);
  // Set if and only if the request streams (the conventions: unset means not streaming).
  if (record.stream) put(ATTR.GEN_AI_REQUEST_STREAM, true);
  put(ATTR.GEN_AI_REQUEST_MAX_TOKENS, record.request.maxTokens);
  put(ATTR.GEN_AI_REQUEST_TEMPERATURE, record.request.temperature);
  put(ATTR.GEN_AI_REQUEST_TOP_P, record.request.topP);
  put(ATTR.GEN_AI_RESPONSE_MODEL, record.responseModel);
  put(ATTR.GEN_AI_RESPONSE_ID, record.responseId);
  if (record.finishReasons.length > 0) put(ATTR.GEN_AI_RESPONSE_FINISH_REASONS, [...record.finishReasons]);
  if (record.ttfcMs !== null) put(ATTR.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, record.ttfcMs / 1000);
  if (record.usage) {
    put(ATTR.GEN_AI_USAGE_INPUT_TOKENS, record.usage.input);
    put(ATTR.GEN_AI_USAGE_OUTPUT_TOKENS, record.usage.output);
    put(ATTR.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, record.usage.cacheRead);
    put(ATTR.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, record.usage.cacheCreation);
    put(ATTR.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, record.usage.reasoning);
  }
  // The `openai.*` attributes belong with `gen_ai.provider.name` "openai" (the conventions' OpenAI refinement).
  if (record.provider === 'openai') {
    put(ATTR.OPENAI_RESPONSE_SERVICE_TIER, record.serviceTier);
    put(ATTR.OPENAI_RESPONSE_SYSTEM_FINGERPRINT, record.systemFingerprint);
  }
  put(ATTR.SERVER_ADDRESS, record.server.address);
  put(ATTR.SERVER_PORT, record.server.port);
  if (record.status > 0) put(ATTR.HTTP_RESPONSE_STATUS_CODE, record.status);
  put(ATTR.ERROR_TYPE, record.errorType);

  put(ATTR.SLA_ROUTE, record.route);
  put(ATTR.SLA_OUTCOME, record.outcome);
  put(ATTR.SLA_USAGE_SOURCE, record.usageSource);
  put(ATTR.SLA_COST_USD, record.costUsd);
  put(ATTR.SLA_TEAM, record.team);
  put(ATTR.SLA_PRIORITY, record.priority);
  if (record.ttfbMs !== null) put(ATTR.SLA_TIME_TO_FIRST_BYTE, record.ttfbMs / 1000);
  if (record.resilience) {
    put(ATTR.SLA_SERVED_BY, record.resilience.servedBy);
    put(ATTR.SLA_ATTEMPTS, record.resilience.attempts.length);
    if (record.resilience.hedge) put(ATTR.SLA_HEDGE_RESULT, record.resilience.hedge.result);
  }
  if (record.ttftMs !== null) put(ATTR.SLA_TIME_TO_FIRST_TOKEN, record.ttftMs / 1000);
  if (record.gatewayMs !== undefined && record.gatewayMs !== null) put(ATTR.SLA_GATEWAY_OVERHEAD, record.gatewayMs / 1000);

  if (record.content) {
    const limit = max;
    const mask = (s: string) => cut(redact(s, secrets), limit);
    const system = systemInstructions(record.format, record.content.request, mask);
    if (system) put(ATTR.GEN_AI_SYSTEM_INSTRUCTIONS, fitJson(system.map((p) => ({ role: 'system', parts: [p] })), limit, (m) => m.map((x) => x.parts[0])));
    const input = inputMessages(record.operation, record.content.request, mask);
    if (input.length > 0) put(ATTR.GEN_AI_INPUT_MESSAGES, fitJson(input.slice(-limits.maxMessages), limit));
    const output = outputMessages(record.content.outputText, record.finishReasons, mask);
    if (output.length > 0) put(ATTR.GEN_AI_OUTPUT_MESSAGES, fitJson(output.slice(0, limits.maxMessages), limit));
  }
  return { attributes: a, dropped };
}

/**
 * JSON of messages within `limit` characters and still valid JSON: the oldest messages go first, then the longest
 * text part of what is left is shortened until it fits.
 */
function fitJson(messages: Message[], limit: number, shape: (m: Message[]) => unknown = (m) => m): string {
  const list = messages.map((m) => ({ ...m, parts: m.parts.map((p) => ({ ...p })) }));
  for (let i = 0; i < 64; i++) {
    const text = JSON.stringify(shape(list));
    if (text.length <= limit) return text;
    if (list.length > 1) {
      list.shift();
      continue;
    }
    const parts = list.flatMap((m) => m.parts).filter((p) => typeof p.content === 'string' && p.content.length > 0);
    const longest = parts.sort((x, y) => (y.content?.length ?? 0) - (x.content?.length ?? 0))[0];
    if (!longest?.content) break;
    longest.content = longest.content.slice(0, Math.max(0, longest.content.length - (text.length - limit) - 1));
  }
  return '[]';
}

function cut(s: string, limit: number): string {
  return s.length > limit ? s.slice(0, limit) : s;
}

/** An attempt span's name: the operation and the model it asked for. */
export function attemptSpanName(record: CallRecord, attempt: AttemptRecord): string {
  const op = OPERATION_NAMES[record.operation] ?? record.operation;
  const model = attempt.model ?? record.requestModel ?? record.responseModel;
  return model ? `${op} ${model}` : op;
}

/**
 * The attributes of one attempt's CLIENT span (a child of the call's span, which covers the logical operation with
 * all its attempts, as the GenAI conventions ask of retried calls): what this upstream request was and what it got.
 */
export function attemptAttributes(record: CallRecord, attempt: AttemptRecord, index: number, limits: SpanLimits): Attributes {
  const a: Attributes = {};
  const put = (key: string, value: AttributeValue | null | undefined) => {
    if (value === null || value === undefined || Object.keys(a).length >= limits.attributeCountLimit) return;
    a[key] = typeof value === 'string' ? cut(value, limits.valueLengthLimit) : value;
  };
  put(ATTR.GEN_AI_OPERATION_NAME, OPERATION_NAMES[record.operation] ?? record.operation);
  put(ATTR.GEN_AI_PROVIDER_NAME, PROVIDER_NAMES[attempt.provider] ?? attempt.provider);
  put(ATTR.GEN_AI_REQUEST_MODEL, attempt.model ?? record.requestModel);
  put(ATTR.GEN_AI_REQUEST_STREAM, record.stream);
  if (attempt.ttftMs !== null && attempt.reason === null) put(ATTR.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, attempt.ttftMs / 1000);
  if (attempt.usage) {
    put(ATTR.GEN_AI_USAGE_INPUT_TOKENS, attempt.usage.input);
    put(ATTR.GEN_AI_USAGE_OUTPUT_TOKENS, attempt.usage.output);
  }
  put(ATTR.SERVER_ADDRESS, attempt.server.address);
  put(ATTR.SERVER_PORT, attempt.server.port);
  if (attempt.status > 0) put(ATTR.HTTP_RESPONSE_STATUS_CODE, attempt.status);
  put(ATTR.ERROR_TYPE, attempt.errorType);
  // Set on retries only, as the HTTP conventions ask (the first request is not a resend).
  if (index > 0) put(ATTR.HTTP_REQUEST_RESEND_COUNT, index);
  put(ATTR.SLA_ROUTE, record.route);
  put(ATTR.SLA_OUTCOME, attempt.outcome);
  put(ATTR.SLA_ATTEMPT_TARGET, attempt.target);
  put(ATTR.SLA_ATTEMPT_REASON, attempt.reason);
  if (attempt.hedge) put(ATTR.SLA_ATTEMPT_HEDGE, true);
  if (attempt.firstTokenTimeout) {
    put(ATTR.SLA_ATTEMPT_FIRST_TOKEN_TIMEOUT, attempt.firstTokenTimeout.ms / 1000);
    put(ATTR.SLA_ATTEMPT_FIRST_TOKEN_TIMEOUT_SOURCE, attempt.firstTokenTimeout.source);
  }
  put(ATTR.SLA_USAGE_SOURCE, attempt.usageSource);
  put(ATTR.SLA_COST_USD, attempt.costUsd);
  return a;
}
