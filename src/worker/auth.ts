import type { MiddlewareHandler } from 'hono';
import type { ServiceConfig } from '../config/service';
import type { AppEnv } from './context';
import { GatewayError } from './errors';

const encoder = new TextEncoder();

/** Compares two secrets in constant time (hashing first, so lengths leak nothing either). */
export async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(given)),
    crypto.subtle.digest('SHA-256', encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}

export function bearer(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1] ?? null;
}

/** The tokens that open reads (`SLA_READ_TOKEN`, and `ADMIN_TOKEN` when set); empty when reads are open to all. */
export function readTokens(service: Pick<ServiceConfig, 'readToken' | 'adminToken'>): string[] {
  const read = service.readToken;
  if (read === null) return [];
  const admin = service.adminToken;
  return admin === null ? [read] : [read, admin];
}

/**
 * `read`: SLA reports and metrics need `SLA_READ_TOKEN` as a bearer token when it is set (the admin token works
 * too). `admin`: refused unless `ADMIN_TOKEN` is set and presented.
 */
export const requireToken = (level: 'read' | 'admin'): MiddlewareHandler<AppEnv> =>
  async function requireToken(c, next) {
    const { adminToken: admin, readToken: read } = c.get('service');
    const given = bearer(c.req.header('authorization'));
    if (level === 'admin' && admin === null) {
      throw new GatewayError(403, 'forbidden', 'Admin endpoints are disabled: set the ADMIN_TOKEN secret to enable them.');
    }
    const accepted = level === 'admin' ? [admin] : read === null ? [] : [read, admin];
    if (accepted.length === 0) return next();
    for (const token of accepted) if (token !== null && given !== null && (await sameSecret(given, token))) return next();
    throw new GatewayError(401, 'unauthorized', 'Missing or invalid bearer token.');
  };
