import { GatewayError } from '../errors';
import type { Provider } from '../../core/providers/types';

/**
 * `<provider base URL><rest><query>`, refusing anything that would leave the base URL's origin or path prefix
 * (dot segments, encoded or not, are resolved by the URL parser before the check). A provider's own SDK takes the
 * host as its base URL and sends the base URL's path itself (the Groq SDK given `<gateway>/groq` sends
 * `/groq/openai/v1/...`): a path that starts with the base URL's path is taken from the host, not doubled, so
 * `/groq/openai/v1/x` and `/groq/v1/x` both reach `https://api.groq.com/openai/v1/x`.
 */
export function upstreamUrl(provider: Provider, rest: string, search: string): URL {
  const { origin, prefix } = baseOf(provider);
  let path = rest === '' || rest.startsWith('/') ? rest : `/${rest}`;
  if (prefix !== '' && (path === prefix || path.startsWith(`${prefix}/`))) path = path.slice(prefix.length);
  let url: URL;
  try {
    url = new URL(`${origin}${prefix}${path}${search}`);
  } catch {
    throw new GatewayError(400, 'invalid_request', 'The request path is not a valid URL path.', provider.format);
  }
  const inside = url.pathname === prefix || url.pathname.startsWith(`${prefix}/`) || prefix === '';
  if (url.origin !== origin || !inside || /%2f|%5c/i.test(path) || path.includes('\\')) {
    throw new GatewayError(400, 'invalid_request', 'The request path leaves the provider\'s base URL.', provider.format);
  }
  return url;
}

const bases = new WeakMap<Provider, { origin: string; prefix: string }>();
/** A provider's base URL, parsed once: its origin and its path without a trailing slash. */
function baseOf(provider: Provider): { origin: string; prefix: string } {
  let base = bases.get(provider);
  if (!base) {
    const url = new URL(provider.baseUrl);
    bases.set(provider, (base = { origin: url.origin, prefix: url.pathname.replace(/\/$/, '') }));
  }
  return base;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) and what the gateway must not pass on. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const NOT_FORWARDED = new Set(['host', 'content-length', 'x-real-ip', 'x-forwarded-for', 'x-gateway-key']);

/** The names a `connection` header lists (they are hop-by-hop too). */
function connectionListed(headers: Headers, into: string[]): string[] {
  const listed = headers.get('connection');
  if (listed === null) return into;
  for (const part of listed.split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== '') into.push(name);
  }
  return into;
}

/** Request headers for the upstream: the client's, less hop-by-hop, Cloudflare's and the gateway's own. */
export function upstreamRequestHeaders(incoming: Headers, add: readonly [string, string][] = []): Headers {
  // Copy natively, then delete the few that must not pass (cheaper than rebuilding header by header).
  const out = new Headers(incoming);
  const drop = connectionListed(incoming, []);
  incoming.forEach((_value, name) => {
    if (HOP_BY_HOP.has(name) || NOT_FORWARDED.has(name) || name.startsWith('cf-') || name.startsWith('x-sla-')) drop.push(name);
  });
  for (const name of drop) out.delete(name);
  for (const [name, value] of add) out.set(name, value);
  return out;
}

/** Headers that carry the client's own credentials: they go to the provider its path names, never anywhere else. */
const CLIENT_CREDENTIALS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'openai-organization', 'openai-project'];

/**
 * Request headers for a target on another provider than the one the path names: the client's, less its
 * credentials, with the target's managed key.
 */
export function fallbackRequestHeaders(incoming: Headers, key: readonly [string, string]): Headers {
  const out = upstreamRequestHeaders(incoming);
  for (const name of CLIENT_CREDENTIALS) out.delete(name);
  out.set(key[0], key[1]);
  return out;
}

/**
 * The client's response: the upstream's status and headers, less hop-by-hop, around `body`. `content-length` goes
 * when the body's length may differ from it (the runtime decoded a compressed body, or the gateway removed its
 * injected usage chunk). The headers are copied once, by the Response itself, and trimmed there by name: iterating
 * a Headers object sorts and combines the whole list, which costs more than the handful of deletes.
 */
export function clientResponse(body: BodyInit | null, upstream: Response, bodyChanged: boolean): Response {
  const res = new Response(body, { status: upstream.status, statusText: upstream.statusText, headers: upstream.headers });
  const headers = res.headers;
  for (const name of connectionListed(headers, [])) headers.delete(name);
  for (const name of HOP_BY_HOP) headers.delete(name);
  if (bodyChanged || headers.has('content-encoding')) headers.delete('content-length');
  return res;
}
