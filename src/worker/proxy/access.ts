import { GatewayError } from '../errors';
import type { Provider } from '../../core/providers/types';

const encoder = new TextEncoder();
const digest = async (s: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(s)));

/** Gateway keys as SHA-256 digests with their team labels; compared in constant time. */
export class GatewayKeys {
  private constructor(private readonly entries: readonly { hash: Uint8Array; team: string }[]) {}

  static async from(keys: Readonly<Record<string, string>>): Promise<GatewayKeys> {
    return new GatewayKeys(await Promise.all(Object.entries(keys).map(async ([key, team]) => ({ hash: await digest(key), team }))));
  }

  /**
   * The team of a presented key, or null. Every configured key is compared (never stopping at a match) and
   * compared as digests, so neither the time taken nor its length says which key, or how much of one, matched.
   */
  async teamOf(presented: string): Promise<string | null> {
    const hash = await digest(presented);
    let team: string | null = null;
    for (const e of this.entries) if (crypto.subtle.timingSafeEqual(hash, e.hash)) team = e.team;
    return team;
  }
}

/** Whether the request already carries a key for the provider. */
function hasProviderKey(headers: Headers, provider: Provider): boolean {
  if (provider.format === 'anthropic') return headers.has('x-api-key') || headers.has('authorization');
  return headers.has('authorization');
}

export interface Access {
  /** Team label of the gateway key, when keys are configured. */
  team: string | null;
  /** Headers to add upstream (a managed provider key), if any. */
  addHeaders: [string, string][];
}

/**
 * With gateway keys configured, a request must present one in `x-gateway-key` (401 in the provider's shape
 * otherwise, before anything is sent upstream). An authenticated request without its own provider key gets the
 * provider key the gateway manages, if one is set, so clients never need to hold provider keys.
 */
export async function checkAccess(
  headers: Headers,
  provider: Provider,
  keys: GatewayKeys | null,
  managedKey: string | undefined,
): Promise<Access> {
  if (keys === null) return { team: null, addHeaders: [] };
  const presented = headers.get('x-gateway-key');
  const team = presented === null || presented === '' ? null : await keys.teamOf(presented);
  if (team === null) {
    const why = presented === null ? 'Missing x-gateway-key header.' : 'Invalid gateway key.';
    throw new GatewayError(401, 'unauthorized', why, provider.format);
  }
  if (managedKey === undefined || hasProviderKey(headers, provider)) return { team, addHeaders: [] };
  return { team, addHeaders: [managedKeyHeader(provider, managedKey)] };
}

/** The header that carries a managed provider key, in the provider's own way. */
export function managedKeyHeader(provider: Provider, key: string): [string, string] {
  return provider.format === 'anthropic' ? ['x-api-key', key] : ['authorization', `Bearer ${key}`];
}
