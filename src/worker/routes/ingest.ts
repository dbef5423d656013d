import { Hono, type Context } from 'hono';
import type { ResolvedConfig } from '../../config/resolve';
import { GatewayError } from '../errors';
import { ingestOtlp, ingestTimings, type IngestResult } from '../ingest/batch';
import { readIngestBody } from '../ingest/body';
import { encodeStatus, encodeTraceResponse } from '../ingest/otlp-proto';
import { capLabel } from '../../core/labels';
import { countCut, isolateCounts } from '../counts';
import { limitNewRoutes } from '../../core/route-cap';
import { registry } from '../../core/objects';
import { configOf, type AppEnv } from '../context';
import { safeRecord, type Recorder } from '../recorder/recorder';
import { pricer } from '../pricing';

export interface IngestDeps {
  /** The recorder records go to: the one the proxy uses, without span export (these spans came from a tracer). */
  recorder: (config: ResolvedConfig, env: Env) => Recorder;
  now: () => number;
}

/** `idempotency-key` of a `/v1/timings` batch. */
const IDEMPOTENCY_KEY = /^[\w.:-]{1,128}$/;
/** How long a batch key is remembered: longer than any client's retries (the profiler gives up within minutes). */
export const IDEMPOTENCY_TTL_MS = 15 * 60_000;

const PROTOBUF = /^application\/(?:x-)?protobuf\b/i;
const JSON_TYPE = /^application\/json\b/i;

type Ctx = Context<AppEnv>;

/**
 * The team of the records. With `GATEWAY_KEYS` set, a valid `x-gateway-key` (401 otherwise) and its team, the only
 * team identity (a key mapped to "" names no team: `x-sla-team` and `llm_sla.team` are ignored, as on the proxy
 * path). Without keys, the self-declared `x-sla-team`, cut to the label rule and counted like every label.
 */
async function teamOf(c: Ctx, config: ResolvedConfig): Promise<string | null> {
  const header = c.req.header('x-sla-team') ?? null;
  if (config.gatewayKeys === null) return header === null || header === '' ? null : capLabel('team', header, countCut);
  const keys = await c.get('isolate').gatewayKeys(config);
  const presented = c.req.header('x-gateway-key') ?? null;
  const team = presented === null || presented === '' || keys === null ? null : await keys.teamOf(presented);
  if (team === null) throw new GatewayError(401, 'unauthorized', presented === null ? 'Missing x-gateway-key header.' : 'Invalid gateway key.');
  return team === '' ? null : team;
}

/**
 * Hands the records to the recorder after the response, as the proxy does with its calls' records. One request may
 * add at most `INGEST_MAX_NEW_ROUTES` route keys the registry does not know: the items of further new keys are
 * recorded under the overflow route (counted), so one request cannot fill `MAX_ROUTES`.
 */
async function record(c: Ctx, config: ResolvedConfig, recorder: Recorder, result: IngestResult, now: number): Promise<void> {
  if (result.records.length === 0) return;
  const isolate = c.get('isolate');
  const known = await isolate.knownRoutes(c.executionCtx, now);
  const limited = limitNewRoutes(result.records, (route) => known.has(route), config.ingestMaxNewRoutes);
  for (const route of limited.added) known.add(route);
  if (limited.limited > 0) {
    isolateCounts.add('routes_overflow_calls', limited.limited);
    isolateCounts.add('ingest_new_routes_limited', limited.limited);
  }
  const records = limited.records;
  c.executionCtx.waitUntil(Promise.all(records.map((r) => safeRecord(recorder, r))).then(() => isolate.reportCounts(config)));
}

function summary(result: IngestResult, what: string): string {
  if (result.rejected === 0) return '';
  return `${result.rejected} ${what} refused: ${result.problems.join('; ')}${result.rejected > result.problems.length ? '; ...' : ''}`;
}

/** gRPC status codes for the OTLP error body (`google.rpc.Status`). */
function grpcCode(status: number): number {
  if (status === 401) return 16; // UNAUTHENTICATED
  if (status === 413) return 8; // RESOURCE_EXHAUSTED
  if (status >= 400 && status < 500) return 3; // INVALID_ARGUMENT
  return 13; // INTERNAL
}

