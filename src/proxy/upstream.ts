import { GatewayError } from '../errors';
import type { Provider } from '../providers/types';

/**
 * `<provider base URL><rest><query>`, refusing anything that would leave the base URL's origin or path prefix
 * (dot segments, encoded or not, are resolved by the URL parser before the check).
 */
export function upstreamUrl(provider: Provider, rest: string, search: string): URL {
  const base = new URL(provider.baseUrl);
  const path = rest === '' || rest.startsWith('/') ? rest : `/${rest}`;
  let url: URL;
  try {
    url = new URL(`${base.origin}${base.pathname.replace(/\/$/, '')}${path}${search}`);
  } catch {
    throw new GatewayError(400, 'invalid_request', 'The request path is not a valid URL path.', provider.format);
  }
  const prefix = base.pathname.replace(/\/$/, '');
  const inside = url.pathname === prefix || url.pathname.startsWith(`${prefix}/`) || prefix === '';
  if (url.origin !== base.origin || !inside || /%2f|%5c/i.test(path) || path.includes('\\')) {
    throw new GatewayError(400, 'invalid_request', 'The request path leaves the provider\'s base URL.', provider.format);
  }
  return url;
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

function connectionListed(headers: Headers): Set<string> {
  return new Set(
    (headers.get('connection') ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

/** Request headers for the upstream: the client's, less hop-by-hop, Cloudflare's and the gateway's own. */
export function upstreamRequestHeaders(incoming: Headers, add: readonly [string, string][] = []): Headers {
  // Copy natively, then delete the few that must not pass (cheaper than rebuilding header by header).
  const out = new Headers(incoming);
  const drop: string[] = [...connectionListed(incoming)];
  incoming.forEach((_value, name) => {
    if (HOP_BY_HOP.has(name) || NOT_FORWARDED.has(name) || name.startsWith('cf-') || name.startsWith('x-sla-')) drop.push(name);
  });
  for (const name of drop) out.delete(name);
  for (const [name, value] of add) out.set(name, value);
  return out;
}

/**
 * Response headers for the client: the provider's, less hop-by-hop. `content-length` goes when the body's length
 * may differ from it (the runtime decoded a compressed body, or the gateway removed its injected usage chunk).
 */
export function clientResponseHeaders(upstream: Headers, bodyChanged: boolean): Headers {
  const drop: string[] = [...connectionListed(upstream)];
  upstream.forEach((_value, name) => {
    if (HOP_BY_HOP.has(name)) drop.push(name);
  });
  if (bodyChanged || upstream.has('content-encoding')) drop.push('content-length');
  const out = new Headers(upstream);
  for (const name of drop) out.delete(name);
  return out;
}
