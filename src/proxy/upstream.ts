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
  const listed = connectionListed(incoming);
  const out = new Headers();
  incoming.forEach((value, name) => {
    if (HOP_BY_HOP.has(name) || NOT_FORWARDED.has(name) || listed.has(name)) return;
    if (name.startsWith('cf-') || name.startsWith('x-sla-')) return;
    out.append(name, value);
  });
  for (const [name, value] of add) out.set(name, value);
  return out;
}

/**
 * Response headers for the client: the provider's, less hop-by-hop. `content-length` goes when the body's length
 * may differ from it (the runtime decoded a compressed body, or the gateway removed its injected usage chunk).
 */
export function clientResponseHeaders(upstream: Headers, bodyChanged: boolean): Headers {
  const listed = connectionListed(upstream);
  const out = new Headers();
  const dropLength = bodyChanged || upstream.has('content-encoding');
  upstream.forEach((value, name) => {
    if (HOP_BY_HOP.has(name) || listed.has(name)) return;
    if (dropLength && name === 'content-length') return;
    out.append(name, value);
  });
  return out;
}
