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
  internal_error: 'server_error',
};

const ANTHROPIC_TYPE: Record<GatewayErrorCode, string> = {
  unknown_provider: 'not_found_error',
  invalid_config: 'api_error',
  invalid_request: 'invalid_request_error',
  request_too_large: 'request_too_large',
  upstream_unreachable: 'api_error',
  upstream_timeout: 'api_error',
  client_closed: 'invalid_request_error',
  not_found: 'not_found_error',
  unauthorized: 'authentication_error',
  forbidden: 'permission_error',
  budget_exceeded: 'rate_limit_error',
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

  getResponse(): Response {
    const body =
      this.format === 'anthropic'
        ? { type: 'error', error: { type: ANTHROPIC_TYPE[this.code], message: this.message } }
        : { error: { message: this.message, type: OPENAI_TYPE[this.code], param: null, code: this.code } };
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-gateway-error': this.code };
    // A spent budget does not come back in seconds: the official SDKs honour x-should-retry and do not retry.
    if (this.code === 'budget_exceeded') headers['x-should-retry'] = 'false';
    return new Response(JSON.stringify(body), { status: this.status, headers });
  }
}

/** Turns anything thrown into the response a client gets. Never leaks internals of unexpected errors. */
export function errorResponse(err: unknown, format: ProviderFormat = 'openai'): Response {
  if (err instanceof GatewayError) return err.withFormat(format).getResponse();
  console.error('llm-sla-gateway: unexpected error', err instanceof Error ? err.stack ?? err.message : String(err));
  return new GatewayError(500, 'internal_error', 'The gateway failed to handle this request.', format).getResponse();
}
