import type { ResolvedConfig } from '../../config/resolve';
import { GatewayError } from '../errors';
import { ResponseFacts } from '../formats/facts';
import { stampBudget, type BudgetCache, type BudgetTicket } from '../budget-gate';
import { injectIncludeUsage } from '../formats/openai';
import { operationFromPath } from '../../core/providers/operation';
import type { Provider } from '../../core/providers/types';
import { ROUTE_KEY } from '../../core/labels';
import { recordLabel } from '../mask';
import { safeRecord, type Recorder } from '../recorder/recorder';
import { BodyCapture } from '../stream/capture';
import { observeBody } from '../stream/observe';
import { hasPrice } from '../pricing';
import { buildRecord, type CallEnd, type CallState } from './finish';
import { checkAccess, GatewayKeys, type Access } from './access';
import { acceptsStreamOptions, readBody } from './request';
import { afterResponse, bodyKind, contentLengthOf, countLost, SMALL_JSON_BYTES } from './response';
import { clientResponse, upstreamRequestHeaders, upstreamUrl } from './upstream';
import { keepSla, policyActs, type PolicyDeps } from './resilient';
import type { PolicyTable } from '../../config/in-force';
import { withServerTiming } from './server-timing';

/** What the proxy needs of the invocation: somewhere to put the record's work. */
export interface CallContext {
  waitUntil(promise: Promise<unknown>): void;
}

export interface ProxyDeps {
  readonly config: ResolvedConfig;
  readonly recorder: Recorder;
  readonly now: () => number;
  /** Team budgets, only when `BUDGETS` is set (src/worker/budget-gate.ts). */
  readonly budget?: BudgetCache | null;
  /** `GATEWAY_KEYS` as digests, computed once per isolate (src/worker/isolate.ts); asked only when keys are set. */
  readonly keys: () => Promise<GatewayKeys | null>;
  /** The routes' policies in force (`POLICIES`), or null when there are none: then no route is looked up. */
  readonly policies?: PolicyTable | null;
  /** What a policy's calls need of the isolate (its breakers, tails and hedge budgets, the jitter); asked only for those calls. */
  readonly resilience?: () => Pick<PolicyDeps, 'health' | 'tails' | 'random'>;
}

const OPEN: Access = Object.freeze({ team: null, addHeaders: [] });

/**
 * The request path: provider -> upstream fetch -> observed body -> record (in waitUntil). The response goes back
 * as soon as upstream headers arrive; nothing the measurement does can delay or fail it.
 */
