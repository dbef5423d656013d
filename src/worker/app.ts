import { Hono } from 'hono';
import { badEscape } from './path';
import type { ResolvedConfig } from '../config/resolve';
import { missingProvider, missingV1 } from './base-url';
import { withConfig, type AppEnv } from './context';
import { errorResponse, GatewayError } from './errors';
import { BUILTIN_PROVIDERS } from '../core/providers/builtin';
import { routeHeaderWarning } from './route-header';
import { proxy } from './proxy/handler';
import { defaultRecorder, isolateFor } from './isolate';
import type { Recorder } from './recorder/recorder';
import { ingestRoutes } from './routes/ingest';
import { dashboardRoutes } from './routes/dashboard';
import { slaRoutes } from './routes/sla';
import { budgetRoutes } from './routes/budgets';
import { policyRoutes } from './routes/policies';

export { defaultRecorder };

export interface GatewayOptions {
  /** Where call records go; by default chosen by the `RECORDER` var. */
  recorder?: (config: ResolvedConfig, env: Env) => Recorder;
  now?: () => number;
  /** Backoff jitter and the strategies' exploration draws (tests pass a seeded or fixed one); `Math.random` by default. */
  random?: () => number;
}

/** The worker's fetch handler. */
export interface Gateway {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>;
}

/**
 * The whole route table. Calls to a configured provider (`/<provider>/...`) go straight to the proxy: a provider's
 * name is never one of the gateway's own paths (config refuses `RESERVED_NAMES`), so the router would pick the same
 * handler, only later. Everything else goes through the Hono app.
 */
export function createGateway(options: GatewayOptions = {}): Gateway {
  const pickRecorder = options.recorder ?? defaultRecorder;
  const now = options.now ?? Date.now;
  const random = options.random;
  const app = new Hono<AppEnv>();
  app.use(withConfig);

  app.get('/', (c) => c.json({ name: 'llm-sla-gateway', providers: providerNames(c.env) }));
  app.get('/healthz', (c) => {
    const result = c.get('configResult');
    const policies = c.get('isolate').config.policies().problems.map((p) => `policies: ${p}`);
    const problems = result.ok ? [...result.config.telemetryProblems, ...policies] : result.problems;
    return c.json(problems.length === 0 ? { ok: true } : { ok: false, problems }, problems.length === 0 ? 200 : 500);
  });

  app.route('/', slaRoutes);
  app.route('/', budgetRoutes({ now }));
  app.route('/', policyRoutes);
  app.route('/', dashboardRoutes);
  // Stages the gateway does not proxy (OTLP spans, timings): same recorder, no span export of spans a tracer sent.
  app.route('/', ingestRoutes({ recorder: pickRecorder, now }));

  // Reached only when the name is not a configured provider (the fetch below takes those), or config is invalid.
  app.all('/:provider/*', (c) => {
    const name = new URL(c.req.url).pathname.split('/')[1] ?? '';
    const result = c.get('configResult');
    if (!result.ok) {
      const format = BUILTIN_PROVIDERS[name]?.format ?? 'openai';
      throw new GatewayError(500, 'invalid_config', `Gateway configuration is invalid: ${result.problems.join('; ')}`, format);
    }
    const url = new URL(c.req.url);
    throw missingProvider(url.pathname, url, providerNames(c.env)) ??
      new GatewayError(404, 'unknown_provider', `Unknown provider ${JSON.stringify(name)} (configured: ${providerNames(c.env).join(', ')}).`);
  });

  app.notFound((c) => {
    const url = new URL(c.req.url);
    return (missingProvider(url.pathname, url, providerNames(c.env)) ?? new GatewayError(404, 'not_found', 'No such route.')).getResponse();
  });
  app.onError((err, c) => failure(err, new URL(c.req.url).pathname.split('/')[1] ?? ''));

  return {
    fetch(request, env, ctx) {
      const url = new URL(request.url);
      const path = url.pathname;
      const end = path.indexOf('/', 1);
      const name = end === -1 ? path.slice(1) : path.slice(1, end);
      const isolate = isolateFor(env);
      const result = isolate.config.result;
      const provider = result.ok ? result.config.providers.get(name) : undefined;
      if (badEscape(path)) {
        // Every route would decode the path (or forward it): refuse it here, in the provider's error shape.
        return new GatewayError(400, 'invalid_request', 'The request path holds a percent-escape that does not decode.', provider?.format ?? 'openai').getResponse();
      }
      if (!result.ok || !provider) return app.fetch(request, env, ctx);
      const config = result.config;
      const recorder = isolate.recorder(config, pickRecorder);
      // The runtime SLA config (span tail sampling judges slow calls by it) and policies: this isolate's copies kept fresh.
      const refresh = isolate.refreshOverrides(now());
      if (refresh) ctx.waitUntil(refresh);
      const rest = path.slice(name.length + 1);
      const mistake = missingV1(provider, rest, url);
      if (mistake) return mistake.getResponse();
      const warning = routeHeaderWarning(request.headers);
      let res: Promise<Response>;
      try {
        const deps = {
          config,
          recorder,
          now,
          budget: isolate.budgets(config),
          keys: () => isolate.gatewayKeys(config),
          policies: isolate.config.policies().table,
          resilience: random === undefined ? isolate.resilience : () => ({ ...isolate.resilience(), random }),
        };
        res = proxy(request, ctx, provider, url, rest, deps).catch((err: unknown) => failure(err, name));
      } catch (err) {
        res = Promise.resolve(failure(err, name));
      }
      return warning === null ? res : res.then((r) => withWarning(r, warning));
    },
  };
}

/** The response with an `x-sla-warning` header (copied when its headers are immutable). */
function withWarning(res: Response, warning: string): Response {
  try {
    res.headers.append('x-sla-warning', warning);
    return res;
  } catch {
    const copy = new Response(res.body, res);
    copy.headers.append('x-sla-warning', warning);
    return copy;
  }
}

/** A request that failed: the provider's error shape (OpenAI's for the gateway's own paths). */
function failure(err: unknown, name: string): Response {
  if (err instanceof GatewayError) return err.getResponse();
  return errorResponse(err, BUILTIN_PROVIDERS[name]?.format ?? 'openai');
}

function providerNames(env: Env): string[] {
  const result = isolateFor(env).config.result;
  return result.ok ? [...result.config.providers.keys()] : Object.keys(BUILTIN_PROVIDERS);
}
