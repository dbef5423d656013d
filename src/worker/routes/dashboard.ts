import { Hono, type Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { bearer, readTokens, sameSecret } from '../auth';
import { DASHBOARD_ASSETS } from '../dashboard/assets.generated';
import { DASHBOARD_CSP, dashboardPage, loginPage } from '../dashboard/page';
import { SESSION_S, sessionValue, validSession } from '../dashboard/session';
import { GatewayError } from '../errors';
import { registry } from '../../core/objects';
import { summaryMaxAge, validWindow } from './sla';
import type { AppEnv } from '../context';

const COOKIE = 'llm_sla_dashboard';
const ALERTS_SHOWN = 20;
/** How often the page asks for its data (`REFRESH_MS` in browser/app.js): no older summary is shown to it. */
const PAGE_REFRESH_MS = 10_000;

/** Reads are open (no `SLA_READ_TOKEN`), or a valid bearer token or session cookie came with the request. */
async function allowed(c: Context<AppEnv>): Promise<boolean> {
  const tokens = readTokens(c.get('service'));
  if (tokens.length === 0) return true;
  const given = bearer(c.req.header('authorization'));
  const session = getCookie(c, COOKIE) ?? null;
  for (const token of tokens) {
    if (given !== null && (await sameSecret(given, token))) return true;
    if (session !== null && (await validSession(session, token, Math.floor(Date.now() / 1000)))) return true;
  }
  return false;
}

const htmlHeaders = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** `/dashboard`: the live SLA dashboard, its data, its sign-in and its bundled assets (uPlot, the page script). */
export const dashboardRoutes = new Hono<AppEnv>();

dashboardRoutes.get('/dashboard', async (c) => {
  if (await allowed(c)) return c.body(dashboardPage(), 200, htmlHeaders);
  return c.body(loginPage(null), 401, htmlHeaders);
});

dashboardRoutes.post('/dashboard/login', async (c) => {
  const tokens = readTokens(c.get('service'));
  if (tokens.length === 0) return c.redirect('/dashboard', 303);
  const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  const given = typeof form['token'] === 'string' ? form['token'].trim() : '';
  for (const token of tokens) {
    if (given === '' || !(await sameSecret(given, token))) continue;
    setCookie(c, COOKIE, await sessionValue(token, Math.floor(Date.now() / 1000)), {
      path: '/dashboard',
      httpOnly: true,
      sameSite: 'Strict',
      secure: new URL(c.req.url).protocol === 'https:',
      maxAge: SESSION_S,
    });
    return c.redirect('/dashboard', 303);
  }
  return c.body(loginPage(given === '' ? 'Enter the read token.' : 'That token is not valid.'), 401, htmlHeaders);
});

dashboardRoutes.post('/dashboard/logout', (c) => {
  deleteCookie(c, COOKIE, { path: '/dashboard' });
  return c.redirect('/dashboard', 303);
});

dashboardRoutes.get('/dashboard/data', async (c) => {
  if (!(await allowed(c))) throw new GatewayError(401, 'unauthorized', 'Missing or invalid bearer token or dashboard session.');
  const asked = c.req.query('window');
  if (asked !== undefined) validWindow(asked);
  // One registry RPC: the report (the one /sla reads) and the per-minute series come from its summary, refreshed at
  // most once per SUMMARY_MAX_AGE_MS, or per page refresh if that is sooner, whatever the number of routes and viewers.
  const dashboard = { window: asked ?? null, envConfig: c.get('service').slaText, alerts: ALERTS_SHOWN };
  const summary = await registry(c.env).summary({ maxAgeMs: Math.min(summaryMaxAge(c), PAGE_REFRESH_MS), dashboard });
  if (summary.configProblems) throw new GatewayError(500, 'invalid_config', `SLA config is invalid: ${summary.configProblems.join('; ')}`);
  if (!summary.dashboard) throw new GatewayError(500, 'internal_error', 'The registry returned no dashboard data.');
  return c.json(summary.dashboard, 200, { 'cache-control': 'no-store' });
});

dashboardRoutes.get('/dashboard/assets/:name', (c) => {
  const name = c.req.param('name');
  const asset = Object.hasOwn(DASHBOARD_ASSETS, name) ? DASHBOARD_ASSETS[name as keyof typeof DASHBOARD_ASSETS] : undefined;
  if (!asset) throw new GatewayError(404, 'not_found', `No dashboard asset ${JSON.stringify(name)}.`);
  // The versioned URL the page uses is cached for a year; any other version is answered but not cached.
  const cache = c.req.query('v') === asset.hash ? 'public, max-age=31536000, immutable' : 'no-cache';
  return c.body(asset.body, 200, { 'content-type': asset.type, 'cache-control': cache, etag: `"${asset.hash}"`, 'x-content-type-options': 'nosniff' });
});
