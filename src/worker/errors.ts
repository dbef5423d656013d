import type { ProviderFormat } from '../core/providers/types';

/** Why the gateway itself answered instead of the provider. */
export type GatewayErrorCode =
  | 'unknown_provider'
  | 'invalid_config'
  | 'invalid_request'
  | 'request_too_large'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'client_closed'
  | 'not_found'
  | 'unauthorized'
  | 'forbidden'
  | 'budget_exceeded'
  | 'unpriced_model'
  | 'internal_error';

const OPENAI_TYPE: Record<GatewayErrorCode, string> = {
  unknown_provider: 'invalid_request_error',
  invalid_config: 'server_error',
  invalid_request: 'invalid_request_error',
  request_too_large: 'invalid_request_error',
  upstream_unreachable: 'server_error',
  upstream_timeout: 'timeout',
  client_closed: 'invalid_request_error',
  not_found: 'invalid_request_error',
  unauthorized: 'invalid_request_error',
  forbidden: 'invalid_request_error',
  budget_exceeded: 'insufficient_quota',
  unpriced_model: 'invalid_request_error',
  internal_error: 'server_error',
};

/**
 * Anthropic's documented error types (docs.anthropic.com/en/api/errors): 400 invalid_request_error, 401
 * authentication_error, 403 permission_error, 404 not_found_error, 413 request_too_large, 429 rate_limit_error, 500
 * api_error, 504 timeout_error, 529 overloaded_error. The gateway's 502 (upstream unreachable) is an api_error.
 */
const ANTHROPIC_TYPE: Record<GatewayErrorCode, string> = {
  unknown_provider: 'not_found_error',
  invalid_config: 'api_error',
  invalid_request: 'invalid_request_error',
  request_too_large: 'request_too_large',
  upstream_unreachable: 'api_error',
  upstream_timeout: 'timeout_error',
  client_closed: 'invalid_request_error',
  not_found: 'not_found_error',
  unauthorized: 'authentication_error',
  forbidden: 'permission_error',
  budget_exceeded: 'rate_limit_error',
  unpriced_model: 'permission_error',
  internal_error: 'api_error',
};

/**
 * The one error type of the gateway. Thrown anywhere on the request path and rendered by `getResponse()` in the
 * error shape of the provider the client is talking to: by the proxy path's catch and the Hono app's `onError`
 * (src/worker/app.ts); OTLP ingest answers the same errors as a `google.rpc.Status` (routes/ingest.ts).
 */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly status: number,
    readonly code: GatewayErrorCode,
    message: string,
    readonly format: ProviderFormat = 'openai',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  withFormat(format: ProviderFormat): GatewayError {
    if (format === this.format) return this;
    return new GatewayError(this.status, this.code, this.message, format, { cause: this.cause });
  }

  /**
   * The error in the provider's shape, with a request id of the gateway's own (`req_` and 24 hex digits) where each
   * provider's SDK reads one: Anthropic's body field `request_id` and header `request-id` (the SDK's `requestID`),
   * OpenAI's header `x-request-id`.
   */
  getResponse(requestId: string = newRequestId()): Response {
    const anthropic = this.format === 'anthropic';
    const body = anthropic
      ? { type: 'error', error: { type: ANTHROPIC_TYPE[this.code], message: this.message }, request_id: requestId }
      : { error: { message: this.message, type: OPENAI_TYPE[this.code], param: null, code: this.code } };
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-gateway-error': this.code,
      [anthropic ? 'request-id' : 'x-request-id']: requestId,
    };
    // A spent budget does not come back in seconds: the official SDKs honour x-should-retry and do not retry.
    if (this.code === 'budget_exceeded' || this.code === 'unpriced_model') headers['x-should-retry'] = 'false';
    return new Response(JSON.stringify(body), { status: this.status, headers });
  }
}

/** A request id for an error the gateway answers itself: `req_` and 24 random hex digits. */
export function newRequestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  let s = 'req_';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Turns anything thrown into the response a client gets. Never leaks internals of unexpected errors. */
export function errorResponse(err: unknown, format: ProviderFormat = 'openai'): Response {
  if (err instanceof GatewayError) return err.withFormat(format).getResponse();
  // The log line carries the id the client got, so a report of the failure can be found in the logs.
  const requestId = newRequestId();
  console.error(`llm-sla-gateway: unexpected error (${requestId})`, err instanceof Error ? err.stack ?? err.message : String(err));
  return new GatewayError(500, 'internal_error', 'The gateway failed to handle this request.', format).getResponse(requestId);
}