/**
 * `POST /v1/traces` (OTLP/HTTP, JSON or protobuf, gzip accepted) and `POST /v1/timings` (a JSON array): stages of
 * an application's pipeline that the gateway does not proxy, recorded per route into the same Durable Objects.
 */
export function ingestRoutes(deps: IngestDeps): Hono<AppEnv> {
  const traces = new Hono<AppEnv>();
  traces.post('/v1/traces', async (c) => {
    const config = configOf(c.get('configResult'));
    const team = await teamOf(c, config);
    const type = c.req.header('content-type') ?? '';
    const encoding = PROTOBUF.test(type) ? 'protobuf' : JSON_TYPE.test(type) ? 'json' : null;
    if (encoding === null) throw new GatewayError(415, 'invalid_request', 'Send OTLP as application/x-protobuf or application/json.');
    const bytes = await readIngestBody(c.req.raw, config.ingestMaxBytes);
    const result = ingestOtlp(bytes, encoding, { now: deps.now(), team, price: await pricer(config.prices), teamFromAttributes: config.gatewayKeys === null, secrets: config.secrets }, config.ingestMaxItems);
    await record(c, config, deps.recorder(config, c.env), result, deps.now());
    const message = summary(result, 'spans');
    if (encoding === 'protobuf') {
      return new Response(encodeTraceResponse(result.rejected, message), { headers: { 'content-type': 'application/x-protobuf' } });
    }
    return c.json(result.rejected === 0 ? {} : { partialSuccess: { rejectedSpans: result.rejected, errorMessage: message } });
  });
  // OTLP/HTTP answers errors with a google.rpc.Status in the request's encoding.
  traces.onError((err, c) => {
    const res = err instanceof GatewayError ? err : null;
    if (!res) console.error('llm-sla-gateway: unexpected error in /v1/traces', err instanceof Error ? (err.stack ?? err.message) : String(err));
    const status = res?.status ?? 500;
    const message = res?.message ?? 'The gateway failed to handle this request.';
    if (PROTOBUF.test(c.req.header('content-type') ?? '')) {
      return new Response(encodeStatus(grpcCode(status), message), { status, headers: { 'content-type': 'application/x-protobuf' } });
    }
    return c.json({ code: grpcCode(status), message }, status as 400);
  });

  const app = new Hono<AppEnv>();
  app.route('/', traces);
  app.post('/v1/timings', async (c) => {
    const config = configOf(c.get('configResult'));
    const team = await teamOf(c, config);
    const key = c.req.header('idempotency-key') ?? null;
    if (key !== null && !IDEMPOTENCY_KEY.test(key)) throw new GatewayError(400, 'invalid_request', 'idempotency-key must be 1-128 chars of letters, digits, . _ : -');
    if (!JSON_TYPE.test(c.req.header('content-type') ?? '')) throw new GatewayError(415, 'invalid_request', 'Send timings as application/json.');
    const bytes = await readIngestBody(c.req.raw, config.ingestMaxBytes);
    const result = ingestTimings(bytes, { now: deps.now(), team, price: await pricer(config.prices), teamFromAttributes: config.gatewayKeys === null, secrets: config.secrets }, config.ingestMaxItems);
    const answer = { accepted: result.records.length, rejected: result.rejected, problems: result.problems };
    if (key !== null) {
      // Claimed before recording: a retry of a batch that landed is answered from the claim and not counted again.
      let seen: string | null;
      try {
        seen = await registry(c.env).claimBatch(`${team ?? ''}|${key}`, JSON.stringify(answer), IDEMPOTENCY_TTL_MS);
      } catch {
        throw new GatewayError(503, 'upstream_unreachable', 'Could not check the idempotency key; retry the batch.');
      }
      if (seen !== null) return c.json({ ...(JSON.parse(seen) as typeof answer), duplicate: true });
    }
    await record(c, config, deps.recorder(config, c.env), result, deps.now());
    return c.json(answer);
  });
  return app;
}