export async function proxy(req: Request, ctx: CallContext, provider: Provider, url: URL, rest: string, deps: ProxyDeps): Promise<Response> {
  const { config, now } = deps;
  const start = now();
  const format = provider.format;
  const target = upstreamUrl(provider, rest, url.search);
  const operation = operationFromPath(req.method, target.pathname);
  // An invalid x-sla-route never breaks the call: the default route key (the caller adds the warning header).
  const routeHeader = req.headers.get('x-sla-route');
  const route = routeHeader !== null && ROUTE_KEY.test(routeHeader) ? routeHeader : null;
  // Without gateway keys there is nothing to check: no await on the hot path.
  const access = config.gatewayKeys === null ? OPEN : await checkAccess(req.headers, provider, await deps.keys(), config.managedKeys.get(provider.name));
  // One team identity: with gateway keys, the key's team (a key mapped to "" names no team, and the header is
  // ignored, so its holder cannot spend another team's budget); without keys, the self-declared x-sla-team.
  const team = config.gatewayKeys === null ? req.headers.get('x-sla-team') : access.team || null;
  const body = await readBody(req, config.maxRequestBytes, format);

  let payload: BodyInit | null = body.bytes;
  let injected = false;
  // The request's JSON is parsed before the call only when usage may have to be asked for (a body that names
  // "stream"); everything else the record needs from it is read after the response, in waitUntil.
  const json = config.injectStreamUsage && provider.injectStreamUsage && acceptsStreamOptions(operation) && body.raw.includes('"stream"') ? body.json() : null;
  if (json?.['stream'] === true && (json['stream_options'] as { include_usage?: unknown } | undefined)?.include_usage !== true) {
    payload = injectIncludeUsage(body.raw, json);
    injected = true;
  }

  const call: CallState = {
    start,
    provider,
    operation,
    route: route ?? `${provider.name}/${operation}`,
    // The labels' one rule: a team over 64 characters is cut (and counted), not dropped; one holding a key is masked.
    team: team === null || team === '' ? null : recordLabel('team', team, config.secrets),
    body,
    upstream: target,
    trace: { traceparent: req.headers.get('traceparent'), tracestate: req.headers.get('tracestate') },
    priority: priorityOf(req.headers.get('x-sla-priority')),
    status: 0,
    headersAt: null,
    stream: json?.['stream'] === true,
    clientAborted: false,
    timedOut: false,
    timing: { fetchAt: null, upstreamDoneAt: null, respondedAt: null },
  };
  // Team budgets: one branch when BUDGETS is unset; a spent `block` budget is a 429 here, before any upstream contact.
  // A team that refuses unpriced calls has the request's model looked up (PRICES, then the catalog) first.
  const priced = async () => {
    const model = body.json()?.['model'];
    const name = typeof model === 'string' ? model : null;
    return { model: name, priced: await hasPrice(config.prices, provider.name, name, start) };
  };
  const ticket: BudgetTicket | null = deps.budget && call.team !== null ? await deps.budget.gate(call.team, format, ctx, start, priced) : null;
  // A route with a policy (POLICIES): its attempt loop, access and budget checked once above. One branch otherwise.
  const policy = deps.policies ? deps.policies.for(call.route) : null;
  if (policy !== null && deps.resilience && policyActs(policy, provider, config)) {
    return keepSla({ req, ctx, call, rest, search: url.search, access, ticket }, policy, { config, recorder: deps.recorder, now, ...deps.resilience() });
  }
  // Chunk gaps are kept only for the GenAI metrics' time_per_output_chunk: no work per chunk without them.
  const facts = new ResponseFacts({ chunkGaps: config.telemetry?.metricsUrl != null });
  const aborter = new AbortController();
  const onClientAbort = () => {
    call.clientAborted = true;
    aborter.abort(new Error('client disconnected'));
  };
  req.signal.addEventListener('abort', onClientAbort, { once: true });
  const timeout = () => {
    call.timedOut = true;
    aborter.abort(new Error('upstream timeout'));
  };
  const record = (end: CallEnd) =>
    afterResponse()
      .then(() => buildRecord(call, end, facts, config))
      .then((r) => (ticket === null ? safeRecord(deps.recorder, r) : Promise.all([safeRecord(deps.recorder, r), ticket.cache.spend(r, ticket.reservation)]).then(() => undefined)));

  let upstream: Response;
  // One timer per call: until the headers, and for a small JSON body until its last byte.
  const timer = setTimeout(timeout, config.upstreamTimeoutMs);
  call.timing.fetchAt = now();
  try {
    upstream = await fetch(target, {
      method: req.method,
      headers: upstreamRequestHeaders(req.headers, access.addHeaders),
      body: payload,
      signal: aborter.signal,
      redirect: 'manual',
    });
  } catch (err) {
    clearTimeout(timer);
    const end: CallEnd = { at: now(), kind: null, firstByteAt: null, capture: null };
    ctx.waitUntil(record(end).catch(countLost));
    if (call.timedOut) {
      throw new GatewayError(504, 'upstream_timeout', `${provider.name} did not answer within ${config.upstreamTimeoutMs} ms.`, format);
    }
    if (call.clientAborted) throw new GatewayError(499, 'client_closed', 'The client closed the request.', format);
    throw new GatewayError(502, 'upstream_unreachable', `Could not reach ${provider.name}.`, format, { cause: err });
  }

  call.status = upstream.status;
  call.headersAt = call.timing.upstreamDoneAt = now();
  const timed = (res: Response) => withServerTiming(res, start, call.timing, now());
  const kind = bodyKind(upstream.headers.get('content-type'));
  call.stream ||= kind === 'sse';
  const length = contentLengthOf(upstream.headers);
  if (kind === 'json' && length !== null && length <= SMALL_JSON_BYTES && upstream.body !== null) {
    const res = smallJson(ctx, upstream, call, record, timer, () => req.signal.removeEventListener('abort', onClientAbort), now);
    return res.then((r) => timed(stampBudget(ticket, r)));
  }
  clearTimeout(timer);
  if (upstream.body === null) {
    req.signal.removeEventListener('abort', onClientAbort);
    ctx.waitUntil(record({ at: call.headersAt, kind: 'complete', firstByteAt: null, capture: null }).catch(countLost));
    return timed(stampBudget(ticket, clientResponse(null, upstream, false)));
  }
  const strip = injected && kind === 'sse';
  const observed = observeBody(upstream.body, facts, {
    kind,
    format,
    stripInjectedUsage: strip,
    idleTimeoutMs: config.upstreamTimeoutMs,
    onIdle: timeout,
    now,
    contentLength: length,
  });
  ctx.waitUntil(
    observed.ended
      .then((end) => {
        req.signal.removeEventListener('abort', onClientAbort);
        return record(end);
      })
      .catch(countLost),
  );
  return timed(stampBudget(ticket, clientResponse(observed.body, upstream, strip)));
}

/**
 * A non-streamed JSON body of small declared length (a chat completion, an error): read natively in one go, then
 * handed to the client whole. The wait is the upstream's own transfer time for a few kilobytes — usually the
 * packet the headers came in — and it spares a tee and a second read of the body on every call. A body that
 * fails mid-way reaches the client as the headers and then a failing body, as a passed-through stream would.
 */
async function smallJson(
  ctx: CallContext,
  upstream: Response,
  call: CallState,
  record: (end: CallEnd) => Promise<void>,
  timer: ReturnType<typeof setTimeout>,
  detach: () => void,
  now: () => number,
): Promise<Response> {
  let bytes: ArrayBuffer | null = null;
  let failure: unknown = null;
  try {
    bytes = await upstream.arrayBuffer();
  } catch (err) {
    failure = err;
  } finally {
    clearTimeout(timer);
  }
  const at = (call.timing.upstreamDoneAt = now());
  detach();
  // The Response copies `bytes` (workerd does not detach them), so the capture keeps them as they are.
  const capture = BodyCapture.of(bytes ? new Uint8Array(bytes) : new Uint8Array(0));
  ctx.waitUntil(record({ at, kind: bytes ? 'complete' : call.clientAborted ? 'cancelled' : 'error', firstByteAt: at, capture }).catch(countLost));
  const body = bytes ?? new ReadableStream<Uint8Array>({ start: (controller) => controller.error(failure) });
  return clientResponse(body, upstream, false);
}

const PRIORITIES: ReadonlySet<string> = new Set(['critical', 'high', 'normal', 'low']);
function priorityOf(header: string | null): CallState['priority'] {
  const p = header?.trim().toLowerCase() ?? 'normal';
  return PRIORITIES.has(p) ? (p as CallState['priority']) : 'normal';
}
