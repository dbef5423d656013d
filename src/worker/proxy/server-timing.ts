/**
 * The gateway's own time on a proxied call, as `Server-Timing` tells it to browsers' devtools and APM agents:
 * `upstream` is the wait for the upstream (from the fetch to its response headers; for a small JSON body the
 * gateway reads whole before answering, to its last byte), `gateway` is the rest of the time until the response
 * was handed back — the gateway's work before the upstream was called and after it answered. The same figure goes
 * into the call's record (`gatewayMs`: /metrics' `llm_sla_gateway_overhead_seconds`, the span's
 * `llm_sla.gateway_overhead`).
 */
export interface UpstreamWait {
  /** When the upstream fetch started (null: never called). */
  fetchAt: number | null;
  /** When the gateway stopped waiting for the upstream (its headers, or a small body's last byte). */
  upstreamDoneAt: number | null;
  /** When the response was handed back to the runtime. */
  respondedAt: number | null;
}

/** Milliseconds the gateway added: total time to the response minus the upstream wait (null before the response). */
export function gatewayMs(start: number, t: UpstreamWait): number | null {
  if (t.fetchAt === null || t.upstreamDoneAt === null || t.respondedAt === null) return null;
  return Math.max(0, t.respondedAt - start - (t.upstreamDoneAt - t.fetchAt));
}

const dur = (ms: number) => String(Math.round(ms * 100) / 100);

/** Notes when the response is handed back and adds `Server-Timing: gateway;dur=..., upstream;dur=...` to it. */
export function withServerTiming(res: Response, start: number, t: UpstreamWait, now: number): Response {
  t.respondedAt = now;
  const gateway = gatewayMs(start, t);
  if (gateway === null || t.fetchAt === null || t.upstreamDoneAt === null) return res;
  res.headers.append('server-timing', `gateway;dur=${dur(gateway)}, upstream;dur=${dur(t.upstreamDoneAt - t.fetchAt)}`);
  return res;
}
