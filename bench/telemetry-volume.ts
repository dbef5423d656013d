import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { Target } from './runtime';

/**
 * Telemetry at volume (issue 15), on plain `workerd serve` like the rest of the benchmark:
 * - load swing: one gateway isolate with adaptive head sampling (`OTEL_SAMPLING_TARGET_PER_S`) under a quiet, a
 *   saturating and a medium phase; spans kept per second per phase at the collector, and the call count re-weighted
 *   from the spans' `llm_sla.sampling.probability` against the calls really made;
 * - gzip: the same calls exported with every span kept, `OTEL_EXPORTER_OTLP_COMPRESSION` none vs gzip, body bytes
 *   at the collector.
 */
export interface TelemetryVolumeHelpers {
  startGateway: (bundle: string, vars: Record<string, string>, name?: string) => Promise<Target>;
  bundle: string;
  upstreamUrl: string;
  quick: boolean;
}

const BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }] });

interface Received {
  at: number;
  bytes: number;
  gzip: boolean;
  spans: { startMs: number; p: number }[];
}

/** A collector that keeps, per export: arrival, bytes on the wire, and each span's start and sampling probability. */
async function startSink() {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const gzip = req.headers['content-encoding'] === 'gzip';
      const spans: Received['spans'] = [];
      if (req.url?.endsWith('/v1/traces')) {
        const json = JSON.parse((gzip ? gunzipSync(body) : body).toString('utf8')) as {
          resourceSpans?: { scopeSpans?: { spans?: { startTimeUnixNano: string; attributes?: { key: string; value: { doubleValue?: number; intValue?: number } }[] }[] }[] }[];
        };
        for (const rs of json.resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? []) {
              const p = s.attributes?.find((a) => a.key === 'llm_sla.sampling.probability')?.value;
              spans.push({ startMs: Number(BigInt(s.startTimeUnixNano) / 1_000_000n), p: Number(p?.doubleValue ?? p?.intValue ?? NaN) });
            }
        received.push({ at: Date.now(), bytes: body.length, gzip, spans });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function call(base: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(new URL('/openai/v1/chat/completions', base), { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end(BODY);
  });
}

/** `rps` calls per second for `seconds` (null: as fast as `connections` allow); answers the calls made. */
async function drive(base: string, seconds: number, rps: number | null, connections = 32): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let made = 0;
  if (rps === null) {
    await Promise.all(Array.from({ length: connections }, async () => {
      while (Date.now() < end) {
        await call(base);
        made++;
      }
    }));
    return made;
  }
  const start = Date.now();
  const inFlight = new Set<Promise<number>>();
  while (Date.now() < end) {
    const due = Math.floor(((Date.now() - start) / 1000) * rps);
    while (made < due) {
      const p = call(base);
      inFlight.add(p);
      void p.then(() => inFlight.delete(p));
      made++;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(inFlight);
  return made;
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function telemetryVolume(h: TelemetryVolumeHelpers) {
  const seconds = h.quick ? 3 : 8;
  const target = 100;
  const sink = await startSink();
  const swing = await h.startGateway(h.bundle, {
    UPSTREAM_OPENAI: h.upstreamUrl,
    RECORDER: 'none',
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_SAMPLING_TARGET_PER_S: String(target),
    OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    OTEL_BSP_SCHEDULE_DELAY: '200',
  }, 'gateway-swing');
  try {
    const phases: { name: string; rps: number | null; seconds: number; from: number; to: number; calls: number }[] = [];
    for (const [name, rps] of [['quiet', 50], ['saturated', null], ['medium', 300]] as const) {
      const from = Date.now();
      const calls = await drive(swing.url, seconds, rps);
      phases.push({ name, rps, seconds, from, to: Date.now(), calls });
    }
    await settle(1500);
    const spans = sink.received.flatMap((r) => r.spans);
    const perPhase = phases.map((ph) => {
      const kept = spans.filter((s) => s.startMs >= ph.from && s.startMs < ph.to);
      const reweighted = kept.reduce((t, s) => t + 1 / s.p, 0);
      const secs = (ph.to - ph.from) / 1000;
      return {
        phase: ph.name,
        callsPerS: Math.round(ph.calls / secs),
        spansKeptPerS: Math.round((kept.length / secs) * 10) / 10,
        calls: ph.calls,
        reweightedCalls: Math.round(reweighted),
        reweightError: Math.round(((reweighted - ph.calls) / ph.calls) * 10000) / 10000,
      };
    });
    const allCalls = phases.reduce((t, p) => t + p.calls, 0);
    const allReweighted = spans.reduce((t, s) => t + 1 / s.p, 0);
    sink.received.length = 0;

    // gzip vs none: every span kept, the same number of calls each.
    const bytes: Record<string, { spans: number; bytes: number; bytesPerSpan: number }> = {};
    const n = h.quick ? 1000 : 3000;
    for (const compression of ['none', 'gzip'] as const) {
      const gw = await h.startGateway(h.bundle, { UPSTREAM_OPENAI: h.upstreamUrl, RECORDER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_METRICS_EXPORTER: 'none', OTEL_EXPORTER_OTLP_COMPRESSION: compression, OTEL_BSP_SCHEDULE_DELAY: '200' }, `gateway-${compression}`);
      try {
        sink.received.length = 0;
        let left = n;
        await Promise.all(Array.from({ length: 16 }, async () => {
          while (left-- > 0) await call(gw.url);
        }));
        await settle(1500);
        const spansIn = sink.received.reduce((t, r) => t + r.spans.length, 0);
        const b = sink.received.reduce((t, r) => t + r.bytes, 0);
        bytes[compression] = { spans: spansIn, bytes: b, bytesPerSpan: Math.round(b / Math.max(1, spansIn)) };
      } finally {
        await gw.dispose();
      }
    }
    const none = bytes['none'];
    const gz = bytes['gzip'];
    return {
      targetSpansPerS: target,
      swing: perPhase,
      reweightErrorAll: Math.round(((allReweighted - allCalls) / allCalls) * 10000) / 10000,
      exportBytes: bytes,
      gzipSaved: none && gz ? Math.round((1 - gz.bytesPerSpan / none.bytesPerSpan) * 1000) / 1000 : NaN,
    };
  } finally {
    await swing.dispose();
    await sink.close();
  }
}
