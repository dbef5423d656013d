/**
 * Every span attribute key the gateway writes, in one place. `gen_ai.*`, `server.*`, `http.*` and `error.type` are
 * the OpenTelemetry semantic conventions' names (GenAI conventions, development status); `llm_sla.*` is our own
 * namespace for what the conventions do not cover.
 */
export const ATTR = {
  GEN_AI_OPERATION_NAME: 'gen_ai.operation.name',
  GEN_AI_PROVIDER_NAME: 'gen_ai.provider.name',
  GEN_AI_REQUEST_MODEL: 'gen_ai.request.model',
  GEN_AI_REQUEST_STREAM: 'gen_ai.request.stream',
  GEN_AI_REQUEST_MAX_TOKENS: 'gen_ai.request.max_tokens',
  GEN_AI_REQUEST_TEMPERATURE: 'gen_ai.request.temperature',
  GEN_AI_REQUEST_TOP_P: 'gen_ai.request.top_p',
  GEN_AI_RESPONSE_MODEL: 'gen_ai.response.model',
  GEN_AI_RESPONSE_ID: 'gen_ai.response.id',
  GEN_AI_RESPONSE_FINISH_REASONS: 'gen_ai.response.finish_reasons',
  GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: 'gen_ai.response.time_to_first_chunk',
  GEN_AI_USAGE_INPUT_TOKENS: 'gen_ai.usage.input_tokens',
  GEN_AI_USAGE_OUTPUT_TOKENS: 'gen_ai.usage.output_tokens',
  GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 'gen_ai.usage.cache_read.input_tokens',
  GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 'gen_ai.usage.cache_creation.input_tokens',
  GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 'gen_ai.usage.reasoning.output_tokens',
  GEN_AI_INPUT_MESSAGES: 'gen_ai.input.messages',
  GEN_AI_OUTPUT_MESSAGES: 'gen_ai.output.messages',
  GEN_AI_SYSTEM_INSTRUCTIONS: 'gen_ai.system_instructions',
  OPENAI_RESPONSE_SERVICE_TIER: 'openai.response.service_tier',
  OPENAI_RESPONSE_SYSTEM_FINGERPRINT: 'openai.response.system_fingerprint',
  SERVER_ADDRESS: 'server.address',
  SERVER_PORT: 'server.port',
  HTTP_RESPONSE_STATUS_CODE: 'http.response.status_code',
  ERROR_TYPE: 'error.type',
  /** Attempt spans: how many times the call was sent before this attempt (HTTP conventions' resend count). */
  HTTP_REQUEST_RESEND_COUNT: 'http.request.resend_count',
  /** Metrics only: `input` or `output` on `gen_ai.client.token.usage`. */
  GEN_AI_TOKEN_TYPE: 'gen_ai.token.type',

  /** Route key the call is aggregated under (`openai/chat`, or the `x-sla-route` header). */
  SLA_ROUTE: 'llm_sla.route',
  /** success, client_error, rate_limited, upstream_error, network_error, timeout, aborted. */
  SLA_OUTCOME: 'llm_sla.outcome',
  /** Where the token counts come from: provider, estimated (js-tiktoken) or none. */
  SLA_USAGE_SOURCE: 'llm_sla.usage.source',
  SLA_COST_USD: 'llm_sla.cost_usd',
  SLA_TEAM: 'llm_sla.team',
  SLA_PRIORITY: 'llm_sla.priority',
  /** Seconds from the request's arrival to the first body byte handed on. */
  SLA_TIME_TO_FIRST_BYTE: 'llm_sla.time_to_first_byte',
  /** Calls a policy handled: the target that answered (`provider` or `provider:model`), and how many attempts it took. */
  SLA_SERVED_BY: 'llm_sla.served_by',
  SLA_ATTEMPTS: 'llm_sla.attempts',
  /** Attempt spans: the attempt's target, and why the call moved on after it (`status_503`, `first_token_timeout`...). */
  SLA_ATTEMPT_TARGET: 'llm_sla.attempt.target',
  SLA_ATTEMPT_REASON: 'llm_sla.attempt.reason',
  /** The second attempt of a hedge (attempt spans), and on the call's span whether the hedge won or lost. */
  SLA_ATTEMPT_HEDGE: 'llm_sla.attempt.hedge',
  SLA_HEDGE_RESULT: 'llm_sla.hedge.result',
  /** Attempt spans: the first-token deadline the attempt had (seconds), and whether it was `derived` or `fixed`. */
  SLA_ATTEMPT_FIRST_TOKEN_TIMEOUT: 'llm_sla.attempt.first_token_timeout',
  SLA_ATTEMPT_FIRST_TOKEN_TIMEOUT_SOURCE: 'llm_sla.attempt.first_token_timeout.source',
  /**
   * Streams: seconds from the request's arrival to the first content token (text, tool-call or refusal delta), what
   * the SLAs' TTFT judges. `gen_ai.response.time_to_first_chunk` is the first chunk of any kind.
   */
  SLA_TIME_TO_FIRST_TOKEN: 'llm_sla.time_to_first_token',
  /** Seconds the gateway itself added to the call (before the upstream was called and after it answered). */
  SLA_GATEWAY_OVERHEAD: 'llm_sla.gateway_overhead',
  /** Why the span was kept: head (sampled), error or slow (tail rules). */
  SLA_SAMPLED_BY: 'llm_sla.sampled_by',
  /**
   * The probability the span was kept with (1 for errors and slow calls, which are always kept): `1 / p` calls stand
   * behind it. Absent when a caller's sampled flag decided (its probability is the caller's).
   */
  SLA_SAMPLING_PROBABILITY: 'llm_sla.sampling.probability',
} as const;

/**
 * The keys whose type is double (the conventions' `type: double`, and ours that hold seconds, USD or a probability).
 * JavaScript numbers carry no such type, and OpenTelemetry's OTLP JSON transformer writes a whole number as
 * `intValue`: the export types these as `doubleValue` whatever their value (`otlp-json.ts`).
 */
export const DOUBLE_KEYS: ReadonlySet<string> = new Set([
  'gen_ai.request.temperature',
  'gen_ai.request.top_p',
  'gen_ai.response.time_to_first_chunk',
  'llm_sla.cost_usd',
  'llm_sla.time_to_first_byte',
  'llm_sla.time_to_first_token',
  'llm_sla.sampling.probability',
  'llm_sla.attempt.first_token_timeout',
]);

/** `gen_ai.provider.name` well-known values where ours differ from the conventions'. */
export const PROVIDER_NAMES: Readonly<Record<string, string>> = { mistral: 'mistral_ai', together: 'together_ai' };

/** `gen_ai.operation.name` per operation of ours (the conventions' values where one exists). */
export const OPERATION_NAMES: Readonly<Record<string, string>> = {
  chat: 'chat',
  messages: 'chat',
  responses: 'chat',
  text_completion: 'text_completion',
  embeddings: 'embeddings',
  count_tokens: 'count_tokens',
  other: 'other',
};
