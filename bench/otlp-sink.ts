import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local OTLP/HTTP collector for the benchmark and the soak: counts requests and spans; `mode` makes it misbehave. */
export async function startOtlpSink() {
  const state = { mode: 'ok' as 'ok' | '500' | 'hang', requests: 0, spans: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.requests++;
      if (state.mode === 'hang') return; // the gateway's export timeout must give up
      if (state.mode === '500') {
        res.writeHead(500).end('{}');
        return;
      }
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[] };
        for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) state.spans += ss.spans?.length ?? 0;
      } catch {
        /* counted as a request all the same */
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
