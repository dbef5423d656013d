import { GatewayError } from './errors';
import type { Provider } from '../core/providers/types';

/**
 * The common base-URL mistakes, answered with the base URL to use instead of an upstream 404 or
 * `Unknown provider "chat"`: an API path with no `/v1` after the provider (`/openai/chat/completions`), or with no
 * provider at all (the gateway root, or `/v1` alone, as the SDK's base URL).
 */
const API_PATH = /^\/(?:chat\/completions|completions|embeddings|responses|messages|models)(?:\/[^?]*)?\/?$/;

function origin(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** What each client wants as its base URL for one provider. */
export function baseUrlAdvice(provider: Pick<Provider, 'name' | 'format'>, url: URL): string {
  const o = origin(url);
  if (provider.format === 'anthropic') {
    return `use base URL ${o}/${provider.name} for the Anthropic SDK, ${o}/${provider.name}/v1 for the Vercel AI SDK and LangChain`;
  }
  return `use base URL ${o}/${provider.name}/v1`;
}

/**
 * A call to a provider whose path lacks the `/v1` its API lives under (only for providers whose base URL does not
 * end in `/v1` itself), or null when the path looks right. Cheap on the hot path: one prefix test for good paths.
 */
export function missingV1(provider: Provider, rest: string, url: URL): GatewayError | null {
  if (rest.startsWith('/v1/') || !API_PATH.test(rest) || /\/v1\/?$/.test(provider.baseUrl)) return null;
  return new GatewayError(
    404,
    'not_found',
    `No ${provider.name} API at ${url.pathname}: the path after /${provider.name} must start with /v1 (${baseUrlAdvice(provider, url)}).`,
    provider.format,
  );
}

/**
 * A provider API path with no provider in front (`/chat/completions`, `/v1/messages`), or null. `providers` are
 * the configured names, for the message.
 */
export function missingProvider(path: string, url: URL, providers: readonly string[]): GatewayError | null {
  const rest = path.startsWith('/v1/') ? path.slice(3) : path;
  if (!API_PATH.test(rest)) return null;
  const o = origin(url);
  const anthropic = rest.startsWith('/messages');
  const advice = anthropic
    ? `use base URL ${o}/anthropic for the Anthropic SDK, ${o}/anthropic/v1 for the Vercel AI SDK and LangChain`
    : `use base URL ${o}/openai/v1 for OpenAI (${o}/<provider>/v1 for ${providers.filter((p) => p !== 'openai' && p !== 'anthropic').join(', ') || 'other providers'})`;
  return new GatewayError(
    404,
    'unknown_provider',
    `No provider in the path ${path}: the gateway's base URL needs the provider's name (${advice}).`,
    anthropic ? 'anthropic' : 'openai',
  );
}
